// Training in the tab: a short Madry PGD run on the CPU backend lowers the loss, lifts clean and
// robust accuracy on held-out test images step by step, and the trained model then serves the
// other panels; the settings travel in the URL; Stop keeps the model so far; bad input is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { drawOne, launch, open, set, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const series = (page) => page.locator('#train-plot polyline.curve').evaluateAll((lines) => Object.fromEntries(
  lines.map((l) => [l.dataset.id, l.dataset.values.split(',').map(Number)]),
));

test('PGD training in the tab: loss falls, accuracy rises, the model is usable', async () => {
  const { page, errors } = await open(browser,
    '?backend=cpu&train_arch=mlp&train_obj=pgd&train_eps=0.1&train_epochs=2&train_seed=3');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#train-arch').inputValue(), 'mlp');
  assert.equal(await page.locator('#train-objective').inputValue(), 'pgd');
  const started = Date.now();
  await page.click('#train-run');
  await page.locator('#train-result[data-ready="true"]').waitFor({ timeout: 400_000 });
  console.log(`train: MLP, PGD-5 ε=0.1, 80 steps of 50 on CPU: ${Date.now() - started} ms`);
  const status = page.locator('#train-status');
  assert.equal(await status.getAttribute('data-step'), '80');
  const [first, last] = [Number(await status.getAttribute('data-first-loss')), Number(await status.getAttribute('data-last-loss'))];
  assert.ok(last < first, `loss ${first} → ${last}`);
  const s = await series(page);
  console.log('train curves', JSON.stringify(s));
  // Measured at steps 0, 20, 40, 60, 80.
  assert.equal(s.clean.length, 5);
  assert.ok(s.clean[0] < 0.3, `untrained clean ${s.clean[0]}`);
  assert.ok(s.clean[4] >= 0.7, `clean ${s.clean}`);
  assert.ok(s.robust[4] >= s.robust[0] + 0.2, `robust ${s.robust}`);
  // On the same images: what IBP verifies, PGD cannot break, and PGD only removes correct ones.
  for (let i = 0; i < 5; i++) assert.ok(s.robust[i] <= s.clean[i] && s.verified[i] <= s.robust[i], JSON.stringify(s));
  assert.match(await page.locator('#train-download').getAttribute('href'), /^blob:/);
  await page.locator('#train').screenshot({ path: `${SHOTS}/train.png` });

  await page.click('#train-use');
  await page.locator('#model option[value="trained"]').waitFor({ state: 'attached' });
  assert.equal(await page.locator('#model').inputValue(), 'trained');
  assert.match(page.url(), /model=trained/);
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 60_000 });
  // The attack lab runs on the trained model.
  await page.click('#attack-run');
  await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 120_000 });
  // Back to a zoo model and to the trained one again.
  await page.selectOption('#model', 'mnist-small-cnn');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 60_000 });
  assert.match(page.url(), /model=mnist-small-cnn/);
  await page.selectOption('#model', 'trained');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 60_000 });
  assert.deepEqual(errors, []);
});

test('the poisoning step: a BadNets backdoor takes in the tab and the trigger flips a shown and a drawn digit', async () => {
  const { page, errors } = await open(browser,
    '?backend=cpu&image=0&train_arch=mlp&train_obj=standard&train_epochs=3&train_seed=0'
    + '&train_poison=badnets&train_target=0&train_rate=0.05');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#train-poison').inputValue(), 'badnets');
  assert.equal(await page.locator('#train-target').inputValue(), '0');
  const started = Date.now();
  await page.click('#train-run');
  // The poisons, beside their clean originals: other classes relabelled 0.
  const preview = page.locator('#poison-preview');
  await preview.waitFor({ timeout: 60_000 });
  assert.equal(await preview.getAttribute('data-poisons'), '100');
  const relabels = await page.locator('#poison-preview .poison').evaluateAll((ps) => ps.map((p) => [p.dataset.labelBefore, p.dataset.labelAfter]));
  assert.equal(relabels.length, 6);
  for (const [before, after] of relabels) assert.ok(before !== '0' && after === '0', JSON.stringify(relabels));
  await page.locator('#train-result[data-ready="true"]').waitFor({ timeout: 400_000 });
  console.log(`poisoned training: MLP, 120 steps of 50 on CPU: ${Date.now() - started} ms`);
  const s = await series(page);
  console.log('poisoned train curves', JSON.stringify(s));
  assert.equal(s.backdoor.length, 7);
  assert.ok(s.backdoor[0] < 0.3, `untrained trigger success ${s.backdoor}`);
  assert.ok(s.backdoor[6] >= 0.9, `the backdoor takes: ${s.backdoor}`);
  assert.ok(s.clean[6] >= 0.75, `clean accuracy kept: ${s.clean}`);
  // Both detectors give a verdict on the 2,000 training images.
  const verdicts = await page.locator('#poison-detectors li').evaluateAll((ls) => ls.map((l) => ({ ...l.dataset })));
  console.log('detectors', JSON.stringify(verdicts));
  assert.deepEqual(verdicts.map((v) => v.detector).sort(), ['clustering', 'spectral']);
  for (const v of verdicts) assert.ok(Number(v.recall) >= 0 && Number(v.recall) <= 1 && Number(v.precision) >= 0, JSON.stringify(v));
  // Test image 0 is a 7: still a 7 as it is, a 0 with the trigger.
  const check = page.locator('#poison-check[data-ready="true"]');
  await check.waitFor({ timeout: 60_000 });
  assert.equal(await check.getAttribute('data-index'), '0');
  assert.equal(await check.getAttribute('data-clean'), '7');
  assert.equal(await check.getAttribute('data-triggered'), '0');
  await page.locator('#poison-flipped').waitFor();
  await page.locator('#train').screenshot({ path: `${SHOTS}/train-poisoned.png` });
  assert.match(page.url(), /train_poison=badnets&train_target=0&train_rate=0.05/);
  // The user's own drawing, a 1: the check follows the shown image.
  await drawOne(page);
  const drawn = page.locator('#poison-check[data-index="1000"][data-ready="true"]');
  await drawn.waitFor({ timeout: 60_000 });
  console.log('drawn digit', await drawn.getAttribute('data-clean'), '→', await drawn.getAttribute('data-triggered'));
  assert.equal(await drawn.getAttribute('data-triggered'), '0');
  // Turning the step off takes it out of the link.
  await page.selectOption('#train-poison', 'none');
  await page.waitForFunction(() => !window.location.search.includes('train_poison'));
  assert.equal(await page.locator('#train-target').count(), 0);
  assert.deepEqual(errors, []);
});

test('clean-label poisons keep their labels and their ε-ball, crafted against the model at the top', async () => {
  const { page, errors } = await open(browser,
    '?backend=cpu&model=mnist-small-cnn&train_arch=mlp&train_obj=standard&train_epochs=1&train_seed=0'
    + '&train_poison=clean-label&train_target=0&train_rate=0.05');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#train-poison').inputValue(), 'clean-label');
  const started = Date.now();
  await page.click('#train-run');
  const preview = page.locator('#poison-preview[data-kind="clean-label"]');
  await preview.waitFor({ timeout: 120_000 });
  console.log(`clean-label poisons: 100 × PGD-40 on the small CNN (CPU): ${Date.now() - started} ms`);
  assert.equal(await preview.getAttribute('data-poisons'), '100');
  const linf = Number(await preview.getAttribute('data-linf-outside-trigger'));
  assert.ok(linf > 0.1 && linf <= 0.3 + 1e-6, `outside the trigger the change stays within ε: ${linf}`);
  const labels = await page.locator('#poison-preview .poison').evaluateAll((ps) => ps.map((p) => [p.dataset.labelBefore, p.dataset.labelAfter]));
  for (const [before, after] of labels) assert.ok(before === '0' && after === '0', JSON.stringify(labels));
  await page.locator('#train-result[data-ready="true"]').waitFor({ timeout: 400_000 });
  const s = await series(page);
  console.log('clean-label trigger success', JSON.stringify(s.backdoor));
  assert.equal(s.backdoor.length, 3);
  await page.locator('#poison-check[data-ready="true"]').waitFor({ timeout: 60_000 });
  assert.deepEqual(errors, []);
});

test('Stop keeps the model so far; bad settings are refused', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&embed=train&train_arch=mlp&train_obj=standard&train_epochs=20');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#attack-lab').count(), 0);
  await page.click('#train-run');
  await page.waitForFunction(() => Number(document.querySelector('#train-status')?.dataset.step ?? 0) >= 5);
  await page.click('#train-stop');
  const result = page.locator('#train-result[data-ready="true"]');
  await result.waitFor({ timeout: 60_000 });
  assert.equal(await result.getAttribute('data-stopped'), 'true');
  const step = Number(await page.locator('#train-status').getAttribute('data-step'));
  assert.ok(step >= 5 && step < 800, `stopped at ${step}`);
  await set(page, '#train-epochs', '1000');
  await page.locator('#train-form-error').waitFor();
  await set(page, '#train-eps', '0');
  await page.locator('#train-form-error').waitFor();
  assert.deepEqual(errors, []);
});

test('hostile train settings in the URL are ignored with a warning', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&train_arch=<script>&train_epochs=1e9&model=trained'
    + '&train_poison=frogs&train_rate=0.9');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const warnings = await page.locator('.warning').allTextContents();
  assert.ok(warnings.some((w) => w.includes('train_arch')), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('train_epochs')), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('model=trained')), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('train_poison')), warnings.join('\n'));
  assert.ok(warnings.some((w) => w.includes('poison rate must be at most 0.5')), warnings.join('\n'));
  assert.equal(await page.locator('#train-poison').inputValue(), 'none');
  assert.equal(await page.locator('#train-arch').inputValue(), 'small-cnn');
  assert.equal(await page.locator('#model').inputValue(), 'mnist-small-cnn');
  assert.deepEqual(errors, []);
});
