// <image-classifier>: an embeddable photo classifier, one module script plus one tag.
//
//   <script type="module" src=".../www/widget.js"></script>
//   <image-classifier model=".../models/efficientnet-lite0-int8" top="5"></image-classifier>
//
// Its UI (picker, drop zone, top-k list) lives in a shadow root, so the host page's CSS cannot
// reach in and the widget's cannot leak out. Events (bubbling, composed):
//   result  detail {top: [{index, label, score}], ms}
//   error   detail {message}
// Widgets with the same model share one worker and one loaded model. The host element carries
// data-state (loading, ready, busy, error) for scripts.

import { ImageClassifier } from '../pkg/image-classifier.js';
import { acceptDrops } from './drop-zone.js';

const DEFAULT_MODEL = new URL('../models/efficientnet-lite0-int8', import.meta.url).href;
const DEFAULT_TOP = 5;

// One loaded model per URL for the whole page.
const loaded = new Map();

function sharedClassifier(url) {
  if (!loaded.has(url)) {
    const promise = ImageClassifier.load(url);
    promise.catch(() => loaded.delete(url)); // a later widget (or a retry) tries again
    loaded.set(url, promise);
  }
  return loaded.get(url);
}

// The model attribute, resolved against the host page; only http(s) addresses are fetched.
export function resolveModelUrl(value, base = document.baseURI) {
  if (!value) return DEFAULT_MODEL;
  let url;
  try {
    url = new URL(value, base);
  } catch {
    throw new Error(`the model address "${value}" is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`the model address must be http or https, not ${url.protocol}`);
  }
  return url.href;
}

const STYLE = `
:host { all: initial; display: block; font: 14px/1.4 system-ui, sans-serif; color: #1b1f24;
        border: 1px solid #c9d1d9; border-radius: 10px; padding: 12px; background: #fff; max-width: 28rem; }
:host([hidden]) { display: none; }
.zone { border: 2px dashed #9aa5b1; border-radius: 8px; padding: 14px; text-align: center; }
.zone.dragging { border-color: #2f6fde; background: #eef4ff; }
.button { display: inline-block; padding: 6px 12px; border-radius: 6px; background: #2f6fde; color: #fff;
          cursor: pointer; font-weight: 600; }
.button:focus-within { outline: 2px solid #1b1f24; outline-offset: 2px; }
input { position: absolute; width: 1px; height: 1px; opacity: 0; }
.status { color: #57606a; margin: 8px 0 0; }
.error { color: #b42318; margin: 8px 0 0; }
ol { list-style: none; margin: 10px 0 0; padding: 0; }
li { display: grid; grid-template-columns: 1fr auto; gap: 2px 8px; margin: 6px 0; }
.bar { grid-column: 1 / -1; height: 6px; background: #eaeef2; border-radius: 3px; overflow: hidden; }
.bar span { display: block; height: 100%; background: #2f6fde; }
`;

let sheet = null;
function styleSheet() {
  // A constructed stylesheet: works under a Content-Security-Policy without 'unsafe-inline'.
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(STYLE);
  }
  return sheet;
}

const TEMPLATE = `
<div class="zone" part="zone">
  <label class="button">Choose a photo<input type="file" accept="image/*"></label>
  <div>or drop one here</div>
  <p class="status" role="status"></p>
</div>
<p class="error" role="alert" hidden></p>
<ol aria-label="Top classes"></ol>
`;

export class ImageClassifierElement extends HTMLElement {
  static observedAttributes = ['model', 'top'];
  #root;
  #modelUrl = null;
  #classifier = null;
  #latest = 0;

  constructor() {
    super();
    this.#root = this.attachShadow({ mode: 'open' });
    this.#root.adoptedStyleSheets = [styleSheet()];
    this.#root.innerHTML = TEMPLATE;
    this.#wireInputs();
  }

  connectedCallback() {
    this.#load();
  }

  attributeChangedCallback(name, oldValue, newValue) {
    if (name === 'model' && oldValue !== newValue && this.isConnected) this.#load();
  }

  /** How many classes to show: the `top` attribute, 1..20 (default 5). */
  get top() {
    const n = Number.parseInt(this.getAttribute('top') ?? '', 10);
    return Number.isFinite(n) ? Math.min(Math.max(n, 1), 20) : DEFAULT_TOP;
  }

  /** Classify a File, Blob, image, canvas or ImageData; also fires `result` or `error`. */
  async classify(source) {
    const request = ++this.#latest;
    this.#showError('');
    try {
      if (!this.#classifier) throw new Error('the model is not loaded yet');
      this.dataset.state = 'busy';
      const { top, ms } = await this.#classifier.classify(source, { topK: this.top });
      if (request === this.#latest) this.#render(top);
      this.#emit('result', { top, ms });
      return { top, ms };
    } catch (err) {
      if (request === this.#latest) this.#showError(err.message);
      this.#emit('error', { message: err.message });
      throw err;
    } finally {
      if (this.#classifier) this.dataset.state = 'ready';
    }
  }

  async #load() {
    let url;
    try {
      url = resolveModelUrl(this.getAttribute('model'));
    } catch (err) {
      this.#fail(err);
      return;
    }
    if (url === this.#modelUrl) return;
    this.#modelUrl = url;
    this.#classifier = null;
    this.dataset.state = 'loading';
    this.#status('Loading the model…');
    try {
      const classifier = await sharedClassifier(url);
      if (url !== this.#modelUrl) return; // the attribute changed meanwhile
      this.#classifier = classifier;
      this.dataset.state = 'ready';
      this.#status(`${classifier.manifest.name}: ready. Photos stay on this device.`);
      this.#emit('ready', { model: classifier.manifest.id });
    } catch (err) {
      if (url === this.#modelUrl) this.#fail(err);
    }
  }

  #fail(err) {
    this.dataset.state = 'error';
    this.#status('No model.');
    this.#showError(err.message);
    this.#emit('error', { message: err.message });
  }

  #wireInputs() {
    const $ = (selector) => this.#root.querySelector(selector);
    const input = $('input');
    input.addEventListener('change', () => {
      const file = input.files[0];
      input.value = '';
      if (file) this.classify(file).catch(() => {}); // shown in the widget and sent as `error`
    });
    acceptDrops($('.zone'), (file) => this.classify(file).catch(() => {}));
  }

  #render(top) {
    const list = this.#root.querySelector('ol');
    list.replaceChildren(
      ...top.map(({ index, label, score }) => {
        const li = document.createElement('li');
        li.dataset.index = index;
        li.dataset.score = score;
        const name = document.createElement('span');
        name.textContent = label;
        const pct = document.createElement('span');
        pct.textContent = `${(score * 100).toFixed(1)}%`;
        const bar = document.createElement('div');
        bar.className = 'bar';
        bar.append(document.createElement('span'));
        bar.firstChild.style.width = `${Math.max(score * 100, 0.5)}%`;
        li.append(name, pct, bar);
        return li;
      }),
    );
  }

  #status(text) {
    this.#root.querySelector('.status').textContent = text;
  }

  #showError(message) {
    const el = this.#root.querySelector('.error');
    el.textContent = message;
    el.hidden = !message;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }
}

if (!customElements.get('image-classifier')) customElements.define('image-classifier', ImageClassifierElement);
