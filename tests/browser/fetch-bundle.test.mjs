// fetchBundle's streaming contract, in Node (no browser needed): chunks reach the sink in order,
// and a sink that answers a push with a promise pauses the reading until it settles (the worker
// does so while its engine is still starting, to bound what waits in JS memory). The labels are
// fetched while the network downloads; labels that fail stop that download. Small chunks (what
// a slow link gives) are gathered into bigger pieces before they reach the sink.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fetchBundle } from '../../www/lib/fetch-bundle.js';

const CHUNKS = 6;
const CHUNK = 64 << 10; // big enough to be pushed as it comes

// A bundle served from memory; `pulled` counts the network chunks the reader has asked for.
// `labelsStatus`: the labels' HTTP status; `chunkDelayMs`: time to produce each network chunk;
// `sizes`: the network chunks' sizes (chunk i is filled with i % 256). Like fetch, an aborted
// request's body errors.
function fakeServer({ labelsStatus = 200, chunkDelayMs = 0, sizes = Array(CHUNKS).fill(CHUNK) } = {}) {
  const served = { pulled: 0 };
  const networkBytes = sizes.reduce((a, b) => a + b, 0);
  const manifest = JSON.stringify({ labels: 'labels.json', network: { file: 'model.onnx', bytes: networkBytes } });
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
        if (chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, chunkDelayMs));
        if (signal?.aborted) return controller.error(new DOMException('the request was aborted', 'AbortError'));
        if (served.pulled === sizes.length) return controller.close();
        controller.enqueue(new Uint8Array(sizes[served.pulled]).fill(served.pulled % 256));
        served.pulled += 1;
      },
      // No read-ahead: a chunk is produced only when the reader asks for it.
    }, { highWaterMark: 0 });
    return new Response(body, { headers: { 'Content-Length': String(networkBytes) } });
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

// The bytes a fake network of chunk `sizes` serves, for comparison.
const servedBytes = (sizes) => Uint8Array.from(sizes.flatMap((n, i) => Array(n).fill(i % 256)));

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

test('small chunks are gathered into bigger pieces, in order, progress reported per piece', async () => {
  // 4 KB chunks like a slow link's, a big chunk among them (which goes as it is, after what was
  // gathered before it), and an odd-sized last one.
  const sizes = [...Array(300).fill(4096), 100 << 10, ...Array(200).fill(4096), 777];
  fakeServer({ sizes });
  const pushed = [];
  const progress = [];
  await fetchBundle('models/x', () => ({ push: (chunk) => void pushed.push(chunk.slice()) }), (loaded, total) =>
    progress.push([loaded, total]),
  );
  assert.deepEqual(concat(pushed), servedBytes(sizes), 'the bytes, whole and in order');
  assert.ok(pushed.length <= 8, `${pushed.length} pushes for ${sizes.length} chunks`);
  assert.ok(pushed.some((c) => c.length === 100 << 10), 'the big chunk went alone');
  assert.equal(progress.length, pushed.length);
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.deepEqual(progress.at(-1), [total, total]);
});

test('gathered chunks still go out while a slow link trickles', async () => {
  // 20 ms per 1 KB chunk: a piece would take 10 s to fill, so pieces go by time instead.
  const sizes = Array(12).fill(1024);
  fakeServer({ sizes, chunkDelayMs: 20 });
  const pushed = [];
  await fetchBundle('models/x', () => ({ push: (chunk) => void pushed.push(chunk.slice()) }));
  assert.deepEqual(concat(pushed), servedBytes(sizes));
  assert.ok(pushed.length >= 3, `only ${pushed.length} pushes over ~240 ms`);
  assert.ok(pushed.length < sizes.length, 'chunks were gathered');
});
