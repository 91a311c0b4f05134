// Broken model bundles (tools/bad_models.py, `make bad-models`) opened in the page: each gives
// an error that names the problem, and the visitor can switch to a working model and classify.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync, writeFileSync } from 'node:fs';
import { ROOT, launch, uploadPhoto, assertSameAsCli, serverAndBrowser } from './harness.mjs';

const DIR = 'target/bad-models';
const env = serverAndBrowser();

test('each broken bundle: a message naming the problem, then another model works', { timeout: 300_000 }, async () => {
  const cases = JSON.parse(readFileSync(path.join(ROOT, DIR, 'cases.json'), 'utf8'));
  const rows = [];
  for (const { bundle, what, expect } of cases) {
    const page = await env.browser.newPage();
    await page.goto(`${env.server.url}?model=${DIR}/${bundle}`);
    await page.waitForSelector('html[data-state="error"], html[data-state="ready"]', { timeout: 60_000 });
    assert.equal(await page.getAttribute('html', 'data-state'), 'error', `${what} must not load`);
    const message = await page.textContent('#error');
    assert.ok(message.includes(expect), `${what}: the message should mention "${expect}": ${message}`);
    assert.match(message, /choose another model/, 'the page offers a way out');
    rows.push(`| ${what} | ${message.replace(`${DIR}/${bundle}: `, '').replace(/\|/g, '/')} |`);
    // Retrying loads the bundle again (still broken: the same message comes back).
    await page.click('#retry-button');
    await page.waitForSelector('html[data-state="error"]', { timeout: 60_000 });
    assert.equal(await page.textContent('#error'), message);
    // The way out works: pick the default model from the chooser and classify.
    await page.selectOption('#model-select', 'efficientnet-lite0-int8');
    await page.waitForSelector('html[data-state="ready"]', { timeout: 60_000 });
    assert.equal(await page.isHidden('#retry-button'), true, 'no retry offered once a model works');
    assertSameAsCli(await uploadPhoto(page, 'tests/photos/eagle.jpg'), 'tests/photos/eagle.jpg');
    await page.close();
  }
  writeFileSync(path.join(ROOT, DIR, 'page-table.md'), ['| bundle | page |', '|---|---|', ...rows, ''].join('\n'));
});

// A page served from a plain-HTTP address that is not loopback (a demo on a LAN) is not a secure
// context: no service worker, no WebCrypto, no SharedArrayBuffer. The page still loads a model,
// still refuses a network that is not the manifest's, and classifies like the CLI.
test('not a secure context: the network is still checked, and a good model classifies', { timeout: 300_000 }, async () => {
  const insecure = await launch(['--host-resolver-rules=MAP insecure.test 127.0.0.1']);
  try {
    const base = env.server.url.replace('127.0.0.1', 'insecure.test');
    const page = await insecure.newPage();
    await page.goto(`${base}?model=${DIR}/tampered`);
    assert.equal(await page.evaluate(() => window.isSecureContext || !!globalThis.crypto?.subtle), false);
    await page.waitForSelector('html[data-state="error"]', { timeout: 60_000 });
    assert.match(await page.textContent('#error'), /corrupt or was modified: its sha256 is [0-9a-f]{64}/);
    await page.selectOption('#model-select', 'efficientnet-lite0-int8');
    await page.waitForSelector('html[data-state="ready"]', { timeout: 60_000 });
    assertSameAsCli(await uploadPhoto(page, 'tests/photos/eagle.jpg'), 'tests/photos/eagle.jpg');
    await page.close();
  } finally {
    await insecure.close();
  }
});
