// Shared set-up for the browser tests: the repo served on loopback by tools/serve.py and
// Debian's Chromium driven by playwright-core (no browser download).

import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
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

export async function startServer() {
  const proc = spawn('python3', [path.join(ROOT, 'tools/serve.py'), '--port', '0', '--root', ROOT], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const [chunk] = await once(proc.stdout, 'data');
  const url = chunk.toString().trim().split('\n')[0];
  if (!url.startsWith('http://')) throw new Error(`serve.py said: ${url}`);
  return { url, close: () => proc.kill() };
}

export async function launch() {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}

export async function browserVersion(browser) {
  return browser.version();
}

// Top-k from the native CLI for the same photo and model.
export function cliTop(photo, model = 'models/efficientnet-lite0') {
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
