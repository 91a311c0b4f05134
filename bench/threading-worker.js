// Worker side of bench/threading.mjs: loads a bundle into the threads build (a worker, because
// the calling thread blocks while the pool works, which a page's main thread may not) and times
// the network under each setting of threading thresholds, the settings interleaved round by round.

import { startEngine, loadBundle, medianMs, serve } from './worker-engine.js';

serve(async ({ model, settings, rounds, runs }) => {
  const { engine, threads } = await startEngine('threads');
  const { run } = await loadBundle(engine, model);
  const medians = Object.fromEntries(settings.map((setting) => [setting.join('/'), []]));
  for (let round = 0; round < rounds; round++) {
    for (const setting of settings) {
      engine.setThreadingThresholds(...setting);
      medians[setting.join('/')].push(medianMs(run, runs));
    }
  }
  return { threads, medians };
});
