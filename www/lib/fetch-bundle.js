// Download a model bundle (model.json, labels, network) with byte-count progress.
// Used by the worker. The network body is handed chunk by chunk to a sink (the wasm-side
// NetworkBuffer), so the page never holds a second whole copy of a 350 MB network.

async function get(url, reload, signal) {
  let response;
  try {
    // `reload` bypasses every cache (HTTP cache and the offline service worker's copy).
    response = await fetch(url, { cache: reload ? 'reload' : 'default', signal });
  } catch (err) {
    throw new Error(`cannot download ${url}: ${err.message}`);
  }
  if (!response.ok) throw new Error(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

async function getText(url, reload) {
  return (await get(url, reload)).text();
}

// Stream the body into `sink.push(chunk)`, reporting (loaded, total) as bytes arrive.
// `makeSink(expectedBytes)` is called once the size is known; returns the sink. The sink may
// take the chunk (transfer its buffer), so nothing reads it after the push; it may return a
// promise, and reading waits for it (back-pressure).
async function streamBytes(url, reload, signal, expectedBytes, makeSink, onProgress) {
  const response = await get(url, reload, signal);
  const total = Number(response.headers.get('Content-Length')) || expectedBytes || 0;
  const sink = makeSink(total);
  if (!response.body) {
    const whole = new Uint8Array(await response.arrayBuffer());
    const length = whole.length;
    sink.push(whole);
    onProgress?.(length, length);
    return sink;
  }
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    loaded += value.length;
    const full = sink.push(value);
    onProgress?.(loaded, Math.max(total, loaded));
    if (full) await full;
  }
  return sink;
}

// `bundleUrl` is the bundle folder, e.g. "models/efficientnet-lite0".
// Returns {manifest, manifestText, labelsText, network: the sink}.
export async function fetchBundle(bundleUrl, makeSink, onProgress, { reload = false } = {}) {
  const base = new URL(bundleUrl.endsWith('/') ? bundleUrl : `${bundleUrl}/`, self.location.href);
  const manifestText = await getText(new URL('model.json', base), reload);
  let manifest;
  try {
    manifest = JSON.parse(manifestText);
  } catch {
    throw new Error(`${new URL('model.json', base)} is not a model manifest (not JSON)`);
  }
  if (typeof manifest?.labels !== 'string' || typeof manifest?.network?.file !== 'string') {
    throw new Error('invalid model manifest: "labels" and "network.file" must name files in the bundle');
  }
  // The labels and the network at once: one round trip less before the network's request goes
  // out (on loopback, within the noise). Labels that fail stop the network's download.
  const stop = new AbortController();
  const labels = getText(new URL(manifest.labels, base), reload);
  labels.catch(() => stop.abort());
  let network;
  try {
    network = await streamBytes(
      new URL(manifest.network.file, base),
      reload,
      stop.signal,
      manifest.network.bytes,
      makeSink,
      onProgress,
    );
  } catch (err) {
    await labels; // their error, if that is why the download stopped
    throw err;
  }
  return { manifest, manifestText, labelsText: await labels, network };
}
