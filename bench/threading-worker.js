// Worker side of bench/threading.mjs: loads a bundle into the threads build (a worker, because
// the calling thread blocks while the pool works, which a page's main thread may not) and times
// the network under each pair of threading thresholds, the pairs interleaved round by round.

import { fetchBundle } from '../pkg/fetch-bundle.js';

self.onmessage = async ({ data: { model, settings, rounds, runs } }) => {
  try {
    const engine = await import('../pkg/threads/engine.js');
    await engine.default();
    await engine.initThreadPool(navigator.hardwareConcurrency);
    const threads = engine.useThreadPool();
    // Downloaded as the product's worker does (streamed into wasm memory, hashed on the way).
    const { manifest, manifestText, labelsText, network } = await fetchBundle(
      `../models/${model}`,
      (expectedBytes) => new engine.NetworkBuffer(expectedBytes),
    );
    const classifier = new engine.Classifier(manifestText, labelsText, network);
    // Any pixels do: the time does not depend on them.
    const { width, height } = manifest.input;
    const pixels = new Uint8Array(width * height * 4).map((_, i) => (i * 7) % 251);
    const medians = Object.fromEntries(settings.map((setting) => [setting.join('/'), []]));
    for (let round = 0; round < rounds; round++) {
      for (const setting of settings) {
        engine.setThreadingThresholds(...setting);
        classifier.outputs_for_prepared(pixels, width, height); // warm-up
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          classifier.outputs_for_prepared(pixels, width, height);
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        medians[setting.join('/')].push(times[times.length >> 1]);
      }
    }
    self.postMessage({ threads, medians });
  } catch (err) {
    self.postMessage({ error: err.message });
  }
};
