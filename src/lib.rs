//! Classify photos with an ImageNet network, natively or in the browser.
//!
//! The core (manifest, bundle, preprocessing, network, top-k, classifier) is platform-neutral;
//! `wasm` is a thin wasm-bindgen layer compiled only for wasm32 (`wasm_hasher`: the hashing
//! worker's module, built alone), and `src/bin/classify.rs` is the
//! native CLI on the same core. The `engine` feature (default) brings the network (tract);
//! without it the crate is the parsing and preprocessing half, for the fuzz targets.

pub mod bundle;
#[cfg(feature = "engine")]
pub mod classifier;
#[cfg(not(target_arch = "wasm32"))]
pub mod decode;
pub mod error;
pub mod manifest;
#[cfg(feature = "engine")]
pub mod network;
#[cfg(feature = "engine")]
pub mod ops;
pub mod network_bytes;
#[cfg(feature = "engine")]
pub mod nnef_stream;
#[cfg(feature = "engine")]
pub mod onnx_stream;
pub mod preprocess;
#[cfg(feature = "engine")]
pub mod profile;
#[cfg(feature = "engine")]
pub mod stored_weights;
pub mod topk;

#[cfg(all(target_arch = "wasm32", feature = "engine"))]
mod wasm;
#[cfg(all(target_arch = "wasm32", feature = "hasher"))]
mod wasm_hasher;

pub use bundle::Bundle;
#[cfg(feature = "engine")]
pub use classifier::{Classification, Classifier, Clock, UnverifiedClassifier};
pub use error::{Error, Result};
pub use manifest::Manifest;
pub use network_bytes::{NetworkBytes, NetworkContents};
pub use topk::Prediction;
