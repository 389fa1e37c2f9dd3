// Long work never freezes the page: while the CPU backend attacks a defence with EOT (the
// heaviest panel job), a 50 ms timer in the page keeps firing — the core hands control back to
// the browser between steps — and Stop takes effect. It waits on the panel's progress, not on time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, set } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the page keeps responding during a long EOT run on the CPU, and Stop works', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&embed=defenses');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  await page.selectOption('#defense-kind', 'noise');
  await set(page, '#defense-images', '100');
  await page.evaluate(() => {
    window.__gaps = [];
    let last = performance.now();
    window.__timer = setInterval(() => {
      const now = performance.now();
      window.__gaps.push(now - last);
      last = now;
    }, 50);
  });
  await page.click('#defense-run');
  // Let it finish the first EOT batch (the third row's first 50 images), then stop: the second
  // batch never ends, so the row never completes.
  await page.waitForFunction(() => {
    const status = document.querySelector('#defense-status');
    return status?.dataset.row === '2' && Number(status.dataset.images) >= 50;
  }, null, { timeout: 300_000 });
  await page.click('#defense-stop');
  await page.locator('#defense-run:not([disabled])').waitFor({ timeout: 60_000 });
  const gaps = await page.evaluate(() => { clearInterval(window.__timer); return window.__gaps; });
  const worst = Math.max(...gaps);
  console.log(`responsiveness: ${gaps.length} timer ticks, worst gap ${worst.toFixed(0)} ms`);
  assert.ok(gaps.length > 20, `${gaps.length} ticks`);
  // One EOT step (16 draws of 50 images, forward and backward, vectorised) is the longest stretch:
  // ~0.4 s on 2 cores. Without the hand-backs a whole row (20 steps) would be one ~8 s freeze.
  assert.ok(worst < 1000, `the page froze for ${worst.toFixed(0)} ms`);
  assert.equal(await page.locator('#defense-rows li[data-id="eot"]').count(), 0, 'stopped before the EOT row finished');
  assert.deepEqual(errors, []);
});
