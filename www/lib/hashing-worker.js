// Module worker: the sha256 of a stream of chunks, on a core of its own (see stream-hasher.js).
// Messages, handled in order: {type: 'start'} begins a stream, {type: 'chunk', buffer} adds
// bytes, {type: 'finish'} answers {sha256} (lowercase hex) or {error}. A hasher that cannot
// start says {error} at once too.

import init, { Sha256Stream } from './hasher/hasher.js';

const ready = init().then(() => new Sha256Stream());
ready.catch((err) => self.postMessage({ error: `the hasher did not start (${err?.message ?? err})` }));

self.onmessage = async ({ data }) => {
  let stream;
  try {
    stream = await ready; // every message awaits the same promise, so they stay in order
  } catch (err) {
    if (data.type === 'finish') self.postMessage({ error: `the hasher did not start (${err?.message ?? err})` });
    return;
  }
  if (data.type === 'start') stream.finish(); // drops what a failed download left
  else if (data.type === 'chunk') stream.push(new Uint8Array(data.buffer));
  else if (data.type === 'finish') self.postMessage({ sha256: stream.finish() });
};
