// fetchBundle's streaming contract, in Node (no browser needed): chunks reach the sink in order,
// and a sink that answers a push with a promise pauses the reading until it settles (the worker
// does so while its engine is still starting, to bound what waits in JS memory). The labels are
// fetched while the network downloads; labels that fail stop that download.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchBundle } from '../../www/lib/fetch-bundle.js';

const CHUNKS = 6;
const CHUNK = 1000;

// A bundle served from memory; `pulled` counts the network chunks the reader has asked for.
// `labelsStatus`: the labels' HTTP status; `chunkDelayMs`: time to produce each network chunk.
// Like fetch, an aborted request's body errors.
function fakeServer({ labelsStatus = 200, chunkDelayMs = 0 } = {}) {
  const served = { pulled: 0 };
  const manifest = JSON.stringify({ labels: 'labels.json', network: { file: 'model.onnx', bytes: CHUNKS * CHUNK } });
  globalThis.self = { location: { href: 'http://test.invalid/' } };
  globalThis.fetch = async (url, { signal } = {}) => {
    const name = String(url).split('/').pop();
    if (name === 'model.json') return new Response(manifest);
    if (name === 'labels.json') {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return new Response('[]', { status: labelsStatus });
    }
    const body = new ReadableStream({
      async pull(controller) {
        await new Promise((resolve) => setTimeout(resolve, chunkDelayMs));
        if (signal?.aborted) return controller.error(new DOMException('the request was aborted', 'AbortError'));
        if (served.pulled === CHUNKS) return controller.close();
        controller.enqueue(new Uint8Array(CHUNK).fill(served.pulled));
        served.pulled += 1;
      },
      // No read-ahead: a chunk is produced only when the reader asks for it.
    }, { highWaterMark: 0 });
    return new Response(body, { headers: { 'Content-Length': String(CHUNKS * CHUNK) } });
  };
  return served;
}

test('chunks reach the sink in order, with the expected size first', async () => {
  fakeServer();
  const received = [];
  let expected;
  await fetchBundle('models/x', (bytes) => {
    expected = bytes;
    return { push: (chunk) => received.push(chunk[0]) };
  });
  assert.equal(expected, CHUNKS * CHUNK);
  assert.deepEqual(received, [0, 1, 2, 3, 4, 5]);
});

test('a sink that returns a promise pauses the download until it settles', async () => {
  const served = fakeServer();
  let release;
  const gate = new Promise((resolve) => (release = resolve));
  const received = [];
  const done = fetchBundle('models/x', () => ({
    push(chunk) {
      received.push(chunk[0]);
      return chunk[0] === 1 ? gate : undefined; // "full" after the second chunk
    },
  }));
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.deepEqual(received, [0, 1], 'nothing pushed while the sink is full');
  assert.ok(served.pulled <= 3, `the body was read ahead (${served.pulled} chunks)`);
  release();
  await done;
  assert.deepEqual(received, [0, 1, 2, 3, 4, 5]);
});

test('labels that fail stop the network download, and their error is the one reported', async () => {
  const served = fakeServer({ labelsStatus: 404, chunkDelayMs: 15 });
  let pushed = 0;
  await assert.rejects(
    fetchBundle('models/x', () => ({ push: () => void pushed++ })),
    /cannot download http:\/\/test.invalid\/models\/x\/labels.json: HTTP 404/,
  );
  assert.ok(pushed < CHUNKS, `the download went on after the labels failed (${pushed} chunks)`);
  assert.ok(served.pulled < CHUNKS);
});
