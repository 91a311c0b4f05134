#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| image_classifier_fuzz::manifest(data));
