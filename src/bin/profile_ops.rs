//! Where the time goes: runs a bundle's optimised network natively on a photo and prints the
//! time per operator type (`make profile`; the browser runs the same plan in wasm, so the
//! ranking, not the milliseconds, is what carries over).
//!
//!   profile-ops [--model DIR] [--runs N] [PHOTO]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use image_classifier::decode::decode_file;
use image_classifier::preprocess::preprocess;
use image_classifier::{Bundle, Classifier};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::plan::{eval, SimpleState};

#[derive(Parser)]
#[command(about = "Time per operator type of a bundle's optimised network")]
struct Args {
    #[arg(long, default_value = "models/efficientnet-lite0")]
    model: PathBuf,
    /// Timed runs after one warm-up run
    #[arg(long, default_value_t = 5)]
    runs: usize,
    #[arg(default_value = "tests/photos/dog.jpg")]
    photo: PathBuf,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("profile-ops: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let (bundle, network) = Bundle::read_dir(&args.model)?;
    let classifier = Classifier::new(bundle, network)?;
    let (manifest, network) = (&classifier.bundle.manifest, classifier.network());
    let photo = decode_file(&args.photo)?;
    let input = preprocess(&photo.pixels, photo.width, photo.height, &manifest.input)?;
    let tensor = Tensor::from_shape(&network.input_shape(), &input)?;

    let mut state = SimpleState::new(network.plan())?;
    let mut per_op: HashMap<String, (f64, usize)> = HashMap::new();
    let mut totals = vec![];
    for run in 0..=args.runs {
        let start = Instant::now();
        state.run_plan_with_eval(tvec!(tensor.clone().into_tvalue()), |ctx, op_state, node, inputs| {
            let t = Instant::now();
            let outputs = eval(ctx, op_state, node, inputs);
            if run > 0 {
                let entry = per_op.entry(node.op().name().to_string()).or_default();
                entry.0 += t.elapsed().as_secs_f64() * 1e3;
                entry.1 += 1;
            }
            outputs
        })?;
        if run > 0 {
            totals.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    totals.sort_by(f64::total_cmp);
    let runs = args.runs as f64;
    let sum: f64 = per_op.values().map(|(ms, _)| ms).sum();
    let mut rows: Vec<_> = per_op.into_iter().collect();
    rows.sort_by(|a, b| b.1 .0.total_cmp(&a.1 .0));
    println!("{} on {}: median {:.1} ms per run over {} runs", manifest.name, args.photo.display(), totals[totals.len() / 2], args.runs);
    println!("{:<28} {:>10} {:>7} {:>6}", "operator", "ms/run", "share", "nodes");
    for (op, (ms, count)) in rows {
        println!("{op:<28} {:>10.2} {:>6.1}% {:>6}", ms / runs, ms / sum * 100.0, count / args.runs);
    }
    Ok(())
}
