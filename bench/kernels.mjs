// `make bench-kernels`: per-image time with tract-wasm-kernels' kernels (matrix product and
// depthwise rows) against tract's own wasm kernels, same build, same page, alternating round by
// round (the machines are noisy); prints the median of each round and how far the two outputs
// are apart. Not a test.
//
//   node bench/kernels.mjs [--models efficientnet-lite0,pnasnet5large-random-nnef]
//                          [--builds relaxed,threads,''] [--rounds 3]

import { parseArgs } from 'node:util';
import { startServer, launch } from '../tests/browser/harness.mjs';
import { inWorker } from './in-worker.mjs';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'efficientnet-lite0,pnasnet5large-random-nnef' },
    builds: { type: 'string', default: 'relaxed,threads' },
    rounds: { type: 'string', default: '3' },
  },
});

const server = await startServer();
const browser = await launch();
try {
  for (const model of values.models.split(',')) {
    for (const build of values.builds.split(',')) {
      const runs = model.startsWith('pnasnet') ? 3 : 15;
      const args = { model, build, rounds: Number(values.rounds), runs };
      const result = await inWorker(browser, server, '/bench/kernels-worker.js', args);
      console.log(
        `${model}, ${build || 'simd'} build: median ms per round of ${runs} runs ` +
          `(outputs differ by at most ${result.maxDiff.toExponential(1)}, largest logit ${result.maxLogit.toFixed(1)})`,
      );
      console.log('| kernels | ' + result.medians[Object.keys(result.medians)[0]].map((_, r) => `round ${r + 1}`).join(' | ') + ' |');
      for (const [name, medians] of Object.entries(result.medians)) {
        console.log(`| ${name} | ${medians.map((m) => m.toFixed(1)).join(' | ')} |`);
      }
    }
  }
} finally {
  await browser.close();
  server.close();
}
