// Faults inside the worker's wasm, in real Chromium, with the test-only build of
// target/fault-pkg/ (make pkg-faults; src/wasm/fault_injection.rs): a 7x13 image makes the
// classifier panic, a 7x14 image makes it allocate until memory runs out. Either way the request
// fails with a message saying so, the worker is replaced and the model reloaded from the browser's
// cache, requests queued behind the crash get their own answers, and the next photo classifies.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchWithProfile, assertSameAsCli, FP32_MODEL } from './harness.mjs';

const MODEL = `/${FP32_MODEL}`;
const CRASHED =
  /^the classifier crashed while handling this image \(WebAssembly error: unreachable\); it has been restarted and is loading the model again$/;
let server, browser, page;

before(async () => {
  server = await startServer();
  browser = await launchWithProfile();
  page = await browser.context.newPage();
  page.on('console', (m) => m.type() === 'error' && console.log(`[page] ${m.text()}`));
  await page.goto(`${server.url}tests/browser/fixtures/plain.html`);
  await page.evaluate(async (model) => {
    const { ImageClassifier } = await import('/target/fault-pkg/image-classifier.js');
    // One thread, plain SIMD128: the build that has the injected faults.
    window.classifier = await ImageClassifier.load(model, { threads: 1, relaxedSimd: false });
    window.photo = async (name) => (await fetch(`/tests/photos/${name}`)).blob();
    // Settle every call, in order, as {ok, top | error}.
    window.settle = (calls) =>
      Promise.all(
        calls.map((call) =>
          call.then(
            (r) => ({ ok: true, top: r.top, memory: r.wasmMemoryBytes }),
            (err) => ({ ok: false, error: err.message }),
          ),
        ),
      );
  }, MODEL);
});

after(async () => {
  await browser?.close();
  server?.close();
});

test('the fault build is the one running', async () => {
  const build = await page.evaluate(() => window.classifier.loadInfo.build);
  assert.equal(build, 'simd128');
});

// Classify a fault-triggering blank image of `width` x `height`, then `photo`; checks the crash
// message and that the photo gets the CLI's answer. Returns the photo's result.
async function crashThenClassify(width, height, photo) {
  const [crash, next] = await page.evaluate(
    async ({ width, height, photo }) => {
      const crash = await window.settle([window.classifier.classify(new ImageData(width, height))]);
      const next = await window.settle([window.classifier.classify(await window.photo(photo))]);
      return [crash[0], next[0]];
    },
    { width, height, photo },
  );
  assert.equal(crash.ok, false);
  assert.match(crash.error, CRASHED);
  assert.ok(next.ok, next.error);
  assertSameAsCli(next.top, `tests/photos/${photo}`, FP32_MODEL);
  return next;
}

test('a panic fails that request only; the next photo classifies after the restart', async () => {
  const modelResponses = () => server.responses.filter((r) => r.path.endsWith('/model.onnx'));
  const before = modelResponses().length;
  await crashThenClassify(7, 13, 'dog.jpg');
  // The reload asked the server once more and was answered from the browser's cache (304).
  assert.deepEqual(modelResponses().slice(before).map((r) => r.status), [304]);
});

test('photos queued behind a crash get their own answers', async () => {
  const photos = ['eagle.jpg', 'giraffe.jpg', 'horses.jpg', 'scream.jpg'];
  const results = await page.evaluate(async (photos) => {
    const blobs = await Promise.all(photos.map(window.photo));
    const c = window.classifier;
    // All sent at once: one photo before the crash, three queued behind it.
    return window.settle([
      c.classify(blobs[0]),
      c.classify(new ImageData(7, 13)),
      c.classify(blobs[1]),
      c.classify(blobs[2]),
      c.classify(blobs[3]),
    ]);
  }, photos);
  assert.equal(results.length, 5);
  assert.equal(results[1].ok, false);
  assert.match(results[1].error, CRASHED);
  const answered = [results[0], ...results.slice(2)];
  answered.forEach((r, i) => {
    assert.ok(r.ok, `${photos[i]}: ${r.error}`);
    assertSameAsCli(r.top, `tests/photos/${photos[i]}`, FP32_MODEL);
  });
});

test('running out of wasm memory is a crash like a panic; memory is back to normal after', async () => {
  const next = await crashThenClassify(7, 14, 'person.jpg');
  // The new worker's memory holds one model (about 100 MB), not the gigabytes the old one took.
  assert.ok(next.memory < 512 << 20, `wasm memory after the restart: ${next.memory} bytes`);
});

test('crashes back to back: every request is answered exactly once', async () => {
  const results = await page.evaluate(async () => {
    const c = window.classifier;
    const dog = await window.photo('dog.jpg');
    const calls = [];
    for (let i = 0; i < 3; i += 1) calls.push(c.classify(new ImageData(7, 13)), c.classify(dog));
    return window.settle(calls);
  });
  assert.equal(results.length, 6);
  results.forEach((r, i) => {
    if (i % 2 === 0) assert.match(r.error ?? '', CRASHED, `call ${i}`);
    else {
      assert.ok(r.ok, `call ${i}: ${r.error}`);
      assertSameAsCli(r.top, 'tests/photos/dog.jpg', FP32_MODEL);
    }
  });
});

// Without a way out, a panic on a pool thread would leave the run waiting forever: hence the timeout.
test('threads build: a panic on a thread of the pool fails that request; the next photo classifies', { timeout: 120_000 }, async () => {
  const [build, crash, next] = await page.evaluate(async (model) => {
    const { ImageClassifier } = await import('/target/fault-pkg/image-classifier.js');
    const c = await ImageClassifier.load(model, { threads: 2 });
    try {
      const crash = await window.settle([c.classify(new ImageData(7, 15))]);
      const next = await window.settle([c.classify(await window.photo('dog.jpg'))]);
      return [c.loadInfo.build, crash[0], next[0]];
    } finally {
      c.dispose();
    }
  }, MODEL);
  // (loadInfo describes the worker that loaded the model again after the crash.)
  assert.equal(build, 'threads+relaxed-simd');
  assert.equal(crash.ok, false);
  assert.match(crash.error, CRASHED);
  assert.ok(next.ok, next.error);
  assertSameAsCli(next.top, 'tests/photos/dog.jpg', FP32_MODEL);
});
