// The library's public API: load a model bundle into its own worker, classify images with it.
//
//   import { ImageClassifier } from './pkg/image-classifier.js';
//   const classifier = await ImageClassifier.load('models/efficientnet-lite0', { onProgress });
//   const { top } = await classifier.classify(fileOrImage, { topK: 5 });
//   classifier.dispose();
//
// Inference always runs in the worker; this module only turns the caller's image into pixels
// the worker can take (an ImageBitmap, transferred) and keeps the worker's protocol private.

import { ClassifierWorker } from './classifier-client.js';
import { undecodableReason } from './image-errors.js';

// Anything createImageBitmap takes except a Blob: decoded already, drawn as is.
const DRAWABLE = ['HTMLCanvasElement', 'OffscreenCanvas', 'ImageBitmap', 'HTMLVideoElement', 'VideoFrame', 'SVGImageElement'];

function isInstance(value, name) {
  const type = globalThis[name];
  return typeof type === 'function' && value instanceof type;
}

/**
 * Decode a File or Blob into an ImageBitmap, EXIF orientation applied (as browsers show photos);
 * an Error saying why (empty, damaged JPEG, HEIC, SVG, too large...) if it cannot be decoded.
 */
export async function decodeImage(blob) {
  try {
    return await createImageBitmap(blob, { imageOrientation: 'from-image' });
  } catch {
    throw new Error(await undecodableReason(blob));
  }
}

// An ImageBitmap owned by us (it is transferred to the worker) or an ImageData (copied).
async function toPixels(source) {
  if (isInstance(source, 'ImageData')) return source;
  if (isInstance(source, 'Blob')) return decodeImage(source);
  if (isInstance(source, 'HTMLImageElement')) {
    try {
      await source.decode();
    } catch {
      throw new Error(`the image ${source.currentSrc || source.src || ''} could not be loaded or decoded`.trim());
    }
    return createImageBitmap(source);
  }
  if (DRAWABLE.some((name) => isInstance(source, name))) {
    if ((source.width ?? source.videoWidth) === 0) throw new Error('the image is empty (0 pixels wide)');
    return createImageBitmap(source); // a copy: the caller's bitmap or canvas stays usable
  }
  throw new TypeError(
    'classify() takes a File, Blob, ImageBitmap, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas or ImageData',
  );
}

// All cores (up to 8: tract's kernels gain little beyond) where threads can be used at all.
export function defaultThreads() {
  if (!globalThis.crossOriginIsolated) return 1;
  return Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 8));
}

export class ImageClassifier {
  #worker;
  #info;

  constructor(worker, info) {
    this.#worker = worker;
    this.#info = info;
  }

  /**
   * Download and prepare the bundle at `modelUrl` (a folder holding model.json; relative URLs are
   * resolved against the page). `onProgress({loaded, total})` reports download bytes. `threads`:
   * how many threads inference may use (default: all cores when the page is cross-origin
   * isolated, else 1); `loadInfo.threads` says how many it got and `loadInfo.build` which wasm
   * build runs ("threads+relaxed-simd", "relaxed-simd" or "simd128"). `relaxedSimd: false`
   * forces the plain SIMD128 build.
   */
  static async load(modelUrl, { onProgress, threads = defaultThreads(), relaxedSimd = true } = {}) {
    const worker = new ClassifierWorker();
    try {
      const info = await worker.load(modelUrl, { onProgress, threads, relaxedSimd });
      return new ImageClassifier(worker, info);
    } catch (err) {
      worker.terminate();
      throw err;
    }
  }

  /** The bundle's manifest (model.json, validated). */
  get manifest() {
    return this.#info.manifest;
  }

  /** Load figures: {bytes, downloadMs, loadMs, threads, build, matMulKernels, wasmMemoryBytes}. */
  get loadInfo() {
    const { manifest, ...figures } = this.#info;
    return figures;
  }

  /**
   * Top-k classes of an image: {top: [{index, label, score}], ms, width, height, preprocessMs,
   * inferenceMs, wasmMemoryBytes}. `ms` is the whole call, decoding included.
   */
  async classify(source, { topK = 5 } = {}) {
    if (!this.#worker) throw new Error('this classifier was disposed');
    if (!Number.isInteger(topK) || topK < 1) throw new RangeError('topK must be a positive integer');
    const t0 = performance.now();
    const pixels = await toPixels(source);
    const result = await this.#worker.classify(pixels, { topK });
    return { ...result, ms: performance.now() - t0 };
  }

  /** Stop the worker and free the model's memory; pending calls fail. */
  dispose() {
    this.#worker?.terminate();
    this.#worker = null;
  }
}
