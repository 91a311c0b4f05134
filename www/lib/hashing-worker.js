// Module worker: the sha256 of a stream of chunks, on a core of its own (see stream-hasher.js).
// Messages, handled in order: {type: 'start', expectedBytes} begins a stream, {type: 'chunk',
// buffer} adds bytes, {type: 'finish'} answers {sha256} (lowercase hex) or {error}. A hasher that
// cannot start says {error} at once too.
//
// Where WebCrypto exists (a secure context), the chunks are only gathered while they arrive and
// hashed by the browser's native SHA-256 once the last one has come, while the engine prepares
// the model: in Chromium 344 MB take ~0.4 s that way, against ~1.1 s of wasm sha2 that ran
// during the download and competed with it for the cores. WebCrypto cannot hash a stream, so
// this holds one copy of the network until the digest is done. Elsewhere (and when that copy
// cannot be allocated) the wasm hasher hashes each chunk as it comes.

let wasmStream = null; // promise of the wasm Sha256Stream, made when first needed
const startWasm = () =>
  (wasmStream ??= import('./hasher/hasher.js').then(async ({ default: init, Sha256Stream }) => {
    await init();
    return new Sha256Stream();
  }));

const sayNotStarted = (err) => self.postMessage({ error: `the hasher did not start (${err?.message ?? err})` });

const native = !!globalThis.crypto?.subtle;
if (!native) startWasm().catch(sayNotStarted);

let gatherer = null; // NativeGatherer of the current stream, or null when the wasm hasher hashes it
let failure = null; // what went wrong in the current stream, said when it finishes

// Messages are handled one after another, in order.
let queue = Promise.resolve();
self.onmessage = ({ data }) => {
  queue = queue
    .then(() => handle(data))
    .catch((err) => {
      failure ??= err;
      if (data.type === 'finish') answerFailure();
    });
};

function answerFailure() {
  self.postMessage({ error: `the hasher failed (${failure?.message ?? failure})` });
  failure = null;
  gatherer = null;
}

async function handle(data) {
  if (data.type === 'start') {
    failure = null;
    gatherer = native ? NativeGatherer.make(data.expectedBytes) : null;
    if (!gatherer) await withWasm((stream) => stream.finish()); // drops what a failed download left
  } else if (failure) {
    if (data.type === 'finish') answerFailure();
  } else if (data.type === 'chunk') {
    const chunk = new Uint8Array(data.buffer);
    if (gatherer && !gatherer.add(chunk)) {
      // No room for a bigger copy: hash what was gathered, and the rest as it comes, in wasm.
      const gathered = gatherer.bytes();
      gatherer = null;
      await withWasm((stream) => {
        stream.finish();
        stream.push(gathered);
      });
    }
    if (!gatherer) await withWasm((stream) => stream.push(chunk));
  } else if (data.type === 'finish') {
    if (gatherer) {
      const bytes = gatherer.bytes();
      gatherer = null; // the copy goes as soon as it is hashed
      const digest = await crypto.subtle.digest('SHA-256', bytes);
      self.postMessage({ sha256: hex(new Uint8Array(digest)) });
    } else {
      await withWasm((stream) => self.postMessage({ sha256: stream.finish() }), true);
    }
  }
}

// Runs `use(stream)` on the wasm hasher; if it never started, says so when `answer` is asked.
async function withWasm(use, answer = false) {
  let stream;
  try {
    stream = await startWasm();
  } catch (err) {
    if (answer) sayNotStarted(err);
    return;
  }
  use(stream);
}

// The bytes of one download in one buffer, sized by the expected length and grown if need be.
class NativeGatherer {
  static make(expectedBytes) {
    const gatherer = new NativeGatherer();
    return gatherer.reserve(Math.max(expectedBytes || 0, 1 << 20)) ? gatherer : null;
  }

  constructor() {
    this.buffer = new Uint8Array(0);
    this.length = 0;
  }

  reserve(bytes) {
    try {
      const bigger = new Uint8Array(bytes);
      bigger.set(this.buffer.subarray(0, this.length));
      this.buffer = bigger;
      return true;
    } catch {
      return false; // RangeError: the copy does not fit in this tab's memory
    }
  }

  // False if the chunk did not fit and no bigger buffer could be had.
  add(chunk) {
    const needed = this.length + chunk.length;
    if (needed > this.buffer.length && !this.reserve(Math.max(needed, this.buffer.length * 2))) return false;
    this.buffer.set(chunk, this.length);
    this.length = needed;
    return true;
  }

  bytes() {
    return this.buffer.subarray(0, this.length);
  }
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
