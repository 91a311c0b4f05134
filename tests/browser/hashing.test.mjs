// The network's sha256 is computed in a hashing worker of its own (www/lib/stream-hasher.js)
// while the engine's worker builds the classifier; a digest that is not the manifest's (a stale
// cached copy) makes the worker download the network again from the server. In a secure context
// the hashing worker gathers the chunks and hashes them with WebCrypto, elsewhere (or when the
// copy cannot be had) with its wasm hasher as they come. When the hashing worker cannot start,
// the engine's worker hashes the bytes itself, still refusing a tampered network.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, collectErrors, launch, serverAndBrowser } from './harness.mjs';

const env = serverAndBrowser();
const HASHER_WASM = '/pkg/hasher/hasher_bg.wasm';
const HASHING_WORKER = '/pkg/hashing-worker.js';

// A browser that reaches the server as insecure.test, not a secure context: there the hashing
// worker needs its wasm hasher (no WebCrypto), so blocking that module breaks the hashing worker.
// (A worker started by a worker is not routed, so its script cannot be blocked itself.)
let insecureBrowser = null;
after(() => insecureBrowser?.close());
async function insecurePage() {
  insecureBrowser ??= await launch(['--host-resolver-rules=MAP insecure.test 127.0.0.1']);
  return { page: await insecureBrowser.newPage(), base: env.server.url.replace('127.0.0.1', 'insecure.test') };
}

// Load a bundle through the JS API on a fresh page; classify the dog if it loads.
// `staleNetwork`: the first request for that network file is answered with other bytes.
// `blockHasher`: on an insecure page whose hashing worker cannot start its wasm hasher.
async function loadAndClassify(bundle, { blockHasher = false, staleNetwork = null } = {}) {
  const { page, base } = blockHasher ? await insecurePage() : { page: await env.browser.newPage(), base: env.server.url };
  const errors = collectErrors(page);
  let blocked = 0;
  let networkRequests = 0;
  if (staleNetwork) {
    await page.route(`**${staleNetwork.path}`, (route) => {
      // Routed requests skip the HTTP cache; the worker's second request bypasses it too (reload).
      if (++networkRequests > 1) return route.continue();
      return route.fulfill({ body: staleNetwork.body, contentType: 'application/octet-stream' });
    });
  }
  if (blockHasher) {
    await page.route(`**${HASHER_WASM}`, (route) => {
      blocked++;
      return route.abort();
    });
  }
  await page.goto(`${base}tests/browser/fixtures/plain.html`);
  const result = await page.evaluate(async (bundle) => {
    const { ImageClassifier } = await import('/pkg/image-classifier.js');
    try {
      const classifier = await ImageClassifier.load(bundle);
      const photo = await createImageBitmap(await (await fetch('/tests/photos/dog.jpg')).blob());
      return { top1: (await classifier.classify(photo)).top[0].index };
    } catch (err) {
      return { error: err.message };
    }
  }, bundle);
  await page.close();
  return { ...result, blocked, networkRequests, errors };
}

// The default network with one byte changed: it still loads, but its digest is not the manifest's.
function staleCopy(file) {
  const body = readFileSync(path.join(ROOT, file));
  body[body.length >> 1] ^= 0xff;
  return { path: `/${file}`, body };
}

const requestsOf = (file) => env.server.responses.filter((r) => r.path === file).length;

test('the network is hashed in the hashing worker, by WebCrypto in a secure context', async () => {
  const [workers, wasm] = [requestsOf(HASHING_WORKER), requestsOf(HASHER_WASM)];
  const r = await loadAndClassify('/models/efficientnet-lite0');
  assert.equal(r.top1, 249);
  assert.equal(requestsOf(HASHING_WORKER), workers + 1, 'the hashing worker started');
  assert.equal(requestsOf(HASHER_WASM), wasm, 'its wasm hasher was not needed');
  assert.deepEqual(r.errors, []);
});

test('without the hashing worker the engine worker hashes, and classifies like before', async () => {
  const before = requestsOf(HASHER_WASM);
  const r = await loadAndClassify('/models/efficientnet-lite0', { blockHasher: true });
  assert.equal(r.blocked, 1, "the hasher's wasm request was blocked");
  assert.equal(requestsOf(HASHER_WASM), before, 'it never reached the server');
  assert.equal(r.top1, 249);
});

// The hashing worker driven directly, against node's sha256 of the same bytes: gathered for
// WebCrypto in a buffer of the announced size, grown when more comes than announced, and hashed
// in wasm as the chunks come when the announced size cannot be allocated.
test('the hashing worker digests gathered, grown and wasm-hashed streams alike', async () => {
  const page = await env.browser.newPage();
  const errors = collectErrors(page);
  await page.goto(`${env.server.url}tests/browser/fixtures/plain.html`);
  const file = 'models/efficientnet-lite0-int8/model.onnx';
  const bytes = readFileSync(path.join(ROOT, file));
  const expected = createHash('sha256').update(bytes).digest('hex');
  const wasmBefore = requestsOf(HASHER_WASM);
  const digests = await page.evaluate(async ({ file, cases }) => {
    const bytes = new Uint8Array(await (await fetch(file)).arrayBuffer());
    const worker = new Worker('/pkg/hashing-worker.js', { type: 'module' });
    const answers = [];
    worker.onmessage = ({ data }) => answers.shift()(data);
    const digest = async (expectedBytes, chunkSize) => {
      worker.postMessage({ type: 'start', expectedBytes });
      for (let at = 0; at < bytes.length; at += chunkSize) {
        const buffer = bytes.slice(at, at + chunkSize).buffer;
        worker.postMessage({ type: 'chunk', buffer }, [buffer]);
      }
      const answer = new Promise((resolve) => answers.push(resolve));
      worker.postMessage({ type: 'finish' });
      return answer;
    };
    const out = {};
    for (const [name, expectedBytes, chunkSize] of cases) out[name] = await digest(expectedBytes, chunkSize);
    worker.terminate();
    return out;
  }, {
    file: `/${file}`,
    cases: [
      ['announced', bytes.length, 65536],
      ['more than announced', 1000, 70000],
      ['unknown size, over 1 MB', 0, 65536],
      ['too big to gather', 2 ** 50, 100000],
      ['after the wasm stream', bytes.length, 50000],
    ],
  });
  await page.close();
  assert.ok(bytes.length > 1 << 20, 'the file is bigger than the first buffer of an unknown size');
  for (const [name, answer] of Object.entries(digests)) assert.deepEqual(answer, { sha256: expected }, name);
  assert.equal(requestsOf(HASHER_WASM), wasmBefore + 1, 'only the stream too big to gather used the wasm hasher');
  assert.deepEqual(errors, []);
});

test('without the hashing worker a tampered network is still refused', async () => {
  const r = await loadAndClassify('/target/bad-models/tampered', { blockHasher: true });
  assert.equal(r.blocked, 1);
  assert.match(r.error ?? '', /corrupt or was modified/);
});

test('a copy whose digest is not the manifest\'s is downloaded again and used', async () => {
  const stale = staleCopy('models/efficientnet-lite0/model.onnx');
  const r = await loadAndClassify('/models/efficientnet-lite0', { staleNetwork: stale });
  assert.equal(r.networkRequests, 2, 'downloaded twice');
  assert.equal(r.top1, 249);
  assert.deepEqual(r.errors, []);
});

test('without the hashing worker a stale copy is downloaded again too', async () => {
  const stale = staleCopy('models/efficientnet-lite0/model.onnx');
  const r = await loadAndClassify('/models/efficientnet-lite0', { blockHasher: true, staleNetwork: stale });
  assert.equal(r.blocked, 1);
  assert.equal(r.networkRequests, 2, 'downloaded twice');
  assert.equal(r.top1, 249);
});
