//! Bundles of format `nnef` (`nnef-bundle`, built by `make model` and `make pnasnet`): each is
//! exactly the conversion of its ONNX bundle, and classifies like onnxruntime on that ONNX.

mod common;

use common::*;
use image_classifier::network::{Network, TRACT_VERSION};
use image_classifier::{Bundle, NetworkBytes};

/// The NNEF bundle and the ONNX bundle it says it was converted from (`<id>-nnef` of `<id>`).
fn pair(model: &str, how_to_build: &str) -> (image_classifier::Classifier, Bundle, Vec<u8>) {
    let nnef = load(&root().join("models").join(format!("{model}-nnef")), how_to_build);
    let (onnx_bundle, onnx) = Bundle::read_dir(&root().join("models").join(model)).unwrap();
    let onnx = onnx_bundle.verify_network(onnx).unwrap();
    (nnef, onnx_bundle, onnx)
}

/// Converting again gives the same bytes (the conversion is deterministic and the bundle is
/// up to date), and the manifest names the source network.
fn check_conversion(nnef: &image_classifier::Classifier, onnx_bundle: &Bundle, onnx: Vec<u8>) {
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
