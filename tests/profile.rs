//! The per-operator profile (`Classifier::profile`, also the browser's `Classifier.profile`) and
//! the matrix-product kernels a plan names, on the default bundle.

mod common;

use image_classifier::Clock;

struct Millis(std::time::Instant);

impl Clock for Millis {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }
}

#[test]
fn the_profile_accounts_for_every_operator_of_a_run() {
    let classifier = common::load_default();
    let (rgba, width, height) = common::decode_rgba(&common::root().join("tests/photos/dog.jpg"));
    let profile = classifier.profile(&rgba, width, height, 3, &Millis(std::time::Instant::now())).unwrap();
    assert_eq!(profile.runs, 3);
    let names: Vec<&str> = profile.ops.iter().map(|o| o.op.as_str()).collect();
    for op in ["OptMatMul", "PaddedDepthwise"] {
        assert!(names.contains(&op), "no {op} in {names:?}");
    }
    // Slowest first; the plan's 34 matrix products (the default bundle's convolutions and classifier).
    assert!(profile.ops.windows(2).all(|w| w[0].ms_per_run >= w[1].ms_per_run));
    assert_eq!(profile.ops.iter().find(|o| o.op == "OptMatMul").unwrap().nodes, 34);
    // The operators' times are parts of the runs' times.
    let per_run: f64 = profile.ops.iter().map(|o| o.ms_per_run).sum();
    assert!(per_run > 0.0 && per_run <= profile.median_run_ms * 1.5, "{per_run} ms of ops in {} ms runs", profile.median_run_ms);
    // Every node timed once, slowest first, named (a packed operand's shape is empty: a scalar of
    // packed storage); the types are their sums.
    assert_eq!(profile.nodes.len(), profile.ops.iter().map(|o| o.nodes).sum::<usize>());
    assert!(profile.nodes.windows(2).all(|w| w[0].ms_per_run >= w[1].ms_per_run));
    assert!(profile.nodes.iter().all(|n| !n.node.is_empty()));
    let matmuls: f64 = profile.nodes.iter().filter(|n| n.op == "OptMatMul").map(|n| n.ms_per_run).sum();
    let matmul_type = profile.ops.iter().find(|o| o.op == "OptMatMul").unwrap().ms_per_run;
    assert!((matmuls - matmul_type).abs() <= 1e-9 * matmul_type.max(1.0), "{matmuls} against {matmul_type}");
}

#[test]
fn the_plan_names_its_matrix_product_kernels() {
    let classifier = common::load_default();
    let kernels = classifier.network().matmul_kernels();
    let products: usize = kernels.values().sum();
    assert!(!kernels.is_empty() && products >= 34, "{kernels:?}");
}
