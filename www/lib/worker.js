// Module worker: loads the wasm and the model, runs every classification off the page's thread.
// Protocol: requests {id, type, ...args}; answers {id, ok, result | error}; progress {id, progress}.
// Requests run one at a time in arrival order, so a photo sent during loading waits for the model.

import { fetchBundle } from './fetch-bundle.js';

// The engine (one of the wasm builds) is chosen and started by the first load request.
let engine = null; // {module, exports, threads}
let classifier = null;
let queue = Promise.resolve();

self.onmessage = (event) => {
  const request = event.data;
  queue = queue.then(() => handle(request));
};

async function handle({ id, type, ...args }) {
  try {
    const handler = HANDLERS[type];
    if (!handler) throw new Error(`unknown request type "${type}"`);
    self.postMessage({ id, ok: true, result: await handler(args, id) });
  } catch (err) {
    self.postMessage({ id, ok: false, error: err?.message ?? String(err) });
  }
}

// `threads` > 1 picks the multi-threaded build, which needs SharedArrayBuffer, i.e. a
// cross-origin isolated page; otherwise (or if it fails to start) the single-threaded build.
// The literal import() paths let bundlers find both builds.
async function startEngine(threads) {
  if (threads > 1 && self.crossOriginIsolated) {
    try {
      const module = await import('./threads/engine.js');
      const exports = await module.default();
      await module.initThreadPool(threads);
      return { module, exports, threads: module.useThreadPool() };
    } catch (err) {
      console.warn(`the multi-threaded engine did not start (${err.message}); using one thread`);
    }
  }
  const module = await import('./engine.js');
  return { module, exports: await module.default(), threads: 1 };
}

// Bytes of wasm linear memory: it only grows, so after a load it is the peak so far.
const wasmMemoryBytes = () => engine.exports.memory.buffer.byteLength;

const HANDLERS = {
  async load({ url, threads = 1 }, id) {
    engine ??= await startEngine(threads);
    const { Classifier, NetworkBuffer } = engine.module;
    const t0 = performance.now();
    let fetched = await download(NetworkBuffer, url, id, false);
    if (fetched.network.sha256 !== fetched.manifest.network?.sha256) {
      // A cached copy (HTTP cache, offline cache) can be stale or damaged: fetch once more from
      // the server. A second mismatch is reported by the Classifier below, with both digests.
      fetched.network.free();
      fetched = await download(NetworkBuffer, url, id, true);
    }
    const { manifestText, labelsText, network, bytes } = fetched;
    const t1 = performance.now();
    // Drop the previous model before building the next one: only one lives in wasm memory.
    classifier?.free();
    classifier = null;
    classifier = new Classifier(manifestText, labelsText, network); // consumes the buffer
    const t2 = performance.now();
    return {
      manifest: classifier.manifest,
      bytes,
      downloadMs: t1 - t0,
      loadMs: t2 - t1,
      threads: engine.threads,
      wasmMemoryBytes: wasmMemoryBytes(),
    };
  },

  async classify({ image, topK = 5 }) {
    if (!classifier) throw new Error('no model is loaded');
    const t0 = performance.now();
    const { data, width, height } = pixelsOf(image);
    const r = classifier.classify(data, width, height, topK);
    return {
      top: r.top,
      width,
      height,
      preprocessMs: r.preprocess_ms,
      inferenceMs: r.inference_ms,
      totalMs: performance.now() - t0,
      wasmMemoryBytes: wasmMemoryBytes(),
    };
  },

  // Raw network outputs (background included), for checks against a reference. `prepared`:
  // the image is already cropped and sized for the network, so it is not resampled again.
  async outputs({ image, prepared = false }) {
    if (!classifier) throw new Error('no model is loaded');
    const { data, width, height } = pixelsOf(image);
    const outputs = prepared
      ? classifier.outputs_for_prepared(data, width, height)
      : classifier.outputs(data, width, height);
    return Array.from(outputs);
  },
};

// The bundle, its network streamed into a wasm-side buffer; a failed download frees its bytes.
async function download(NetworkBuffer, url, id, reload) {
  let buffer = null;
  try {
    return await fetchBundle(
      url,
      (expectedBytes) => (buffer = new NetworkBuffer(expectedBytes)),
      (loaded, total) => self.postMessage({ id, progress: { loaded, total } }),
      { reload },
    );
  } catch (err) {
    buffer?.free();
    throw err;
  }
}

// ImageBitmap (drawn on an OffscreenCanvas) or ImageData-like {data, width, height}.
function pixelsOf(image) {
  if (typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap) {
    const { width, height } = image;
    if (!width || !height) throw new Error('the image is empty');
    const ctx = new OffscreenCanvas(width, height).getContext('2d', { willReadFrequently: true });
    ctx.drawImage(image, 0, 0);
    image.close();
    return ctx.getImageData(0, 0, width, height);
  }
  if (image?.data && image.width > 0 && image.height > 0) return image;
  throw new Error('expected an ImageBitmap or ImageData');
}
