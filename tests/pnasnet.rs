//! PNASNet-5 large (architecture-exact, generated weights, 1001 outputs with background):
//! tract against onnxruntime, background handling, and the CLI. The bundle and its onnxruntime
//! reference are built by `make pnasnet` (they are too large and machine-made to commit).

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::*;
use image_classifier::topk::{class_probabilities, top_k};

fn bundle_dir() -> PathBuf {
    std::env::var_os("PNASNET_BUNDLE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("models/pnasnet5large-random"))
}

fn reference_dir() -> PathBuf {
    std::env::var_os("PNASNET_REFERENCE")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/reference/pnasnet5large-random"))
}

#[test]
fn pnasnet_in_tract_matches_onnxruntime_and_drops_background() {
    let classifier = load(&bundle_dir(), "make pnasnet");
    let manifest = &classifier.bundle.manifest;
    assert_eq!((manifest.input.width, manifest.input.height), (331, 331));
    assert_eq!((manifest.output.classes, manifest.output.label_offset), (1001, 1));

    let worst = tract_vs_reference(&classifier, &reference_dir(), 1e-3);
    eprintln!("PNASNet: max |tract - onnxruntime| over all photos: {worst:.2e}");

    let (_, reference) = reference_in(&reference_dir());
    let (rgba, w, h) = decode_rgba(&root().join("tests/photos/dog.jpg"));
    let outputs = classifier.outputs(&rgba, w, h).unwrap();
    assert_eq!(outputs.len(), 1001);
    let probs = class_probabilities(&outputs, &manifest.output);
    assert_eq!(probs.len(), 1000, "background removed");
    let top = top_k(&probs, &classifier.bundle.labels, 5);
    for p in &top {
        assert!(p.index < 1000);
        assert_eq!(p.label, classifier.bundle.labels[p.index]);
        // Output p.index + 1 of the network is ImageNet-1k class p.index.
        let softmax_all: f32 = outputs.iter().map(|o| (o - outputs[p.index + 1]).exp()).sum();
        assert!((p.score - 1.0 / softmax_all).abs() < 1e-6);
    }
    let expected: Vec<u64> = reference["photos"]["dog.jpg"]["top5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["index"].as_u64().unwrap())
        .collect();
    let overlap = top.iter().filter(|p| expected.contains(&(p.index as u64))).count();
    assert!(overlap >= 3, "top-5 {:?} vs reference {expected:?}", top.iter().map(|p| p.index).collect::<Vec<_>>());
}

#[test]
fn cli_classifies_with_pnasnet() {
    let out = Command::new(env!("CARGO_BIN_EXE_classify"))
        .current_dir(root())
        .args(["--json", "--model"])
        .arg(bundle_dir())
        .arg("tests/photos/eagle.jpg")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let top = line["top"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    assert!(top.iter().all(|p| p["index"].as_u64().unwrap() < 1000));
}
