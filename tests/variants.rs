//! Smaller weight variants (f16, int8; tools/weight_variants.py, built by `make model` and
//! `make pnasnet`) against their fp32 bundle on every test photo: top-1 agreement, top-5
//! overlap, largest difference of probabilities and of logits. Writes the agreement report to
//! target/variants/agreement.{json,md}.
//!
//! The bar, on the real default model: a variant may disagree with fp32 on the top-1 class of at
//! most 1 photo, and its top-5 must share at least 4 of 5 classes with fp32's on average. Every
//! variant listed in models/index.json (the page offers them, smallest first) must meet it.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use image_classifier::topk::class_probabilities;
use image_classifier::Classifier;
use serde_json::{json, Value};

const MAX_TOP1_DISAGREEMENTS: usize = 1;
const MIN_MEAN_TOP5_OVERLAP: f64 = 4.0 / 5.0;
/// Size targets, as a fraction of the fp32 network file.
const MAX_SIZE: [(&str, f64); 2] = [("f16", 0.51), ("int8", 0.27)];

fn photos() -> Vec<PathBuf> {
    let mut photos: Vec<PathBuf> = std::fs::read_dir(root().join("tests/photos"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png")))
        .collect();
    photos.sort();
    photos
}

/// Raw outputs and class probabilities of every photo.
fn run(classifier: &Classifier, photos: &[PathBuf]) -> Vec<(Vec<f32>, Vec<f32>)> {
    photos
        .iter()
        .map(|photo| {
            let (rgba, w, h) = decode_rgba(photo);
            let outputs = classifier.outputs(&rgba, w, h).unwrap();
            let probabilities = class_probabilities(&outputs, &classifier.bundle.manifest.output);
            (outputs, probabilities)
        })
        .collect()
}

fn top(probabilities: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
    order.truncate(k);
    order
}

/// One variant against fp32 over all photos.
fn agreement(model: &str, weights: &str, dir: &Path, fp32: &[(Vec<f32>, Vec<f32>)], photos: &[PathBuf]) -> Value {
    let classifier = load(dir, "make model pnasnet");
    let manifest = &classifier.bundle.manifest;
    let stored = manifest.weights.as_ref().expect("a variant's manifest says how its weights are stored");
    assert_eq!(format!("{:?}", stored.storage).to_lowercase(), weights);
    let results = run(&classifier, photos);
    let (mut top1_agree, mut overlap_sum, mut max_prob, mut max_logit, mut logit_scale) = (0, 0, 0f32, 0f32, 0f32);
    let mut disagreements = vec![];
    for ((photo, (outputs, probs)), (ref_outputs, ref_probs)) in photos.iter().zip(&results).zip(fp32) {
        let (t, rt) = (top(probs, 5), top(ref_probs, 5));
        if t[0] == rt[0] {
            top1_agree += 1;
        } else {
            disagreements.push(photo.file_name().unwrap().to_string_lossy().into_owned());
        }
        overlap_sum += t.iter().filter(|i| rt.contains(i)).count();
        max_prob = max_prob.max(max_abs_diff(probs, ref_probs));
        max_logit = max_logit.max(max_abs_diff(outputs, ref_outputs));
        logit_scale = logit_scale.max(ref_outputs.iter().fold(0f32, |m, v| m.max(v.abs())));
    }
    json!({
        "model": model,
        "weights": weights,
        "bytes": manifest.network.bytes,
        "fp32_bytes": stored.fp32_bytes,
        "size_fraction": manifest.network.bytes as f64 / stored.fp32_bytes as f64,
        "photos": photos.len(),
        "top1_agree": top1_agree,
        "top1_disagreements": disagreements,
        "mean_top5_overlap": overlap_sum as f64 / 5.0 / photos.len() as f64,
        "max_abs_prob_diff": max_prob,
        "max_abs_logit_diff": max_logit,
        "max_abs_logit_fp32": logit_scale,
    })
}

fn meets_bar(row: &Value) -> bool {
    let disagreements = row["photos"].as_u64().unwrap() - row["top1_agree"].as_u64().unwrap();
    disagreements as usize <= MAX_TOP1_DISAGREEMENTS && row["mean_top5_overlap"].as_f64().unwrap() >= MIN_MEAN_TOP5_OVERLAP
}

fn markdown(rows: &[Value]) -> String {
    let mut md = String::from(
        "| model | weights | network MB | of fp32 | top-1 agrees | mean top-5 overlap | max abs prob diff | max abs logit diff (fp32 max abs logit) |\n|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        md += &format!(
            "| {} | {} | {:.1} | {:.1}% | {}/{} | {:.2} | {:.2e} | {:.2e} ({:.1}) |\n",
            r["model"].as_str().unwrap(),
            r["weights"].as_str().unwrap(),
            r["bytes"].as_f64().unwrap() / 1e6,
            100.0 * r["size_fraction"].as_f64().unwrap(),
            r["top1_agree"],
            r["photos"],
            r["mean_top5_overlap"].as_f64().unwrap(),
            r["max_abs_prob_diff"].as_f64().unwrap(),
            r["max_abs_logit_diff"].as_f64().unwrap(),
            r["max_abs_logit_fp32"].as_f64().unwrap(),
        );
    }
    md
}

#[test]
fn smaller_variants_agree_with_fp32() {
    let photos = photos();
    assert!(photos.len() >= 8, "the test photos");
    let mut rows = vec![];
    for model in ["efficientnet-lite0", "pnasnet5large-random"] {
        let fp32 = run(&load(&root().join("models").join(model), "make model pnasnet"), &photos);
        for weights in ["f16", "int8"] {
            let dir = root().join("models").join(format!("{model}-{weights}"));
            rows.push(agreement(model, weights, &dir, &fp32, &photos));
        }
    }
    let out = root().join("target/variants");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("agreement.json"), serde_json::to_string_pretty(&rows).unwrap()).unwrap();
    let md = markdown(&rows);
    std::fs::write(out.join("agreement.md"), &md).unwrap();
    eprintln!("{md}");

    for row in &rows {
        let weights = row["weights"].as_str().unwrap();
        let limit = MAX_SIZE.iter().find(|(w, _)| *w == weights).unwrap().1;
        let fraction = row["size_fraction"].as_f64().unwrap();
        assert!(fraction <= limit, "{} {weights}: {:.1}% of fp32 (target {:.0}%)", row["model"], 100.0 * fraction, 100.0 * limit);
    }
    // The real model: both variants meet the bar (the test is on int8).
    for row in rows.iter().filter(|r| r["model"] == "efficientnet-lite0") {
        assert!(meets_bar(row), "below the agreement bar: {row}");
    }
    // What the page offers: every listed variant was measured here and meets the bar.
    let index: Value = serde_json::from_str(&std::fs::read_to_string(root().join("models/index.json")).unwrap()).unwrap();
    for entry in index["models"].as_array().unwrap() {
        let weights = entry["weights"].as_str().unwrap_or("fp32");
        if weights == "fp32" {
            continue;
        }
        let row = rows
            .iter()
            .find(|r| r["model"] == entry["of"] && r["weights"] == weights)
            .unwrap_or_else(|| panic!("models/index.json lists {entry} but it was not measured"));
        assert!(meets_bar(row), "models/index.json lists {} below the agreement bar", entry["id"]);
        assert_eq!(entry["bytes"], row["bytes"], "models/index.json: size of {}", entry["id"]);
    }
}
