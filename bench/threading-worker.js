// Worker side of bench/threading.mjs: loads a bundle into the threads build (a worker, because
// the calling thread blocks while the pool works, which a page's main thread may not) and times
// the network under each pair of threading thresholds, the pairs interleaved round by round.

self.onmessage = async ({ data: { model, settings, rounds, runs } }) => {
  try {
    const engine = await import('../pkg/threads/engine.js');
    await engine.default();
    await engine.initThreadPool(navigator.hardwareConcurrency);
    const threads = engine.useThreadPool();
    const base = `../models/${model}/`;
    const manifestText = await (await fetch(`${base}model.json`)).text();
    const manifest = JSON.parse(manifestText);
    const labels = await (await fetch(base + manifest.labels)).text();
    const bytes = new Uint8Array(await (await fetch(base + manifest.network.file)).arrayBuffer());
    const network = new engine.NetworkBuffer(bytes.length);
    network.push(bytes);
    const classifier = new engine.Classifier(manifestText, labels, network);
    // Any pixels do: the time does not depend on them.
    const { width, height } = manifest.input;
    const pixels = new Uint8Array(width * height * 4).map((_, i) => (i * 7) % 251);
    const medians = Object.fromEntries(settings.map(([p, e]) => [`${p}/${e}`, []]));
    for (let round = 0; round < rounds; round++) {
      for (const [panels, elements] of settings) {
        engine.setThreadingThresholds(panels, elements);
        classifier.outputs_for_prepared(pixels, width, height); // warm-up
        const times = [];
        for (let i = 0; i < runs; i++) {
          const t = performance.now();
          classifier.outputs_for_prepared(pixels, width, height);
          times.push(performance.now() - t);
        }
        times.sort((a, b) => a - b);
        medians[`${panels}/${elements}`].push(times[times.length >> 1]);
      }
    }
    self.postMessage({ threads, medians });
  } catch (err) {
    self.postMessage({ error: err.message });
  }
};
