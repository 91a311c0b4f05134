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

// Chunks as the network hands them can be tiny: over a link slower than loopback Chromium gives
// ~4 KB pieces (75,000-82,000 for PNASNet's 344 MB), and every push costs a call into wasm, a
// message to the hashing worker and a progress message to the page (PNASNet over an emulated
// 200 Mbit/s link: 26.4-27.5 s pushing each chunk, 25.5-26.0 s gathered). Chunks smaller than
// DIRECT_BYTES are gathered into pieces of up to PIECE_BYTES first, and a piece goes once it is
// full or FLUSH_MS after the last push, so a slow link still shows progress. Bigger chunks
// (loopback: ~800 KB) go as they are.
const DIRECT_BYTES = 64 << 10;
const PIECE_BYTES = 512 << 10;
const FLUSH_MS = 50;

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
  let lastPush = performance.now();
  const push = async (chunk) => {
    loaded += chunk.length;
    const full = sink.push(chunk);
    onProgress?.(loaded, Math.max(total, loaded));
    lastPush = performance.now();
    if (full) await full;
  };
  let piece = null; // gathered small chunks
  let gathered = 0;
  const pushPiece = async () => {
    if (!gathered) return;
    const bytes = piece.subarray(0, gathered);
    piece = null;
    gathered = 0;
    await push(bytes);
  };
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.length >= DIRECT_BYTES) {
      await pushPiece(); // what came before it goes first
      await push(value);
      continue;
    }
    if (gathered + value.length > PIECE_BYTES) await pushPiece();
    piece ??= new Uint8Array(PIECE_BYTES);
    piece.set(value, gathered);
    gathered += value.length;
    if (gathered === PIECE_BYTES || performance.now() - lastPush >= FLUSH_MS) await pushPiece();
  }
  await pushPiece();
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
