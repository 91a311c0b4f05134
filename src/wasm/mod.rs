//! The wasm-bindgen layer: a thin JS-facing wrapper over the core, compiled only for wasm32.
//!
//! Build (see the Makefile's `pkg` target):
//!   RUSTFLAGS="-C target-feature=+simd128" cargo build --release --lib --target wasm32-unknown-unknown
//!   wasm-bindgen --target web --out-dir pkg --out-name engine target/.../image_classifier.wasm

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::{Bundle, Clock, Error, NetworkBytes};

#[cfg(feature = "fault-injection")]
mod fault_injection;

// Threads build only: `await initThreadPool(n)` starts n Web Workers sharing this module's
// memory; `useThreadPool()` then routes tract's kernels to them.
#[cfg(feature = "threads")]
#[allow(unused_imports)] // re-exported for its #[wasm_bindgen] export `initThreadPool`
pub use wasm_bindgen_rayon::init_thread_pool;

#[cfg(feature = "threads")]
mod threading;

#[cfg(feature = "threads")]
#[wasm_bindgen(js_name = useThreadPool)]
pub fn use_thread_pool() -> usize {
    use tract_linalg::multithread::{set_default_executor, Executor};
    set_default_executor(Executor::RayonGlobal);
    // Matrix products keep tract's own gate; the element gates are set per operator.
    threading::report_panics_to_waiting_runs();
    crate::network::set_run_hooks(crate::network::RunHooks {
        before_op: threading::before_op,
        run_on: threading::run_on_pool,
    });
    rayon::current_num_threads()
}

/// Threads build, for `make bench-threading`: tract's gates for splitting work across the pool,
/// in matrix-product panels, in elements of depthwise convolutions and of other ops
/// (`useThreadPool` sets the ones this product ships).
#[cfg(feature = "threads")]
#[wasm_bindgen(js_name = setThreadingThresholds)]
pub fn set_threading_thresholds(panels: usize, depthwise_elements: usize, other_elements: usize) {
    use std::sync::atomic::Ordering::Relaxed;
    tract_linalg::multithread::set_threading_panel_threshold(panels);
    threading::DEPTHWISE_ELEMENTS.store(depthwise_elements, Relaxed);
    threading::OTHER_ELEMENTS.store(other_elements, Relaxed);
}

/// For `make bench-kernels`: whether tract-wasm-kernels' kernels run (the default) or tract's
/// own: the matrix-product kernel is chosen when a network is optimised, the depthwise row
/// kernel as each row runs.
#[wasm_bindgen(js_name = useWasmKernels)]
pub fn use_wasm_kernels(on: bool) {
    tract_wasm_kernels::set_enabled(on);
}

/// For `make bench-kernels`: whether networks loaded from now on run their NCHW depthwise
/// convolutions and pools with this crate's operators (src/ops/, the default) or tract's.
#[wasm_bindgen(js_name = useOwnOps)]
pub fn use_own_ops(on: bool) {
    crate::ops::set_enabled(on);
}

#[wasm_bindgen(start)]
fn start() {
    // A Rust panic then shows its message in the console instead of "unreachable".
    console_error_panic_hook::set_once();
    tract_wasm_kernels::set_enabled(true);
}

#[wasm_bindgen]
extern "C" {
    // Available on both the window and worker globals.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

struct PerformanceClock;

impl Clock for PerformanceClock {
    fn now_ms(&self) -> f64 {
        performance_now()
    }
}

fn js_error(e: Error) -> JsError {
    JsError::new(&e.to_string())
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&serializer).map_err(|e| JsError::new(&e.to_string()))
}

/// The network file, downloaded straight into wasm memory: `new NetworkBuffer(expectedBytes)`,
/// then `push(chunk)` for each chunk of the response body (an NNEF tar's tensors and an ONNX
/// file's weights go straight into their tensors). Hashes as it goes (or not:
/// `NetworkBuffer.unhashed`).
#[wasm_bindgen]
pub struct NetworkBuffer {
    inner: NetworkBytes,
}

#[wasm_bindgen]
impl NetworkBuffer {
    #[wasm_bindgen(constructor)]
    pub fn new(expected_bytes: usize) -> NetworkBuffer {
        NetworkBuffer { inner: NetworkBytes::with_capacity(expected_bytes) }
    }

    /// A buffer that only copies: the hashing worker computes the digest, checked by
    /// `UnverifiedClassifier.verify` (a `Classifier` made from it refuses it).
    pub fn unhashed(expected_bytes: usize) -> NetworkBuffer {
        NetworkBuffer { inner: NetworkBytes::unhashed_with_capacity(expected_bytes) }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.inner.push(chunk);
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.len()
    }

    /// sha256 (lowercase hex) of the bytes pushed so far (empty for an unhashed buffer).
    #[wasm_bindgen(getter)]
    pub fn sha256(&self) -> String {
        self.inner.sha256_hex()
    }
}

/// A model loaded from a buffer whose sha256 the hashing worker is still computing:
/// `new UnverifiedClassifier(manifestJson, labelsJson, networkBuffer)` parses and optimises
/// meanwhile (consuming the buffer), `verify(sha256)` then gives the `Classifier` if the digest is
/// the manifest's (the integrity error otherwise, and this object is unusable either way).
#[wasm_bindgen]
pub struct UnverifiedClassifier {
    inner: crate::UnverifiedClassifier,
}

#[wasm_bindgen]
impl UnverifiedClassifier {
    #[wasm_bindgen(constructor)]
    pub fn new(manifest_json: &str, labels_json: &str, network: NetworkBuffer) -> Result<UnverifiedClassifier, JsError> {
        let bundle = Bundle::from_json(manifest_json, labels_json).map_err(js_error)?;
        let inner = crate::Classifier::new_unverified(bundle, network.inner.into_contents()).map_err(js_error)?;
        Ok(UnverifiedClassifier { inner })
    }

    pub fn verify(self, sha256_hex: String) -> Result<Classifier, JsError> {
        Ok(Classifier { inner: self.inner.verify(sha256_hex).map_err(js_error)? })
    }
}

/// A loaded model. `new Classifier(manifestJson, labelsJson, networkBuffer)`.
#[wasm_bindgen]
pub struct Classifier {
    inner: crate::Classifier,
}

#[wasm_bindgen]
impl Classifier {
    /// Verifies the network against the manifest's sha256, then parses and optimises it.
    /// Consumes the buffer (the JS object is unusable afterwards; its bytes are freed in the load).
    #[wasm_bindgen(constructor)]
    pub fn new(manifest_json: &str, labels_json: &str, network: NetworkBuffer) -> Result<Classifier, JsError> {
        let bundle = Bundle::from_json(manifest_json, labels_json).map_err(js_error)?;
        let inner = crate::Classifier::new(bundle, network.inner).map_err(js_error)?;
        Ok(Classifier { inner })
    }

    /// Top-k classes of RGBA pixels (e.g. `ImageData.data`):
    /// `{top: [{index, label, score}], preprocess_ms, inference_ms}`.
    pub fn classify(&self, rgba: &[u8], width: u32, height: u32, top_k: usize) -> Result<JsValue, JsError> {
        #[cfg(feature = "fault-injection")]
        fault_injection::trigger(width, height);
        let result = self.inner.classify(rgba, width, height, top_k, &PerformanceClock).map_err(js_error)?;
        to_js(&result)
    }

    /// Raw network outputs (all classes, background included) for RGBA pixels.
    pub fn outputs(&self, rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>, JsError> {
        self.inner.outputs(rgba, width, height).map_err(js_error)
    }

    /// Raw network outputs for RGBA pixels already cropped and sized for the network
    /// (reference checks feed the exact crop another engine saw).
    pub fn outputs_for_prepared(&self, rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>, JsError> {
        self.inner.outputs_for_prepared(rgba, width, height).map_err(js_error)
    }

    /// Time per operator type over `runs` runs on a photo, as `{median_run_ms, runs, ops: [{op,
    /// ms_per_run, nodes}]}` (slowest first): where the time goes in this browser.
    pub fn profile(&self, rgba: &[u8], width: u32, height: u32, runs: usize) -> Result<JsValue, JsError> {
        let profile = self.inner.profile(rgba, width, height, runs, &PerformanceClock).map_err(js_error)?;
        to_js(&profile)
    }

    /// The matrix-product kernels the optimised network runs: `{name: products}`.
    #[wasm_bindgen(getter, js_name = matMulKernels)]
    pub fn matmul_kernels(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.network().matmul_kernels())
    }

    /// The validated manifest, as a plain object.
    #[wasm_bindgen(getter)]
    pub fn manifest(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.bundle.manifest)
    }
}
