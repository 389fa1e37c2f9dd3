// Bring your own digit: a drawn stroke and an uploaded picture become MNIST-style images that the
// model reads and every panel can attack; non-images and oversized files are refused clearly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drawOne, launch, open, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function ready(page) {
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
}

test('a drawn 1 is read as 1, relabelled, attacked; the URL says it cannot travel', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&attack=fgsm&eps=0.3');
  await ready(page);
  await drawOne(page);
  await ready(page);
  assert.equal(await page.locator('#prediction').getAttribute('data-class'), '1');
  assert.equal(await page.locator('#label').getAttribute('data-class'), '1');
  assert.match(page.url(), /image=drawn/);
  await page.selectOption('#picture-label', '7');
  await page.locator('#label[data-class="7"]').waitFor();
  // Labelled 7 but read as 1: the model is already wrong, so there is nothing to attack.
  await page.click('#attack-run');
  await page.locator('#attack-result[data-success="already"]').waitFor({ timeout: 60_000 });
  await page.selectOption('#picture-label', '1');
  await page.click('#attack-run');
  await page.locator('#attack-result[data-success="true"]').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: `${SHOTS}/drawn-digit.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('an uploaded photo-like picture (dark 7 on white) is read as 7; bad files are refused', async () => {
  const { page, errors } = await open(browser, '?backend=cpu');
  await ready(page);
  await page.locator('#bring-your-own summary').click();
  const png = await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(240, 180);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#f4f1ea';
    ctx.fillRect(0, 0, 240, 180);
    ctx.strokeStyle = '#202020';
    ctx.lineWidth = 14;
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(80, 40); ctx.lineTo(160, 40); ctx.lineTo(110, 150);
    ctx.stroke();
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    return [...new Uint8Array(await blob.arrayBuffer())];
  });
  await page.setInputFiles('#upload', { name: 'seven.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  await page.locator('#label[data-drawn="true"]').waitFor();
  await ready(page);
  assert.equal(await page.locator('#prediction').getAttribute('data-class'), '7');

  await page.setInputFiles('#upload', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
  await page.locator('#picture-error').waitFor();
  assert.match(await page.locator('#picture-error').textContent(), /not an image/);
  await page.setInputFiles('#upload', { name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(11 * 1024 * 1024) });
  await page.locator('#picture-error', { hasText: '10 MB' }).waitFor();
  // The last good picture is still shown.
  assert.equal(await page.locator('#label').getAttribute('data-drawn'), 'true');
  assert.deepEqual(errors, []);
});
