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

test('a finger draws on the pad at phone size, where the pad is drawn narrower than its pixels', async () => {
  const { page, errors } = await open(browser, '?backend=cpu', { viewport: { width: 360, height: 740 } });
  await ready(page);
  await page.locator('#bring-your-own summary').click();
  const pad = page.locator('#sketch');
  // Shown at 200 CSS px for its 280 pixels, as on a phone narrower than the pad.
  await pad.evaluate((c) => { c.style.width = '200px'; c.style.height = '200px'; });
  await pad.scrollIntoViewIfNeeded();
  await pad.evaluate((c) => {
    window.pointerTypes = new Set();
    c.addEventListener('pointermove', (e) => window.pointerTypes.add(e.pointerType));
  });
  const box = await pad.boundingBox();
  assert.equal(Math.round(box.width), 200);
  // A real touch sequence through Chromium's input pipeline (not synthetic DOM events): one
  // finger down near the top of the pad's middle, sliding to near its bottom.
  const cdp = await page.context().newCDPSession(page);
  const touch = (type, y) => cdp.send('Input.dispatchTouchEvent', {
    type, touchPoints: y === undefined ? [] : [{ x: box.x + 100, y: box.y + y }],
  });
  await touch('touchStart', 30);
  for (let y = 40; y <= 170; y += 10) await touch('touchMove', y);
  await touch('touchEnd');
  assert.deepEqual([...await page.evaluate(() => [...window.pointerTypes])], ['touch']);
  // The stroke covers the pad's pixels where the finger went: CSS y 30–170 of 200 is pixel
  // rows 42–238 of 280 (unscaled, it would stop at row 170).
  const column = await pad.evaluate((c) => {
    const data = c.getContext('2d').getImageData(140, 0, 1, 280).data;
    return [...Array(280).keys()].map((y) => data[4 * y]);
  });
  for (const row of [50, 140, 230]) assert.ok(column[row] > 200, `row ${row} of the pad's middle column is ${column[row]}`);
  for (const row of [5, 275]) assert.ok(column[row] < 50, `row ${row} is ${column[row]} (should be untouched)`);
  await page.click('#sketch-use');
  await page.locator('#label[data-drawn="true"]').waitFor();
  await ready(page);
  assert.equal(await page.locator('#prediction').getAttribute('data-class'), '1');
  await page.screenshot({ path: `${SHOTS}/drawn-by-touch.png` });
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
