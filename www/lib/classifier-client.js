// Page-side handle on the classifier worker: request ids match answers to requests, so
// several photos can be queued; each call returns a promise.
//
// When the wasm in the worker crashes (a trap: Rust panic, out of memory), the request that
// crashed fails with a message saying so, a fresh worker replaces the old one and reloads the
// last model (from the browser's cache), and the requests queued behind the crash, which the old
// worker hands back with their images, run on the new worker. No request is left unanswered.

// ImageBitmaps move to the worker instead of being copied; ImageData is copied.
function transferList(image) {
  return typeof ImageBitmap !== 'undefined' && image instanceof ImageBitmap ? [image] : [];
}

export class ClassifierWorker {
  #worker;
  #pending = new Map(); // id -> {resolve, reject, onProgress, worker, load?}
  #nextId = 1;
  #loaded = null; // arguments of the last successful load, replayed after a crash
  #closed = null; // why every further request fails (the worker could not run)

  constructor() {
    this.#worker = this.#startWorker();
  }

  // Load the bundle at `url` (a folder holding model.json); resolves with its manifest and timings.
  // A relative `url` is resolved against the page, not the worker script. `threads` > 1 asks for
  // the multi-threaded build (used only where the page is cross-origin isolated);
  // `relaxedSimd: false` forces the plain SIMD128 build.
  load(url, { onProgress, threads = 1, relaxedSimd = true } = {}) {
    const absolute = new URL(url, globalThis.document?.baseURI ?? self.location.href).href;
    const args = { url: absolute, threads, relaxedSimd };
    return this.#request('load', args, [], { onProgress, load: args });
  }

  // `image`: an ImageBitmap (transferred, so it is unusable afterwards) or ImageData.
  classify(image, { topK = 5 } = {}) {
    return this.#request('classify', { image, topK }, transferList(image));
  }

  // Raw network outputs, a Float32Array; `prepared`: the image is already the network's input
  // crop.
  outputs(image, { prepared = false } = {}) {
    return this.#request('outputs', { image, prepared }, transferList(image));
  }

  terminate() {
    this.#closed = new Error('the classifier was closed');
    const workers = new Set([this.#worker, ...[...this.#pending.values()].map((entry) => entry.worker)]);
    for (const worker of workers) worker.terminate();
    this.#failAll(this.#closed);
  }

  #startWorker() {
    // Written out in this exact form so bundlers (Vite, webpack) recognise and bundle the worker.
    const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
    worker.onmessage = (event) => this.#answer(worker, event.data);
    worker.onerror = (event) => {
      // The worker's script failed (it catches everything else): starting another would fail too.
      event.preventDefault();
      this.#closed = new Error(`the classifier worker failed: ${event.message || 'could not start'}`);
      worker.terminate();
      this.#failAll(this.#closed);
    };
    return worker;
  }

  #request(type, args, transfer, extra = {}) {
    if (this.#closed) return Promise.reject(this.#closed);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, worker: this.#worker, ...extra });
      this.#worker.postMessage({ id, type, ...args }, transfer);
    });
  }

  #answer(worker, { id, ok, result, error, progress, crashed, retry }) {
    const entry = this.#pending.get(id);
    if (!entry) return;
    if (progress) {
      entry.onProgress?.(progress);
      return;
    }
    if (retry) {
      // Queued behind a crash: the same request, same id, on the new worker.
      entry.worker = this.#worker;
      this.#worker.postMessage({ id, ...retry }, transferList(retry.image));
    } else {
      this.#pending.delete(id);
      if (ok) {
        if (entry.load) this.#loaded = entry.load;
        entry.resolve(result);
      } else if (crashed) {
        entry.reject(new Error(this.#restart(worker, entry, error)));
      } else {
        entry.reject(new Error(error));
      }
    }
    this.#retireIfDone(worker);
  }

  // Replace a crashed worker; returns the message for the request that crashed it.
  #restart(worker, entry, error) {
    if (worker !== this.#worker) return `${error}; it has been restarted`;
    // A model whose loading crashed is not loaded again (that would crash again).
    if (entry.load) this.#loaded = null;
    this.#worker = this.#startWorker();
    if (!this.#loaded) return `${error}; it has been restarted without a model`;
    // Not a caller's request: nobody waits for it, the next requests queue behind it.
    this.#request('load', this.#loaded, [], { load: this.#loaded }).catch(() => {});
    return `${error}; it has been restarted and is loading the model again`;
  }

  // A replaced worker is stopped once every request it had is answered or handed back.
  #retireIfDone(worker) {
    if (worker === this.#worker) return;
    for (const entry of this.#pending.values()) if (entry.worker === worker) return;
    worker.terminate();
  }

  #failAll(error) {
    for (const { reject } of this.#pending.values()) reject(error);
    this.#pending.clear();
  }
}
