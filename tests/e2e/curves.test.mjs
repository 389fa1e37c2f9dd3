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
