//! Where the time goes: runs a bundle's optimised network natively on a photo and prints the
//! time per operator type (`make profile`; `bench/profile.mjs` reads the same split in the
//! browser, where tract runs compiled to wasm).
//!
//!   profile-ops [--model DIR] [--runs N] [--nodes N] [PHOTO]

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use image_classifier::decode::decode_file;
use image_classifier::{Bundle, Classifier, Clock};

#[derive(Parser)]
#[command(about = "Time per operator type of a bundle's optimised network")]
struct Args {
    #[arg(long, default_value = "models/efficientnet-lite0")]
    model: PathBuf,
    /// Timed runs after one warm-up run
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also list the N slowest nodes
    #[arg(long, default_value_t = 0)]
    nodes: usize,
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
    let photo = decode_file(&args.photo)?;
    let profile = classifier.profile(&photo.pixels, photo.width, photo.height, args.runs, &InstantClock(Instant::now()))?;
    let sum: f64 = profile.ops.iter().map(|o| o.ms_per_run).sum();
    println!(
        "{} on {}: median {:.1} ms per run over {} runs",
        classifier.bundle.manifest.name,
        args.photo.display(),
        profile.median_run_ms,
        profile.runs
    );
    println!("{:<28} {:>10} {:>7} {:>6}", "operator", "ms/run", "share", "nodes");
    for o in &profile.ops {
        println!("{:<28} {:>10.2} {:>6.1}% {:>6}", o.op, o.ms_per_run, o.ms_per_run / sum * 100.0, o.nodes);
    }
    if args.nodes > 0 {
        println!("\n{:<28} {:>10}  {:<20} node", "operator", "ms/run", "output");
        for n in profile.nodes.iter().take(args.nodes) {
            println!("{:<28} {:>10.3}  {:<20} {}", n.op, n.ms_per_run, n.shape, n.node);
        }
    }
    Ok(())
}

struct InstantClock(Instant);

impl Clock for InstantClock {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1e3
    }
}
