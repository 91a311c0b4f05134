// The package through a bundler: Vite builds tests/bundler/ (an app importing `image-classifier`
// by name) and the built app, served with a copy of the default model, classifies like the CLI.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ROOT, launch, startStaticHost, assertSameAsCli, collectErrors, FP32_MODEL } from './harness.mjs';

const PHOTO = 'tests/photos/eagle.jpg';
let site, host, browser, page, errors;

before(async () => {
  execFileSync(path.join(ROOT, 'node_modules/.bin/vite'), ['build', '--config', 'tests/bundler/vite.config.js'], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  site = mkdtempSync(path.join(os.tmpdir(), 'bundled-'));
  cpSync(path.join(ROOT, 'target/bundler-app'), site, { recursive: true });
  cpSync(path.join(ROOT, 'models/efficientnet-lite0'), path.join(site, 'models/efficientnet-lite0'), { recursive: true });
  cpSync(path.join(ROOT, PHOTO), path.join(site, 'photo.jpg'));
  host = await startStaticHost(site, '/app/');
  browser = await launch();
  page = await browser.newPage();
  errors = collectErrors(page);
});

after(async () => {
  await browser?.close();
  host?.close();
  if (site) rmSync(site, { recursive: true, force: true });
});

test('Vite emits the worker and the wasm as assets of the app', () => {
  const assets = readdirSync(path.join(ROOT, 'target/bundler-app/assets'));
  assert.ok(assets.some((f) => /^worker-.*\.js$/.test(f)), `worker chunk in ${assets}`);
  assert.ok(assets.some((f) => /^engine_bg-.*\.wasm$/.test(f)), `wasm asset in ${assets}`);
  assert.ok(assets.some((f) => /^hashing-worker-.*\.js$/.test(f)), `hashing worker chunk in ${assets}`);
  assert.ok(assets.some((f) => /^hasher_bg-.*\.wasm$/.test(f)), `hasher wasm asset in ${assets}`);
});

test('the bundled app classifies like the CLI', async () => {
  await page.goto(host.url);
  await page.waitForSelector('html[data-state="ready"]', { timeout: 120_000 });
  const top = await page.evaluate(() => window.classifyUrl('photo.jpg'));
  assertSameAsCli(top, PHOTO, FP32_MODEL);
  assert.ok(host.requests.every((p) => p.startsWith('/app/')), `the app fetches only its own files: ${host.requests}`);
  // In a secure context it hashes with WebCrypto: its wasm hasher (an asset, above) is not fetched.
  assert.ok(host.requests.some((p) => /hashing-worker-.*\.js$/.test(p)), `the hashing worker started: ${host.requests}`);
  assert.deepEqual(errors, []);
});
