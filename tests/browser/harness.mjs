// Shared set-up for the browser tests: the repo served on loopback by tools/serve.py and
// Debian's Chromium driven by playwright-core (no browser download).

import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

// tools/serve.py on a free port; `responses` lists every answer it gives as {path, status}
// (e.g. 304 when the browser's cache was revalidated). `extraArgs`: more of serve.py's options.
export async function startServer(extraArgs = []) {
  const proc = spawn('python3', [path.join(ROOT, 'tools/serve.py'), '--port', '0', '--root', ROOT, ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SERVE_LOG: '1' },
  });
  const responses = [];
  const log = /"[A-Z]+ (\S+) HTTP\/[\d.]+" (\d{3})/;
  createInterface({ input: proc.stderr }).on('line', (line) => {
    const m = log.exec(line);
    if (m) responses.push({ path: m[1], status: Number(m[2]) });
    else process.stderr.write(`${line}\n`);
  });
  const [chunk] = await once(proc.stdout, 'data');
  const url = chunk.toString().trim().split('\n')[0];
  if (!url.startsWith('http://')) throw new Error(`serve.py said: ${url}`);
  return { url, responses, close: () => proc.kill() };
}

export async function launch(extraArgs = []) {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}

// The loopback server and a browser for one test file: started before its tests (then
// `setup(env)` runs, e.g. to open a page), closed after them. Tests read `env.server` and
// `env.browser`. (One hook: with a second top-level before hook in the test file, node 20 ran
// that one while the browser did not exist yet.)
export function serverAndBrowser(setup = async () => {}) {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer();
    env.browser = await launch();
    await setup(env);
  });
  after(async () => {
    await env.browser?.close();
    env.server?.close();
  });
  return env;
}

// A browser with a profile on disk, as a visitor's is: its HTTP cache keeps large files (a
// fresh incognito-like context's in-memory cache does not keep an 18 MB model).
// `close()` ends the browser and deletes the profile.
export async function launchWithProfile() {
  const dir = await mkdtemp(path.join(tmpdir(), 'image-classifier-profile-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    args: CHROMIUM_ARGS,
    headless: true,
  });
  const close = async () => {
    await context.close();
    await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  };
  return { context, close };
}

export async function browserVersion(browser) {
  return browser.version();
}

// The bundle the page and the widget open first: the smallest variant of the default model
// that meets the agreement bar (models/index.json); and the full-precision bundle.
export const DEFAULT_MODEL = 'models/efficientnet-lite0-int8';
export const FP32_MODEL = 'models/efficientnet-lite0';

// Top-k from the native CLI for the same photo and model.
export function cliTop(photo, model = DEFAULT_MODEL) {
  const out = execFileSync(path.join(ROOT, 'target/release/classify'), ['--json', '--model', model, photo], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim()).top;
}

// Console errors and uncaught exceptions of a page, for asserting there were none.
export function collectErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
  return errors;
}

const TYPES = {
  '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css',
  '.json': 'application/json', '.svg': 'image/svg+xml', '.wasm': 'application/wasm', '.png': 'image/png',
  '.jpg': 'image/jpeg',
};

// A plain static host (like GitHub Pages: no COOP/COEP, no special headers unless `headers` adds
// some) serving `dir` under the URL path `base` (e.g. "/some/sub/dir/"); `requests` lists every
// path asked for.
export async function startStaticHost(dir, base = '/', headers = {}) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(pathname);
    if (!pathname.startsWith(base)) return res.writeHead(404).end();
    let file = path.join(dir, pathname.slice(base.length));
    if (file.endsWith(path.sep) || pathname === base) file = path.join(file, 'index.html');
    if (!path.resolve(file).startsWith(path.resolve(dir))) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Length': body.length,
        'Cache-Control': 'no-cache',
        ...headers,
      });
      res.end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${server.address().port}${base}`;
  return { url, requests, close: () => server.close() };
}

// Do `act` (an upload, a drop...) and wait for the page to show the new result (the page counts
// shown results in <html data-results>); returns the shown top-k.
export async function nextResult(page, act) {
  const count = () => page.evaluate(() => Number(document.documentElement.dataset.results ?? 0));
  const before = await count();
  await act();
  await page.waitForFunction((n) => Number(document.documentElement.dataset.results ?? 0) > n, before, {
    timeout: 60_000,
  });
  await page.waitForSelector('html[data-state="ready"]');
  return page.$$eval('#top5 li', (items) =>
    items.map((li) => ({ index: Number(li.dataset.index), score: Number(li.dataset.score) })),
  );
}

// Upload a photo through an <input type=file>; returns the shown top-k.
export function uploadPhoto(page, photo, input = '#file-input') {
  return nextResult(page, () => page.setInputFiles(input, path.join(ROOT, photo)));
}

// Same indices as the native CLI's first shown.length classes, scores within 1e-3.
export function assertSameAsCli(shown, photo, model) {
  assert.ok(shown.length > 0, `${photo}: no classes shown`);
  const cli = cliTop(photo, model).slice(0, shown.length);
  assert.deepEqual(shown.map((p) => p.index), cli.map((p) => p.index), `${photo}: top-5 indices`);
  shown.forEach((p, i) => {
    const d = Math.abs(p.score - cli[i].score);
    assert.ok(d <= 1e-3, `${photo} #${i + 1}: ${p.score} vs CLI ${cli[i].score} (diff ${d})`);
  });
}

// Drop a photo (fetched from the site) on the element matching `selector` (inside the shadow
// root of `shadowHost` if given), as a drag-and-drop does.
export async function dropPhoto(page, selector, photo, shadowHost = null) {
  await page.evaluate(
    async ({ selector, photo, shadowHost }) => {
      const blob = await (await fetch(`/${photo}`)).blob();
      const data = new DataTransfer();
      data.items.add(new File([blob], photo.split('/').pop(), { type: blob.type }));
      const scope = shadowHost ? document.querySelector(shadowHost).shadowRoot : document;
      const target = scope.querySelector(selector);
      target.dispatchEvent(new DragEvent('dragover', { dataTransfer: data, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    },
    { selector, photo, shadowHost },
  );
}
