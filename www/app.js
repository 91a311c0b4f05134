// The demo page: pick a model, take photos from file/drop/paste/camera, show the top-5.
// All decoding happens in the browser (createImageBitmap) and inference in the worker.

import { ImageClassifier, decodeImage } from '../pkg/image-classifier.js';
import { acceptDrops } from './drop-zone.js';

const $ = (id) => document.getElementById(id);
const root = document.documentElement;
const MODELS_INDEX = 'models/index.json';
const TOP_K = 5;

let classifier = null; // the loaded ImageClassifier
let loading = 0; // the latest model load; an older one that finishes late is dropped
let modelReady = false;
let inFlight = 0;
let latestRequest = 0;

function setState(state) {
  root.dataset.state = state;
}

function refreshState() {
  if (!modelReady) return;
  setState(inFlight > 0 ? 'busy' : 'ready');
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

function formatBytes(n) {
  return n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${Math.round(n / 1e3)} kB`;
}

// ---- Models ----------------------------------------------------------------------------------

async function listModels() {
  const response = await fetch(MODELS_INDEX);
  if (!response.ok) throw new Error(`cannot read ${MODELS_INDEX} (HTTP ${response.status})`);
  const { models } = await response.json();
  if (!models?.length) throw new Error(`${MODELS_INDEX} lists no models`);
  return models;
}

async function loadModel(entry) {
  const attempt = ++loading;
  modelReady = false;
  classifier?.dispose(); // its worker and all its memory go with it
  classifier = null;
  if (offlineSupported) setOffline('pending', '');
  setState('loading');
  showError('');
  $('retry-button').hidden = true;
  $('model-name').textContent = entry.name;
  $('model-progress').value = 0;
  $('model-status').textContent = entry.bytes ? `Downloading ${formatBytes(entry.bytes)}…` : 'Downloading…';
  try {
    const loaded = await ImageClassifier.load(entry.url, {
      onProgress: ({ loaded, total }) => {
        if (attempt !== loading) return;
        $('model-progress').value = total ? loaded / total : 0;
        $('model-status').textContent = `Downloading ${formatBytes(loaded)} of ${formatBytes(total)}…`;
      },
    });
    if (attempt !== loading) {
      loaded.dispose();
      return;
    }
    classifier = loaded;
    modelReady = true;
    const info = loaded.loadInfo;
    $('model-name').textContent = loaded.manifest.name;
    $('model-status').textContent =
      `Ready. Downloaded ${formatBytes(info.bytes)} in ${(info.downloadMs / 1000).toFixed(1)} s, ` +
      `prepared in ${(info.loadMs / 1000).toFixed(1)} s; ${info.threads} thread${info.threads > 1 ? 's' : ''} ` +
      `(${info.build}), ` +
      `memory ${formatBytes(info.wasmMemoryBytes)}.`;
    refreshState();
    showOfflineReady(entry.url, loaded.manifest, attempt);
  } catch (err) {
    if (attempt !== loading) return;
    setState('error');
    $('model-status').textContent = 'The model could not be loaded.';
    showError(`${entry.name}: ${err.message}. Try again${
      $('model-select').options.length > 1 ? ', or choose another model' : ''}.`);
    $('retry-button').hidden = false;
    $('retry-button').onclick = () => loadModel(entry);
  }
}

// `?model=path/to/bundle` loads a bundle of this site that the index does not list.
function requestedModel() {
  const value = new URLSearchParams(location.search).get('model');
  if (!value) return null;
  const url = new URL(value, document.baseURI);
  if (url.origin !== location.origin) throw new Error(`?model must be a bundle on this site, not ${value}`);
  return { id: value, name: value, url: url.href, bytes: 0 };
}

async function setUpModels() {
  let models;
  try {
    models = (await listModels()).map((m) => ({ ...m, url: `models/${m.path}` }));
    const requested = requestedModel();
    if (requested) models = [requested, ...models.filter((m) => m.url !== requested.id)];
  } catch (err) {
    setState('error');
    $('model-status').textContent = 'No model available.';
    showError(err.message);
    return;
  }
  const select = $('model-select');
  // Each variant with its download size; the first (the smallest of the default model) is opened.
  for (const m of models) select.add(new Option(m.bytes ? `${m.name}, ${formatBytes(m.bytes)}` : m.name, m.id));
  const several = models.length > 1;
  select.hidden = $('model-select-label').hidden = !several;
  $('model-name').hidden = several;
  select.addEventListener('change', () => loadModel(models.find((m) => m.id === select.value)));
  await loadModel(models[0]);
}

// ---- Offline ---------------------------------------------------------------------------------
// service-worker.js (next to index.html) caches the page and the models it loads. The page waits
// until the worker controls it before loading a model, so even the first visit's download is
// cached. root.dataset.offline: "pending", "ready" (this page and model work offline) or
// "unavailable" (with the reason in #offline-status).

const OFFLINE_WAIT_MS = 10_000;
let offlineSupported = true;

function setOffline(state, text) {
  root.dataset.offline = state;
  $('offline-status').textContent = text;
}

async function startOffline() {
  if (!('serviceWorker' in navigator)) {
    offlineSupported = false;
    setOffline('unavailable', 'Offline use is not available here (needs HTTPS or localhost).');
    return;
  }
  setOffline('pending', '');
  let registration;
  try {
    // updateViaCache 'none': a new build's offline-manifest.js is seen even behind HTTP caching.
    registration = await navigator.serviceWorker.register('service-worker.js', { updateViaCache: 'none' });
  } catch (err) {
    offlineSupported = false;
    setOffline('unavailable', `Offline use is not available: ${err.message}`);
    return;
  }
  watchForUpdates(registration);
  if (registration.waiting && navigator.serviceWorker.controller) {
    // A new build is installed and nothing is loaded yet: switch to it now. The page reloads,
    // unless another window still runs this build; then this one carries on with it too.
    await applyUpdate(registration);
  }
  if (!navigator.serviceWorker.controller) {
    const controlled = new Promise((resolve) =>
      navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }),
    );
    await Promise.race([controlled, new Promise((resolve) => setTimeout(resolve, OFFLINE_WAIT_MS))]);
  }
  // On a host that cannot send COOP/COEP headers, the service worker adds them: one reload
  // under its control makes the page cross-origin isolated (threads). Only once per tab session.
  if (navigator.serviceWorker.controller && !crossOriginIsolated && !sessionStorage.getItem(ISOLATION_RELOAD)) {
    sessionStorage.setItem(ISOLATION_RELOAD, '1');
    location.reload();
    await new Promise(() => {}); // the page is going away
  }
}

const ISOLATION_RELOAD = 'image-classifier-isolation-reload';

// A new build found while this page runs: offer to switch (root.dataset.update = "ready").
function watchForUpdates(registration) {
  registration.addEventListener('updatefound', () => {
    const incoming = registration.installing;
    incoming?.addEventListener('statechange', () => {
      if (incoming.state === 'installed' && navigator.serviceWorker.controller) {
        root.dataset.update = 'ready';
        $('update-button').hidden = false;
      }
    });
  });
  $('update-button').addEventListener('click', () => applyUpdate(registration));
}

// Ask the waiting build to take over; the page reloads when it does. Resolves only if it refuses
// because other windows of the app are open (it never switches them mid-session).
function applyUpdate(registration) {
  if (!registration.waiting) return Promise.resolve();
  return new Promise((resolve) => {
    const onChange = () => location.reload();
    const onMessage = (event) => {
      if (event.data?.type !== 'update-blocked') return;
      navigator.serviceWorker.removeEventListener('controllerchange', onChange);
      navigator.serviceWorker.removeEventListener('message', onMessage);
      $('offline-status').textContent =
        'A new version is ready: close the other tabs of this page, then reload, to switch to it.';
      resolve();
    };
    navigator.serviceWorker.addEventListener('controllerchange', onChange, { once: true });
    navigator.serviceWorker.addEventListener('message', onMessage);
    registration.waiting.postMessage({ type: 'activate-update' });
  });
}

// Once a model is ready: is its network file in the offline cache yet? (The service worker
// stores it while the page prepares it, so look again for a while.)
async function showOfflineReady(modelUrl, manifest, attempt) {
  if (!offlineSupported) return;
  const base = new URL(modelUrl.endsWith('/') ? modelUrl : `${modelUrl}/`, document.baseURI);
  const network = new URL(manifest.network.file, base).href;
  for (let poll = 0; poll < 60 && attempt === loading; poll++) {
    if (navigator.serviceWorker.controller && (await caches.match(network))) {
      setOffline('ready', 'Ready for offline use: this page and model work without a network.');
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (attempt === loading) setOffline('unavailable', 'This model could not be stored for offline use.');
}

// ---- Photos ----------------------------------------------------------------------------------

function renderTop(top) {
  const list = $('top5');
  // A counter of shown results, so tests (and scripts) can wait for the next one.
  root.dataset.results = Number(root.dataset.results ?? 0) + 1;
  list.replaceChildren(
    ...top.map(({ index, label, score }) => {
      const li = document.createElement('li');
      li.dataset.index = index;
      li.dataset.score = score;
      const pct = (score * 100).toFixed(1);
      li.innerHTML = '<div class="label"><span></span><span></span></div><div class="bar"><span></span></div>';
      const [name, value] = li.querySelectorAll('.label span');
      name.textContent = label;
      value.textContent = `${pct}%`;
      li.querySelector('.bar span').style.width = `${Math.max(score * 100, 0.5)}%`;
      li.setAttribute('aria-label', `${label}: ${pct} percent`);
      return li;
    }),
  );
}

// Draw the photo into the preview canvas at display size (at most 2x the CSS box for sharpness).
function showPreview(canvas, bitmap, name) {
  const scale = Math.min(1, 1280 / Math.max(bitmap.width, bitmap.height));
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  canvas.getContext('2d').drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  canvas.setAttribute('aria-label', `Your photo: ${name}`);
  canvas.hidden = false;
}

async function classifyBlob(blob, name = 'photo') {
  if (!modelReady) {
    showError('The model is not ready yet; try again in a moment.');
    return;
  }
  const request = ++latestRequest;
  showError('');
  inFlight++;
  refreshState();
  const preview = $('preview');
  let bitmap = null;
  try {
    // Decoded once here: drawn as the preview, then classified (the library sends a copy).
    // A canvas rather than a blob: URL image, so a strict Content-Security-Policy holds.
    bitmap = await decodeImage(blob);
    showPreview(preview, bitmap, name);
    const result = await classifier.classify(bitmap, { topK: TOP_K });
    if (request === latestRequest) {
      renderTop(result.top);
      $('timing').textContent =
        `${result.width}×${result.height} px classified in ${result.ms.toFixed(0)} ms ` +
        `(network ${result.inferenceMs.toFixed(0)} ms).`;
    }
  } catch (err) {
    if (request === latestRequest) {
      showError(`${name}: ${err.message}`);
      preview.hidden = true;
    }
  } finally {
    bitmap?.close();
    inFlight--;
    refreshState();
  }
}

function firstImage(items) {
  for (const item of items ?? []) {
    const file = item instanceof File ? item : item.kind === 'file' ? item.getAsFile() : null;
    if (file) return file;
  }
  return null;
}

function setUpInputs() {
  $('file-input').addEventListener('change', (e) => {
    const file = e.target.files[0];
    if (file) classifyBlob(file, file.name);
    e.target.value = '';
  });

  acceptDrops($('drop-zone'), (file) => classifyBlob(file, file.name));
  // Dropping a photo elsewhere on the page must not navigate away from it.
  window.addEventListener('dragover', (e) => e.preventDefault());
  window.addEventListener('drop', (e) => e.preventDefault());

  document.addEventListener('paste', (e) => {
    const file = firstImage(e.clipboardData?.items);
    if (file) classifyBlob(file, file.name || 'pasted image');
  });

  setUpCamera();
}

function setUpCamera() {
  if (!navigator.mediaDevices?.getUserMedia) return;
  const button = $('camera-button');
  const dialog = $('camera-dialog');
  const video = $('camera-video');
  button.hidden = false;
  let stream = null;
  const stop = () => {
    stream?.getTracks().forEach((t) => t.stop());
    stream = null;
  };
  button.addEventListener('click', async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch (err) {
      showError(`The camera is not available: ${err.message}`);
      return;
    }
    video.srcObject = stream;
    dialog.showModal();
  });
  $('camera-snap').addEventListener('click', () => {
    const canvas = document.createElement('canvas');
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext('2d').drawImage(video, 0, 0);
    canvas.toBlob((blob) => blob && classifyBlob(blob, 'camera photo'), 'image/png');
    dialog.close();
  });
  $('camera-close').addEventListener('click', () => dialog.close());
  dialog.addEventListener('close', stop);
}

setUpInputs();
startOffline().then(setUpModels);
