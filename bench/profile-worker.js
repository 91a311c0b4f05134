// Worker side of bench/profile.mjs: loads a bundle into one engine build and returns the time
// per operator type of its optimised plan, measured in this browser.

import { fetchBundle } from '../pkg/fetch-bundle.js';

self.onmessage = async ({ data: { model, build, runs } }) => {
  try {
    const engine = await import(`../pkg/${build ? `${build}/` : ''}engine.js`);
    await engine.default();
    if (build === 'threads') {
      await engine.initThreadPool(navigator.hardwareConcurrency);
      engine.useThreadPool();
    }
    const { manifest, manifestText, labelsText, network } = await fetchBundle(
      `../models/${model}`,
      (expectedBytes) => new engine.NetworkBuffer(expectedBytes),
    );
    const classifier = new engine.Classifier(manifestText, labelsText, network);
    // Any pixels do: the time does not depend on them.
    const { width, height } = manifest.input;
    const pixels = new Uint8Array(width * height * 4).map((_, i) => (i * 7) % 251);
    self.postMessage(classifier.profile(pixels, width, height, runs));
  } catch (err) {
    self.postMessage({ error: err.message });
  }
};
