// tract compiled to wasm against onnxruntime (tools/reference.py) on the very same input crops,
// and PNASNet-5 large (generated weights, 344 MB) loaded and used by the page. NNEF bundles
// (`nnef-bundle`) are checked against the reference of the ONNX they were converted from.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { ROOT, cliTop, collectErrors, serverAndBrowser } from './harness.mjs';

const PNASNET = 'models/pnasnet5large-random';
const env = serverAndBrowser();

// Raw outputs of the wasm classifier (in its worker) for each reference crop, with the
// single-threaded build (threads = 1) or the multi-threaded one (the page is cross-origin isolated).
async function wasmOutputs(bundle, referenceDir, threads, relaxedSimd, expectedBuild) {
  const reference = JSON.parse(readFileSync(path.join(ROOT, referenceDir, 'reference.json'), 'utf8'));
  const page = await env.browser.newPage();
  await page.goto(env.server.url);
  const names = Object.keys(reference.photos);
  const outputs = await page.evaluate(
    async ({ bundle, referenceDir, names, threads, relaxedSimd }) => {
      const { ClassifierWorker } = await import('/pkg/classifier-client.js');
      const classifier = new ClassifierWorker();
      const info = await classifier.load(bundle, { threads, relaxedSimd });
      const result = { threadsUsed: info.threads, build: info.build, kernels: info.matMulKernels };
      for (const name of names) {
        const crop = await (await fetch(`/${referenceDir}/${name.replace(/\.[^.]+$/, '.png')}`)).blob();
        result[name] = Array.from(await classifier.outputs(await createImageBitmap(crop), { prepared: true }));
      }
      classifier.terminate();
      return result;
    },
    { bundle, referenceDir, names, threads, relaxedSimd },
  );
  await page.close();
  const { threadsUsed, build, kernels, ...perPhoto } = outputs;
  assert.equal(threadsUsed, threads, 'the engine runs on the requested number of threads');
  assert.equal(build, expectedBuild);
  return { reference, outputs: perPhoto, kernels };
}

function maxAbsDiff(a, b) {
  assert.equal(a.length, b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

// Every wasm build: [threads, relaxedSimd] -> the build that must run (Chromium has relaxed SIMD).
const BUILDS = [
  [1, false, 'simd128'],
  [1, true, 'relaxed-simd'],
  [2, true, 'threads+relaxed-simd'],
];
const CASES = [
  ['models/efficientnet-lite0', 'tests/reference/efficientnet-lite0', BUILDS],
  ['models/efficientnet-lite0-nnef', 'tests/reference/efficientnet-lite0', BUILDS],
  [PNASNET, 'target/reference/pnasnet5large-random', BUILDS],
  // One build for the big NNEF bundle: what a cross-origin isolated page runs.
  [`${PNASNET}-nnef`, 'target/reference/pnasnet5large-random', BUILDS.slice(2)],
];
for (const [bundle, referenceDir, builds] of CASES) for (const [threads, relaxedSimd, build] of builds) {
  const name = `${path.basename(bundle)}, ${build}, ${threads} thread${threads > 1 ? 's' : ''}`;
  test(`wasm tract matches onnxruntime on ${name}`, { timeout: 600_000 }, async () => {
    const { reference, outputs, kernels } = await wasmOutputs(bundle, referenceDir, threads, relaxedSimd, build);
    // The matrix products run on tract-wasm-kernels' kernels (3x12, and 3x24 or 3x48 for short
    // K; matrix-vector products, if any, on tract's own GEMV kernels), so the comparison below
    // is of those kernels.
    assert.ok(kernels.wasm_f32_3x12 > 0, `kernels: ${JSON.stringify(kernels)}`);
    assert.deepEqual(Object.keys(kernels).filter((k) => !/^wasm_f32_(3x(12|24|48)|\d+x1)$/.test(k)), [], JSON.stringify(kernels));
    let worst = 0;
    for (const [name, expected] of Object.entries(reference.photos)) {
      const scale = Math.max(...expected.outputs.map(Math.abs));
      assert.ok(scale > 1, `${name}: reference logits are O(1) or more`);
      const d = maxAbsDiff(outputs[name], expected.outputs);
      assert.ok(d <= 1e-3, `${name}: max |wasm tract - onnxruntime| = ${d}`);
      worst = Math.max(worst, d);
    }
    console.log(`# ${name}: max |wasm tract - onnxruntime| = ${worst.toExponential(2)}`);
  });
}

test('the page loads PNASNet-5 large and classifies a photo like the CLI', { timeout: 600_000 }, async () => {
  const page = await env.browser.newPage();
  const errors = collectErrors(page);
  await page.goto(`${env.server.url}?model=${PNASNET}`);
  await page.waitForSelector('html[data-state="ready"], html[data-state="error"]', { timeout: 300_000 });
  assert.equal(await page.getAttribute('html', 'data-state'), 'ready', await page.textContent('#error'));
  assert.match(await page.textContent('#model-name'), /PNASNet-5 large/);
  const status = await page.textContent('#model-status');
  await page.setInputFiles('#file-input', path.join(ROOT, 'tests/photos/dog.jpg'));
  await page.waitForFunction(() => document.documentElement.dataset.results, null, { timeout: 120_000 });
  const shown = await page.$$eval('#top5 li', (items) =>
    items.map((li) => ({ index: Number(li.dataset.index), score: Number(li.dataset.score) })),
  );
  assert.equal(shown.length, 5);
  assert.ok(shown.every((p) => Number.isInteger(p.index) && p.index >= 0 && p.index < 1000));
  const cli = cliTop('tests/photos/dog.jpg', PNASNET);
  assert.deepEqual(shown.map((p) => p.index), cli.map((p) => p.index));
  shown.forEach((p, i) => assert.ok(Math.abs(p.score - cli[i].score) <= 1e-3, `#${i + 1}`));
  const timing = await page.textContent('#timing');
  mkdirSync(path.join(ROOT, 'target'), { recursive: true });
  writeFileSync(path.join(ROOT, 'target/pnasnet-browser.txt'), `${status}\n${timing}\n`);
  console.log(`# PNASNet in the page: ${status} ${timing}`);

  // ?model= adds a bundle to the index's list, so the chooser appears; switching models works.
  const options = await page.$$eval('#model-select option', (o) => o.map((x) => x.value));
  assert.deepEqual(options, [PNASNET, 'efficientnet-lite0-int8', 'efficientnet-lite0-f16', 'efficientnet-lite0']);
  assert.equal(await page.isVisible('#model-select'), true);
  await page.selectOption('#model-select', 'efficientnet-lite0');
  await page.waitForSelector('html[data-state="ready"]', { timeout: 120_000 });
  assert.equal(await page.textContent('#model-name'), 'EfficientNet-Lite0');
  const before = Number(await page.getAttribute('html', 'data-results'));
  await page.setInputFiles('#file-input', path.join(ROOT, 'tests/photos/dog.jpg'));
  await page.waitForFunction((n) => Number(document.documentElement.dataset.results) > n, before);
  assert.equal(await page.getAttribute('#top5 li', 'data-index'), '249');
  assert.deepEqual(errors, []);
  await page.close();
});
