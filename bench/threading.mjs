// `make bench-threading`: per-image time of the threads build under different thresholds for
// splitting tract's work across the pool (matrix-product panels / elements of depthwise
// convolutions / elements of other ops), to choose the ones
// `useThreadPool` sets (src/wasm/mod.rs). Settings alternate within each round (the machines are
// noisy); prints the median of each round, not a test.
//
//   node bench/threading.mjs [--models efficientnet-lite0,pnasnet5large-random] [--rounds 3]
//                            [--settings '[[64,32768,131072],[64,131072,131072]]']

import { parseArgs } from 'node:util';
import { startServer, launch } from '../tests/browser/harness.mjs';
import { inWorker } from './in-worker.mjs';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'efficientnet-lite0,pnasnet5large-random' },
    rounds: { type: 'string', default: '3' },
    // tract's defaults first, then what this product sets, then the other ops' gate it set
    // before, then depthwise at another size.
    settings: {
      type: 'string',
      default: '[[64,32768,32768],[64,131072,131072],[64,131072,524288],[64,32768,131072]]',
    },
  },
});
const settings = JSON.parse(values.settings);

const server = await startServer();
const browser = await launch();
try {
  for (const model of values.models.split(',')) {
    const runs = model.startsWith('pnasnet') ? 3 : 15;
    const args = { model, settings, rounds: Number(values.rounds), runs };
    const result = await inWorker(browser, server, '/bench/threading-worker.js', args);
    console.log(`${model}, ${result.threads} threads, median ms per round of ${runs} runs:`);
    console.log('| panels / depthwise elements / other elements | ' + [...Array(Number(values.rounds)).keys()].map((r) => `round ${r + 1}`).join(' | ') + ' |');
    for (const [setting, medians] of Object.entries(result.medians)) {
      console.log(`| ${setting} | ${medians.map((m) => m.toFixed(1)).join(' | ')} |`);
    }
  }
} finally {
  await browser.close();
  server.close();
}
