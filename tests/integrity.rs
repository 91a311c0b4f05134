//! Network bytes checked against the manifest's sha256, before loading (`Classifier::new`) or
//! after (`Classifier::new_unverified`, what the browser does while its hashing worker hashes).

mod common;

use common::*;
use image_classifier::error::Error;
use image_classifier::topk::{class_probabilities, top_k};
use image_classifier::{Bundle, Classifier, NetworkBytes, NetworkContents};

fn default_bundle() -> (Bundle, Vec<u8>) {
    let (bundle, network) = Bundle::read_dir(&root().join(MODEL)).expect("build the bundle first: make model");
    (bundle, network.into_contents().into_bytes().unwrap())
}

fn top1(classifier: &Classifier) -> usize {
    let (rgba, w, h) = decode_rgba(&root().join("tests/photos/dog.jpg"));
    let outputs = classifier.outputs(&rgba, w, h).unwrap();
    let probs = class_probabilities(&outputs, &classifier.bundle.manifest.output);
    top_k(&probs, &classifier.bundle.labels, 1)[0].index
}

#[test]
fn unverified_classifier_is_usable_only_with_the_manifests_digest() {
    let (bundle, bytes) = default_bundle();
    let (_, actual) = NetworkBytes::from_vec(bytes.clone()).finish();
    assert_eq!(actual, bundle.manifest.network.sha256);

    let wrong = "0".repeat(64);
    match Classifier::new_unverified(bundle.clone(), NetworkContents::Bytes(bytes.clone())).unwrap().verify(wrong.clone()) {
        Err(Error::Integrity { expected, actual }) => {
            assert_eq!(expected, bundle.manifest.network.sha256);
            assert_eq!(actual, wrong);
        }
        Err(e) => panic!("expected an integrity error, got {e}"),
        Ok(_) => panic!("a wrong digest was accepted"),
    }
    let classifier = Classifier::new_unverified(bundle, NetworkContents::Bytes(bytes)).unwrap().verify(actual).unwrap();
    assert_eq!(top1(&classifier), 249);
}

#[test]
fn changed_bytes_are_refused_before_loading() {
    let (bundle, mut bytes) = default_bundle();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    match Classifier::new(bundle, NetworkBytes::from_vec(bytes)) {
        Err(Error::Integrity { .. }) => {}
        Err(e) => panic!("expected an integrity error, got {e}"),
        Ok(_) => panic!("changed bytes were accepted"),
    }
}

#[test]
fn unhashed_bytes_never_pass_the_check_before_loading() {
    let (bundle, bytes) = default_bundle();
    let mut unhashed = NetworkBytes::unhashed_with_capacity(bytes.len());
    unhashed.push(&bytes);
    assert!(matches!(Classifier::new(bundle, unhashed), Err(Error::Integrity { .. })));
}
