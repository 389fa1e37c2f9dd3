// The certify panel: IBP proves the IBP-trained model's class at ε=0.1 with bounds that contain the
// clean logits and a largest proven ε beyond 0.1; the standard model is not proven at that ε; the
// URL carries the panel's settings; a bad ε is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function certify(page) {
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  await page.click('#cert-run');
  const el = page.locator('#cert-result[data-ready="true"]');
  await el.waitFor({ timeout: 120_000 });
  const rows = await page.locator('#cert-bounds li').evaluateAll((lis) => lis.map((li) => ({
    lower: Number(li.dataset.lower), upper: Number(li.dataset.upper), logit: Number(li.dataset.logit),
  })));
  return {
    verified: await el.getAttribute('data-verified'),
    margin: Number(await el.getAttribute('data-margin')),
    radius: await el.getAttribute('data-radius'),
    text: await el.textContent(),
    rows,
  };
}

test('IBP proves the IBP-trained model at ε=0.1, bounds contain the clean logits', async () => {
  const { page, errors } = await open(browser, '?model=mnist-strided-cnn-ibp0.1&image=0&cert=ibp&cert_eps=0.1');
  const c = await certify(page);
  assert.equal(c.verified, 'true', c.text);
  assert.ok(c.margin > 0);
  assert.ok(Number(c.radius) >= 0.1, `largest proven ε ${c.radius}`);
  assert.equal(c.rows.length, 10);
  for (const [j, r] of c.rows.entries()) {
    assert.ok(r.lower <= r.logit + 1e-4 && r.logit <= r.upper + 1e-4, `logit ${j}: ${JSON.stringify(r)}`);
  }
  await page.screenshot({ path: `${SHOTS}/certify-ibp.png`, fullPage: true });
  assert.deepEqual(errors, []);
});

test('the standard model is not proven at ε=0.1; CROWN-IBP and ε follow the URL', async () => {
  const { page, errors } = await open(browser, '?image=0&cert=ibp&cert_eps=0.1');
  const c = await certify(page);
  assert.equal(c.verified, 'false', c.text);
  assert.ok(Number(c.radius) < 0.1, `largest proven ε ${c.radius}`);
  // CROWN-IBP's largest proven ε, then a certificate at half of it: the two must agree.
  await page.selectOption('#cert-method', 'crown-ibp');
  await page.waitForFunction(() => location.search.includes('cert=crown-ibp'));
  const crown = await certify(page);
  const half = (Number(crown.radius) / 2).toPrecision(4);
  assert.ok(Number(half) > 0, crown.text);
  await page.fill('#cert-eps', half);
  await page.locator('#cert-eps').dispatchEvent('change');
  await page.waitForFunction((e) => location.search.includes(`cert_eps=${e}`), half);
  const small = await certify(page);
  assert.equal(small.verified, 'true', small.text);
  await page.fill('#cert-eps', 'Infinity');
  await page.locator('#cert-eps').dispatchEvent('change');
  await page.locator('#cert-form-error').waitFor();
  assert.deepEqual(errors, []);
});

test('embed mode shows one panel with minimal chrome; the snippet opens it', async () => {
  const { page, errors } = await open(browser, '?model=mnist-strided-cnn-ibp0.1&image=2&cert_eps=0.05');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const snippet = await page.locator('#embed-certify').inputValue();
  const src = snippet.match(/src="([^"]+)"/)[1];
  assert.match(src, /embed=certify/);
  assert.match(src, /model=mnist-strided-cnn-ibp0\.1/);
  assert.match(src, /image=2/);
  const embedded = await open(browser, new URL(src).search);
  const c = await certify(embedded.page);
  assert.equal(c.verified, 'true', c.text);
  assert.equal(await embedded.page.locator('header').count(), 0);
  assert.equal(await embedded.page.locator('#attack-lab').count(), 0);
  assert.equal(await embedded.page.locator('#embed').count(), 0);
  assert.equal(await embedded.page.locator('#model').count(), 0);
  const full = await embedded.page.locator('#open-full').getAttribute('href');
  assert.doesNotMatch(full, /embed=/);
  assert.match(full, /cert_eps=0\.05/);
  await embedded.page.screenshot({ path: `${SHOTS}/embed-certify.png`, fullPage: true });
  assert.deepEqual([...errors, ...embedded.errors], []);
});
