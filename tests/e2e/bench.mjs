// Page timings in headless Chromium (a bench, not a test; `npm run bench` against a served page):
// time to first prediction (page load, wasm compile, backend start, shader warm-up, one forward
// pass) and the per-step time of PGD on one image, on WebGPU and on the CPU backend; then the same
// for the ImageNet model (EfficientNet-Lite0 at 224×224), cold (weights downloaded) and with the
// weights in the browser's cache. `npm run bench -- imagenet` runs only the ImageNet part,
// `npm run bench -- mnist` only the MNIST part; `cpu` or `webgpu` picks one backend.
import { launch, open, BASE_URL } from './browser.mjs';

const STEPS = 200;
const onlyImagenet = process.argv.includes('imagenet');
const onlyMnist = process.argv.includes('mnist');
const browser = await launch();
const only = ['webgpu', 'cpu'].filter((b) => process.argv.includes(b));
const backends = only.length ? only : ['webgpu', 'cpu'];
for (const backend of onlyImagenet ? [] : backends) {
  const query = backend === 'cpu' ? '?backend=cpu&' : '?';
  const started = Date.now();
  // The PGD-trained model at a small ε: the attack never succeeds, so every step runs.
  const { page } = await open(browser, `${query}model=mnist-small-cnn-pgd0.3&attack=pgd&eps=0.02&steps=${STEPS}`);
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 300_000 });
  const first = Date.now() - started;
  const adapter = await page.locator('#backend').textContent();
  const runs = [];
  for (let i = 0; i < 3; i++) {
    const t = Date.now();
    await page.click('#attack-run');
    await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 300_000 });
    const steps = Number(await page.locator('#loss-plot').getAttribute('data-points'));
    runs.push((Date.now() - t) / steps);
  }
  runs.sort((a, b) => a - b);
  console.log(`${adapter.trim()}: first prediction ${first} ms; PGD on one image ${runs[1].toFixed(1)} ms/step (median of 3 runs of ${STEPS} steps)`);
  await page.close();
}

// ImageNet: a fresh browser context has an empty cache.
const IMAGENET_STEPS = 3;
for (const backend of onlyMnist ? [] : backends) {
  const context = await browser.newContext();
  const query = `?dataset=imagenet&${backend === 'cpu' ? 'backend=cpu&' : ''}attack=pgd&eps=0.00001&steps=${IMAGENET_STEPS}`;
  const times = [];
  let page;
  for (const visit of ['cold', 'cached']) {
    page = await context.newPage();
    const started = Date.now();
    await page.goto(BASE_URL + query);
    await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 600_000 });
    times.push(`${visit} ${Date.now() - started} ms (${await page.locator('#weights-source').getAttribute('data-source')})`);
  }
  const adapter = await page.locator('#backend').textContent();
  const t = Date.now();
  await page.click('#attack-run');
  await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 600_000 });
  const steps = Number(await page.locator('#loss-plot').getAttribute('data-points'));
  console.log(`ImageNet Lite0, ${adapter.trim()}: first prediction ${times.join(', ')}; PGD on one 224×224 image ${((Date.now() - t) / steps).toFixed(0)} ms/step (${steps} steps)`);
  await context.close();
}
await browser.close();
