// The guided tour: each step opens the page in the state its text describes, and what the text
// promises happens — PGD flips the standard model, quantization looks robust to plain PGD and
// BPDA breaks it, the PGD-trained model holds, IBP proves the IBP-trained model at ε=0.1,
// smoothing certifies a radius.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, set, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function step(page, n) {
  await page.locator(`#tour[data-step="${n}"]`).waitFor({ timeout: 60_000 });
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.match(page.url(), new RegExp(`tour=${n}`));
}

async function attack(page) {
  await page.click('#attack-run');
  const r = page.locator('#attack-result[data-ready="true"]');
  await r.waitFor({ timeout: 120_000 });
  return r.getAttribute('data-success');
}

test('the tour tells the paper\'s story, and each step does what it says', async () => {
  const { page, errors } = await open(browser, '?backend=cpu');
  await page.locator('#tour-start a').click();
  await step(page, 1);
  assert.equal(await page.locator('#model').inputValue(), 'mnist-small-cnn');
  assert.equal(await attack(page), 'true');
  await page.locator('#tour').screenshot({ path: `${SHOTS}/tour-1.png` });
  await page.click('#tour-next');
  await step(page, 2);
  // Step 2: "Press Attack the defence and read the second row: plain PGD barely dents it".
  await set(page, '#defense-images', '30');
  await page.click('#defense-run');
  await page.locator('#defense-rows[data-ready="true"]').waitFor({ timeout: 300_000 });
  const rows = Object.fromEntries(await page.locator('#defense-rows li').evaluateAll((lis) => lis.map((li) => [
    li.dataset.id, { robust: Number(li.dataset.robust), clean: Number(li.dataset.clean) },
  ])));
  const { none, defended, bpda } = rows;
  assert.ok(defended.robust >= defended.clean - 0.2, JSON.stringify(rows));
  assert.ok(defended.robust >= none.robust + 0.3, JSON.stringify(rows));
  await page.click('#tour-next');
  await step(page, 3);
  // Step 3: BPDA (the third row) "falls back to about that of the undefended model".
  assert.ok(bpda.robust <= none.robust + 0.2, JSON.stringify(rows));
  assert.ok(bpda.robust <= defended.robust - 0.3, JSON.stringify(rows));
  await page.click('#tour-next');
  await step(page, 4);
  assert.equal(await page.locator('#model').inputValue(), 'mnist-small-cnn-pgd0.3');
  assert.equal(await attack(page), 'false');
  await page.click('#tour-next');
  await step(page, 5);
  await page.click('#cert-run');
  const cert = page.locator('#cert-result[data-ready="true"]');
  await cert.waitFor({ timeout: 120_000 });
  assert.equal(await cert.getAttribute('data-verified'), 'true');
  await page.click('#tour-next');
  await step(page, 6);
  await page.click('#smooth-run');
  const smooth = page.locator('#smooth-result[data-ready="true"]');
  await smooth.waitFor({ timeout: 120_000 });
  assert.equal(await smooth.getAttribute('data-class'), '7');
  assert.ok(Number(await smooth.getAttribute('data-radius')) > 0.25);
  await page.click('#tour-prev');
  await step(page, 5);
  await page.click('#tour-next');
  await step(page, 6);
  // The poisoning step opens the training panel with the backdoor set (training it is the
  // training test's job).
  await page.click('#tour-next');
  await step(page, 7);
  assert.equal(await page.locator('#train-poison').inputValue(), 'badnets');
  assert.equal(await page.locator('#train-arch').inputValue(), 'mlp');
  await page.click('#tour-end');
  await page.locator('#tour-start').waitFor();
  assert.deepEqual(errors, []);
});

test('a bad tour step is ignored with a warning', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&tour=99');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const warnings = await page.locator('.warning').allTextContents();
  assert.ok(warnings.some((w) => w.includes('tour')), warnings.join('\n'));
  assert.equal(await page.locator('#tour').count(), 0);
  assert.deepEqual(errors, []);
});
