//! The wasm-bindgen layer: a thin JS-facing wrapper over the core, compiled only for wasm32.
//!
//! Build (see the Makefile's `pkg` target):
//!   RUSTFLAGS="-C target-feature=+simd128" cargo build --release --lib --target wasm32-unknown-unknown
//!   wasm-bindgen --target web --out-dir pkg --out-name engine target/.../image_classifier.wasm

use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::{Bundle, Clock, Error};

#[cfg(feature = "fault-injection")]
mod fault_injection;

// Threads build only: `await initThreadPool(n)` starts n Web Workers sharing this module's
// memory; `useThreadPool()` then routes tract's kernels to them.
#[cfg(feature = "threads")]
#[allow(unused_imports)] // re-exported for its #[wasm_bindgen] export `initThreadPool`
pub use wasm_bindgen_rayon::init_thread_pool;

#[cfg(feature = "threads")]
#[wasm_bindgen(js_name = useThreadPool)]
pub fn use_thread_pool() -> usize {
    tract_linalg::multithread::set_default_executor(tract_linalg::multithread::Executor::RayonGlobal);
    rayon::current_num_threads()
}

#[wasm_bindgen(start)]
fn start() {
    // A Rust panic then shows its message in the console instead of "unreachable".
    console_error_panic_hook::set_once();
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
/// then `push(chunk)` for each chunk of the response body.
#[wasm_bindgen]
pub struct NetworkBuffer {
    bytes: Vec<u8>,
}

#[wasm_bindgen]
impl NetworkBuffer {
    #[wasm_bindgen(constructor)]
    pub fn new(expected_bytes: usize) -> NetworkBuffer {
        NetworkBuffer { bytes: Vec::with_capacity(expected_bytes) }
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend_from_slice(chunk);
    }

    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.bytes.len()
    }

    /// Where the bytes start in wasm memory, so the worker can hand WebCrypto a view of them
    /// without copying them through JS first.
    #[wasm_bindgen(getter)]
    pub fn offset(&self) -> usize {
        self.bytes.as_ptr() as usize
    }

    /// sha256 (lowercase hex) of the bytes, computed here in one pass: the fallback for pages
    /// without WebCrypto (not a secure context).
    pub fn sha256(&self) -> String {
        crate::network_bytes::sha256_hex(&self.bytes)
    }
}

/// Refuse network bytes whose sha256 (lowercase hex) is not the one in the manifest: the error
/// says the file is corrupt or was modified, with both digests. For a network that did not load,
/// so has no `Classifier` to `verify`.
#[wasm_bindgen(js_name = checkNetworkSha256)]
pub fn check_network_sha256(manifest_json: &str, sha256: &str) -> Result<(), JsError> {
    let manifest = crate::Manifest::from_json(manifest_json).map_err(js_error)?;
    crate::bundle::check_sha256(&manifest, sha256).map_err(js_error)
}

/// A loaded model: `new Classifier(manifestJson, labelsJson, networkBuffer)` parses and
/// optimises the network (consuming the buffer), then `verify(sha256)` checks the digest of the
/// bytes against the manifest. The worker hashes on another thread while the constructor runs;
/// a classifier refuses to classify until it is verified.
#[wasm_bindgen]
pub struct Classifier {
    inner: crate::Classifier,
    verified: bool,
}

impl Classifier {
    fn ready(&self) -> Result<&crate::Classifier, JsError> {
        if !self.verified {
            return Err(JsError::new("the network's sha256 has not been checked yet (call verify first)"));
        }
        Ok(&self.inner)
    }
}

#[wasm_bindgen]
impl Classifier {
    #[wasm_bindgen(constructor)]
    pub fn new(manifest_json: &str, labels_json: &str, network: NetworkBuffer) -> Result<Classifier, JsError> {
        let bundle = Bundle::from_json(manifest_json, labels_json).map_err(js_error)?;
        let inner = crate::Classifier::new_unverified(bundle, network.bytes).map_err(js_error)?;
        Ok(Classifier { inner, verified: false })
    }

    /// Accept the network if `sha256` (lowercase hex of the bytes it was built from) is the
    /// manifest's; otherwise the error says the file is corrupt or was modified.
    pub fn verify(&mut self, sha256: &str) -> Result<(), JsError> {
        self.inner.bundle.check_sha256(sha256).map_err(js_error)?;
        self.verified = true;
        Ok(())
    }

    /// Top-k classes of RGBA pixels (e.g. `ImageData.data`):
    /// `{top: [{index, label, score}], preprocess_ms, inference_ms}`.
    pub fn classify(&self, rgba: &[u8], width: u32, height: u32, top_k: usize) -> Result<JsValue, JsError> {
        #[cfg(feature = "fault-injection")]
        fault_injection::trigger(width, height);
        let result = self.ready()?.classify(rgba, width, height, top_k, &PerformanceClock).map_err(js_error)?;
        to_js(&result)
    }

    /// Raw network outputs (all classes, background included) for RGBA pixels.
    pub fn outputs(&self, rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>, JsError> {
        self.ready()?.outputs(rgba, width, height).map_err(js_error)
    }

    /// Raw network outputs for RGBA pixels already cropped and sized for the network
    /// (reference checks feed the exact crop another engine saw).
    pub fn outputs_for_prepared(&self, rgba: &[u8], width: u32, height: u32) -> Result<Vec<f32>, JsError> {
        self.ready()?.outputs_for_prepared(rgba, width, height).map_err(js_error)
    }

    /// The validated manifest, as a plain object.
    #[wasm_bindgen(getter)]
    pub fn manifest(&self) -> Result<JsValue, JsError> {
        to_js(&self.inner.bundle.manifest)
    }
}
