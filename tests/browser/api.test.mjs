// The JS API (pkg/image-classifier.js) from a plain page, no bundler, in real Chromium: every
// accepted kind of image source gives the CLI's answer; progress, dispose and errors behave.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertSameAsCli, collectErrors, FP32_MODEL, serverAndBrowser } from './harness.mjs';

const PHOTO = 'tests/photos/dog.jpg';
let page, errors;
const env = serverAndBrowser(async () => {
  page = await env.browser.newPage();
  errors = collectErrors(page);
  await page.goto(`${env.server.url}tests/browser/fixtures/plain.html`);
  await page.evaluate(async () => {
    const { ImageClassifier } = await import('/pkg/image-classifier.js');
    window.ImageClassifier = ImageClassifier;
    window.progress = [];
    window.classifier = await ImageClassifier.load('/models/efficientnet-lite0', {
      onProgress: (p) => window.progress.push(p),
    });
  });
});

test('load reports download progress and the manifest', async () => {
  const { progress, manifest, info } = await page.evaluate(() => ({
    progress: window.progress,
    manifest: window.classifier.manifest,
    info: window.classifier.loadInfo,
  }));
  assert.ok(progress.length > 0);
  const last = progress.at(-1);
  assert.equal(last.loaded, manifest.network.bytes);
  assert.equal(last.total, manifest.network.bytes);
  assert.equal(manifest.id, 'efficientnet-lite0');
  assert.equal(info.bytes, manifest.network.bytes);
  assert.ok(info.loadMs > 0 && info.wasmMemoryBytes > 0);
});

const SOURCES = {
  File: `new File([await (await fetch(url)).blob()], 'dog.jpg', { type: 'image/jpeg' })`,
  Blob: `await (await fetch(url)).blob()`,
  ImageBitmap: `await createImageBitmap(await (await fetch(url)).blob())`,
  HTMLImageElement: `Object.assign(new Image(), { src: url })`,
  HTMLCanvasElement: `await (async () => {
    const bitmap = await createImageBitmap(await (await fetch(url)).blob());
    const canvas = Object.assign(document.createElement('canvas'), { width: bitmap.width, height: bitmap.height });
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    return canvas;
  })()`,
  ImageData: `await (async () => {
    const bitmap = await createImageBitmap(await (await fetch(url)).blob());
    const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d');
    ctx.drawImage(bitmap, 0, 0);
    return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
  })()`,
};

for (const [kind, expression] of Object.entries(SOURCES)) {
  test(`classify(${kind}) gives the CLI's top-5`, async () => {
    const { top, ms, width, usable } = await page.evaluate(
      async ({ url, expression }) => {
        const source = await new Function('url', `return (async () => ${expression})();`)(url);
        const result = await window.classifier.classify(source, { topK: 5 });
        // The caller's object is not consumed (an ImageBitmap is copied, not transferred).
        const usable = source instanceof ImageBitmap ? source.width > 0 : true;
        return { ...result, usable };
      },
      { url: `/${PHOTO}`, expression },
    );
    assert.equal(width, 768);
    assert.ok(ms > 0);
    assert.ok(usable, 'the caller keeps its ImageBitmap');
    assertSameAsCli(top, PHOTO, FP32_MODEL);
  });
}

test('bad calls reject with readable errors; dispose ends the classifier', async () => {
  const messages = await page.evaluate(async () => {
    const out = {};
    const attempt = async (name, fn) => {
      try {
        await fn();
        out[name] = 'no error';
      } catch (err) {
        out[name] = `${err.name}: ${err.message}`;
      }
    };
    await attempt('number', () => window.classifier.classify(42));
    await attempt('text', () => window.classifier.classify(new Blob(['hello'], { type: 'text/plain' })));
    await attempt('topK', () => window.classifier.classify(new ImageData(4, 4), { topK: 0 }));
    await attempt('missing', () => window.ImageClassifier.load('/models/no-such-model'));
    const second = await window.ImageClassifier.load('/models/efficientnet-lite0');
    second.dispose();
    await attempt('disposed', () => second.classify(new ImageData(4, 4)));
    return out;
  });
  assert.match(messages.number, /^TypeError: classify\(\) takes a File, Blob/);
  assert.match(messages.text, /^Error: this file is not an image \(expected JPEG, PNG, WebP, GIF or BMP\)/);
  assert.match(messages.topK, /^RangeError: topK must be a positive integer/);
  assert.match(messages.missing, /cannot download .*no-such-model\/model\.json: HTTP 404/);
  assert.match(messages.disposed, /disposed/);
});

// Threads asked for, and something fails on the way: the load still answers, on one thread,
// with the same results, and says so in a console warning. `mendWorker(body)` rewrites the
// worker's script; `route` (optional) also intercepts other requests of the page.
async function loadWithThreadsFailing({ mendWorker = (body) => body, route = null }) {
  const other = await env.browser.newPage();
  const otherErrors = collectErrors(other);
  const warnings = [];
  other.on('console', (m) => m.type() === 'warning' && warnings.push(m.text()));
  await other.route('**/pkg/worker.js', async (r) => {
    const response = await r.fetch();
    await r.fulfill({ response, body: mendWorker(await response.text()) });
  });
  if (route) await other.route(route.url, route.handler);
  try {
    await other.goto(`${env.server.url}tests/browser/fixtures/plain.html`);
    const { info, top } = await other.evaluate(async (photo) => {
      const { ImageClassifier } = await import('/pkg/image-classifier.js');
      const classifier = await ImageClassifier.load('/models/efficientnet-lite0', { threads: 2 });
      const result = await classifier.classify(await (await fetch(`/${photo}`)).blob());
      classifier.dispose();
      return { info: classifier.loadInfo, top: result.top };
    }, PHOTO);
    assert.equal(info.threads, 1);
    assertSameAsCli(top, PHOTO, FP32_MODEL);
    assert.deepEqual(otherErrors, []);
    return { build: info.build, warnings };
  } finally {
    await other.close();
  }
}

// A pool of Web Workers that cannot start (here: a worker with no Worker constructor, as in
// browsers without nested workers): the threads build, already started (the network downloads
// into it meanwhile), runs on one thread.
test('threads asked, but the pool cannot start: the threads build on one thread, same answers', async () => {
  const { build, warnings } = await loadWithThreadsFailing({ mendWorker: (body) => `self.Worker = undefined;\n${body}` });
  assert.equal(build, 'threads+relaxed-simd');
  assert.ok(warnings.some((w) => /multi-threaded engine did not start its thread pool/.test(w)), warnings.join('\n'));
});

// The threads build's module itself cannot start (here: its wasm file is damaged): the
// relaxed-SIMD build instead.
test('threads asked, but the threads build cannot start: the relaxed-SIMD build, same answers', async () => {
  const { build, warnings } = await loadWithThreadsFailing({
    route: {
      url: '**/pkg/threads/engine_bg.wasm',
      handler: (r) => r.fulfill({ contentType: 'application/wasm', body: 'not a wasm module' }),
    },
  });
  assert.equal(build, 'relaxed-simd');
  assert.ok(warnings.some((w) => /multi-threaded engine did not start \(/.test(w)), warnings.join('\n'));
});

test('no errors in the console', () => {
  // The 404 of the missing bundle is the browser's own network log line, not a page error.
  assert.deepEqual(errors.filter((e) => !/404/.test(e) || !e.startsWith('console: Failed to load resource')), []);
});
