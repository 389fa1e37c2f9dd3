// Shared helpers: launch Debian's Chromium (never a downloaded browser) and open the page.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

export const BASE_URL = process.env.PERTURB_URL ?? 'http://127.0.0.1:8080/';
export const SHOTS = process.env.PERTURB_SHOTS ?? new URL('../../target/e2e-screenshots/', import.meta.url).pathname;
mkdirSync(SHOTS, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
      '--enable-unsafe-webgpu',
    ],
  });
}

/** Open `query` on the playground (at `viewport`, 1000×760 unless given), collecting page errors;
 * `init` (a function) runs in the page before its own scripts. */
export async function open(browser, query = '', { viewport = { width: 1000, height: 760 }, colorScheme, init } = {}) {
  const page = await browser.newPage({ viewport, colorScheme, hasTouch: viewport.width < 600 });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  if (init) await page.addInitScript(init);
  await page.goto(BASE_URL + query);
  return { page, errors };
}

/** Wait until the page has predicted the shown image and the attack lab is there. */
export async function ready(page) {
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  await page.locator('#attack-lab').waitFor();
}

/** Type `value` into the input `selector` and commit it (the page reacts to `change`). */
export async function set(page, selector, value) {
  await page.fill(selector, value);
  await page.locator(selector).dispatchEvent('change');
}

/** Open "Bring your own digit", draw one vertical stroke (a 1) on the pad and use it. */
export async function drawOne(page) {
  await page.locator('#bring-your-own summary').click();
  // Mouse events land only inside the viewport: bring the whole pad into it first.
  await page.locator('#sketch').scrollIntoViewIfNeeded();
  const box = await page.locator('#sketch').boundingBox();
  await page.mouse.move(box.x + 140, box.y + 40);
  await page.mouse.down();
  await page.mouse.move(box.x + 145, box.y + 240, { steps: 12 });
  await page.mouse.up();
  await page.click('#sketch-use');
  await page.locator('#label[data-drawn="true"]').waitFor();
}
