//! Shared helpers for the integration tests: the default bundle and the committed reference.

use std::path::{Path, PathBuf};

use image_classifier::{Bundle, Classifier};
use serde_json::Value;

pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub const MODEL: &str = "models/efficientnet-lite0";

pub fn load_default() -> Classifier {
    let dir = root().join(MODEL);
    let (bundle, network) = Bundle::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e} (build the bundle first: make model)"));
    Classifier::new(bundle, &network).expect("default bundle loads")
}

pub fn reference(model_id: &str) -> (PathBuf, Value) {
    let dir = root().join("tests/reference").join(model_id);
    let text = std::fs::read_to_string(dir.join("reference.json")).expect("reference.json");
    (dir, serde_json::from_str(&text).unwrap())
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
