// The two engines under the same page conditions, each in its own worker, fed the same input:
// this product's worker (tract in wasm) and onnxruntime-web's wasm backend (proxy worker).
// bench/run.mjs calls window.bench.* through Playwright.

import { ClassifierWorker } from '../pkg/classifier-client.js';
import * as ort from '../node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';

async function fetchJson(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

// The input crop (already the network's size) as ImageData.
async function cropPixels(url) {
  const bitmap = await createImageBitmap(await (await fetch(url)).blob());
  const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

// The manifest's normalisation, NCHW RGB, for onnxruntime-web (src/preprocess.rs does the same).
function toTensor(image, input) {
  const { width, height, data } = image;
  const plane = width * height;
  const out = new Float32Array(plane * 3);
  const n = input.normalize;
  const affine = [0, 1, 2].map((c) =>
    n.range
      ? { scale: (n.range[1] - n.range[0]) / 255, offset: n.range[0] }
      : { scale: 1 / n.std[c], offset: -n.mean[c] / n.std[c] },
  );
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = data[i * 4 + c] * affine[c].scale + affine[c].offset;
  }
  return { data: out, dims: [1, 3, height, width] };
}

const now = () => performance.now();

// Each engine's loader: loads `bundle` (timed from the request) and returns the load's figures
// and `run()`, one timed classification of the crop, and `close()`.
const engines = {
  async ours({ bundle, threads }, image) {
    const classifier = new ClassifierWorker();
    try {
      // Load = from the request to ready to run, engine start included (each load runs on a
      // fresh page, so onnxruntime-web starts its runtime too). Ours streams the download into
      // wasm memory and hashes it on the way (fetchMs), then parses and optimises (prepareMs).
      const t = now();
      const info = await classifier.load(bundle, { threads });
      return {
        loadMs: now() - t,
        fetchMs: info.downloadMs,
        prepareMs: info.loadMs,
        peakBytes: info.wasmMemoryBytes,
        threadsUsed: info.threads,
        run: () => classifier.outputs(image, { prepared: true }),
        close: async () => classifier.terminate(),
      };
    } catch (e) {
      classifier.terminate();
      throw e;
    }
  },

  async ort({ bundle, threads }, image) {
    const t = now();
    const manifest = await fetchJson(`${bundle}/model.json`);
    const bytes = await fetchBytes(`${bundle}/${manifest.network.file}`);
    const fetchMs = now() - t;
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.simd = true;
    ort.env.wasm.proxy = true; // run in a worker, like ours
    ort.env.wasm.wasmPaths = new URL('../node_modules/onnxruntime-web/dist/', import.meta.url).href;
    const prepareStart = now();
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const loadMs = now() - t;
    const { data, dims } = toTensor(image, manifest.input);
    return {
      loadMs,
      fetchMs,
      prepareMs: now() - prepareStart,
      // The proxy worker takes (detaches) the input buffer, so each run gets a fresh copy.
      run: () => session.run({ [manifest.input.name]: new ort.Tensor('float32', data.slice(), dims) }),
      close: () => session.release(),
    };
  },
};

// Timed runs of the open engine; `warmup` untimed ones first.
async function timedRuns(engine, runs, warmup = 0) {
  for (let i = 0; i < warmup; i++) await engine.run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = now();
    await engine.run();
    times.push(now() - t);
  }
  return times;
}

// The engine this page keeps open between calls (bench/run.mjs alternates runs between two
// pages, one per engine, so both sample the machine's same moments).
let opened = null;

// Loads `engine` and times its first result; the figures bench/run.mjs records of a load.
async function open(engine, { bundle, crop, threads }) {
  const image = await cropPixels(crop);
  const loaded = await engines[engine]({ bundle, threads }, image);
  const t = now();
  await loaded.run();
  const { run, close, ...figures } = loaded;
  return [loaded, { ...figures, firstMs: now() - t }];
}

window.bench = {
  async open({ engine, ...args }) {
    const [loaded, figures] = await open(engine, args);
    opened = loaded;
    return figures;
  },
  // Its page's close ends it (bench/run.mjs closes both pages after a round).
  runs: ({ runs, warmup }) => timedRuns(opened, runs, warmup),
  // One load and its runs in one call, on a page of its own.
  async once(engine, { runs = 0, warmup = 0, ...args }) {
    const [loaded, figures] = await open(engine, args);
    try {
      return { ...figures, times: await timedRuns(loaded, runs, warmup) };
    } finally {
      await loaded.close();
    }
  },
};
window.benchReady = true;
