// The page's layout at a phone's, a small phone's and a laptop's size, light and dark: no
// horizontal scrolling, every panel on screen in turn (screenshots of each at each size).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open, SHOTS } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const SIZES = {
  desktop: { width: 1280, height: 800 },
  phone: { width: 390, height: 844 },
  small: { width: 360, height: 740 },
};
const PANELS = ['attack-lab', 'defenses', 'train', 'certify', 'batch'];

/** How far the document is wider than the viewport, in CSS pixels, and the widest culprits. */
async function overflow(page) {
  return page.evaluate(() => {
    const width = document.documentElement.clientWidth;
    const culprits = [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > width + 0.5)
      .slice(0, 5)
      .map((e) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} → ${Math.round(e.getBoundingClientRect().right)}`);
    return { excess: document.documentElement.scrollWidth - width, culprits };
  });
}

for (const [name, viewport] of Object.entries(SIZES)) {
  test(`${name} (${viewport.width}×${viewport.height}): no horizontal scrolling, each panel shown`, async () => {
    const { page, errors } = await open(browser, '?backend=cpu', { viewport });
    await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
    const { excess, culprits } = await overflow(page);
    assert.ok(excess <= 0, `document is ${excess} px wider than the ${viewport.width} px viewport: ${culprits.join('; ')}`);
    await page.screenshot({ path: `${SHOTS}/layout-${name}.png` });
    for (const id of PANELS) {
      const panel = page.locator(`#${id}`);
      await panel.scrollIntoViewIfNeeded();
      const box = await panel.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= viewport.width + 0.5, `#${id} spans ${box.x}–${box.x + box.width}`);
      await panel.screenshot({ path: `${SHOTS}/panel-${id}-${name}.png` });
    }
    assert.deepEqual(errors, []);
  });
}

test('dark mode follows prefers-color-scheme', async () => {
  for (const colorScheme of ['light', 'dark']) {
    const { page } = await open(browser, '?backend=cpu', { viewport: SIZES.desktop, colorScheme });
    await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
    const [bg, fg] = await page.evaluate(() => {
      const luminance = (css) => {
        const [r, g, b] = css.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number);
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
      };
      const panel = getComputedStyle(document.querySelector('.panel'));
      return [luminance(getComputedStyle(document.body).backgroundColor), luminance(panel.color)];
    });
    if (colorScheme === 'dark') assert.ok(bg < 0.2 && fg > 0.7, `dark: background ${bg}, text ${fg}`);
    else assert.ok(bg > 0.8 && fg < 0.3, `light: background ${bg}, text ${fg}`);
    await page.screenshot({ path: `${SHOTS}/layout-${colorScheme}.png` });
    await page.close();
  }
});

test('the panel bar marks the panel being read (aria-current), by link and by scrolling', async () => {
  const { page, errors } = await open(browser, '?backend=cpu', { viewport: SIZES.desktop });
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const marked = () => page.locator('#panel-nav a[aria-current="true"]');
  const links = await page.locator('#panel-nav a').evaluateAll((as) => as.map((a) => a.dataset.panel));
  assert.ok(links.length >= 6, `panel bar links: ${links}`);
  // At the top of the page the first panel is the one being read.
  await marked().first().waitFor();
  assert.equal(await marked().getAttribute('data-panel'), links[0]);
  // Following each link marks it, and only it — the short last one too, at the end of the page.
  for (const id of [...links.slice(1), links[0]]) {
    await page.click(`#panel-nav a[data-panel="${id}"]`);
    await page.locator(`#panel-nav a[data-panel="${id}"][aria-current="true"]`).waitFor({ timeout: 5_000 });
    assert.equal(await marked().count(), 1, `after following ${id}`);
  }
  // Scrolling by hand (no link) moves the mark with the reader.
  const third = await page.locator(`#panel-nav a[data-panel="${links[2]}"]`).getAttribute('href');
  await page.evaluate((sel) => {
    const top = document.querySelector(sel).getBoundingClientRect().top + window.scrollY;
    window.scrollTo(0, top - 50);
  }, third);
  await page.locator(`#panel-nav a[data-panel="${links[2]}"][aria-current="true"]`).waitFor({ timeout: 5_000 });
  assert.equal(await marked().count(), 1);
  assert.deepEqual(errors, []);
});
