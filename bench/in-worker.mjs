// Shared by the bench scripts (threading, kernels, profile): runs a bench worker in a fresh page
// of bench/bench.html and returns what it posts back.

export async function inWorker(browser, server, script, args) {
  const page = await browser.newPage();
  try {
    await page.goto(`${server.url}bench/bench.html`);
    const result = await page.evaluate(
      ({ script, args }) =>
        new Promise((resolve) => {
          const worker = new Worker(script, { type: 'module' });
          worker.onmessage = (e) => resolve(e.data);
          worker.onerror = (e) => resolve({ error: e.message });
          worker.postMessage(args);
        }),
      { script, args },
    );
    if (result.error) throw new Error(`${script} ${JSON.stringify(args.model ?? '')}: ${result.error}`);
    return result;
  } finally {
    await page.close();
  }
}
