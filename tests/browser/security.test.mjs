// Privacy and security in real Chromium: the page and the widget work under a strict
// Content-Security-Policy with no violation, and classifying photos sends no network request.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, launch, startStaticHost, uploadPhoto, assertSameAsCli, collectErrors } from './harness.mjs';

const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'";
let host, browser;

before(async () => {
  host = await startStaticHost(ROOT, '/', {
    'Content-Security-Policy': CSP,
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  host?.close();
});

// The browser's own check for a new service worker (after each navigation, at a moment of its
// choosing) fetches these two files; it carries nothing of the visitor's.
const withoutUpdateChecks = (requests) =>
  requests.filter((p) => !p.endsWith('/service-worker.js') && !p.endsWith('/offline-manifest.js'));

// A page that records CSP violations from its first script on.
async function strictPage() {
  const page = await browser.newPage();
  const errors = collectErrors(page);
  await page.addInitScript(() => {
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.cspViolations.push(`${e.violatedDirective}: ${e.blockedURI}`),
    );
  });
  return { page, errors };
}

test('the page classifies under a strict CSP, and sends nothing while classifying', async () => {
  const { page, errors } = await strictPage();
  await page.goto(host.url);
  await page.waitForSelector('html[data-state="ready"]', { timeout: 120_000 });
  await page.waitForSelector('html[data-offline="ready"]', { timeout: 60_000 });
  host.requests.length = 0;
  for (const photo of ['tests/photos/dog.jpg', 'tests/photos/person-small.png']) {
    assertSameAsCli(await uploadPhoto(page, photo), photo);
  }
  assert.equal(await page.isVisible('#preview'), true, 'the preview shows under the CSP');
  assert.deepEqual(withoutUpdateChecks(host.requests), [], 'no request leaves the page once the model is loaded');
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the widget works under a strict CSP and sends nothing while classifying', async () => {
  const { page, errors } = await strictPage();
  await page.goto(`${host.url}www/embed-example.html`);
  await page.waitForSelector('#first[data-state="ready"]', { timeout: 120_000 });
  host.requests.length = 0;
  const result = page.evaluate(
    () =>
      new Promise((resolve) =>
        document.querySelector('#first').addEventListener('result', (e) => resolve(e.detail.top), { once: true }),
      ),
  );
  await page.setInputFiles('#first input[type="file"]', path.join(ROOT, 'tests/photos/giraffe.jpg'));
  assertSameAsCli(await result, 'tests/photos/giraffe.jpg');
  assert.deepEqual(withoutUpdateChecks(host.requests), [], 'no request leaves the page while the widget classifies');
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
  assert.deepEqual(errors, []);
  await page.close();
});
