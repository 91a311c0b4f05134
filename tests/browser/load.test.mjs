// Sustained use in real Chromium through the JS API: 300 classifications in a row and 20 queued
// at once; wasm memory does not grow after warm-up and every request gets its own answer.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectErrors, serverAndBrowser } from './harness.mjs';

let page, errors;
const env = serverAndBrowser(async () => {
  page = await env.browser.newPage();
  errors = collectErrors(page);
  await page.goto(`${env.server.url}tests/browser/fixtures/plain.html`);
  await page.evaluate(async () => {
    const { ImageClassifier } = await import('/pkg/image-classifier.js');
    window.classifier = await ImageClassifier.load('/models/efficientnet-lite0');
    // A real photo as ImageData, and a helper for images of other sizes.
    const bitmap = await createImageBitmap(await (await fetch('/tests/photos/dog.jpg')).blob());
    window.photoOfWidth = (width) => {
      const height = Math.round((width * bitmap.height) / bitmap.width);
      const ctx = new OffscreenCanvas(width, height).getContext('2d');
      ctx.drawImage(bitmap, 0, 0, width, height);
      return ctx.getImageData(0, 0, width, height);
    };
  });
});

test('300 classifications in a row: same answer every time, no memory growth after warm-up', { timeout: 300_000 }, async () => {
  const r = await page.evaluate(async () => {
    const image = window.photoOfWidth(768);
    for (let i = 0; i < 10; i++) await window.classifier.classify(image); // warm-up
    const first = await window.classifier.classify(image);
    const memory = new Set();
    const answers = new Set();
    for (let i = 0; i < 300; i++) {
      const result = await window.classifier.classify(image);
      memory.add(result.wasmMemoryBytes);
      answers.add(JSON.stringify(result.top));
    }
    return { memory: [...memory], afterWarmUp: first.wasmMemoryBytes, answers: [...answers] };
  });
  assert.deepEqual(r.memory, [r.afterWarmUp], 'wasm memory stays at its post-warm-up size');
  assert.equal(r.answers.length, 1, 'the same photo gets the same answer every time');
  assert.equal(JSON.parse(r.answers[0])[0].index, 249);
});

test('20 requests queued at once are all answered, each with its own image', { timeout: 120_000 }, async () => {
  const r = await page.evaluate(async () => {
    const widths = Array.from({ length: 20 }, (_, i) => 200 + 37 * i);
    const results = await Promise.all(widths.map((w) => window.classifier.classify(window.photoOfWidth(w))));
    return { widths, answered: results.map((x) => x.width), top1: results.map((x) => x.top[0].index) };
  });
  assert.deepEqual(r.answered, r.widths, 'answers come back to the request that asked');
  assert.ok(r.top1.filter((i) => i === 249).length >= 15, `mostly the dog at every size: ${r.top1}`);
});

test('no errors in the console', () => {
  assert.deepEqual(errors, []);
});
