//! The Rust core against the independent Python reference (tools/reference.py): numpy
//! preprocessing and onnxruntime on the same ONNX file, committed in tests/reference/.

mod common;

use common::*;
use image_classifier::preprocess::crop_resize;
use image_classifier::topk::{class_probabilities, top_k};

#[test]
fn reference_matches_the_bundle() {
    let classifier = load_default();
    let (_, reference) = reference("efficientnet-lite0");
    assert_eq!(
        reference["network_sha256"].as_str().unwrap(),
        classifier.bundle.manifest.network.sha256,
        "the committed reference was made for another network: run make reference"
    );
}

/// Same input tensor (the reference's crop) in tract and onnxruntime: outputs within 1e-3.
#[test]
fn tract_matches_onnxruntime_on_every_photo() {
    let classifier = load_default();
    let worst = tract_vs_reference(&classifier, &root().join("tests/reference/efficientnet-lite0"), 1e-3);
    eprintln!("max |tract - onnxruntime| over all photos: {worst:.2e}");
}

/// Every photo, decoded as the CLI decodes it (libjpeg-turbo for JPEG, as Pillow does), then
/// cropped and resized: the crops agree with the numpy reference to one level of 255.
#[test]
fn preprocessing_matches_the_numpy_reference() {
    let classifier = load_default();
    let (dir, reference) = reference("efficientnet-lite0");
    let spec = &classifier.bundle.manifest.input;
    for name in reference["photos"].as_object().unwrap().keys() {
        let (rgba, w, h) = decode_rgba(&root().join("tests/photos").join(name));
        let ours = crop_resize(&rgba, w, h, spec).unwrap();
        let theirs = decode_rgb(&dir.join(format!("{}.png", name.rsplit_once('.').unwrap().0)));
        assert_eq!(ours.len(), theirs.len());
        let diffs: Vec<i32> = ours.iter().zip(&theirs).map(|(a, b)| (*a as i32 - *b as i32).abs()).collect();
        let max = *diffs.iter().max().unwrap();
        let off = diffs.iter().filter(|d| **d > 0).count() as f64 / diffs.len() as f64;
        eprintln!("{name}: crop vs numpy reference: max diff {max}, {:.2}% of values differ", off * 100.0);
        assert!(max <= 1, "{name}: max pixel difference {max}");
        assert!(off < 0.05, "{name}: {:.1}% of values differ", off * 100.0);
    }
}

/// Whole pipeline from the photo file (our JPEG decoder, our resize, tract) against the reference.
#[test]
fn end_to_end_top5_agrees_with_reference() {
    let classifier = load_default();
    let (_, reference) = reference("efficientnet-lite0");
    let mut worst = 0f64;
    for (name, expected) in reference["photos"].as_object().unwrap() {
        let (rgba, w, h) = decode_rgba(&root().join("tests/photos").join(name));
        let outputs = classifier.outputs(&rgba, w, h).unwrap();
        let probs = class_probabilities(&outputs, &classifier.bundle.manifest.output);
        let ours = top_k(&probs, &classifier.bundle.labels, 5);
        let theirs: Vec<(u64, f64)> = expected["top5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["index"].as_u64().unwrap(), p["score"].as_f64().unwrap()))
            .collect();
        assert_eq!(ours[0].index as u64, theirs[0].0, "{name}: top-1 differs");
        let overlap = ours.iter().filter(|p| theirs.iter().any(|t| t.0 == p.index as u64)).count();
        assert!(overlap >= 4, "{name}: top-5 overlap {overlap}/5");
        // Same decoder (libjpeg-turbo) on both sides; only 8-bit resampling rounding differs.
        let d = (ours[0].score as f64 - theirs[0].1).abs();
        assert!(d < 0.01, "{name}: top-1 probability {} vs {}", ours[0].score, theirs[0].1);
        worst = worst.max(d);
    }
    eprintln!("end to end: max top-1 probability difference {worst:.4}");
}

#[test]
fn dog_is_an_alaskan_malamute() {
    let classifier = load_default();
    let (rgba, w, h) = decode_rgba(&root().join("tests/photos/dog.jpg"));
    let outputs = classifier.outputs(&rgba, w, h).unwrap();
    let probs = class_probabilities(&outputs, &classifier.bundle.manifest.output);
    let top = top_k(&probs, &classifier.bundle.labels, 1);
    assert_eq!((top[0].index, top[0].label.as_str()), (249, "Alaskan Malamute"));
    assert!(top[0].score > 0.5, "{}", top[0].score);
}
