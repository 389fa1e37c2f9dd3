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
  const { none, defended: quantized, bpda } = rows;
  // The defence keeps the clean accuracy, looks robust to plain PGD, and falls to BPDA.
  assert.ok(quantized.clean >= 0.9, JSON.stringify(rows));
  assert.ok(quantized.robust >= bpda.robust + 0.3, JSON.stringify(rows));
  assert.ok(bpda.robust <= none.robust + 0.2, JSON.stringify(rows));
  await page.locator('#defenses').screenshot({ path: `${SHOTS}/defenses.png` });
  await set(page, '#defense-levels', '1');
  await page.locator('#defense-form-error').waitFor();
  assert.deepEqual(errors, []);
});

async function audit(page) {
  await page.click('#defense-audit');
  const summary = page.locator('#audit-summary');
  await summary.waitFor({ timeout: 300_000 });
  const checks = Object.fromEntries(await page.locator('#audit-checks tr').evaluateAll((rows) => rows.map((r) => [
    r.dataset.check, r.dataset.verdict,
  ])));
  return { flagged: Number(await summary.getAttribute('data-flagged')), checks };
}

test('the audit flags quantization\'s masked gradients; BPDA is the adaptive attack', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&embed=defenses');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  await set(page, '#defense-images', '30');
  const { flagged, checks } = await audit(page);
  assert.ok(flagged >= 3, JSON.stringify(checks));
  assert.equal(checks['deterministic'], 'pass');
  assert.equal(checks['nonzero-gradients'], 'flag');
  // PGD no stronger than FGSM, and a flat budget curve, on a model that holds (issue 19).
  assert.equal(checks['iterative-beats-single-step'], 'flag');
  assert.equal(checks['accuracy-falls-with-budget'], 'flag');
  assert.equal(checks['adaptive-attack-adds-nothing'], 'flag');
  // Square never sees a gradient, so the masked ones do not stop it.
  assert.equal(checks['white-box-beats-black-box'], 'flag');
  await page.locator('#defenses').screenshot({ path: `${SHOTS}/audit-quantization.png` });
  assert.deepEqual(errors, []);
});

test('a randomized defence: EOT attacks it about as well as one-draw PGD or better (within 5 points, the draws being noisy); the audit calls it randomized', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&embed=defenses');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  await page.selectOption('#defense-kind', 'noise');
  await set(page, '#defense-sigma', '0.3');
  await set(page, '#defense-eps', '0.1');
  await set(page, '#defense-images', '30');
  await page.click('#defense-run');
  await page.locator('#defense-rows[data-ready="true"]').waitFor({ timeout: 300_000 });
  const rows = Object.fromEntries(await page.locator('#defense-rows li').evaluateAll((lis) => lis.map((li) => [
    li.dataset.id, Number(li.dataset.robust),
  ])));
  assert.deepEqual(Object.keys(rows), ['none', 'defended', 'eot']);
  // Both rows are measured through the defence's own random draws on 30 images, so EOT may land
  // a point or so above one-draw PGD by chance: 0.05 is 1.5 images.
  assert.ok(rows.eot <= rows.defended + 0.05, JSON.stringify(rows));
  console.log(`noise σ=0.3, ε=0.1, 30 images: ${JSON.stringify(rows)}`);
  const { checks } = await audit(page);
  assert.equal(checks['deterministic'], 'flag');
  await page.locator('#defenses').screenshot({ path: `${SHOTS}/defenses-noise.png` });
  await set(page, '#defense-sigma', '-2');
  await page.locator('#defense-form-error').waitFor();
  assert.deepEqual(errors, []);
});
