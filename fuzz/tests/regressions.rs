//! Replays every input that once made a fuzz target fail (fuzz/regressions/<target>/), and the
//! seed corpus, through the same code the target runs. Stable Rust, no instrumentation.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut count = 0;
    for dir in [root.join("regressions").join(target), root.join("seeds").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            run(&std::fs::read(&path).unwrap());
            count += 1;
        }
    }
    assert!(count > 0, "no inputs for {target}");
}

#[test]
fn manifest_inputs() {
    replay("manifest", image_classifier_fuzz::manifest);
}

#[test]
fn preprocess_inputs() {
    replay("preprocess", image_classifier_fuzz::preprocess);
}

#[test]
fn decode_inputs() {
    replay("decode", image_classifier_fuzz::decode);
}
