// Accessibility and the laptop workflow: axe-core finds no serious or critical violation on any
// panel (light and dark, before and after a run); an attack runs from the keyboard alone (Tab to
// the gallery, arrow keys through the images, Tab to Run, Enter) with a visible focus ring; on a
// 1280×800 screen the result of a run shows without scrolling; charts and results save as SVG,
// PNG, CSV and JSON with the data shown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { launch, open, ready, SHOTS } from './browser.mjs';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const DESKTOP = { width: 1280, height: 800 };
const PANELS = ['attack-lab', 'defenses', 'train', 'certify', 'batch'];

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

/** axe-core's serious and critical violations inside `selector`, as readable lines. */
async function violations(page, selector) {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const found = await page.evaluate(async (selector) => {
    const result = await window.axe.run(selector, { resultTypes: ['violations'] });
    return result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
  }, selector);
  return found;
}

for (const colorScheme of ['light', 'dark']) {
  test(`axe-core: no serious or critical violation on any panel (${colorScheme})`, async () => {
    const { page, errors } = await open(browser, '?backend=cpu', { viewport: DESKTOP, colorScheme });
    await ready(page);
    for (const selector of ['header', 'aside.selection', '#panel-nav', ...PANELS.map((p) => `#${p}`), '#embed']) {
      assert.deepEqual(await violations(page, selector), [], `${selector} (${colorScheme})`);
    }
    // After a run: the result, its figures and the save buttons.
    await page.click('#attack-run');
    await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 120_000 });
    assert.deepEqual(await violations(page, '#attack-lab'), [], `#attack-lab after a run (${colorScheme})`);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('keyboard only: gallery by arrow keys, then an attack run with Enter', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&attack=pgd&eps=0.2&steps=10', { viewport: DESKTOP });
  await ready(page);
  const focused = () => page.evaluate(() => {
    const e = document.activeElement;
    return { id: e?.id ?? '', index: e?.dataset?.index ?? null, outline: e ? getComputedStyle(e).outlineStyle : 'none' };
  });
  // Tab until the gallery's one tab stop (the shown image) has the focus.
  let f;
  for (let i = 0; i < 40; i++) {
    await page.keyboard.press('Tab');
    f = await focused();
    if (f.index !== null) break;
  }
  assert.equal(f.index, '0', 'the gallery is reachable by Tab and its stop is the shown image');
  assert.notEqual(f.outline, 'none', 'the focus is visible');
  await page.keyboard.press('ArrowRight');
  await page.locator('#label[data-index="1"]').waitFor();
  assert.equal((await focused()).index, '1', 'the focus follows the arrow key');
  await page.keyboard.press('ArrowDown');
  await page.locator('#label[data-index="7"]').waitFor();
  await page.keyboard.press('ArrowLeft');
  await page.locator('#label[data-index="6"]').waitFor();
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  // On to the attack lab's Run button, and Enter.
  for (let i = 0; i < 60; i++) {
    await page.keyboard.press('Tab');
    f = await focused();
    if (f.id === 'attack-run') break;
  }
  assert.equal(f.id, 'attack-run', 'Run is reachable by Tab');
  assert.notEqual(f.outline, 'none');
  await page.keyboard.press('Enter');
  const result = page.locator('#attack-result[data-ready="true"]');
  await result.waitFor({ timeout: 120_000 });
  assert.equal(await page.locator('#loss-plot').getAttribute('data-points'), '10');
  // The outcome is in a live region.
  assert.equal(await result.evaluate((e) => e.closest('[aria-live]')?.getAttribute('aria-live')), 'polite');
  assert.deepEqual(errors, []);
});

test('1280×800: the result of a run shows without scrolling', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&attack=pgd&eps=0.2&steps=10', { viewport: DESKTOP });
  await ready(page);
  await page.locator('#attack-empty').waitFor();
  await page.click('#attack-run');
  await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 120_000 });
  const boxes = await page.evaluate(() => {
    const box = (s) => { const r = document.querySelector(s).getBoundingClientRect(); return { top: r.top, bottom: r.bottom }; };
    return { run: box('#attack-run'), result: box('#attack-result'), figures: box('#attack-lab .triptych'), height: innerHeight };
  });
  for (const what of ['run', 'result', 'figures']) {
    assert.ok(boxes[what].top >= 0 && boxes[what].bottom <= boxes.height,
      `${what} spans ${boxes[what].top}–${boxes[what].bottom} of a ${boxes.height} px viewport`);
  }
  await page.screenshot({ path: `${SHOTS}/attack-desktop-after-run.png` });
  assert.deepEqual(errors, []);
});

test('charts and results save as SVG, PNG, CSV and JSON with the data shown', async () => {
  const { page, errors } = await open(browser, '?backend=cpu&attack=pgd&eps=0.2&steps=12&seed=1', { viewport: DESKTOP });
  await ready(page);
  await page.click('#attack-run');
  await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 120_000 });
  const save = async (id) => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#${id}`)]);
    return { name: download.suggestedFilename(), bytes: await readFile(await download.path()) };
  };
  const svg = await save('attack-svg');
  assert.equal(svg.name, 'attack.svg');
  const text = svg.bytes.toString();
  assert.match(text, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal((text.match(/<circle/g) ?? []).length, 12, 'one point per step');
  assert.doesNotMatch(text, /var\(--/, 'colours resolved from the style sheet');
  const png = await save('attack-png');
  assert.equal(png.name, 'attack.png');
  assert.deepEqual([...png.bytes.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG file');
  assert.equal(png.bytes.readUInt32BE(16), 640, 'twice the chart width');
  const csv = (await save('attack-csv')).bytes.toString().trim().split('\n');
  assert.equal(csv[0], 'restart,step,mean_loss,success_rate');
  assert.equal(csv.length, 13);
  const last = Number(await page.locator('#loss-plot').getAttribute('data-last'));
  assert.ok(Math.abs(Number(csv[12].split(',')[2]) - last) < 1e-5, `${csv[12]} vs ${last}`);
  const json = JSON.parse((await save('attack-json')).bytes.toString());
  const shown = page.locator('#attack-result');
  assert.equal(String(json.class_after), await shown.getAttribute('data-class'));
  assert.equal(json.settings.steps, 12);
  assert.equal(json.trace.length, 12);
  assert.ok(Math.abs(json.linf - Number(await shown.getAttribute('data-linf'))) < 1e-4);
  assert.equal(json.probabilities_after.length, 10);
  // Hovering a point of a chart reads out its value.
  const title = await page.locator('#loss-plot circle').nth(11).locator('title').textContent();
  assert.match(title, /step 12: /);
  assert.deepEqual(errors, []);
});
