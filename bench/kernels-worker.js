// Worker side of bench/kernels.mjs: loads a bundle twice into one engine build, once with
// tract-wasm-kernels' kernels and once with tract's own, checks how far their outputs are apart,
// then times them alternately. (The matrix-product kernel is fixed when a network is optimised;
// the depthwise one is chosen as each row runs, so the switch is set before every run too.)

import { startEngine, loadBundle, medianMs, serve } from './worker-engine.js';

serve(async ({ model, build, rounds, runs }) => {
  const { engine } = await startEngine(build);
  const variants = { 'tract-wasm-kernels': true, "tract's own": false };
  const loaded = {};
  for (const [name, on] of Object.entries(variants)) {
    engine.useWasmKernels(on); // chosen while the network is optimised
    loaded[name] = await loadBundle(engine, model);
  }
  const run = (name) => {
    engine.useWasmKernels(variants[name]);
    return loaded[name].run();
  };
  const [ours, theirs] = Object.keys(variants).map(run);
  const maxDiff = ours.reduce((m, x, i) => Math.max(m, Math.abs(x - theirs[i])), 0);
  const maxLogit = theirs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const medians = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of Object.keys(variants)) medians[name].push(medianMs(() => run(name), runs));
  }
  engine.useWasmKernels(true);
  return { medians, maxDiff, maxLogit };
});
