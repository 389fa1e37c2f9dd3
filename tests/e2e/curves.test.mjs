// Robustness curves: for the standard and the PGD-trained CNN over 50 test images, every curve
// starts at the clean accuracy and never rises with ε, and adversarial training keeps accuracy at
// ε=0.3 where the standard model has none; bad form input is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, set, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('curves fall with ε, and PGD training holds at ε=0.3', async () => {
  const { page, errors } = await open(browser, '');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  await page.locator('.batch-model[value="mnist-strided-cnn-ibp0.1"]').uncheck();
  await set(page, '#batch-images', '50');
  await set(page, '#batch-steps', '5');
  const started = Date.now();
  await page.click('#batch-run');
  await page.locator('#batch-status[data-ready="true"]').waitFor({ timeout: 300_000 });
  console.log(`curves: 2 models × 6 budgets × 50 images, PGD-5: ${Date.now() - started} ms`);
  const curves = await page.locator('#batch-plot polyline.curve').evaluateAll((lines) => lines.map((l) => ({
    model: l.dataset.id, values: l.dataset.values.split(',').map(Number),
  })));
  assert.deepEqual(curves.map((c) => c.model), ['mnist-small-cnn', 'mnist-small-cnn-pgd0.3']);
  for (const c of curves) {
    assert.equal(c.values.length, 6);
    assert.ok(c.values[0] >= 0.9, `${c.model} clean ${c.values[0]}`);
    for (let i = 1; i < c.values.length; i++) {
      assert.ok(c.values[i] <= c.values[i - 1], `${c.model}: ${c.values}`);
    }
  }
  const [standard, robust] = curves;
  assert.ok(robust.values[5] >= standard.values[5] + 0.3, `ε=0.3: ${standard.values[5]} vs ${robust.values[5]}`);
  await page.locator('#batch').screenshot({ path: `${SHOTS}/curves.png` });
  await set(page, '#batch-images', '100000');
  await page.locator('#batch-form-error').waitFor();
  assert.deepEqual(errors, []);
});

test('the transfer matrix: white-box succeeds on standard models, adversarial training resists', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&embed=curves');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  // Ticked by default: the standard, PGD-trained and IBP-trained CNNs; add the ResNet.
  await page.locator('.batch-model[value="mnist-resnet-small"]').check();
  await set(page, '#batch-images', '40');
  await set(page, '#batch-steps', '10');
  await set(page, '#transfer-eps', '0.2');
  const started = Date.now();
  await page.click('#transfer-run');
  await page.locator('#transfer-matrix[data-ready="true"]').waitFor({ timeout: 300_000 });
  console.log(`transfer: 4×4 models, 40 images, PGD-10: ${Date.now() - started} ms`);
  const m = Object.fromEntries(await page.locator('#transfer-matrix tr[data-surrogate]').evaluateAll((rows) => rows.map((r) => [
    r.dataset.surrogate, Object.fromEntries([...r.querySelectorAll('td')].map((td) => [td.dataset.target, Number(td.dataset.value)])),
  ])));
  console.log(JSON.stringify(m));
  const ids = Object.keys(m);
  assert.equal(ids.length, 4);
  for (const s of ids) for (const t of ids) assert.ok(m[s][t] >= 0 && m[s][t] <= 1);
  // White-box PGD at ε=0.2 fools the standard models; transfer onto the PGD-trained one does little.
  for (const id of ['mnist-small-cnn', 'mnist-resnet-small']) assert.ok(m[id][id] >= 0.9, `${id}: ${m[id][id]}`);
  for (const s of ids) assert.ok(m[s]['mnist-small-cnn-pgd0.3'] <= 0.3, `${s} → pgd0.3: ${m[s]['mnist-small-cnn-pgd0.3']}`);
  // Transfer is weaker than white-box on each standard target.
  for (const t of ['mnist-small-cnn', 'mnist-resnet-small']) for (const s of ids) assert.ok(m[s][t] <= m[t][t] + 1e-9, `${s} → ${t}`);
  await page.locator('#transfer-matrix').screenshot({ path: `${SHOTS}/transfer-matrix.png` });
  assert.deepEqual(errors, []);
});

test('the batch view\'s settings travel in the URL; unknown models are refused', async () => {
  const { page, errors } = await open(browser,
    '?backend=cpu&curves=mnist-mlp,mnist-small-cnn,<i>x</i>&curve_images=20&curve_steps=3&transfer_eps=0.15');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const ticked = await page.locator('.batch-model:checked').evaluateAll((b) => b.map((x) => x.value));
  assert.deepEqual(ticked.sort(), ['mnist-mlp', 'mnist-small-cnn']);
  assert.equal(await page.locator('#batch-images').inputValue(), '20');
  assert.equal(await page.locator('#batch-steps').inputValue(), '3');
  assert.equal(await page.locator('#transfer-eps').inputValue(), '0.15');
  assert.match((await page.locator('.warning').allTextContents()).join('\n'), /ignored .* in curves/);
  assert.equal(await page.locator('i').count(), 0);
  await page.locator('.batch-model[value="mnist-lenet5"]').check();
  await page.waitForFunction(() => new URLSearchParams(location.search).get('curves')?.includes('mnist-lenet5'));
  assert.match(page.url(), /curve_images=20/);
  assert.deepEqual(errors, []);
});
