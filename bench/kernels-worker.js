// Worker side of bench/kernels.mjs: loads a bundle into one engine build once per variant
// (tract-wasm-kernels' kernels or tract's own; this crate's depthwise and pool operators or tract's),
// checks how far their outputs are apart, then times them alternately. (The matrix-product
// kernel and the depthwise operator are fixed when a network is optimised; the depthwise row
// kernel is chosen as each row runs, so the switches are set before every run too.)

import { startEngine, loadBundle, medianMs, serve } from './worker-engine.js';

const VARIANTS = {
  'this product': { kernels: true, ownOps: true },
  "tract's kernels": { kernels: false, ownOps: true },
  "tract's ops": { kernels: true, ownOps: false },
};

serve(async ({ model, build, rounds, runs }) => {
  const { engine } = await startEngine(build);
  const use = ({ kernels, ownOps }) => {
    engine.useWasmKernels(kernels);
    engine.useOwnOps(ownOps);
  };
  const loaded = {};
  for (const [name, variant] of Object.entries(VARIANTS)) {
    use(variant);
    loaded[name] = await loadBundle(engine, model);
  }
  const run = (name) => {
    use(VARIANTS[name]);
    return loaded[name].run();
  };
  const [ours, ...others] = Object.keys(VARIANTS).map(run);
  const maxDiff = Math.max(...others.map((o) => ours.reduce((m, x, i) => Math.max(m, Math.abs(x - o[i])), 0)));
  const maxLogit = ours.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const medians = Object.fromEntries(Object.keys(VARIANTS).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(VARIANTS)) medians[name].push(medianMs(() => run(name), runs));
  }
  use(VARIANTS['this product']);
  return { medians, maxDiff, maxLogit };
});
