// The certify panel: IBP proves the IBP-trained model's class at ε=0.1 with bounds that contain the
// clean logits and a largest proven ε beyond 0.1; the standard model is not proven at that ε; the
// URL carries the panel's settings; a bad ε is refused; WebGPU's bounds are the CPU backend's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, set, SHOTS } from './browser.mjs';

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

test('IBP and CROWN-IBP on WebGPU give the CPU backend\'s bounds (sound in the browser as natively)', async () => {
  // The CPU backend's bounds are the ones the native suite checks for soundness against
  // auto_LiRPA and against optimised points; WebGPU's must contain them up to float rounding.
  for (const method of ['ibp', 'crown-ibp']) {
    const query = `?model=mnist-strided-cnn-ibp0.1&image=4&cert=${method}&cert_eps=0.1`;
    const gpu = await open(browser, query);
    const cpu = await open(browser, `${query}&backend=cpu`);
    const [g, c] = [await certify(gpu.page), await certify(cpu.page)];
    assert.equal(await gpu.page.locator('#backend').getAttribute('data-kind'), 'webgpu');
    assert.equal(g.verified, c.verified, `${method}: ${g.text} vs ${c.text}`);
    assert.equal(g.rows.length, 10);
    const tol = (v) => 1e-4 * Math.max(1, Math.abs(v));
    for (const [j, r] of g.rows.entries()) {
      const want = c.rows[j];
      assert.ok(r.lower <= want.lower + tol(want.lower) && r.upper >= want.upper - tol(want.upper),
        `${method} logit ${j}: WebGPU ${JSON.stringify(r)} vs CPU ${JSON.stringify(want)}`);
      assert.ok(Math.abs(r.lower - want.lower) <= 1e-3 * Math.max(1, Math.abs(want.lower)), `${method} ${j} lower`);
      assert.ok(Math.abs(r.upper - want.upper) <= 1e-3 * Math.max(1, Math.abs(want.upper)), `${method} ${j} upper`);
      assert.ok(r.lower <= r.logit + 1e-4 && r.logit <= r.upper + 1e-4, `${method} logit ${j} inside`);
    }
    assert.deepEqual(gpu.errors, []);
    assert.deepEqual(cpu.errors, []);
    await gpu.page.close();
    await cpu.page.close();
  }
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

/** Φ⁻¹ by Acklam's rational approximation (relative error < 1.2e-9), for checking radii. */
function probit(p) {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.383577518672690e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -probit(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

test('an embedded panel sizes its iframe through the one-line listener, and follows its content', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&model=mnist-strided-cnn-ibp0.1&image=2&cert_eps=0.05');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const snippet = await page.locator('#embed-certify-sized').inputValue();
  assert.match(snippet, /<iframe src="[^"]+embed=certify[^"]*" width="760" height="720"/);
  assert.match(snippet, /<script>addEventListener\("message"/);
  const host = await browser.newPage({ viewport: { width: 1000, height: 760 } });
  const hostErrors = [];
  host.on('pageerror', (e) => hostErrors.push(String(e)));
  await host.setContent(`<!DOCTYPE html><html><body><h1>Course page</h1>${snippet}</body></html>`);
  const frame = host.frames().find((f) => f.url().includes('embed=certify'));
  await frame.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const sized = async () => {
    // The iframe's height equals the embedded page's content height (within a pixel).
    await host.waitForFunction(async () => true);
    const content = await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height));
    await host.waitForFunction((h) => {
      const f = document.querySelector('iframe');
      return Math.abs(parseFloat(f.style.height) - h) <= 1;
    }, content, { timeout: 10_000 });
    return content;
  };
  const before = await sized();
  assert.ok(before > 300 && before !== 720, `content height ${before}`);
  await frame.click('#cert-run');
  await frame.locator('#cert-result[data-ready="true"]').waitFor({ timeout: 120_000 });
  const after = await sized();
  assert.ok(after > before, `the certificate's bounds make it taller: ${before} → ${after}`);
  console.log(`embedded certify panel: ${before} px, then ${after} px with the certificate`);
  assert.deepEqual(hostErrors, []);
  assert.deepEqual(errors, []);
  await host.close();
});

test('randomized smoothing certifies the noise-trained model with R = σ·Φ⁻¹(p̲A)', async () => {
  const { page, errors } = await open(browser, '?model=mnist-small-cnn-noise0.25&image=0&sigma=0.25&n=1000');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#smooth-sigma').inputValue(), '0.25');
  await page.click('#smooth-run');
  const el = page.locator('#smooth-result[data-ready="true"]');
  await el.waitFor({ timeout: 120_000 });
  const cls = await el.getAttribute('data-class');
  const radius = Number(await el.getAttribute('data-radius'));
  const pa = Number(await el.getAttribute('data-pa'));
  assert.equal(cls, '7', await el.textContent());
  // 1000 votes out of 1000 at α = 0.001 give p̲A = 0.001^(1/1000); fewer votes give less.
  assert.ok(pa > 0.5 && pa <= Math.pow(0.001, 1 / 1000) + 1e-9, `p̲A ${pa}`);
  assert.ok(Math.abs(radius - 0.25 * probit(pa)) < 1e-6, `R ${radius} vs σ·Φ⁻¹(${pa})`);
  await set(page, '#smooth-n', '0');
  await page.locator('#cert-form-error').waitFor();
  assert.deepEqual(errors, []);
});

test('smoothing over a test slice: certified accuracy falls with the radius, within what n allows', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&model=mnist-small-cnn-noise0.25&sigma=0.25&n=500&embed=certify');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  await set(page, '#smooth-curve-images', '20');
  await page.click('#smooth-curve-run');
  const summary = page.locator('#smooth-curve-summary');
  await summary.waitFor({ timeout: 300_000 });
  assert.equal(await summary.getAttribute('data-images'), '20');
  const values = (await page.locator('#smooth-curve polyline').getAttribute('data-values')).split(',').map(Number);
  assert.ok(values[0] >= 0.8, `certified accuracy at radius 0: ${values[0]}`);
  for (let i = 1; i < values.length; i++) assert.ok(values[i] <= values[i - 1], values.join(','));
  // With n = 500 votes the best possible p̲A is α^(1/n), so no radius can exceed σ·Φ⁻¹ of it.
  const largest = Number(await summary.getAttribute('data-largest'));
  const ceiling = 0.25 * probit(Math.pow(0.001, 1 / 500));
  assert.ok(largest > 0 && largest <= ceiling + 1e-9, `largest radius ${largest} vs ceiling ${ceiling}`);
  await page.locator('#certify').screenshot({ path: `${SHOTS}/smoothing-curve.png` });
  await set(page, '#smooth-curve-images', '5000');
  await page.locator('#smooth-curve-form-error').waitFor();
  assert.deepEqual(errors, []);
});
