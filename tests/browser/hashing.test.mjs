// The network's sha256 is computed in a hashing worker of its own (www/lib/stream-hasher.js)
// while the engine's worker builds the classifier; a digest that is not the manifest's (a stale
// cached copy) makes the worker download the network again from the server. When the hashing
// worker cannot start, the engine's worker hashes the bytes itself, still refusing a tampered
// network.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, collectErrors, serverAndBrowser } from './harness.mjs';

const env = serverAndBrowser();
const HASHER_WASM = '/pkg/hasher/hasher_bg.wasm';

// Load a bundle through the JS API on a fresh page; classify the dog if it loads.
// `staleNetwork`: the first request for that network file is answered with other bytes.
async function loadAndClassify(bundle, { blockHasher = false, staleNetwork = null } = {}) {
  const page = await env.browser.newPage();
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
  await page.goto(`${env.server.url}tests/browser/fixtures/plain.html`);
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

const hasherRequests = () => env.server.responses.filter((r) => r.path === HASHER_WASM).length;

test('the network is hashed in the hashing worker', async () => {
  const before = hasherRequests();
  const r = await loadAndClassify('/models/efficientnet-lite0');
  assert.equal(r.top1, 249);
  assert.equal(hasherRequests(), before + 1, 'the hashing worker fetched its wasm module');
  assert.deepEqual(r.errors, []);
});

test('without the hashing worker the engine worker hashes, and classifies like before', async () => {
  const before = hasherRequests();
  const r = await loadAndClassify('/models/efficientnet-lite0', { blockHasher: true });
  assert.equal(r.blocked, 1, "the hasher's wasm request was blocked");
  assert.equal(hasherRequests(), before, 'it never reached the server');
  assert.equal(r.top1, 249);
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
