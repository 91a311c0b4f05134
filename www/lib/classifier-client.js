// Page-side handle on the classifier worker: request ids match answers to requests, so
// several photos can be queued; each call returns a promise.

// ImageBitmaps move to the worker instead of being copied; ImageData is copied.
function transferList(image) {
  return typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap ? [image] : [];
}

export class ClassifierWorker {
  constructor() {
    // Written out in this exact form so bundlers (Vite, webpack) recognise and bundle the worker.
    this.worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    this.pending = new Map();
    this.nextId = 1;
    this.worker.onmessage = (event) => this.#answer(event.data);
    this.worker.onerror = (event) => {
      event.preventDefault();
      this.#failAll(new Error(`the classifier worker failed: ${event.message || 'could not start'}`));
    };
  }

  // Load the bundle at `url` (a folder holding model.json); resolves with its manifest and timings.
  // A relative `url` is resolved against the page, not the worker script. `threads` > 1 asks for
  // the multi-threaded build (used only where the page is cross-origin isolated);
  // `relaxedSimd: false` forces the plain SIMD128 build.
  load(url, { onProgress, threads = 1, relaxedSimd = true } = {}) {
    const absolute = new URL(url, globalThis.document?.baseURI ?? self.location.href).href;
    return this.#request('load', { url: absolute, threads, relaxedSimd }, [], onProgress);
  }

  // `image`: an ImageBitmap (transferred, so it is unusable afterwards) or ImageData.
  classify(image, { topK = 5 } = {}) {
    return this.#request('classify', { image, topK }, transferList(image));
  }

  // Raw network outputs; `prepared`: the image is already the network's input crop.
  outputs(image, { prepared = false } = {}) {
    return this.#request('outputs', { image, prepared }, transferList(image));
  }

  terminate() {
    this.worker.terminate();
    this.#failAll(new Error('the classifier was closed'));
  }

  #request(type, args, transfer, onProgress) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, type, ...args }, transfer);
    });
  }

  #answer({ id, ok, result, error, progress }) {
    const entry = this.pending.get(id);
    if (!entry) return;
    if (progress) {
      entry.onProgress?.(progress);
      return;
    }
    this.pending.delete(id);
    if (ok) entry.resolve(result);
    else entry.reject(new Error(error));
  }

  #failAll(error) {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }
}
