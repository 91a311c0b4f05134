// `make bench`: this product's worker vs onnxruntime-web in headless Chromium, same page, same
// ONNX file, same input. Rounds interleave the engines, and within a round their runs take turns
// (the machines are noisy); medians over all rounds are reported. Writes bench/results.json and
// bench/results.md.
//
//   node bench/run.mjs [--rounds 3] [--load-rounds 4] [--runs 10] [--block 5] [--round-ms 4000]
//                      [--models efficientnet-lite0,pnasnet5large-random-int8,...]
//                      [--link-mbps 200] [--link-models efficientnet-lite0,pnasnet5large-random]
//                      [--visit-models efficientnet-lite0,pnasnet5large-random-nnef]
//
// Loads are also timed over a slow link (--link-mbps, 20 ms latency; 0 skips it), one thread,
// where downloading takes longer than starting an engine: on loopback the two compete for the
// same two cores instead. Two ways: Chromium's network emulation, which hands a worker's fetch
// (ours must fetch in its worker, onnxruntime-web's harness fetches on the page) its body in
// ~4 KB reads and slower than the page's (plain fetch of 344 MB: 23.6 s in a worker, 22.1 s on
// the page); and tools/serve.py --mbps, a second server that paces its own sends, one link
// shared by all connections, so the browser reads bodies as they come off a network.
//
// Repeat visits (--visit-models; '' skips them): loads as a returning visitor gets them, in one
// browser profile on disk whose HTTP cache and compiled wasm (V8 keeps it with the cached module)
// both engines share: a first, untimed visit each, then alternating fresh pages, one thread.
//
// A weight variant (<model>-f16, <model>-int8) is benchmarked like any bundle: both engines get
// the same (small) ONNX file and expand its weights while loading. An NNEF bundle (<model>-nnef,
// `nnef-bundle`) is ours only: onnxruntime-web gets the ONNX file it was converted from.

import os from 'node:os';
import path from 'node:path';
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ROOT, startServer, launch, launchWithProfile } from '../tests/browser/harness.mjs';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    // Rounds after those that only load, for the load, prepare and first-result columns: a fresh
    // page's load varies by a few hundred ms, more than its runs do.
    'load-rounds': { type: 'string', default: '4' },
    // Timed runs per engine and round, at least; in turns of --block runs, for --round-ms at least.
    runs: { type: 'string', default: '10' },
    block: { type: 'string', default: '5' },
    'round-ms': { type: 'string', default: '4000' },
    // Untimed runs after the first result, before the timed ones: V8 recompiles the hot wasm
    // functions with its optimising tier in the background during the first few.
    warmup: { type: 'string', default: '5' },
    models: {
      type: 'string',
      default: 'efficientnet-lite0,efficientnet-lite0-nnef,efficientnet-lite0-f16,efficientnet-lite0-int8,'
        + 'pnasnet5large-random,pnasnet5large-random-nnef,pnasnet5large-random-int8',
    },
    'link-mbps': { type: 'string', default: '200' },
    'link-models': { type: 'string', default: 'efficientnet-lite0,pnasnet5large-random' },
    'visit-models': { type: 'string', default: 'efficientnet-lite0,pnasnet5large-random-nnef' },
  },
});
const LINK_MBPS = Number(values['link-mbps']);
const ROUNDS = Number(values.rounds);
const LOAD_ROUNDS = Number(values['load-rounds']);
const RUNS = Number(values.runs);
const WARMUP = Number(values.warmup);
const BLOCK = Number(values.block);
const ROUND_MS = Number(values['round-ms']);
const SETTLE_MS = 100;
const THREADS = [...new Set([1, os.availableParallelism()])];
// The reference crop of dog.jpg each model family is fed (variants share their model's).
const CROPS = {
  'efficientnet-lite0': 'tests/reference/efficientnet-lite0/dog.png',
  'pnasnet5large-random': 'target/reference/pnasnet5large-random/dog.png',
};
const cropFor = (model) => CROPS[model.replace(/-(f16|int8|nnef)$/, '')];
// The bundle onnxruntime-web loads: the same one, or for an NNEF bundle its ONNX source.
const ortBundleFor = (model) => `/models/${model.replace(/-nnef$/, '')}`;
const networkFile = (model) => {
  const manifest = path.join(ROOT, 'models', model, 'model.json');
  return existsSync(manifest) && path.join(ROOT, 'models', model, JSON.parse(readFileSync(manifest, 'utf8')).network.file);
};

// Whether a load-only section (link, repeat visits) can run `model`: its network and crop exist.
const loadable = (model) => {
  const crop = cropFor(model);
  return [networkFile(model), crop && path.join(ROOT, crop)].every((f) => f && existsSync(f));
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(0.9 * xs.length) - 1)];
const round1 = (x) => Math.round(x * 10) / 10;
// onnxruntime-web's median over ours, two decimals: above 1 means ours is faster.
const ratioOf = (ort, ours) => Math.round((median(ort) / median(ours)) * 100) / 100;

const server = await startServer();
const browser = await launch();

// A fresh page per load: onnxruntime-web starts its runtime (and fixes its thread count) once
// per page, ours starts a worker per load; on a fresh page both loads include starting up. Each
// engine gets a page of its own: a fresh page's first load, of either engine, takes about 200 ms
// longer than a second load in the same page (the new renderer is still busy after the page has
// loaded), so sharing pages made the load columns depend on which engine went first.
// `from`: the browser (a fresh context per page) or a persistent context (repeat visits).
async function benchPage(linkMbps = 0, from = browser, site = server) {
  const page = await from.newPage();
  page.on('pageerror', (e) => console.error('pageerror', e.message));
  if (linkMbps) {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    const bytesPerSecond = (linkMbps * 1e6) / 8;
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 20,
      downloadThroughput: bytesPerSecond,
      uploadThroughput: bytesPerSecond,
    });
  }
  await page.goto(`${site.url}bench/bench.html`);
  await page.waitForFunction(() => window.benchReady);
  return page;
}

// The timed runs of one round: both engines stay loaded, each in its page, and take turns in
// blocks of BLOCK runs until each has RUNS timed runs and the round has lasted ROUND_MS, so both
// sample the same stretches of the machine's state (on these shared machines the same network's
// time can shift by a quarter for seconds at a time). Each turn starts after SETTLE_MS idle (the
// other engine's threads may spin for a while after its last run) with one untimed run (a run
// after an idle moment is slower, for both engines).
const settle = () => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

async function alternateRuns(pages, order, times) {
  for (const engine of order) await pages[engine].evaluate((warmup) => window.bench.runs({ runs: 0, warmup }), WARMUP);
  const start = Date.now();
  for (let turn = 0; turn * BLOCK < RUNS || Date.now() - start < ROUND_MS; turn++) {
    for (const engine of turn % 2 ? [...order].reverse() : order) {
      await settle();
      times[engine].push(...(await pages[engine].evaluate((runs) => window.bench.runs({ runs, warmup: 1 }), BLOCK)));
    }
  }
}

const results = [];
for (const model of values.models.split(',')) {
  const bundle = `/models/${model}`;
  const crop = cropFor(model);
  const manifest = path.join(ROOT, 'models', model, 'model.json');
  const ortModel = ortBundleFor(model).slice('/models/'.length);
  const files = [networkFile(model), networkFile(ortModel), crop && path.join(ROOT, crop)];
  if (!files.every((f) => f && existsSync(f))) {
    console.error(`skipping ${model}: build it first (make model / make pnasnet)`);
    continue;
  }
  for (const threads of THREADS) {
    const ours = { load: [], prepare: [], first: [], times: [], peak: 0, threads: new Set() };
    const ort = { load: [], prepare: [], first: [], times: [] };
    // The first ROUNDS rounds time runs too; the LOAD_ROUNDS after them only load (and run once).
    for (let r = 0; r < ROUNDS + LOAD_ROUNDS; r++) {
      // Alternate which engine goes first in each round; each loads in a page of its own.
      const order = r % 2 ? ['ort', 'ours'] : ['ours', 'ort'];
      const timed = r < ROUNDS;
      const pages = {};
      for (const engine of order) {
        // In a timed round the first engine's page stays open, loaded and idle, while the second
        // loads: a pause first, as between turns.
        if (Object.keys(pages).length) await settle();
        const page = await benchPage();
        const res = await page.evaluate(
          (args) => window.bench.open(args),
          { engine, bundle: engine === 'ours' ? bundle : ortBundleFor(model), crop: `/${crop}`, threads },
        );
        const acc = engine === 'ours' ? ours : ort;
        acc.load.push(res.loadMs);
        acc.prepare.push(res.prepareMs);
        acc.first.push(res.firstMs);
        if (res.peakBytes) ours.peak = Math.max(ours.peak, res.peakBytes);
        if (res.threadsUsed) ours.threads.add(res.threadsUsed);
        if (timed) pages[engine] = page;
        else await page.close();
      }
      if (timed) {
        await alternateRuns(pages, order, { ours: ours.times, ort: ort.times });
        for (const page of Object.values(pages)) await page.close();
      }
      console.error(`${model} threads=${threads} round ${r + 1}/${ROUNDS + LOAD_ROUNDS} done`);
    }
    const entry = {
      model,
      network_mb: Math.round(JSON.parse(readFileSync(manifest, 'utf8')).network.bytes / 1e5) / 10,
      threads,
      ours_threads_used: ours.threads.size === 1 ? [...ours.threads][0] : [...ours.threads].join('/'),
      ours_ms: round1(median(ours.times)),
      ours_p90_ms: round1(p90(ours.times)),
      ort_ms: round1(median(ort.times)),
      ort_p90_ms: round1(p90(ort.times)),
      ratio: ratioOf(ort.times, ours.times),
      ours_load_ms: round1(median(ours.load)),
      ort_load_ms: round1(median(ort.load)),
      load_ratio: ratioOf(ort.load, ours.load),
      ours_prepare_ms: round1(median(ours.prepare)),
      ort_prepare_ms: round1(median(ort.prepare)),
      prepare_ratio: ratioOf(ort.prepare, ours.prepare),
      ours_first_ms: round1(median(ours.first)),
      ort_first_ms: round1(median(ort.first)),
      ours_peak_mb: Math.round(ours.peak / 2 ** 20),
      runs: ours.times.length,
    };
    results.push(entry);
    console.error(JSON.stringify(entry));
  }
}

// Load over a link: the same two engines, one thread, alternating, a fresh page each; over
// Chromium's network emulation and over a server that paces its own sends (see the top of this
// file).
const LINKS = [
  { name: 'Chromium emulation', emulated: true },
  { name: 'server-paced', serverArgs: ['--mbps', String(LINK_MBPS), '--latency-ms', '20'] },
];
const linkResults = [];
for (const link of LINK_MBPS ? LINKS : []) {
  const linkServer = link.serverArgs ? await startServer(link.serverArgs) : server;
  for (const model of values['link-models'].split(',')) {
    const crop = cropFor(model);
    if (!loadable(model)) continue;
    const loads = { ours: [], ort: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const engine of r % 2 ? ['ort', 'ours'] : ['ours', 'ort']) {
        const page = await benchPage(link.emulated ? LINK_MBPS : 0, browser, linkServer);
        const args = { bundle: engine === 'ours' ? `/models/${model}` : ortBundleFor(model), crop: `/${crop}`, runs: 0, threads: 1 };
        loads[engine].push((await page.evaluate(({ engine, args }) => window.bench.once(engine, args), { engine, args })).loadMs);
        await page.close();
      }
      console.error(`${model} over ${LINK_MBPS} Mbit/s (${link.name}) round ${r + 1}/${ROUNDS} done`);
    }
    const entry = {
      model,
      link: link.name,
      link_mbps: LINK_MBPS,
      ours_load_ms: round1(median(loads.ours)),
      ort_load_ms: round1(median(loads.ort)),
      load_ratio: ratioOf(loads.ort, loads.ours),
    };
    linkResults.push(entry);
    console.error(JSON.stringify(entry));
  }
  if (linkServer !== server) linkServer.close();
}

// Repeat visits: the same two engines, one thread, in one profile (see the top of this file).
const visitResults = [];
const visitModels = values['visit-models'].split(',').filter(loadable);
if (visitModels.length) {
  const { context, close } = await launchWithProfile();
  try {
    for (const model of visitModels) {
      const visits = { ours: { load: [], prepare: [] }, ort: { load: [], prepare: [] } };
      // Round -1 is each engine's first visit, which fills the cache; it is not counted.
      for (let r = -1; r < ROUNDS; r++) {
        for (const engine of r % 2 === 0 ? ['ours', 'ort'] : ['ort', 'ours']) {
          const page = await benchPage(0, context);
          const bundle = engine === 'ours' ? `/models/${model}` : ortBundleFor(model);
          const args = { bundle, crop: `/${cropFor(model)}`, runs: 0, threads: 1 };
          const res = await page.evaluate(({ engine, args }) => window.bench.once(engine, args), { engine, args });
          await page.close();
          if (r >= 0) {
            visits[engine].load.push(res.loadMs);
            visits[engine].prepare.push(res.prepareMs);
          }
        }
        console.error(`${model} repeat visit round ${r + 1}/${ROUNDS} done`);
      }
      const entry = {
        model,
        ours_load_ms: round1(median(visits.ours.load)),
        ort_load_ms: round1(median(visits.ort.load)),
        load_ratio: ratioOf(visits.ort.load, visits.ours.load),
        ours_prepare_ms: round1(median(visits.ours.prepare)),
        ort_prepare_ms: round1(median(visits.ort.prepare)),
      };
      visitResults.push(entry);
      console.error(JSON.stringify(entry));
    }
  } finally {
    await close();
  }
}

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const env = { cpu, cores: os.availableParallelism(), browser: `Chromium ${browser.version()}`, date: new Date().toISOString() };
await browser.close();
server.close();

writeFileSync(
  path.join(ROOT, 'bench/results.json'),
  `${JSON.stringify({ environment: env, results, link_results: linkResults, repeat_visit_results: visitResults }, null, 1)}\n`,
);
const rows = results.map(
  (r) =>
    `| ${r.model} | ${r.network_mb} | ${r.threads} (ours: ${r.ours_threads_used}) | ${r.ours_ms} / ${r.ours_p90_ms} | ${r.ort_ms} / ${r.ort_p90_ms} | **${r.ratio}** | ${r.ours_load_ms} | ${r.ort_load_ms} | **${r.load_ratio}** | ${r.ours_prepare_ms} / ${r.ort_prepare_ms} | **${r.prepare_ratio}** | ${r.ours_first_ms} / ${r.ort_first_ms} | ${r.ours_peak_mb} |`,
);
const table = [
  `${env.cpu}, ${env.cores} cores, ${env.browser}, ${env.date.slice(0, 10)}; per-image medians over ${ROUNDS} rounds, each with both engines loaded taking turns of ${BLOCK} timed runs (after ${WARMUP} untimed runs, and one at each turn) for at least ${RUNS} runs each and ${ROUND_MS / 1000} s; load, prepare and first result: medians of ${ROUNDS + LOAD_ROUNDS} loads each.`,
  'Ratios are onnxruntime-web / ours: above 1 means this product is faster. Load: request to ready to run',
  '(ours copies the network into wasm memory as it downloads); prepare: network bytes in memory to ready. Each load',
  'runs on a fresh page of its own, so both loads include starting the engine.',
  '',
  '| model | network MB | threads | ours ms (median / p90) | onnxruntime-web ms (median / p90) | speed ratio | ours load ms | ort load ms | load ratio | prepare ms (ours / ort) | prepare ratio | first result ms (ours / ort) | ours peak MB |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...rows,
  ...(linkResults.length
    ? [
        '',
        `Load over a ${LINK_MBPS} Mbit/s link (20 ms latency), emulated by Chromium or paced by the server, one thread, request to ready to run, medians of ${ROUNDS} rounds:`,
        '',
        '| model | link | ours load ms | ort load ms | load ratio |',
        '|---|---|---|---|---|',
        ...linkResults.map((r) => `| ${r.model} | ${r.link} | ${r.ours_load_ms} | ${r.ort_load_ms} | **${r.load_ratio}** |`),
      ]
    : []),
  ...(visitResults.length
    ? [
        '',
        `Repeat visits (loopback, one thread, a browser profile with both engines' files already cached), request to ready to run, medians of ${ROUNDS} visits:`,
        '',
        '| model | ours load ms | ort load ms | load ratio | prepare ms (ours / ort) |',
        '|---|---|---|---|---|',
        ...visitResults.map((r) => `| ${r.model} | ${r.ours_load_ms} | ${r.ort_load_ms} | **${r.load_ratio}** | ${r.ours_prepare_ms} / ${r.ort_prepare_ms} |`),
      ]
    : []),
].join('\n');
writeFileSync(path.join(ROOT, 'bench/results.md'), `${table}\n`);
console.log(table);
