//! The hashing worker's wasm module (pkg/hasher/, `make pkg-hasher`): the sha256 of a network's
//! chunks, computed on another core while the engine's worker only copies them into its memory.
//! Built without the engine, so it is a few tens of KB:
//!
//!   cargo build --release --lib --target wasm32-unknown-unknown --no-default-features --features hasher
//!   wasm-bindgen --target web --out-dir pkg/hasher --out-name hasher target/hasher/.../image_classifier.wasm

use wasm_bindgen::prelude::*;

use crate::network_bytes::StreamDigest;

/// `new Sha256Stream()`, `push(chunk)` for each chunk, `finish()` -> lowercase hex (starts over).
#[wasm_bindgen]
#[derive(Default)]
pub struct Sha256Stream(StreamDigest);

#[wasm_bindgen]
impl Sha256Stream {
    #[wasm_bindgen(constructor)]
    pub fn new() -> Sha256Stream {
        Sha256Stream::default()
    }

    pub fn push(&mut self, chunk: &[u8]) {
        self.0.push(chunk);
    }

    pub fn finish(&mut self) -> String {
        self.0.finish()
    }
}
