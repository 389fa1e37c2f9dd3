// Page timings in headless Chromium (a bench, not a test; `npm run bench` against a served page):
// time to first prediction (page load, wasm compile, backend start, shader warm-up, one forward
// pass) and the per-step time of PGD on one image, on WebGPU and on the CPU backend; then the same
// for the ImageNet model (EfficientNet-Lite0 at 224×224), cold (weights downloaded) and with the
// weights in the browser's cache. `npm run bench -- imagenet` runs only the ImageNet part,
// `npm run bench -- mnist` only the MNIST part; `cpu` or `webgpu` picks one backend.
// `trace-ab` times PGD with the trace read every step and every 8 steps (`trace_every`), runs
// alternating, in one session; `steps=N` sets the PGD steps per run (200). `profile` also records
// one more run with Chromium's sampling profiler (CDP `Profiler`, 1 ms) and prints where the page's
// main thread spent it: WebAssembly, the JS glue (WebGPU calls, bindings), the browser's own work,
// garbage collection, or idle (waiting for the GPU process or a timer). `sweep` times batched PGD
// in the robustness-curves view at batch 1, 16 and 50 (its batch size) on each backend: where
// WebGPU overtakes the CPU backend as the batch grows.
import { launch, open, BASE_URL } from './browser.mjs';

const stepsArg = process.argv.find((a) => a.startsWith('steps='));
const STEPS = stepsArg ? Number(stepsArg.slice(6)) : 200;
const traceAb = process.argv.includes('trace-ab');
const onlyImagenet = process.argv.includes('imagenet');
const onlyMnist = process.argv.includes('mnist');
const profile = process.argv.includes('profile');
const sweep = process.argv.includes('sweep');

/** Milliseconds per PGD step of one batch in the curves view (6 budgets, PGD-`steps`, `images`
 * images in one batch), the PGD-trained CNN (attacks rarely succeed, so every step runs). */
async function curveStep(backend, images, steps) {
  const query = `?${backend === 'cpu' ? 'backend=cpu&' : ''}embed=curves&curves=mnist-small-cnn-pgd0.3&curve_images=${images}&curve_steps=${steps}`;
  const { page } = await open(browser, query);
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 300_000 });
  const run = async () => {
    const t = Date.now();
    await page.click('#batch-run');
    await page.locator('#batch-status[data-ready="true"]').waitFor({ timeout: 600_000 });
    return (Date.now() - t) / (6 * steps);
  };
  await run(); // warm-up: shaders for this batch size
  const times = [await run(), await run(), await run()].sort((a, b) => a - b);
  await page.close();
  return times[1];
}

/** Self time of one attack run on `page`'s main thread, by kind, from CDP's sampling profiler. */
async function profileAttack(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
  await cdp.send('Profiler.start');
  await page.click('#attack-run');
  await page.locator('#attack-result[data-ready="true"]').waitFor({ timeout: 600_000 });
  const { profile: p } = await cdp.send('Profiler.stop');
  await cdp.detach();
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const kind = (node) => {
    const { functionName: name, url } = node.callFrame;
    if (name === '(idle)') return 'idle';
    if (name === '(garbage collector)') return 'garbage collection';
    if (name === '(program)' || name === '(root)') return 'browser (program)';
    if (url.startsWith('wasm://') || /\.wasm$/.test(url) || /^\$?wasm-function/.test(name)) return 'WebAssembly';
    if (url.endsWith('.js')) return 'JS glue';
    return 'other JS';
  };
  const totals = new Map();
  const functions = new Map();
  const deltas = p.timeDeltas;
  p.samples.forEach((id, i) => {
    const node = byId.get(id);
    const ms = (deltas[i + 1] ?? 0) / 1000;
    const k = kind(node);
    totals.set(k, (totals.get(k) ?? 0) + ms);
    const name = `${node.callFrame.functionName || '(anonymous)'} [${k}]`;
    functions.set(name, (functions.get(name) ?? 0) + ms);
  });
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  const share = ([k, ms]) => `${k} ${(100 * ms / all).toFixed(1)}%`;
  const top = [...functions.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  // Static constructors (`inventory` registrations): wasm-ld re-runs them at every call into a
  // module that never calls `__wasm_call_ctors` itself.
  const ctors = [...functions.entries()].filter(([k]) => /__wasm_call_ctors|__ctor|inventory::/.test(k))
    .reduce((a, [, ms]) => a + ms, 0);
  top.unshift(['static constructors, all together', ctors]);
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).map(share).join(', ') + ` of ${all.toFixed(0)} ms`
    + '\n  most self time (a build with a name section shows Rust names):\n    '
    + top.map(share).join('\n    ');
}
const browser = await launch();
const only = ['webgpu', 'cpu'].filter((b) => process.argv.includes(b));
const backends = only.length ? only : ['webgpu', 'cpu'];
for (const backend of (onlyImagenet || sweep) ? [] : backends) {
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
  if (profile) {
    const steps = await tabs[0].page.locator('#loss-plot').getAttribute('data-points');
    console.log(`${adapter.trim()}: one PGD run (${steps} steps) under the profiler: ${await profileAttack(tabs[0].page)}`);
  }
  for (const { every, page, runs } of tabs) {
    runs.sort((a, b) => a - b);
    const what = every ? `, trace read every ${every} step(s)` : '';
    console.log(`${adapter.trim()}: first prediction ${first} ms; PGD on one image ${runs[1].toFixed(1)} ms/step${what} (median of 3 runs of ${STEPS} steps)`);
    await page.close();
  }
}

if (sweep) {
  for (const images of [1, 16, 50]) {
    const row = [];
    for (const backend of backends) row.push(`${backend} ${(await curveStep(backend, images, 10)).toFixed(1)}`);
    console.log(`curves view, batch ${images}: ms per PGD step (6 budgets × PGD-10, median of 3): ${row.join(', ')}`);
  }
}

// ImageNet: a fresh browser context has an empty cache.
const IMAGENET_STEPS = 3;
for (const backend of (onlyMnist || sweep) ? [] : backends) {
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
