// Shared by the bench workers (threading, kernels, profile): start one engine build and load
// bundles into it as the product's worker does (streamed into wasm memory, hashed on the way).

import { fetchBundle } from '../pkg/fetch-bundle.js';

// `build`: 'threads', 'relaxed' or '' (SIMD128), or a folder under pkg/ holding a copy of one
// (e.g. 'old/threads', to compare two versions in one worker). A threads build (a folder named
// 'threads') gets a pool of all cores.
export async function startEngine(build) {
  const engine = await import(`../pkg/${build ? `${build}/` : ''}engine.js`);
  await engine.default();
  let threads = 1;
  if (build.split('/').at(-1) === 'threads') {
    await engine.initThreadPool(navigator.hardwareConcurrency);
    threads = engine.useThreadPool();
  }
  return { engine, threads };
}

// A bundle loaded into `engine`, with pixels of its input size (any pixels do: the time does not
// depend on them) and `run()`, one run of the network on them.
export async function loadBundle(engine, model) {
  const { manifest, manifestText, labelsText, network } = await fetchBundle(
    `../models/${model}`,
    (expectedBytes) => new engine.NetworkBuffer(expectedBytes),
  );
  const classifier = new engine.Classifier(manifestText, labelsText, network);
  const { width, height } = manifest.input;
  const pixels = new Uint8Array(width * height * 4).map((_, i) => (i * 7) % 251);
  return { classifier, pixels, width, height, run: () => classifier.outputs_for_prepared(pixels, width, height) };
}

// Median time of `runs` calls of `run`, after one warm-up call.
export function medianMs(run, runs) {
  run();
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    run();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

// Runs `work(data)` for each message and posts its result back, or `{error}`.
export function serve(work) {
  self.onmessage = async ({ data }) => {
    try {
      self.postMessage(await work(data));
    } catch (err) {
      self.postMessage({ error: err.message });
    }
  };
}
