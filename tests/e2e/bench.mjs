// Page timings in headless Chromium (a bench, not a test; `npm run bench` against a served page):
// time to first prediction (page load, wasm compile, backend start, shader warm-up, one forward
// pass) and the per-step time of PGD on one image, on WebGPU and on the CPU backend; then the same
// for the ImageNet model (EfficientNet-Lite0 at 224×224), cold (weights downloaded) and with the
// weights in the browser's cache. `npm run bench -- imagenet` runs only the ImageNet part,
// `npm run bench -- mnist` only the MNIST part; `cpu` or `webgpu` picks one backend.
// `trace-ab` times PGD with the trace read every step and every 8 steps (`trace_every`), runs
// alternating, in one session; `steps=N` sets the PGD steps per run (200).
import { launch, open, BASE_URL } from './browser.mjs';

const stepsArg = process.argv.find((a) => a.startsWith('steps='));
const STEPS = stepsArg ? Number(stepsArg.slice(6)) : 200;
const traceAb = process.argv.includes('trace-ab');
const onlyImagenet = process.argv.includes('imagenet');
const onlyMnist = process.argv.includes('mnist');
const browser = await launch();
const only = ['webgpu', 'cpu'].filter((b) => process.argv.includes(b));
const backends = only.length ? only : ['webgpu', 'cpu'];
for (const backend of onlyImagenet ? [] : backends) {
  const query = backend === 'cpu' ? '?backend=cpu&' : '?';
  // The PGD-trained model at a small ε: the attack never succeeds, so every step runs.
  const attack = `model=mnist-small-cnn-pgd0.3&attack=pgd&eps=0.02&steps=${STEPS}`;
  // One tab per variant (the URL's trace_every), each warmed by an untimed run (shader
  // compilation), then timed runs alternating between the tabs.
  const variants = traceAb ? ['1', '8'] : [null];
  const tabs = [];
  let first;
  for (const every of variants) {
    const started = Date.now();
    const { page } = await open(browser, `${query}${attack}${every ? `&trace_every=${every}` : ''}`);
    await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 300_000 });
    first ??= Date.now() - started;
    tabs.push({ every, page, runs: [] });
  }
  const adapter = await tabs[0].page.locator('#backend').textContent();
  const attackOnce = async (page) => {
    const t = Date.now();
    await page.click('#attack-run');
    await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 600_000 });
    const steps = Number(await page.locator('#loss-plot').getAttribute('data-points'));
    return (Date.now() - t) / steps;
  };
  if (traceAb) for (const tab of tabs) await attackOnce(tab.page);
  for (let i = 0; i < 3; i++) {
    for (const tab of tabs) {
      await tab.page.bringToFront();
      tab.runs.push(await attackOnce(tab.page));
    }
  }
  for (const { every, page, runs } of tabs) {
    runs.sort((a, b) => a - b);
    const what = every ? `, trace read every ${every} step(s)` : '';
    console.log(`${adapter.trim()}: first prediction ${first} ms; PGD on one image ${runs[1].toFixed(1)} ms/step${what} (median of 3 runs of ${STEPS} steps)`);
    await page.close();
  }
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
