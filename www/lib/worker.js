// Module worker: loads the wasm and the model, runs every classification off the page's thread.
// Protocol: requests {id, type, ...args}; answers {id, ok, result | error}; progress {id, progress}.
// Requests run one at a time in arrival order, so a photo sent during loading waits for the model.
//
// A trap in the wasm (a Rust panic, running out of memory) leaves the instance unusable. The
// request that trapped is answered {id, ok: false, crashed: true, error}; every request after it
// is handed back, image included, as {id, ok: false, retry: {type, ...args}} so the page can send
// it to a fresh worker (see classifier-client.js).

import { fetchBundle } from './fetch-bundle.js';
import { StreamHasher } from './stream-hasher.js';

// The engine (one of the wasm builds) is chosen and started by the first load request.
let engineStart = null; // promise of the engine, from the first load
let engine = null; // {module, exports, threads: promise of the thread count, build}
let classifier = null;
let hasher; // StreamHasher, made by the first download (null where workers cannot start workers)
let crashed = false;
const queue = [];
let running = false;

self.onmessage = (event) => {
  queue.push(event.data);
  if (!running) runQueue();
};

async function runQueue() {
  running = true;
  while (queue.length) await handle(queue.shift());
  running = false;
}

async function handle({ id, type, ...args }) {
  if (crashed) return handBack({ id, type, ...args });
  try {
    const handler = HANDLERS[type];
    if (!handler) throw new Error(`unknown request type "${type}"`);
    const result = await handler(args, id);
    // Typed arrays (raw outputs) move to the page instead of being copied.
    self.postMessage({ id, ok: true, result }, ArrayBuffer.isView(result) ? [result.buffer] : []);
  } catch (err) {
    if (!(err instanceof WebAssembly.RuntimeError)) {
      self.postMessage({ id, ok: false, error: err?.message ?? String(err) });
      return;
    }
    crashed = true;
    const during = type === 'load' ? 'while loading the model' : 'while handling this image';
    const error = `the classifier crashed ${during} (WebAssembly error: ${err.message})`;
    self.postMessage({ id, ok: false, crashed: true, error });
    while (queue.length) handBack(queue.shift());
  }
}

function handBack({ id, type, ...args }) {
  const image = args.image;
  const transfer = typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap ? [image] : [];
  self.postMessage({ id, ok: false, retry: { type, ...args } }, transfer);
}

// Does this browser validate relaxed-SIMD code? (A function using i8x16.relaxed_swizzle.)
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253,
  15, 253, 128, 2, 11,
]);
const hasRelaxedSimd = () => WebAssembly.validate(RELAXED_SIMD_PROBE);

// The best build this browser runs: threads (needs SharedArrayBuffer, i.e. a cross-origin
// isolated page, and relaxed SIMD, which that build also uses) when more than one thread is
// asked for; else relaxed SIMD; else plain SIMD128. `relaxedSimd: false` forces plain SIMD128.
// The literal import() paths let bundlers find every build.
// The threads build's pool of Web Workers starts while the network downloads into the module's
// memory and is prepared (neither uses the pool); a load waits for it only before answering. If
// the pool cannot start, the same module runs on one thread; if the module cannot, the next build.
async function startEngine(threads, relaxedSimd) {
  const relaxed = relaxedSimd && hasRelaxedSimd();
  if (threads > 1 && relaxed && self.crossOriginIsolated) {
    try {
      const module = await import('./threads/engine.js');
      const exports = await module.default();
      const pooled = module.initThreadPool(threads).then(
        () => module.useThreadPool(),
        (err) => {
          console.warn(`the multi-threaded engine did not start its thread pool (${err.message}); using one thread`);
          return 1;
        },
      );
      return { module, exports, threads: pooled, build: 'threads+relaxed-simd' };
    } catch (err) {
      console.warn(`the multi-threaded engine did not start (${err.message}); using the single-threaded build`);
    }
  }
  const single = Promise.resolve(1);
  if (relaxed) {
    const module = await import('./relaxed/engine.js');
    return { module, exports: await module.default(), threads: single, build: 'relaxed-simd' };
  }
  const module = await import('./engine.js');
  return { module, exports: await module.default(), threads: single, build: 'simd128' };
}

// Bytes of wasm linear memory: it only grows, so after a load it is the peak so far.
const wasmMemoryBytes = () => engine.exports.memory.buffer.byteLength;

const HANDLERS = {
  async load({ url, threads = 1, relaxedSimd = true }, id) {
    // On the first load the engine starts while the bundle downloads (a start that failed is
    // tried again by the next load).
    const starting = (engineStart ??= startEngine(threads, relaxedSimd));
    starting.catch(() => (engineStart = null));
    const t0 = performance.now();
    const fetched = await download(starting, url, id);
    engine = await starting;
    const t1 = performance.now();
    // Drop the previous model before building the next one: only one lives in wasm memory.
    classifier?.free();
    classifier = null;
    let bytes = fetched.bytes;
    classifier = await build(fetched);
    if (!classifier) {
      // The digest was not the manifest's (a cached copy can be stale or damaged) or never came:
      // download once more from the server, hashed here. A second mismatch is reported by the
      // Classifier, with both digests.
      const again = await download(starting, url, id, { reload: true, hashHere: true });
      bytes = again.bytes;
      classifier = await build(again, { lastTry: true });
    }
    const t2 = performance.now();
    return {
      manifest: classifier.manifest,
      bytes,
      downloadMs: t1 - t0,
      loadMs: t2 - t1,
      threads: await engine.threads,
      build: engine.build,
      matMulKernels: classifier.matMulKernels,
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
    // A Float32Array of its own (wasm-bindgen copies it out of wasm memory), transferred to the
    // page: posting and reading an Array of 1001 numbers instead cost about 0.3 ms more per run
    // (EfficientNet-Lite0, medians of 60 runs, 8 pairs of pages at one and two threads).
    return outputs;
  },
};

// The classifier of a download, or null if the network's digest is not the manifest's (or never
// came). Bytes hashed here are checked before they are parsed; on the last try the Classifier
// reports a mismatch. Bytes the hashing worker hashes are parsed and optimised while it finishes
// on another core (WebCrypto's digest of PNASNet's 344 MB takes ~0.4 s after the last chunk,
// preparing it ~0.9 s), then checked.
async function build({ manifest, manifestText, labelsText, network, sha256, hashedHere }, { lastTry = false } = {}) {
  const { Classifier, UnverifiedClassifier } = engine.module;
  const expected = manifest.network?.sha256;
  if (hashedHere) {
    if (!lastTry && (await sha256) !== expected) {
      network.free();
      return null;
    }
    return new Classifier(manifestText, labelsText, network); // consumes the buffer
  }
  let unverified;
  try {
    unverified = new UnverifiedClassifier(manifestText, labelsText, network); // consumes it too
  } catch (err) {
    if (err instanceof WebAssembly.RuntimeError) throw err; // a trap: this instance is done
    // Bytes that do not load may be a damaged copy: the digest says whether they are the bundle's.
    if ((await sha256) !== expected) return null;
    throw err;
  }
  const digest = await sha256;
  if (digest !== expected) {
    unverified.free();
    return null;
  }
  return unverified.verify(digest);
}

// The bundle, its network streamed into a NetworkBuffer in wasm memory; a failed download frees
// its bytes. Unless `hashHere` (or there is no working hashing worker), the buffer only copies
// and the hashing worker computes the sha256 on another core; else the buffer hashes as it
// copies (`hashedHere`). `sha256`: the promise of the digest (null if the hashing worker failed).
// `starting` resolves to the engine: chunks that arrive before it has started wait here, in JS
// memory (at most WAITING_BYTES, then the download pauses), and are copied in as soon as it has.
const WAITING_BYTES = 64 << 20;
async function download(starting, url, id, { reload = false, hashHere = false } = {}) {
  let buffer = null;
  let waiting = [];
  let waitingBytes = 0;
  let ready = null;
  hasher ??= startHasher();
  // Decided once the response has come, by when a hashing worker that cannot start has said so.
  let hashing = null;
  const copyIn = (chunk) => {
    buffer.push(chunk);
    hashing?.push(chunk);
  };
  const makeSink = (expectedBytes) => {
    hashing = hashHere || !hasher || hasher.broken ? null : hasher;
    hashing?.start(expectedBytes);
    ready = starting.then(({ module: { NetworkBuffer } }) => {
      buffer = hashing ? NetworkBuffer.unhashed(expectedBytes) : new NetworkBuffer(expectedBytes);
      waiting.forEach(copyIn);
      waiting = null;
    });
    ready.catch(() => {}); // awaited once the download ends; not an unhandled rejection before
    return {
      push(chunk) {
        if (!waiting) return copyIn(chunk);
        waiting.push(chunk);
        waitingBytes += chunk.length;
        return waitingBytes > WAITING_BYTES ? ready : undefined;
      },
    };
  };
  try {
    const fetched = await fetchBundle(url, makeSink, (loaded, total) =>
      self.postMessage({ id, progress: { loaded, total } }),
    { reload });
    await ready;
    const sha256 = hashing ? hashing.digest() : Promise.resolve(buffer.sha256);
    return { ...fetched, network: buffer, bytes: buffer.length, sha256, hashedHere: !hashing };
  } catch (err) {
    await ready?.catch(() => {}); // a buffer made after the failure is freed too
    buffer?.free();
    throw err;
  }
}

function startHasher() {
  try {
    return new StreamHasher();
  } catch (err) {
    console.warn(`no hashing worker (${err.message}); hashing on this thread`);
    return null;
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
