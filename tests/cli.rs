//! The `classify` binary, run as a user would.

mod common;

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
