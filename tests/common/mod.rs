//! Shared helpers for the integration tests: the default bundle and the committed reference.
// Each test crate compiles this module and uses a part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use image_classifier::{Bundle, Classifier};
use serde_json::Value;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub const MODEL: &str = "models/efficientnet-lite0";

pub fn load_default() -> Classifier {
    load(&root().join(MODEL), "make model")
}

pub fn load(dir: &Path, how_to_build: &str) -> Classifier {
    let (bundle, network) = Bundle::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e} (build the bundle first: {how_to_build})"));
    Classifier::new(bundle, network).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}

pub fn reference(model_id: &str) -> (PathBuf, Value) {
    reference_in(&root().join("tests/reference").join(model_id))
}

pub fn reference_in(dir: &Path) -> (PathBuf, Value) {
    let text = std::fs::read_to_string(dir.join("reference.json"))
        .unwrap_or_else(|e| panic!("{}/reference.json: {e}", dir.display()));
    (dir.to_path_buf(), serde_json::from_str(&text).unwrap())
}

/// Feed tract the reference's own crops; returns the largest |tract - onnxruntime| over all
/// photos, after checking each is within `bound` and the reference logits are O(1) or more.
pub fn tract_vs_reference(classifier: &Classifier, reference_dir: &Path, bound: f32) -> f32 {
    tract_vs_reference_of(classifier, reference_dir, &classifier.bundle.manifest.network.sha256, bound)
}

/// The same, for a classifier whose network was converted from the ONNX file with `onnx_sha256`
/// (the one onnxruntime ran).
pub fn tract_vs_reference_of(classifier: &Classifier, reference_dir: &Path, onnx_sha256: &str, bound: f32) -> f32 {
    let (dir, reference) = reference_in(reference_dir);
    assert_eq!(
        reference["network_sha256"].as_str().unwrap(),
        onnx_sha256,
        "{}: the reference was made for another network (regenerate it)",
        dir.display()
    );
    let mut worst = 0f32;
    for (name, expected) in reference["photos"].as_object().unwrap() {
        let stem = name.rsplit_once('.').unwrap().0;
        let (crop, w, h) = decode_rgba(&dir.join(format!("{stem}.png")));
        let outputs = classifier.outputs_for_prepared(&crop, w, h).unwrap();
        let expected = floats(&expected["outputs"]);
        let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(scale > 1.0, "{name}: reference logits are O(1) or more, so {bound} is a real bound");
        let diff = max_abs_diff(&outputs, &expected);
        assert!(diff <= bound, "{name}: max |tract - onnxruntime| = {diff}");
        worst = worst.max(diff);
    }
    worst
}

/// Decoded as the CLI decodes (libjpeg-turbo for JPEG).
pub fn decode_rgba(path: &Path) -> (Vec<u8>, u32, u32) {
    let photo = image_classifier::decode::decode_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (photo.pixels, photo.width, photo.height)
}

pub fn decode_rgb(path: &Path) -> Vec<u8> {
    image::open(path).unwrap().into_rgb8().into_raw()
}

pub fn floats(v: &Value) -> Vec<f32> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap() as f32).collect()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}
