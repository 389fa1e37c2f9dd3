// Soak: 200 runs in a row (100 PGD-5 attacks and 100 IBP certificates, alternating, on the shown
// image and its neighbours) on the CPU backend, and on WebGPU as many as PERTURB_SOAK_WEBGPU_RUNS
// says (40 by default: SwiftShader takes ~4.3 s a run, so 200 take 14 min — run them so, once,
// as the README's figures were). The WebAssembly memory may grow while the first 20 runs warm the
// allocator up; after that it stays within a stated bound, and the page still answers (a new
// prediction) at the end. Burn 0.22 exposes no GPU-buffer figures, so on WebGPU the test keeps its
// own ledger: it wraps the browser's `GPUDevice.createBuffer` and `GPUBuffer.destroy` before the
// page loads and counts the buffers (and bytes) created and not destroyed; after the warm-up
// those stay within a stated bound too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, open } from './browser.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const MB = 1 << 20;
/** Growth allowed after the warm-up (the first 20 runs). */
const BOUND = 8 * MB;

/** Growth of live GPU buffers allowed after the warm-up (bytes; WebGPU only). */
const GPU_BOUND = 8 * MB;

const memory = (page) => page.evaluate(() => window.wasmBindings.wasm_memory_bytes());

/** Runs in the page before its scripts: a ledger of the GPU buffers alive (created, not destroyed). */
function gpuLedger() {
  const ledger = { live: 0, bytes: 0, created: 0 };
  window.gpuBufferLedger = ledger;
  if (!('GPUDevice' in window)) return;
  const sizes = new WeakMap();
  const create = GPUDevice.prototype.createBuffer;
  GPUDevice.prototype.createBuffer = function createBuffer(descriptor) {
    const buffer = create.call(this, descriptor);
    sizes.set(buffer, descriptor.size);
    ledger.live += 1;
    ledger.bytes += descriptor.size;
    ledger.created += 1;
    return buffer;
  };
  const destroy = GPUBuffer.prototype.destroy;
  GPUBuffer.prototype.destroy = function destroyBuffer() {
    if (sizes.has(this)) {
      ledger.live -= 1;
      ledger.bytes -= sizes.get(this);
      sizes.delete(this);
    }
    return destroy.call(this);
  };
}

const gpu = (page) => page.evaluate(() => ({ ...window.gpuBufferLedger }));

/** Click `run` and wait for a fresh `result` (the old one is marked first). */
async function runOnce(page, run, result) {
  await page.evaluate((sel) => { const el = document.querySelector(sel); if (el) el.dataset.stale = '1'; }, result);
  await page.click(run);
  await page.locator(`${result}[data-ready="true"]:not([data-stale])`).waitFor({ timeout: 120_000 });
}

async function soak(backend, runs) {
  const { page, errors } = await open(browser,
    `?${backend === "cpu" ? "backend=cpu&" : ""}image=0&attack=pgd&eps=0.1&steps=5&restarts=1&seed=0&cert=ibp&cert_eps=0.05`,
    { init: gpuLedger });
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 120_000 });
  const kind = await page.locator('#backend').getAttribute('data-kind');
  assert.equal(kind, backend === 'cpu' ? 'cpu' : 'webgpu');
  const before = await memory(page);
  const gpuBefore = await gpu(page);
  const samples = [];
  const gpuSamples = [];
  const started = Date.now();
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) await runOnce(page, '#attack-run', '#attack-result');
    else await runOnce(page, '#cert-run', '#cert-result');
    if (i % 20 === 19) {
      samples.push(await memory(page));
      gpuSamples.push(await gpu(page));
      // A different image every 20 runs: new inputs, same shapes.
      await page.click('#next');
      await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 60_000 });
    }
  }
  const seconds = (Date.now() - started) / 1000;
  const warm = samples[0];
  const last = samples[samples.length - 1];
  console.log(`soak on ${backend}: ${runs} runs in ${seconds.toFixed(0)} s; wasm memory before `
    + `${(before / MB).toFixed(1)} MiB, then every 20 runs (MiB): `
    + samples.map((b) => (b / MB).toFixed(1)).join(', '));
  assert.ok(last - warm <= BOUND,
    `wasm memory grew ${((last - warm) / MB).toFixed(1)} MiB after the warm-up (bound ${BOUND / MB} MiB)`);
  if (backend !== 'cpu') {
    const show = (g) => `${g.live} (${(g.bytes / MB).toFixed(1)} MiB)`;
    console.log(`soak on ${backend}: GPU buffers alive before ${show(gpuBefore)}, then every 20 runs: `
      + gpuSamples.map(show).join(', ') + `; ${gpuSamples[gpuSamples.length - 1].created} created in all`);
    assert.ok(gpuBefore.created > 0, 'the ledger saw no GPU buffer: is the page on WebGPU?');
    const [gpuWarm, gpuLast] = [gpuSamples[0], gpuSamples[gpuSamples.length - 1]];
    assert.ok(gpuLast.bytes - gpuWarm.bytes <= GPU_BOUND,
      `live GPU buffers grew ${((gpuLast.bytes - gpuWarm.bytes) / MB).toFixed(1)} MiB after the warm-up (bound ${GPU_BOUND / MB} MiB)`);
  }
  // Still answering.
  await page.click('#next');
  await page.locator('#prediction[data-ready="true"]').waitFor({ timeout: 60_000 });
  assert.deepEqual(errors, []);
  await page.close();
}

test('200 attacks and certificates in a row on the CPU backend: memory bounded, page answers', async () => {
  await soak('cpu', 200);
});

const WEBGPU_RUNS = Number(process.env.PERTURB_SOAK_WEBGPU_RUNS ?? 40);

test(`${WEBGPU_RUNS} attacks and certificates in a row on WebGPU: memory bounded, page answers`, async () => {
  assert.ok(WEBGPU_RUNS >= 40 && WEBGPU_RUNS % 20 === 0, 'PERTURB_SOAK_WEBGPU_RUNS: a multiple of 20, at least 40');
  await soak('webgpu', WEBGPU_RUNS);
});
