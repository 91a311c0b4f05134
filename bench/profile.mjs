// `make profile-browser`: time per operator type of each bundle's optimised plan, run by the
// page's engine in headless Chromium (tract compiled to wasm), beside `make profile`'s native
// split. A script that prints numbers, not a test.
//
//   node bench/profile.mjs [--models efficientnet-lite0,pnasnet5large-random-nnef]
//                          [--build relaxed|threads|''] [--runs 5] [--nodes 0]
//
// --nodes N also lists the N slowest nodes (operator, output shape, name).

import { parseArgs } from 'node:util';
import { startServer, launch } from '../tests/browser/harness.mjs';
import { inWorker } from './in-worker.mjs';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'efficientnet-lite0,pnasnet5large-random-nnef' },
    build: { type: 'string', default: 'relaxed' },
    runs: { type: 'string', default: '5' },
    nodes: { type: 'string', default: '0' },
  },
});

const server = await startServer();
const browser = await launch();
try {
  for (const model of values.models.split(',')) {
    const args = { model, build: values.build, runs: Number(values.runs) };
    const profile = await inWorker(browser, server, '/bench/profile-worker.js', args);
    const sum = profile.ops.reduce((s, o) => s + o.ms_per_run, 0);
    console.log(`${model} (${values.build || 'simd'} build): median ${profile.median_run_ms.toFixed(1)} ms per run over ${profile.runs} runs`);
    console.log('| operator | ms per run | share | nodes |\n|---|---|---|---|');
    for (const o of profile.ops) {
      console.log(`| ${o.op} | ${o.ms_per_run.toFixed(2)} | ${((o.ms_per_run / sum) * 100).toFixed(1)}% | ${o.nodes} |`);
    }
    const slowest = profile.nodes.slice(0, Number(values.nodes));
    if (slowest.length) console.log('\n| operator | ms per run | output | node |\n|---|---|---|---|');
    for (const n of slowest) console.log(`| ${n.op} | ${n.ms_per_run.toFixed(3)} | ${n.shape} | ${n.node} |`);
  }
} finally {
  await browser.close();
  server.close();
}
