// Module worker: loads the wasm and the model, runs every classification off the page's thread.
// Protocol: requests {id, type, ...args}; answers {id, ok, result | error}; progress {id, progress}.
// Requests run one at a time in arrival order, so a photo sent during loading waits for the model.

import init, { Classifier, NetworkBuffer } from './engine.js';
import { fetchBundle } from './fetch-bundle.js';

const wasmReady = init();
// Bytes of wasm linear memory: it only grows, so after a load it is the peak so far.
const wasmMemoryBytes = async () => (await wasmReady).memory.buffer.byteLength;
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

const HANDLERS = {
  async load({ url }, id) {
    await wasmReady;
    const t0 = performance.now();
    let fetched = await download(url, id, false);
    if (fetched.network.sha256 !== fetched.manifest.network?.sha256) {
      // A cached copy (HTTP cache, offline cache) can be stale or damaged: fetch once more from
      // the server. A second mismatch is reported by the Classifier below, with both digests.
      fetched.network.free();
      fetched = await download(url, id, true);
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
      wasmMemoryBytes: await wasmMemoryBytes(),
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
      wasmMemoryBytes: await wasmMemoryBytes(),
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
async function download(url, id, reload) {
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
