// Offline support for the demo page: after one visit the page, the wasm and the model bundles it
// used load from Cache Storage, with the network off.
//
// - The app shell (page, scripts, wasm, models/index.json) is precached per build, in a cache named
//   after the build's version: a new build installs a new cache and the old one is deleted when
//   it takes over, so a page never mixes files of two builds. A new build takes over only when
//   the page asks it to and no other window of the app is open (message "activate-update"): the
//   page asks before it has loaded anything, or when the visitor clicks "Update". The file list and the version come
//   from offline-manifest.js, written by tools/offline_manifest.py (`make build`, `make dist`).
//   Its "lazy" files (the multi-threaded build, used only on cross-origin isolated pages) join the
//   same versioned cache the first time they are used.
// - Model bundles are cached once, in one cache shared by all builds, when the page first loads
//   them: network files cache-first (they are large and the worker checks their sha256 against
//   model.json on every load; on a mismatch it refetches with cache: 'reload', which bypasses
//   and replaces the cached copy), model.json and labels network-first so a new bundle is seen.
//
// - Cross-origin isolation on hosts that cannot send headers (GitHub Pages and the like): every
//   response it hands out gets COOP/COEP/CORP headers, so after the first load the page is
//   cross-origin isolated and can use the multi-threaded build. (The demo server and any host
//   that sends the headers itself do not need this; the values are the same.)
//
// Registered by www/app.js with the page's own folder as scope, so it works under any base path.

importScripts('./offline-manifest.js');

const { version, shell, lazy = [] } = self.OFFLINE_MANIFEST;
const SHELL_PREFIX = 'image-classifier-shell-';
const SHELL_CACHE = `${SHELL_PREFIX}${version}`;
const MODEL_CACHE = 'image-classifier-models';
const scope = new URL(self.registration.scope);
const shellUrls = new Set(shell.map((path) => new URL(path, scope).href));
const lazyUrls = new Set(lazy.map((path) => new URL(path, scope).href));
const indexUrl = new URL('index.html', scope).href;
const modelsPrefix = new URL('models/', scope).href;

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(SHELL_CACHE);
      // cache: 'reload' so the new cache never takes a stale copy from the HTTP cache.
      await cache.addAll([...shellUrls].map((url) => new Request(url, { cache: 'reload' })));
    })(),
  );
});

self.addEventListener('message', (event) => {
  if (event.data?.type !== 'activate-update') return;
  event.waitUntil(
    (async () => {
      // Taking over while another window runs the old build would switch it mid-session.
      const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
      if (windows.length <= 1) await self.skipWaiting();
      else event.source?.postMessage({ type: 'update-blocked', windows: windows.length });
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(SHELL_PREFIX) && name !== SHELL_CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== scope.origin) return; // other origins: as if there were no service worker
  url.search = '';
  url.hash = '';
  let response;
  if (request.mode === 'navigate' && (url.href === scope.href || url.href === indexUrl)) {
    response = fromShell(indexUrl, request);
  } else if (shellUrls.has(url.href)) {
    response = fromShell(url.href, request);
  } else if (lazyUrls.has(url.href)) {
    response = cacheFirst(SHELL_CACHE, url.href, request, event);
  } else if (url.href.startsWith(modelsPrefix)) {
    const small = url.pathname.endsWith('.json');
    response = small ? networkFirst(request, event) : cacheFirst(MODEL_CACHE, request, request, event);
  } else {
    response = fetch(request);
  }
  event.respondWith(response.then(isolated));
});

const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

function isolated(response) {
  if (response.type === 'opaque' || response.type === 'opaqueredirect' || response.status === 0) return response;
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(ISOLATION_HEADERS)) headers.set(name, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

// caches.match with a cacheName never re-creates a cache that activation deleted.
async function fromShell(url, request) {
  return (await caches.match(url, { cacheName: SHELL_CACHE })) ?? fetch(request);
}

async function networkFirst(request, event) {
  const cache = await caches.open(MODEL_CACHE);
  try {
    const response = await fetch(request);
    if (response.ok) event.waitUntil(cache.put(request, response.clone()));
    return response;
  } catch (err) {
    const cached = await cache.match(request);
    if (cached) return cached;
    throw err;
  }
}

// Cache-first under `key`, keeping whole (200) responses: a 206 partial or an error page must
// never stand in for the file. A cache: 'reload' request (the worker after a sha256 mismatch)
// bypasses and replaces the cached copy.
async function cacheFirst(cacheName, key, request, event) {
  if (request.cache !== 'reload') {
    const cached = await caches.match(key, { cacheName });
    if (cached) return cached;
  }
  const response = await fetch(request);
  if (response.status === 200) {
    const copy = response.clone(); // now, before the page starts reading the body
    event.waitUntil(caches.open(cacheName).then((cache) => cache.put(key, copy)));
  }
  return response;
}
