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

window.bench = {
  async ours({ bundle, crop, runs, warmup = 0, threads }) {
    const image = await cropPixels(crop);
    const classifier = new ClassifierWorker();
    try {
      // Load = from the request to ready to run, engine start included (each round runs on a
      // fresh page, so onnxruntime-web starts its runtime too). Ours streams the download into
      // wasm memory and hashes it on the way (fetchMs), then parses and optimises (prepareMs).
      let t = now();
      const info = await classifier.load(bundle, { threads });
      const loadMs = now() - t;
      t = now();
      await classifier.outputs(image, { prepared: true });
      const firstMs = now() - t;
      for (let i = 0; i < warmup; i++) await classifier.outputs(image, { prepared: true });
      const times = [];
      for (let i = 0; i < runs; i++) {
        t = now();
        await classifier.outputs(image, { prepared: true });
        times.push(now() - t);
      }
      return {
        loadMs,
        fetchMs: info.downloadMs,
        prepareMs: info.loadMs,
        firstMs,
        times,
        peakBytes: info.wasmMemoryBytes,
        threadsUsed: info.threads,
      };
    } finally {
      classifier.terminate();
    }
  },

  async ort({ bundle, crop, runs, warmup = 0, threads }) {
    const image = await cropPixels(crop);
    let t = now();
    const manifest = await fetchJson(`${bundle}/model.json`);
    const bytes = await fetchBytes(`${bundle}/${manifest.network.file}`);
    const fetchMs = now() - t;
    // The proxy worker takes (detaches) the input buffer, so each run gets a fresh copy.
    const feeds = () => ({ [manifest.input.name]: new ort.Tensor('float32', data.slice(), dims) });
    ort.env.wasm.numThreads = threads;
    ort.env.wasm.simd = true;
    ort.env.wasm.proxy = true; // run in a worker, like ours
    ort.env.wasm.wasmPaths = new URL('../node_modules/onnxruntime-web/dist/', import.meta.url).href;
    const prepareStart = now();
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
    const loadMs = now() - t;
    const prepareMs = now() - prepareStart;
    const { data, dims } = toTensor(image, manifest.input);
    try {
      let input = feeds();
      t = now();
      await session.run(input);
      const firstMs = now() - t;
      for (let i = 0; i < warmup; i++) await session.run(feeds());
      const times = [];
      for (let i = 0; i < runs; i++) {
        input = feeds();
        t = now();
        await session.run(input);
        times.push(now() - t);
      }
      return { loadMs, fetchMs, prepareMs, firstMs, times };
    } finally {
      await session.release();
    }
  },
};
window.benchReady = true;
