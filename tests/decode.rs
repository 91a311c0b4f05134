//! Photo decoding as the CLI does it: content-sniffed format, EXIF orientation applied.

mod common;

use common::root;
use image_classifier::decode::decode_file;

#[test]
fn exif_orientation_is_applied() {
    let upright = decode_file(&root().join("tests/photos/dog.jpg")).unwrap();
    // Stored 576x768 (a quarter turn) with EXIF orientation 6: shown 768x576, like dog.jpg.
    let rotated = decode_file(&root().join("tests/photos/dog-exif-rotated.jpg")).unwrap();
    assert_eq!((upright.width, upright.height), (768, 576));
    assert_eq!((rotated.width, rotated.height), (768, 576));
    // Same picture up to JPEG re-encoding noise; a wrong rotation or mirror would differ wildly.
    let mean_diff = upright.pixels.iter().zip(&rotated.pixels).map(|(a, b)| (*a as f64 - *b as f64).abs()).sum::<f64>()
        / upright.pixels.len() as f64;
    assert!(mean_diff < 3.0, "mean pixel difference {mean_diff}");
}
