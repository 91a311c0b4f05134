// The <image-classifier> widget on its example host page (www/embed-example.html, one folder
// below the site root) in real Chromium: results match the CLI, events carry them, two widgets
// share one worker, the host page's CSS neither reaches in nor is changed, bad input and a
// javascript: model address are refused with readable errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { ROOT, assertSameAsCli, collectErrors, dropPhoto, serverAndBrowser } from './harness.mjs';

let page, errors;
const workers = [];
const env = serverAndBrowser(async () => {
  page = await env.browser.newPage();
  errors = collectErrors(page);
  page.on('worker', (w) => workers.push(w.url()));
  await page.goto(`${env.server.url}www/embed-example.html`);
  await page.waitForSelector('#first[data-state="ready"]', { timeout: 120_000 });
  await page.waitForSelector('#second[data-state="ready"]', { timeout: 120_000 });
  await page.evaluate(() => {
    window.widgetEvents = [];
    for (const type of ['result', 'error']) {
      document.addEventListener(type, (e) => {
        if (e.target.localName === 'image-classifier') window.widgetEvents.push({ id: e.target.id, type, detail: e.detail });
      });
    }
  });
});

// Give a widget a file through its own picker; resolves with the event it fires.
async function pick(id, file) {
  const before = await page.evaluate(() => window.widgetEvents.length);
  await page.setInputFiles(`#${id} input[type="file"]`, file);
  await page.waitForFunction((n) => window.widgetEvents.length > n, before, { timeout: 60_000 });
  return page.evaluate((n) => window.widgetEvents[n], before);
}

test('two widgets with the same model share one worker', () => {
  // (The multi-threaded build adds its own thread-pool workers; those are not classifier workers.)
  const classifierWorkers = workers.filter((url) => url.endsWith('/pkg/worker.js'));
  assert.equal(classifierWorkers.length, 1, `workers started: ${workers.join(', ')}`);
});

test('the result event carries the same top-5 as the CLI, and the widget shows it', async () => {
  const photo = 'tests/photos/dog.jpg';
  const event = await pick('first', path.join(ROOT, photo));
  assert.equal(event.type, 'result');
  assert.equal(event.id, 'first');
  assert.ok(event.detail.ms > 0);
  assertSameAsCli(event.detail.top, photo);
  assert.ok(event.detail.top.every((p) => typeof p.label === 'string' && p.label.length > 0));
  const shown = await page.$$eval('#first li', (items) => items.map((li) => Number(li.dataset.index)));
  assert.deepEqual(shown, event.detail.top.map((p) => p.index));
});

test('a photo dropped on the widget is classified like the CLI', async () => {
  const before = await page.evaluate(() => window.widgetEvents.length);
  await dropPhoto(page, '.zone', 'tests/photos/horses.jpg', '#first');
  await page.waitForFunction((n) => window.widgetEvents.length > n, before, { timeout: 60_000 });
  const event = await page.evaluate((n) => window.widgetEvents[n], before);
  assert.equal(event.type, 'result');
  assertSameAsCli(event.detail.top, 'tests/photos/horses.jpg');
});

test('the top attribute sets how many classes come back', async () => {
  const photo = 'tests/photos/giraffe.jpg';
  const event = await pick('second', path.join(ROOT, photo));
  assert.equal(event.detail.top.length, 3);
  assertSameAsCli(event.detail.top, photo);
});

test('a file that is not an image fires a readable error, and the next photo works', async () => {
  const event = await pick('second', { name: 'notes.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a photo') });
  assert.equal(event.type, 'error');
  assert.match(event.detail.message, /this file is not an image \(expected JPEG/);
  assert.match(await page.textContent('#second .error'), /not an image/);
  const next = await pick('second', path.join(ROOT, 'tests/photos/eagle.jpg'));
  assert.equal(next.type, 'result');
  assert.equal(await page.isHidden('#second .error'), true);
});

test("the host page's CSS does not reach inside, and the widget's does not leak out", async () => {
  const inside = await page.$eval('#first', (el) => {
    const li = el.shadowRoot.querySelector('li');
    const label = el.shadowRoot.querySelector('label');
    return {
      liDisplay: getComputedStyle(li).display,
      labelFont: getComputedStyle(label).fontSize,
      zoneBorder: getComputedStyle(el.shadowRoot.querySelector('.zone')).borderTopStyle,
      color: getComputedStyle(el).color,
    };
  });
  assert.notEqual(inside.liDisplay, 'none', 'host rule "li { display: none }" stays outside');
  assert.notEqual(inside.labelFont, '40px', 'host rule on labels stays outside');
  assert.equal(inside.zoneBorder, 'dashed', "the widget's own border, not the host's magenta solid");
  assert.notEqual(inside.color, 'rgb(122, 0, 0)', "the host body's colour is not inherited");
  const host = await page.$eval('#host-list li', (li) => getComputedStyle(li).color);
  assert.equal(host, 'rgb(0, 77, 0)', "the host page's own list keeps its style");
  // A host element with one of the widget's class names gets only the host's styles.
  const probe = await page.evaluate(() => {
    const div = document.createElement('div');
    div.className = 'zone';
    document.body.append(div);
    const style = getComputedStyle(div).borderTopStyle;
    div.remove();
    return style;
  });
  assert.equal(probe, 'solid', "the widget's .zone rule (dashed) does not apply outside it");
});

test('a javascript: model address is refused with a readable error', async () => {
  const message = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const el = document.createElement('image-classifier');
        el.setAttribute('model', 'javascript:alert(1)');
        el.addEventListener('error', (e) => resolve(e.detail.message), { once: true });
        document.body.append(el);
      }),
  );
  assert.match(message, /must be http or https/);
  assert.equal(await page.getAttribute('image-classifier:last-of-type', 'data-state'), 'error');
});

test('no errors in the console', () => {
  assert.deepEqual(errors, []);
});
