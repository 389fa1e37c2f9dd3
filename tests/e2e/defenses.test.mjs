// Defences: input quantization seems to stop plain PGD (zero gradients through the rounding), and
// BPDA's straight-through gradients break it again; the embedded panel shows only itself.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, set, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('quantization masks gradients from PGD; BPDA breaks it', async () => {
  const { page, errors } = await open(browser, '?embed=defenses');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#attack-lab').count(), 0);
  await set(page, '#defense-images', '50');
  await page.click('#defense-run');
  await page.locator('#defense-rows[data-ready="true"]').waitFor({ timeout: 300_000 });
  const rows = Object.fromEntries(await page.locator('#defense-rows li').evaluateAll((lis) => lis.map((li) => [
    li.dataset.id, { robust: Number(li.dataset.robust), clean: Number(li.dataset.clean) },
  ])));
  const { none, quantized, bpda } = rows;
  // The defence keeps the clean accuracy, looks robust to plain PGD, and falls to BPDA.
  assert.ok(quantized.clean >= 0.9, JSON.stringify(rows));
  assert.ok(quantized.robust >= bpda.robust + 0.3, JSON.stringify(rows));
  assert.ok(bpda.robust <= none.robust + 0.2, JSON.stringify(rows));
  await page.locator('#defenses').screenshot({ path: `${SHOTS}/defenses.png` });
  await set(page, '#defense-levels', '1');
  await page.locator('#defense-form-error').waitFor();
  assert.deepEqual(errors, []);
});
