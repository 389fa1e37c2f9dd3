// The page boots, picks a backend, and shows the default model's prediction for a test digit.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function prediction(page) {
  const el = page.locator('#prediction[data-ready="true"]');
  await el.waitFor({ timeout: 120_000 });
  return { cls: await el.getAttribute('data-class'), text: await el.textContent() };
}

test('WebGPU page predicts the first MNIST test digit correctly', async () => {
  const started = Date.now();
  const { page, errors } = await open(browser);
  const { cls, text } = await prediction(page);
  console.log(`time to first prediction (WebGPU, cold page load): ${Date.now() - started} ms`);
  const label = await page.locator('#label').getAttribute('data-class');
  assert.equal(label, '7', 'the first MNIST test image is a 7');
  assert.equal(cls, label, `prediction "${text}" should match the label`);
  const backend = page.locator('#backend');
  assert.equal(await backend.getAttribute('data-kind'), 'webgpu', await backend.textContent());
  assert.match(await backend.textContent(), /WebGPU — \S/);
  const bars = await page.locator('ol.bars li').count();
  assert.equal(bars, 10);
  await page.screenshot({ path: `${SHOTS}/boot-webgpu.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('CPU backend from the URL, navigation updates the prediction', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&image=1');
  const first = await prediction(page);
  assert.equal(await page.locator('#backend').getAttribute('data-kind'), 'cpu');
  assert.equal(await page.locator('#label').getAttribute('data-class'), '2');
  assert.equal(first.cls, '2');
  await page.click('#next');
  await page.locator('#label[data-class="1"]').waitFor();
  const second = await prediction(page);
  assert.equal(second.cls, '1', second.text);
  // The gallery: a page of 12 thumbnails; a click shows that image.
  assert.equal(await page.locator('#gallery .thumb').count(), 12);
  assert.equal(await page.locator('#gallery .thumb.current').getAttribute('data-index'), '2');
  await page.click('#gallery .thumb[data-index="4"]');
  await page.locator('#label[data-class="4"]').waitFor();
  assert.match(page.url(), /image=4/);
  assert.equal((await prediction(page)).cls, '4');
  await page.screenshot({ path: `${SHOTS}/boot-cpu.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('hostile URL state is rejected with a message, not executed', async () => {
  const { page, errors } = await open(browser, '?backend=%3Cscript%3Ewindow.pwned%3D1%3C%2Fscript%3E&image=-5');
  await prediction(page);
  const warnings = await page.locator('.warning').allTextContents();
  assert.equal(warnings.length, 2, warnings.join(' | '));
  assert.equal(await page.evaluate(() => window.pwned), undefined);
  assert.equal(await page.locator('#label').getAttribute('data-class'), '7', 'falls back to image 0');
  assert.deepEqual(errors, []);
});
