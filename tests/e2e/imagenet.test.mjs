// A real ImageNet model in the page: EfficientNet-Lite0 (f16 weights, 9.4 MB) fetched only when
// the ImageNet dataset is picked, kept in the browser's cache, classifying the 20 sample photos as
// PyTorch does with the same weights (tests/golden/lite0_f16.json), reading an uploaded photo,
// fooled by PGD at ε = 2/255 reproducibly from the share link, and refusing corrupted weights.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { launch, BASE_URL, SHOTS } from './browser.mjs';

const golden = JSON.parse(readFileSync(new URL('../golden/lite0_f16.json', import.meta.url)));
const WEIGHTS = '**/models/imagenet-efficientnet-lite0.safetensors';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function openIn(context, query) {
  const page = await context.newPage();
  await page.setViewportSize({ width: 1000, height: 760 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  await page.goto(BASE_URL + query);
  return { page, errors };
}

/** The prediction for image `index`, once shown. */
async function predictionFor(page, index) {
  await page.locator(`#label[data-index="${index}"]`).waitFor({ timeout: 180_000 });
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 180_000 });
  return Number(await page.locator('#prediction').getAttribute('data-class'));
}

test('picking ImageNet downloads Lite0 once, classifies the 20 samples as PyTorch, then loads from the cache', async () => {
  const context = await browser.newContext();
  const { page, errors } = await openIn(context, '?backend=cpu');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const started = Date.now();
  await page.selectOption('#dataset', 'imagenet');
  await page.locator('#weights-source').waitFor({ timeout: 180_000 });
  assert.equal(await page.locator('#weights-source').getAttribute('data-source'), 'network');
  assert.match(page.url(), /dataset=imagenet/);
  const top1 = [];
  for (let i = 0; i < golden.top1.length; i++) {
    if (i > 0) await page.click('#next');
    top1.push(await predictionFor(page, i));
    if (i === 0) console.log(`# first ImageNet prediction ${Date.now() - started} ms after the pick (CPU backend)`);
  }
  assert.deepEqual(top1, golden.top1, 'top-1 of every sample equals PyTorch with the same f16 weights');
  assert.equal(await page.locator('#probs li').count(), 5, 'top-5 bars');
  await page.screenshot({ path: `${SHOTS}/imagenet.png`, fullPage: true });
  // IBP would be vacuous here: the page says so instead of showing bounds.
  await page.locator('#ibp-unavailable').waitFor();
  const again = Date.now();
  const second = await openIn(context, '?dataset=imagenet&backend=cpu&image=3');
  assert.equal(await predictionFor(second.page, 3), golden.top1[3]);
  assert.equal(await second.page.locator('#weights-source').getAttribute('data-source'), 'cache');
  console.log(`# with the weights cached: first prediction ${Date.now() - again} ms after opening`);
  assert.deepEqual([...errors, ...second.errors], []);
  await context.close();
});

test('an uploaded photo is prepared and classified; a non-image is refused', async () => {
  const context = await browser.newContext();
  const { page, errors } = await openIn(context, '?dataset=imagenet&backend=cpu');
  await predictionFor(page, 0);
  await page.locator('#bring-your-own summary').click();
  // Sample 0 letterboxed into a 300×420 PNG: another size and format than the shipped JPEG.
  const png = await page.evaluate(async () => {
    const bitmap = await createImageBitmap(await (await fetch('imagenet/samples/imagenet_00_243.jpg')).blob());
    const canvas = new OffscreenCanvas(300, 420);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, 300, 420);
    ctx.drawImage(bitmap, 0, 60, 300, 300);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    return [...new Uint8Array(await blob.arrayBuffer())];
  });
  await page.setInputFiles('#upload', { name: 'dog.png', mimeType: 'image/png', buffer: Buffer.from(png) });
  await page.locator('#label[data-drawn="true"]').waitFor({ timeout: 60_000 });
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 60_000 });
  assert.equal(await page.locator('#probs li').count(), 5);
  const read = Number(await page.locator('#prediction').getAttribute('data-class'));
  assert.equal(Number(await page.locator('#label').getAttribute('data-class')), read, 'labelled with the reading');
  await page.setInputFiles('#upload', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a photo') });
  await page.locator('#picture-error').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('#picture-error').textContent(), /notes\.txt/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('PGD at ε = 2/255 flips the top-1 class, and the share link reproduces it', async () => {
  const context = await browser.newContext();
  const query = '?dataset=imagenet&backend=cpu&image=0&attack=pgd&eps=0.00784&steps=3&seed=7';
  const { page, errors } = await openIn(context, query);
  const clean = await predictionFor(page, 0);
  await page.click('#attack-run');
  await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 300_000 });
  assert.equal(await page.locator('#attack-result').getAttribute('data-success'), 'true');
  const fooled = await page.locator('#attack-result').getAttribute('data-class');
  assert.notEqual(Number(fooled), clean);
  assert.ok(Number(await page.locator('#attack-result').getAttribute('data-linf')) <= 0.0079);
  await page.screenshot({ path: `${SHOTS}/imagenet-attack.png`, fullPage: true });
  const shared = await openIn(context, new URL(page.url()).search);
  await predictionFor(shared.page, 0);
  await shared.page.click('#attack-run');
  await shared.page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 300_000 });
  assert.equal(await shared.page.locator('#attack-result').getAttribute('data-class'), fooled);
  assert.deepEqual([...errors, ...shared.errors], []);
  await context.close();
});

test('corrupted weights are refused with a message and not kept', async () => {
  const context = await browser.newContext();
  await context.route(WEIGHTS, (route) => route.fulfill({
    status: 200, contentType: 'application/octet-stream', body: Buffer.alloc(4096, 0x5a),
  }));
  const { page } = await openIn(context, '?dataset=imagenet&backend=cpu');
  await page.locator('#error').waitFor({ timeout: 120_000 });
  assert.match(await page.locator('#error').textContent(), /imagenet-efficientnet-lite0|SafeTensors/);
  await context.unroute(WEIGHTS);
  const retry = await openIn(context, '?dataset=imagenet&backend=cpu');
  await predictionFor(retry.page, 0);
  assert.equal(await retry.page.locator('#weights-source').getAttribute('data-source'), 'network');
  await context.close();
});
