// The attack lab: FGSM flips the default digit, PGD draws its loss curve step by step, Stop
// halts a long run, the URL carries the parameters (share link), and bad form input is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, ready, set, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function result(page) {
  const el = page.locator('#attack-result[data-ready="true"]');
  await el.waitFor({ timeout: 120_000 });
  return {
    success: await el.getAttribute('data-success'),
    cls: await el.getAttribute('data-class'),
    linf: Number(await el.getAttribute('data-linf')),
    l2: Number(await el.getAttribute('data-l2')),
    text: await el.textContent(),
  };
}

test('FGSM at ε=0.3 flips the default digit, inside the ε-ball', async () => {
  const { page, errors } = await open(browser, '?attack=fgsm&eps=0.3');
  await ready(page);
  assert.equal(await page.locator('#attack-method').inputValue(), 'fgsm');
  await page.click('#attack-run');
  const r = await result(page);
  assert.equal(r.success, 'true', r.text);
  assert.notEqual(r.cls, '7');
  assert.ok(r.linf <= 0.3 + 1e-4 && r.linf > 0.2, `‖δ‖∞ = ${r.linf}`);
  assert.equal(await page.locator('#probs-before li').count(), 10);
  assert.equal(await page.locator('#probs-after li').count(), 10);
  await page.screenshot({ path: `${SHOTS}/attack-fgsm.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('PGD plots its loss per step and the URL becomes the share link', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&image=4&attack=pgd&eps=0.2&steps=15&seed=3');
  await ready(page);
  await page.click('#attack-run');
  const r = await result(page);
  assert.equal(await page.locator('#loss-plot').getAttribute('data-points'), '15');
  assert.ok(r.linf <= 0.2 + 1e-4, `‖δ‖∞ = ${r.linf}`);
  // Change ε in the form: the address bar follows, and opening it reproduces the same run.
  await page.fill('#attack-eps', '0.25');
  await page.locator('#attack-eps').dispatchEvent('change');
  await page.waitForFunction(() => location.search.includes('eps=0.25'));
  const shared = new URL(page.url()).search;
  assert.match(shared, /image=4/);
  assert.match(shared, /steps=15/);
  assert.match(shared, /backend=cpu/);
  await page.click('#attack-run');
  const first = await result(page);
  const again = await open(browser, shared);
  await ready(again.page);
  assert.equal(await again.page.locator('#attack-eps').inputValue(), '0.25');
  await again.page.click('#attack-run');
  const second = await result(again.page);
  assert.equal(second.cls, first.cls, 'a shared link reproduces the run (seeded)');
  assert.equal(second.linf, first.linf);
  await page.screenshot({ path: `${SHOTS}/attack-pgd.png`, fullPage: true });
  assert.deepEqual(errors, []);
  assert.deepEqual(again.errors, []);
});

test('Stop halts a long PGD run; bad ε is refused in the form and in the URL', async () => {
  const { page, errors } = await open(browser, '?attack=pgd&steps=500&restarts=10&eps=abc');
  await ready(page);
  const warnings = await page.locator('.warning').allTextContents();
  assert.ok(warnings.some((w) => w.includes('eps')), warnings.join(' | '));
  await page.click('#attack-run');
  await page.locator('#attack-status').waitFor();
  await page.click('#attack-stop');
  const r = await result(page);
  assert.match(r.text, /stopped early/);
  const points = Number(await page.locator('#loss-plot').getAttribute('data-points'));
  assert.ok(points < 5000, `${points} steps ran`);
  await page.fill('#attack-eps', '-1');
  await page.locator('#attack-eps').dispatchEvent('change');
  await page.locator('#attack-form-error').waitFor();
  assert.ok(await page.locator('#attack-run').isEnabled());
  assert.deepEqual(errors, []);
});

test('the PGD-trained model from the zoo resists the FGSM that fools the standard one', async () => {
  const { page, errors } = await open(browser, '?model=mnist-small-cnn-pgd0.3&attack=fgsm&eps=0.3');
  await ready(page);
  assert.equal(await page.locator('#model').inputValue(), 'mnist-small-cnn-pgd0.3');
  await page.click('#attack-run');
  const r = await result(page);
  assert.equal(r.success, 'false', r.text);
  assert.equal(r.cls, '7');
  // Switching models in the picker reloads and re-predicts; the URL follows.
  await page.selectOption('#model', 'mnist-lenet5');
  await page.waitForFunction(() => location.search.includes('model=mnist-lenet5'));
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#prediction').getAttribute('data-class'), '7');
  await page.screenshot({ path: `${SHOTS}/attack-robust-model.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('targeted, L2 and C&W attacks: the target is reached, each stays in its ball', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&attack=pgd&eps=0.3&steps=40&target=3');
  await ready(page);
  assert.equal(await page.locator('#attack-target').inputValue(), '3');
  await page.click('#attack-run');
  let r = await result(page);
  assert.equal(r.success, 'true', r.text);
  assert.equal(r.cls, '3', 'a targeted attack reaches its target, not just any wrong class');
  assert.ok(r.linf <= 0.3 + 1e-4, `‖δ‖∞ = ${r.linf}`);
  // The true class as target is refused.
  await page.selectOption('#attack-target', '7');
  await page.click('#attack-run');
  await page.locator('#attack-result.error').waitFor();

  await page.selectOption('#attack-target', 'none');
  await page.selectOption('#attack-norm', 'l2');
  await page.waitForFunction(() => location.search.includes('norm=l2'));
  await set(page, '#attack-eps', '2.5');
  await set(page, '#attack-alpha', '0.25');
  await page.waitForFunction(() => location.search.includes('alpha=0.25'));
  await page.click('#attack-run');
  r = await result(page);
  assert.ok(r.l2 <= 2.5 + 1e-3, `‖δ‖₂ = ${r.l2}`);
  assert.ok(r.l2 > 0.5, `‖δ‖₂ = ${r.l2}`);
  await set(page, '#attack-alpha', 'x');
  await page.locator('#attack-form-error').waitFor();
  await set(page, '#attack-alpha', '');

  await page.selectOption('#attack-method', 'cw');
  await set(page, '#attack-eps', '4');
  await set(page, '#attack-steps', '100');
  await page.click('#attack-run');
  r = await result(page);
  assert.equal(r.success, 'true', r.text);
  assert.ok(r.l2 < 4, `C&W ‖δ‖₂ = ${r.l2}`);
  console.log(`C&W L2 on image 0: ${r.l2}`);
  await page.screenshot({ path: `${SHOTS}/attack-cw.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('query-only attacks: Square and HopSkipJump count their queries and stay in the ball', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&attack=square&eps=0.3&queries=300&seed=1');
  await ready(page);
  assert.equal(await page.locator('#attack-method').inputValue(), 'square');
  assert.equal(await page.locator('#attack-queries').inputValue(), '300');
  await page.click('#attack-run');
  const r = await result(page);
  assert.equal(r.success, 'true', r.text);
  assert.ok(r.linf <= 0.3 + 1e-4, `‖δ‖∞ = ${r.linf}`);
  const spent = Number(await page.locator('#attack-spent').getAttribute('data-queries'));
  assert.ok(spent >= 2 && spent <= 300, `${spent} queries`);
  // HopSkipJump (labels only) walks the boundary: its distance shrinks as queries are spent.
  await page.selectOption('#attack-method', 'hsj');
  await page.selectOption('#attack-norm', 'l2');
  await set(page, '#attack-eps', '4');
  await set(page, '#attack-steps', '8');
  await set(page, '#attack-queries', '1500');
  await page.waitForFunction(() => location.search.includes('queries=1500'));
  await page.click('#attack-run');
  const h = await result(page);
  assert.ok(h.l2 <= 4 + 1e-3, `‖δ‖₂ = ${h.l2}`);
  const plot = page.locator('#loss-plot');
  const first = Number(await plot.getAttribute('data-first'));
  const last = Number(await plot.getAttribute('data-last'));
  assert.ok(last < first, `distance ${first} → ${last}`);
  const hsjSpent = Number(await page.locator('#attack-spent').getAttribute('data-queries'));
  assert.ok(hsjSpent <= 1500, `${hsjSpent} queries`);
  assert.equal(await page.locator('#attack-target').isDisabled(), true);
  await page.locator('#attack-lab').screenshot({ path: `${SHOTS}/attack-hsj.png` });
  await set(page, '#attack-queries', '1');
  await page.locator('#attack-form-error').waitFor();
  assert.deepEqual(errors, []);
});

test('hostile attack settings in the URL are ignored with warnings', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&attack=<b>x</b>&norm=l3&alpha=-1&target=12&eps=1e9');
  await ready(page);
  const warnings = (await page.locator('.warning').allTextContents()).join('\n');
  for (const key of ['attack=', 'norm=', 'alpha', 'target', 'eps']) assert.ok(warnings.includes(key), warnings);
  assert.equal(await page.locator('b').count(), 0);
  assert.equal(await page.locator('#attack-norm').inputValue(), 'linf');
  assert.deepEqual(errors, []);
});
