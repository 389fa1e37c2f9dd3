// A lost WebGPU device: the page moves to the CPU backend in place, keeps the user's settings and
// keeps working; a restart after a WebGPU failure says so.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, set } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('destroying the WebGPU device falls back to the CPU with the state kept', async () => {
  const { page, errors } = await open(browser, '?image=3&attack=fgsm');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#backend').getAttribute('data-kind'), 'webgpu');
  await set(page, '#attack-eps', '0.25');
  await page.waitForFunction(() => location.search.includes('eps=0.25'));
  await page.evaluate(() => window.__perturbGpuDevice.destroy());
  await page.locator('#backend[data-kind="cpu"]').waitFor({ timeout: 30_000 });
  assert.match(await page.locator('#backend').textContent(), /device was lost/);
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 60_000 });
  // The settings survived: same image, same attack form, same URL state.
  assert.match(await page.locator('#label').textContent(), /test image 3 /);
  assert.equal(await page.locator('#attack-eps').inputValue(), '0.25');
  assert.match(page.url(), /image=3/);
  assert.match(page.url(), /eps=0\.25/);
  await page.click('#attack-run');
  const result = page.locator('#attack-result[data-ready="true"]');
  await result.waitFor({ timeout: 60_000 });
  // The same attack on a page opened on the CPU backend from the start gives the same result.
  const fresh = await open(browser, '?backend=cpu&image=3&attack=fgsm&eps=0.25');
  await fresh.page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await fresh.page.locator('#prediction').getAttribute('data-class'),
    await page.locator('#prediction').getAttribute('data-class'));
  await fresh.page.click('#attack-run');
  const want = fresh.page.locator('#attack-result[data-ready="true"]');
  await want.waitFor({ timeout: 60_000 });
  for (const key of ['data-success', 'data-class', 'data-linf']) {
    assert.equal(await result.getAttribute(key), await want.getAttribute(key), key);
  }
  assert.deepEqual(fresh.errors, []);
  assert.deepEqual(errors, []);
});

test('a restart after a WebGPU failure explains itself', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&recovered=webgpu');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const warnings = (await page.locator('.warning').allTextContents()).join('\n');
  assert.match(warnings, /restarted on the CPU backend/);
  assert.deepEqual(errors, []);
});
