//! `classify`: the native command-line classifier, on the same core as the browser build.
//!
//!     classify [--model DIR] [--top K] [--json] IMAGE...

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;

use image_classifier::{decode, Bundle, Classification, Classifier, Clock, Error};

/// Bundle used when --model is not given, relative to the working directory or the source tree.
const DEFAULT_MODEL: &str = "models/efficientnet-lite0";

#[derive(Parser)]
#[command(version, about = "Classify photos with an ImageNet network (top-k ImageNet-1k classes)")]
struct Args {
    /// Model bundle folder (holding model.json) [default: models/efficientnet-lite0]
    #[arg(long)]
    model: Option<PathBuf>,
    /// Number of classes to show per image
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..=1000))]
    top: u16,
    /// One JSON object per image: {"file", "top": [{"index", "label", "score"}], "ms"}
    #[arg(long)]
    json: bool,
    /// Photos: JPEG, PNG, WebP, GIF (first frame), BMP
    #[arg(required = true)]
    images: Vec<PathBuf>,
}

struct Monotonic(Instant);

impl Clock for Monotonic {
    fn now_ms(&self) -> f64 {
        self.0.elapsed().as_secs_f64() * 1000.0
    }
}

fn default_model() -> PathBuf {
    let local = Path::new(DEFAULT_MODEL);
    if local.join("model.json").exists() {
        local.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MODEL)
    }
}

fn classify_file(classifier: &Classifier, path: &Path, k: usize) -> Result<(Classification, f64), Error> {
    let clock = Monotonic(Instant::now());
    let photo = decode::decode_file(path)?;
    let result = classifier.classify(&photo.pixels, photo.width, photo.height, k, &clock)?;
    Ok((result, clock.now_ms()))
}

fn print_table(file: &str, result: &Classification, ms: f64) {
    println!("{file}  ({ms:.1} ms)");
    for (rank, p) in result.top.iter().enumerate() {
        println!("  {:>2}. {:>3}  {:<32} {:>6.2}%", rank + 1, p.index, p.label, p.score * 100.0);
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let model_dir = args.model.clone().unwrap_or_else(default_model);
    let classifier = match Bundle::read_dir(&model_dir).and_then(|(b, net)| Classifier::new(b, net)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("classify: model {}: {e}", model_dir.display());
            return ExitCode::from(2);
        }
    };
    let mut failures = 0;
    for path in &args.images {
        let file = path.display().to_string();
        match classify_file(&classifier, path, args.top as usize) {
            Ok((result, ms)) if args.json => {
                let line = serde_json::json!({"file": file, "top": result.top, "ms": ms});
                println!("{line}");
            }
            Ok((result, ms)) => print_table(&file, &result, ms),
            Err(e) => {
                failures += 1;
                eprintln!("classify: {file}: {e}");
                if args.json {
                    println!("{}", serde_json::json!({"file": file, "error": e.to_string()}));
                }
            }
        }
    }
    if failures > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
