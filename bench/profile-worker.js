// Worker side of bench/profile.mjs: loads a bundle into one engine build and returns the time
// per operator type of its optimised plan, measured in this browser.

import { startEngine, loadBundle, serve } from './worker-engine.js';

serve(async ({ model, build, runs }) => {
  const { engine } = await startEngine(build);
  const { classifier, pixels, width, height } = await loadBundle(engine, model);
  return classifier.profile(pixels, width, height, runs);
});
