// The demo page in real Chromium: real photos through the file input, answers checked
// against the native CLI, responsiveness measured with the Long Tasks API.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { ROOT, collectErrors, uploadPhoto, assertSameAsCli, dropPhoto, cliTop, nextResult, FP32_MODEL, serverAndBrowser } from './harness.mjs';

let page, errors;
const env = serverAndBrowser(async () => {
  page = await env.browser.newPage({ viewport: { width: 1100, height: 900 } });
  errors = collectErrors(page);
  await page.goto(env.server.url);
  await page.waitForSelector('html[data-state="ready"]', { timeout: 120_000 });
});

const upload = (photo) => uploadPhoto(page, photo);

test('the page shows the model and is ready', async () => {
  // The chooser offers every variant with its download size; the smallest is the default.
  const options = await page.$$eval('#model-select option', (os) => os.map((o) => [o.value, o.textContent, o.selected]));
  assert.deepEqual(options, [
    ['efficientnet-lite0-int8', 'EfficientNet-Lite0 (int8 weights), 4.8 MB', true],
    ['efficientnet-lite0-f16', 'EfficientNet-Lite0 (f16 weights), 9.3 MB', false],
    ['efficientnet-lite0', 'EfficientNet-Lite0, 18.5 MB', false],
  ]);
  assert.match(await page.textContent('#model-status'), /^Ready\./);
  assert.equal(await page.evaluate(() => crossOriginIsolated), true, 'served with COOP/COEP');
  // Cross-origin isolated: the multi-threaded build, on all cores (up to 8).
  const cores = await page.evaluate(() => Math.min(navigator.hardwareConcurrency, 8));
  const [, threads, build] = (await page.textContent('#model-status')).match(/(\d+) threads? \(([^)]+)\),/);
  assert.equal(Number(threads), cores);
  assert.equal(build, 'threads+relaxed-simd');
  assert.equal(await page.isHidden('#update-button'), true, 'no update offered on a first visit');
});

for (const photo of [
  'tests/photos/dog.jpg',
  'tests/photos/person-small.png',
  'tests/photos/eagle.jpg',
  'tests/photos/giraffe.jpg',
  'tests/photos/dog-exif-rotated.jpg',
]) {
  test(`page top-5 equals the CLI's for ${path.basename(photo)}`, async () => {
    const shown = await upload(photo);
    assertSameAsCli(shown, photo);
    if (photo.endsWith('exif-rotated.jpg')) {
      // Stored 576x768 with EXIF orientation 6: the page must classify it upright, 768x576.
      assert.match(await page.textContent('#timing'), /^768×576 px/);
    }
    if (photo.endsWith('/dog.jpg')) {
      assert.equal(shown[0].index, 249);
      mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
      writeFileSync(path.join(ROOT, 'docs/screenshot.png'), await page.screenshot({ fullPage: true }));
    }
  });
}

test('the main thread stays responsive while photos are classified', async () => {
  await page.evaluate(() => {
    window.__longTasks = [];
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) window.__longTasks.push(e.duration);
    }).observe({ type: 'longtask' });
  });
  const start = Date.now();
  const rounds = 8;
  let shown;
  for (let i = 0; i < rounds; i++) shown = await upload('tests/photos/dog.jpg');
  const elapsed = Date.now() - start;
  assert.equal(shown[0].index, 249);
  const timing = await page.textContent('#timing');
  const perImage = Number(timing.match(/in (\d+) ms/)[1]);
  const longTasks = await page.evaluate(() => window.__longTasks);
  const blocked = longTasks.reduce((a, b) => a + b, 0);
  // With inference on the main thread every photo would be a long task of about perImage ms.
  assert.ok(perImage * rounds > 200, `enough work to notice blocking (${perImage} ms x ${rounds})`);
  assert.ok(
    blocked < 0.25 * perImage * rounds,
    `main thread blocked ${blocked.toFixed(0)} ms in ${longTasks.length} long tasks over ${elapsed} ms`,
  );
});

test('a file that is not an image gives a readable error and the next photo works', async () => {
  await page.setInputFiles('#file-input', {
    name: 'notes.jpg',
    mimeType: 'image/jpeg',
    buffer: Buffer.from('this is not a photo'),
  });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /notes\.jpg: this file is not an image \(expected JPEG, PNG/);
  assert.equal(await page.getAttribute('html', 'data-state'), 'ready');
  const shown = await upload('tests/photos/dog.jpg');
  assert.equal(shown[0].index, 249);
  assert.equal(await page.isHidden('#error'), true);
});

test('a photo dropped on the drop zone is classified like the CLI', async () => {
  const shown = await nextResult(page, () => dropPhoto(page, '#drop-zone', 'tests/photos/horses.jpg'));
  assertSameAsCli(shown, 'tests/photos/horses.jpg');
});

// tools/bad_images.py's files (`make bad-images`), each followed by a good photo.
test('awkward and broken files: a result or a readable message, and the next photo works', async () => {
  const dir = path.join(ROOT, 'target/bad-images');
  const cases = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8'));
  const rows = [];
  for (const { file, what, valid } of cases) {
    const before = Number((await page.getAttribute('html', 'data-results')) ?? 0);
    await page.setInputFiles('#file-input', path.join(dir, file));
    await page.waitForFunction(
      (n) =>
        document.documentElement.dataset.state === 'ready' &&
        (Number(document.documentElement.dataset.results) > n || !document.getElementById('error').hidden),
      before,
      { timeout: 60_000 },
    );
    const classified = Number(await page.getAttribute('html', 'data-results')) > before;
    let outcome;
    if (classified) {
      assert.notEqual(valid, false, `${what} must be refused`);
      assert.equal(await page.locator('#top5 li').count(), 5);
      const top1 = Number(await page.getAttribute('#top5 li', 'data-index'));
      if (valid) assert.equal(top1, cliTop(path.join('target/bad-images', file))[0].index, `${what}: page vs CLI top-1`);
      outcome = `classified (top-1 ${await page.textContent('#top5 li .label span')})`;
    } else {
      assert.notEqual(valid, true, `${what} must classify: ${await page.textContent('#error')}`);
      const message = await page.textContent('#error');
      assert.ok(message.startsWith(`${file}: `) && message.length > file.length + 10, message);
      outcome = `error: ${message.slice(file.length + 2)}`;
    }
    rows.push(`| ${what} | ${outcome} |`);
    const next = await upload('tests/photos/dog.jpg');
    assert.equal(next[0].index, 249, `the next photo after ${what} still classifies`);
  }
  writeFileSync(path.join(dir, 'page-table.md'), ['| file | page |', '|---|---|', ...rows, ''].join('\n'));
});

test('each variant in the chooser loads and classifies like the CLI with that bundle', async () => {
  for (const [id, model] of [['efficientnet-lite0-f16', 'models/efficientnet-lite0-f16'], ['efficientnet-lite0', FP32_MODEL]]) {
    await page.selectOption('#model-select', id); // the page starts loading it at once
    await page.waitForSelector('html[data-state="ready"]', { timeout: 60_000 });
    assertSameAsCli(await upload('tests/photos/eagle.jpg'), 'tests/photos/eagle.jpg', model);
  }
});

test('no errors in the console', () => {
  assert.deepEqual(errors, []);
});
