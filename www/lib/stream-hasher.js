// The sha256 of a download, computed in a worker of its own (hashing-worker.js) while the
// engine's worker only copies the bytes into wasm memory: on a fast link or a cached load,
// hashing 344 MB in wasm took about 1 s on the engine's thread; the hashing worker gathers the
// chunks and hashes them with WebCrypto once the last has come (wasm where there is no
// WebCrypto), while the engine prepares the model. Chunks are transferred, not copied, so push
// each one after the engine has its copy.

export class StreamHasher {
  constructor() {
    this.worker = new Worker(new URL('./hashing-worker.js', import.meta.url), { type: 'module' });
    this.broken = false;
    this.answer = null; // resolves the pending digest()
    this.worker.onmessage = ({ data }) => {
      if (data.error) this.broken = true; // e.g. its wasm did not start: said at once, not only at digest()
      this.settle(data.sha256 ?? null);
    };
    this.worker.onerror = (event) => {
      event.preventDefault?.();
      this.broken = true;
      this.settle(null);
    };
  }

  settle(sha256) {
    const answer = this.answer;
    this.answer = null;
    answer?.(sha256);
  }

  // `expectedBytes`: the announced size, if known (0 if not).
  start(expectedBytes) {
    if (!this.broken) this.worker.postMessage({ type: 'start', expectedBytes });
  }

  push(chunk) {
    if (this.broken) return;
    const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
    const buffer = whole ? chunk.buffer : chunk.slice().buffer;
    this.worker.postMessage({ type: 'chunk', buffer }, [buffer]);
  }

  // The hex digest of everything pushed since start(), or null if the hashing worker failed.
  digest() {
    if (this.broken) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.answer = resolve;
      this.worker.postMessage({ type: 'finish' });
    });
  }
}
