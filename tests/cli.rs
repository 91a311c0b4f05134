//! The `classify` binary, run as a user would.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::root;
use serde_json::Value;

fn classify(args: &[&str]) -> (i32, Vec<Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_classify"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("run classify");
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (out.status.code().unwrap(), lines, String::from_utf8(out.stderr).unwrap())
}

#[test]
fn json_top5_per_photo() {
    let (code, lines, _) = classify(&["--json", "tests/photos/dog.jpg", "tests/photos/eagle.jpg"]);
    assert_eq!(code, 0);
    assert_eq!(lines.len(), 2);
    let dog = &lines[0];
    assert_eq!(dog["file"], "tests/photos/dog.jpg");
    let top = dog["top"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    assert_eq!(top[0]["index"], 249);
    assert_eq!(top[0]["label"], "Alaskan Malamute");
    let scores: Vec<f64> = top.iter().map(|p| p["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "sorted: {scores:?}");
    assert!(dog["ms"].as_f64().unwrap() > 0.0);
}

#[test]
fn bad_files_fail_alone_and_set_the_exit_code() {
    let dir = std::env::temp_dir().join(format!("classify-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.jpg");
    std::fs::write(&text, "this is not a photo").unwrap();
    let empty = dir.join("empty.png");
    std::fs::write(&empty, "").unwrap();
    let jpeg = std::fs::read(root().join("tests/photos/dog.jpg")).unwrap();
    let truncated = dir.join("truncated.jpg");
    std::fs::write(&truncated, &jpeg[..jpeg.len() / 3]).unwrap();
    let (code, lines, stderr) = classify(&[
        "--json",
        text.to_str().unwrap(),
        "tests/photos/dog.jpg",
        empty.to_str().unwrap(),
        "missing.jpg",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(lines.len(), 4);
    assert!(lines[0]["error"].as_str().unwrap().contains("not a supported image format"), "{}", lines[0]);
    assert_eq!(lines[1]["top"][0]["index"], 249, "the good photo still classifies");
    assert!(lines[2]["error"].as_str().unwrap().contains("the file is empty"), "{}", lines[2]);
    assert!(lines[3]["error"].as_str().unwrap().contains("cannot read"), "{}", lines[3]);
    assert_eq!(stderr.lines().count(), 3, "one message per bad file: {stderr}");
    // A truncated JPEG either decodes partially (grey bottom) or fails; it never crashes.
    let (code, lines, _) = classify(&["--json", truncated.to_str().unwrap()]);
    assert!(code == 0 || code == 1);
    assert_eq!(lines.len(), 1);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn table_output_and_top_option() {
    let out = Command::new(env!("CARGO_BIN_EXE_classify"))
        .current_dir(root())
        .args(["--top", "3", "tests/photos/dog.jpg"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    assert_eq!(text.lines().count(), 4, "{text}");
    assert!(text.lines().nth(1).unwrap().contains("249  Alaskan Malamute"), "{text}");
}

#[test]
fn a_broken_model_is_a_clear_error() {
    let (code, _, stderr) = classify(&["--model", "tests/photos", "tests/photos/dog.jpg"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("model.json"), "{stderr}");
}

/// target/<name>/ and its cases.json, written by tools/<name with _>.py (`make <name>`).
fn generated_cases(name: &str) -> (PathBuf, Vec<Value>) {
    let dir = root().join("target").join(name);
    let text = std::fs::read_to_string(dir.join("cases.json"))
        .unwrap_or_else(|e| panic!("{}/cases.json: {e} (generate it first: make {name})", dir.display()));
    (dir, serde_json::from_str(&text).unwrap())
}

/// Every awkward or broken file from tools/bad_images.py (`make bad-images`), then a good photo,
/// in one run: valid files classify, the others get one readable message each, the good photo
/// still classifies. Writes the outcome table to target/bad-images/cli-table.md.
#[test]
fn awkward_and_broken_files() {
    let (dir, cases) = generated_cases("bad-images");
    let mut args: Vec<String> = vec!["--json".into()];
    args.extend(cases.iter().map(|c| dir.join(c["file"].as_str().unwrap()).display().to_string()));
    args.push("tests/photos/dog.jpg".into());
    let (code, lines, stderr) = classify(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(lines.len(), cases.len() + 1, "one line per file: {stderr}");
    let mut table = String::from("| file | CLI |\n|---|---|\n");
    let mut errors = 0;
    for (case, line) in cases.iter().zip(&lines) {
        let what = case["what"].as_str().unwrap();
        let outcome = match (&line["top"], &line["error"]) {
            (Value::Array(top), _) => {
                assert_eq!(top.len(), 5, "{what}: {line}");
                assert_ne!(case["valid"], Value::Bool(false), "{what} must be refused: {line}");
                format!("classified (top-1 {})", top[0]["label"].as_str().unwrap())
            }
            (_, Value::String(message)) => {
                assert_ne!(case["valid"], Value::Bool(true), "{what} must classify: {message}");
                assert!(message.starts_with("cannot use this image: "), "{what}: {message}");
                errors += 1;
                format!("error: {}", message.trim_start_matches("cannot use this image: "))
            }
            _ => panic!("{what}: neither a result nor an error: {line}"),
        };
        table += &format!("| {what} | {outcome} |\n");
    }
    assert_eq!(lines.last().unwrap()["top"][0]["index"], 249, "the good photo after them still classifies");
    assert_eq!(code, 1, "some files were refused");
    assert_eq!(stderr.lines().count(), errors, "one message per refused file: {stderr}");
    std::fs::write(dir.join("cli-table.md"), table).unwrap();
}

/// `profile-ops` (the profiling tool behind `make profile`) times every operator of the plan.
#[test]
fn profile_ops_accounts_for_the_whole_run() {
    let out = Command::new(env!("CARGO_BIN_EXE_profile-ops"))
        .current_dir(root())
        .args(["--runs", "1"])
        .output()
        .expect("run profile-ops");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    let shares: Vec<f64> = text
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().nth(2).unwrap().trim_end_matches('%').parse().unwrap())
        .collect();
    assert!(text.contains("PaddedDepthwise") && text.contains("OptMatMul"), "{text}");
    assert!((shares.iter().sum::<f64>() - 100.0).abs() < 1.0, "{text}");
}

/// Every broken bundle from tools/bad_models.py (`make bad-models`): the CLI exits with 2 and a
/// message that names the problem, without classifying anything.
#[test]
fn broken_model_bundles() {
    let (dir, cases) = generated_cases("bad-models");
    let mut table = String::from("| bundle | CLI |\n|---|---|\n");
    for case in &cases {
        let bundle = dir.join(case["bundle"].as_str().unwrap());
        let (code, lines, stderr) = classify(&["--model", bundle.to_str().unwrap(), "tests/photos/dog.jpg"]);
        let (what, expect) = (case["what"].as_str().unwrap(), case["expect"].as_str().unwrap());
        assert_eq!(code, 2, "{what}: {stderr}");
        assert!(lines.is_empty(), "{what}: nothing is classified");
        assert!(stderr.contains(expect), "{what}: the message should mention {expect:?}: {stderr}");
        let message = stderr.trim().split_once(": ").map(|(_, m)| m).unwrap_or(&stderr);
        let message = message.split_once(": ").map(|(_, m)| m).unwrap_or(message);
        table += &format!("| {what} | {} |\n", message.replace('|', "/"));
    }
    std::fs::write(dir.join("cli-table.md"), table).unwrap();
}
