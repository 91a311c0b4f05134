//! What each fuzz target does with its input. Shared by the targets (`fuzz_targets/`) and the
//! regression tests (`tests/regressions.rs`), so a saved crashing input replays exactly.
//! Every function must return normally for any input: an error value is fine, a panic, an
//! abort or a runaway allocation is a bug.

use arbitrary::{Arbitrary, Unstructured};
use image_classifier::manifest::Manifest;
use image_classifier::preprocess::preprocess as preprocess_pixels;
use image_classifier::Bundle;

/// A real manifest, the starting point for generated input specs.
const DEFAULT_MANIFEST: &str = include_str!("../../models/efficientnet-lite0/model.json");

/// `model.json` text, a 0 byte, then the labels file's text (both as the browser would get them).
pub fn manifest(data: &[u8]) {
    let (manifest, labels) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b"[]"[..]),
    };
    let (Ok(manifest), Ok(labels)) = (std::str::from_utf8(manifest), std::str::from_utf8(labels)) else {
        return;
    };
    if let Ok(bundle) = Bundle::from_json(manifest, labels) {
        // Whatever a manifest accepts must be usable: preprocess a small photo with it.
        let side = 5;
        let pixels = vec![128u8; side * side * 4];
        let _ = preprocess_pixels(&pixels, side as u32, side as u32, &bundle.manifest.input);
        let _ = bundle.manifest.label_count();
    }
}

#[derive(Arbitrary, Debug)]
struct PreprocessCase {
    width: u32,
    height: u32,
    /// true: the buffer is made exactly width x height x 4 bytes (sides up to 1024) so the
    /// resampler runs; false: dimensions and buffer as given (the checks must refuse them).
    exact_buffer: bool,
    input_width: u16,
    input_height: u16,
    filter: u8,
    crop_fraction: f64,
    antialias: bool,
    nhwc: bool,
    bgr: bool,
    range: Option<(f32, f32)>,
    pixels: Vec<u8>,
}

/// Arbitrary photo dimensions and pixel buffers through an arbitrary (valid) input spec.
pub fn preprocess(data: &[u8]) {
    let Ok(case) = PreprocessCase::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut manifest: serde_json::Value = serde_json::from_str(DEFAULT_MANIFEST).unwrap();
    let input = &mut manifest["input"];
    // Sides up to 512: larger specs only make runs slower, not different.
    input["width"] = (1 + case.input_width % 512).into();
    input["height"] = (1 + case.input_height % 512).into();
    input["layout"] = if case.nhwc { "NHWC" } else { "NCHW" }.into();
    input["channel_order"] = if case.bgr { "BGR" } else { "RGB" }.into();
    input["resize"]["filter"] = ["nearest", "bilinear", "bicubic", "lanczos3"][case.filter as usize % 4].into();
    input["resize"]["crop_fraction"] = serde_json::json!(case.crop_fraction);
    input["resize"]["antialias"] = case.antialias.into();
    if let Some((lo, hi)) = case.range {
        input["normalize"] = serde_json::json!({ "range": [lo, hi] });
    }
    // Non-finite numbers become null in JSON and are refused; out-of-range ones by validation.
    let Ok(manifest) = Manifest::from_json(&manifest.to_string()) else {
        return;
    };
    let (width, height, pixels) = if case.exact_buffer {
        let (w, h) = (1 + case.width % 1024, 1 + case.height % 1024);
        let len = (w * h * 4) as usize;
        let pixels = if case.pixels.is_empty() {
            vec![0; len]
        } else {
            case.pixels.iter().copied().cycle().take(len).collect()
        };
        (w, h, pixels)
    } else {
        (case.width, case.height, case.pixels)
    };
    if let Ok(tensor) = preprocess_pixels(&pixels, width, height, &manifest.input) {
        let spec = &manifest.input;
        assert_eq!(tensor.len(), (spec.width * spec.height * 3) as usize);
        assert!(tensor.iter().all(|v| v.is_finite()), "non-finite input value");
    }
}

/// Arbitrary bytes as an image file, as the CLI reads one.
pub fn decode(data: &[u8]) {
    if let Ok(image) = image_classifier::decode::decode(data) {
        assert_eq!(image.pixels.len(), image.width as usize * image.height as usize * 4);
    }
}
