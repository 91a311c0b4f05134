// Worker side of bench/kernels.mjs: loads a bundle twice into one engine build, once with
// tract-wasm-kernels' kernels and once with tract's own, checks how far their outputs are apart,
// then times them alternately. (The matrix-product kernel is fixed when a network is optimised;
// the depthwise one is chosen as each row runs, so the switch is set before every run too.)

import { fetchBundle } from '../pkg/fetch-bundle.js';

self.onmessage = async ({ data: { model, build, rounds, runs } }) => {
  try {
    const engine = await import(`../pkg/${build ? `${build}/` : ''}engine.js`);
    await engine.default();
    if (build === 'threads') {
      await engine.initThreadPool(navigator.hardwareConcurrency);
      engine.useThreadPool();
    }
    const variants = { 'tract-wasm-kernels': true, "tract's own": false };
    const classifiers = {};
    let input;
    for (const [name, on] of Object.entries(variants)) {
      engine.useWasmKernels(on); // chosen while the network is optimised
      const { manifest, manifestText, labelsText, network } = await fetchBundle(
        `../models/${model}`,
        (expectedBytes) => new engine.NetworkBuffer(expectedBytes),
      );
      classifiers[name] = new engine.Classifier(manifestText, labelsText, network);
      input = manifest.input;
    }
    // Any pixels do: the time does not depend on them.
    const { width, height } = input;
    const pixels = new Uint8Array(width * height * 4).map((_, i) => (i * 7) % 251);
    const run = (name) => {
      engine.useWasmKernels(variants[name]);
      return classifiers[name].outputs_for_prepared(pixels, width, height);
    };
    const [ours, theirs] = Object.keys(variants).map(run);
    const maxDiff = ours.reduce((m, x, i) => Math.max(m, Math.abs(x - theirs[i])), 0);
    const maxLogit = theirs.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    const medians = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const name of Object.keys(variants)) {
        run(name); // warm-up
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          run(name);
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        medians[name].push(times[times.length >> 1]);
      }
    }
    engine.useWasmKernels(true);
    self.postMessage({ medians, maxDiff, maxLogit });
  } catch (err) {
    self.postMessage({ error: err.message });
  }
};
