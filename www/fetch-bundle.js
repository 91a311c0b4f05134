// Download a model bundle (model.json, labels, network) with byte-count progress.
// Used by the worker; the network is streamed into one preallocated buffer.

async function get(url) {
  let response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new Error(`cannot download ${url}: ${err.message}`);
  }
  if (!response.ok) throw new Error(`cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
  return response;
}

async function getText(url) {
  return (await get(url)).text();
}

// Stream the body, reporting (loaded, total) as bytes arrive.
async function getBytes(url, expectedBytes, onProgress) {
  const response = await get(url);
  const total = Number(response.headers.get('Content-Length')) || expectedBytes || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  let buffer = new Uint8Array(total);
  let loaded = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > buffer.length) {
      // Longer than announced: grow (only when the size was unknown or wrong).
      const grown = new Uint8Array(Math.max(buffer.length * 2, loaded + value.length));
      grown.set(buffer.subarray(0, loaded));
      buffer = grown;
    }
    buffer.set(value, loaded);
    loaded += value.length;
    onProgress?.(loaded, Math.max(total, loaded));
  }
  return loaded === buffer.length ? buffer : buffer.slice(0, loaded);
}

// `bundleUrl` is the bundle folder, e.g. "models/efficientnet-lite0".
export async function fetchBundle(bundleUrl, onProgress) {
  const base = new URL(bundleUrl.endsWith('/') ? bundleUrl : `${bundleUrl}/`, self.location.href);
  const manifestText = await getText(new URL('model.json', base));
  let manifest;
  try {
    manifest = JSON.parse(manifestText);
  } catch {
    throw new Error(`${new URL('model.json', base)} is not a model manifest (not JSON)`);
  }
  if (typeof manifest?.labels !== 'string' || typeof manifest?.network?.file !== 'string') {
    throw new Error('invalid model manifest: "labels" and "network.file" must name files in the bundle');
  }
  const labelsText = await getText(new URL(manifest.labels, base));
  const network = await getBytes(new URL(manifest.network.file, base), manifest.network.bytes, onProgress);
  return { manifestText, labelsText, network };
}
