//! Bundles of format `nnef` (`nnef-bundle`, built by `make model` and `make pnasnet`): each is
//! exactly the conversion of its ONNX bundle, and classifies like onnxruntime on that ONNX.

mod common;

use common::*;
use image_classifier::network::{Network, TRACT_VERSION};
use image_classifier::{Bundle, NetworkBytes, NetworkContents};

/// The NNEF bundle and the ONNX bundle it says it was converted from (`<id>-nnef` of `<id>`).
fn pair(model: &str, how_to_build: &str) -> (image_classifier::Classifier, Bundle, NetworkContents) {
    let nnef = load(&root().join("models").join(format!("{model}-nnef")), how_to_build);
    let (onnx_bundle, onnx) = Bundle::read_dir(&root().join("models").join(model)).unwrap();
    let onnx = onnx_bundle.verify_network(onnx).unwrap();
    (nnef, onnx_bundle, onnx)
}

/// Converting again gives the same bytes (the conversion is deterministic and the bundle is
/// up to date), and the manifest names the source network.
fn check_conversion(nnef: &image_classifier::Classifier, onnx_bundle: &Bundle, onnx: NetworkContents) {
    let converted = Network::onnx_to_nnef(onnx, &onnx_bundle.manifest).unwrap();
    let (_, sha256) = NetworkBytes::from_vec(converted).finish();
    assert_eq!(nnef.bundle.manifest.network.sha256, sha256, "the NNEF bundle is out of date (make model pnasnet)");
    assert!(nnef.bundle.manifest.source.contains(&onnx_bundle.manifest.network.sha256));
    assert_eq!(nnef.bundle.manifest.input, onnx_bundle.manifest.input);
    assert_eq!(nnef.bundle.manifest.output, onnx_bundle.manifest.output);
    assert_eq!(nnef.bundle.labels, onnx_bundle.labels);
}

/// The NNEF bundle of `model` is its conversion and matches onnxruntime on the source ONNX.
fn check(model: &str, reference_dir: &str, how_to_build: &str) {
    let (nnef, onnx_bundle, onnx) = pair(model, how_to_build);
    let onnx_sha256 = onnx_bundle.manifest.network.sha256.clone();
    check_conversion(&nnef, &onnx_bundle, onnx);
    let worst = tract_vs_reference_of(&nnef, &root().join(reference_dir), &onnx_sha256, 1e-3);
    eprintln!("{model} NNEF: max |tract - onnxruntime| = {worst:.2e}");
}

#[test]
fn efficientnet_nnef_is_its_onnx_converted_and_matches_onnxruntime() {
    check("efficientnet-lite0", "tests/reference/efficientnet-lite0", "make model");
}

#[test]
fn pnasnet_nnef_is_its_onnx_converted_and_matches_onnxruntime() {
    check("pnasnet5large-random", "target/reference/pnasnet5large-random", "make pnasnet");
}

/// Converted bundles name the tract release in their `source`: the one Cargo.lock pins.
#[test]
fn tract_version_is_the_locked_one() {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).unwrap();
    let locked = lock.split("name = \"tract-core\"\nversion = \"").nth(1).and_then(|rest| rest.split('"').next());
    assert_eq!(locked, Some(TRACT_VERSION));
}

/// Streamed in chunks (what the browser does), an NNEF bundle is decoded on the way in and gives
/// the same outputs as when read whole.
#[test]
fn streamed_nnef_classifies_like_the_whole_file() {
    let dir = root().join("models/efficientnet-lite0-nnef");
    let whole = load(&dir, "make model");
    let (bundle, network) = Bundle::read_dir(&dir).unwrap();
    let bytes = bundle.verify_network(network).unwrap().into_bytes().unwrap();
    let mut streamed = NetworkBytes::with_capacity(bytes.len());
    for chunk in bytes.chunks(65_521) {
        streamed.push(chunk);
    }
    let sha256 = streamed.sha256_hex();
    let contents = streamed.into_contents();
    assert!(matches!(contents, NetworkContents::Nnef(_)), "a tar is decoded as it streams");
    let streamed = image_classifier::Classifier::new_unverified(bundle, contents).unwrap().verify(sha256).unwrap();
    let (rgba, w, h) = decode_rgba(&root().join("tests/photos/dog.jpg"));
    assert_eq!(streamed.outputs(&rgba, w, h).unwrap(), whole.outputs(&rgba, w, h).unwrap());
}
