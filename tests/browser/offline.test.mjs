// dist/ on a plain static host under a sub-path, in real Chromium: the first visit makes it
// offline-ready, a second visit downloads no model, the page classifies with the network off,
// and a new build replaces the old cached shell without downloading the model again.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, appendFileSync, rmSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { ROOT, launch, startStaticHost, uploadPhoto, assertSameAsCli, collectErrors } from './harness.mjs';

const BASE = '/some/sub/folder/';
let site, host, browser, context, page, errors;

const isModelFile = (p) => p.endsWith('.onnx');

before(async () => {
  const dist = path.join(ROOT, 'dist');
  assert.ok(existsSync(path.join(dist, 'index.html')), 'build dist/ first: make dist');
  // A copy, so the test can publish a "new build" into it.
  site = mkdtempSync(path.join(os.tmpdir(), 'dist-'));
  cpSync(dist, site, { recursive: true });
  host = await startStaticHost(site, BASE);
  browser = await launch();
  context = await browser.newContext();
  page = await context.newPage();
  errors = collectErrors(page);
});

after(async () => {
  await browser?.close();
  host?.close();
  if (site) rmSync(site, { recursive: true, force: true });
});

async function visit() {
  await page.goto(host.url);
  await page.waitForSelector('html[data-state="ready"]', { timeout: 120_000 });
  await page.waitForSelector('html[data-offline="ready"]', { timeout: 60_000 });
}

test('first visit from a sub-path: classifies like the CLI and becomes offline-ready', async () => {
  await visit();
  // The host sends no COOP/COEP; the service worker adds them (one reload), so the page gets
  // the multi-threaded build like on the demo server.
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'isolated by the service worker');
  const cores = await page.evaluate(() => Math.min(navigator.hardwareConcurrency, 8));
  assert.match(await page.textContent('#model-status'), new RegExp(` ${cores} threads? \\(threads\\+relaxed-simd\\),`));
  assert.match(await page.textContent('#offline-status'), /Ready for offline use/);
  assertSameAsCli(await uploadPhoto(page, 'tests/photos/dog.jpg'), 'tests/photos/dog.jpg');
  assert.equal(host.requests.filter(isModelFile).length, 1, 'the model was downloaded once');
  assert.ok(host.requests.every((p) => p.startsWith(BASE)), `requests outside ${BASE}: relative URLs only`);
});

test('a second visit downloads neither the model nor the wasm', async () => {
  host.requests.length = 0;
  await visit();
  assert.deepEqual(host.requests.filter(isModelFile), []);
  assert.deepEqual(host.requests.filter((p) => p.endsWith('.wasm')), []);
});

test('with the network off, the page reloads and classifies', async () => {
  await context.setOffline(true);
  try {
    await visit();
    for (const photo of ['tests/photos/giraffe.jpg', 'tests/photos/person-small.png']) {
      assertSameAsCli(await uploadPhoto(page, photo), photo);
    }
  } finally {
    await context.setOffline(false);
  }
});

test('a new build is offered, replaces the cached shell and keeps the cached model', async () => {
  const shellCaches = () =>
    page.evaluate(async () => (await caches.keys()).filter((k) => k.startsWith('image-classifier-shell-')));
  const [old] = await shellCaches();
  assert.ok(old, 'a shell cache exists');
  // Publish a new build: one page file changes, so the manifest's version changes.
  appendFileSync(path.join(site, 'www/style.css'), '\n/* new build */\n');
  execFileSync('python3', [path.join(ROOT, 'tools/offline_manifest.py'), site]);
  host.requests.length = 0;
  // While the page runs, the browser finds the new build (as it does on each navigation; here
  // asked directly) and installs it beside the old one; the page offers an Update button.
  await page.evaluate(async () => (await navigator.serviceWorker.getRegistration()).update());
  await page.waitForSelector('html[data-update="ready"]', { timeout: 60_000 });
  assert.ok((await shellCaches()).includes(old), 'the running page keeps its build until it switches');
  await Promise.all([page.waitForEvent('load', { timeout: 60_000 }), page.click('#update-button')]);
  await page.waitForSelector('html[data-state="ready"]', { timeout: 120_000 });
  const shells = await shellCaches();
  assert.equal(shells.length, 1, `one shell cache: ${shells}`);
  assert.notEqual(shells[0], old, 'the old build was replaced');
  const css = await page.evaluate(async () => (await fetch('www/style.css')).text());
  assert.match(css, /new build/, 'the page now gets the new build');
  assert.deepEqual(host.requests.filter(isModelFile), [], 'the model stays cached across builds');
  assertSameAsCli(await uploadPhoto(page, 'tests/photos/eagle.jpg'), 'tests/photos/eagle.jpg');
});

test('no errors in the console', () => {
  assert.deepEqual(errors, []);
});
