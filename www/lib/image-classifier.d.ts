// Types of the library's public API (www/lib/image-classifier.js).

export interface Prediction {
  /** ImageNet-1k class index, 0..999 (a background output is never reported). */
  index: number;
  label: string;
  /** Probability, 0..1. */
  score: number;
}

export interface Classification {
  top: Prediction[];
  /** Whole call, decoding the image included. */
  ms: number;
  /** Size of the image that was classified, after EXIF orientation. */
  width: number;
  height: number;
  /** Crop, resize and normalise, in the worker. */
  preprocessMs: number;
  /** Network run and top-k, in the worker. */
  inferenceMs: number;
  totalMs: number;
  wasmMemoryBytes: number;
}

export interface Progress {
  loaded: number;
  /** 0 when the server did not say. */
  total: number;
}

export interface LoadInfo {
  bytes: number;
  downloadMs: number;
  loadMs: number;
  /** Threads inference runs on (1 unless the page is cross-origin isolated). */
  threads: number;
  /** The wasm build that runs. */
  build: 'threads+relaxed-simd' | 'relaxed-simd' | 'simd128';
  /** The matrix-product kernels the optimised network runs, by name: how many products use each. */
  matMulKernels: Record<string, number>;
  wasmMemoryBytes: number;
}

/** model.json, as validated by the classifier. */
export interface Manifest {
  format_version: number;
  id: string;
  name: string;
  description: string;
  network: { file: string; format: string; sha256: string; bytes: number };
  input: {
    width: number;
    height: number;
    layout: 'NCHW' | 'NHWC';
    channel_order: 'RGB' | 'BGR';
    /** Either mean and std (0..255 units) or range. */
    normalize: { mean?: [number, number, number]; std?: [number, number, number]; range?: [number, number] };
    resize: { filter: 'nearest' | 'bilinear' | 'bicubic' | 'lanczos3'; crop_fraction: number; antialias?: boolean };
    name: string;
  };
  output: { classes: number; label_offset: number; activation: 'logits' | 'probabilities' };
  labels: string;
  source: string;
  license: string;
}

export type ImageSource =
  | Blob
  | ImageBitmap
  | ImageData
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas;

/**
 * Decode a File or Blob into an ImageBitmap, EXIF orientation applied; rejects with an Error
 * saying why it cannot be decoded (empty, damaged JPEG, HEIC, SVG, too large...).
 */
export function decodeImage(blob: Blob): Promise<ImageBitmap>;

/** The default thread count: all cores (at most 8) on a cross-origin isolated page, else 1. */
export function defaultThreads(): number;

export class ImageClassifier {
  private constructor();
  /** Download and prepare the bundle at `modelUrl` (a folder holding model.json) in a new worker. */
  static load(
    modelUrl: string | URL,
    options?: { onProgress?: (progress: Progress) => void; threads?: number; relaxedSimd?: boolean },
  ): Promise<ImageClassifier>;
  readonly manifest: Manifest;
  readonly loadInfo: LoadInfo;
  /** Top-k classes of an image; inference runs in the worker. */
  classify(source: ImageSource, options?: { topK?: number }): Promise<Classification>;
  /** Stop the worker and free the model's memory; pending calls fail. */
  dispose(): void;
}
