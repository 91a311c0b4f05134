//! `nnef-bundle`: an ONNX bundle converted to a bundle of format `nnef` (tract's NNEF of the
//! network decluttered for the manifest's input shape), which loads faster: no protobuf to
//! decode, no ONNX operators to translate, and a cheaper second declutter (`make model`).
//!
//!     nnef-bundle SOURCE_DIR --out DIR

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use image_classifier::manifest::NetworkFormat;
use image_classifier::network::{Network, TRACT_VERSION};
use image_classifier::network_bytes::StreamDigest;
use image_classifier::Bundle;

const NETWORK_FILE: &str = "model.nnef.tar";

#[derive(Parser)]
#[command(about = "Convert an ONNX model bundle to tract's NNEF (decluttered), which loads faster")]
struct Args {
    /// The ONNX bundle folder (holding model.json)
    source: PathBuf,
    /// Folder to write the NNEF bundle to (created or overwritten)
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match convert(&args.source, &args.out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nnef-bundle: {e}");
            ExitCode::FAILURE
        }
    }
}

fn convert(source: &Path, out: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let (bundle, network) = Bundle::read_dir(source)?;
    let mut manifest = bundle.manifest.clone();
    if manifest.network.format != NetworkFormat::Onnx {
        return Err(format!("{} is not an ONNX bundle", source.display()).into());
    }
    let tar = Network::onnx_to_nnef(bundle.verify_network(network)?, &manifest)?;
    let sha256 = StreamDigest::of(&tar).finish();
    manifest.network.sha256 = sha256;
    manifest.network.file = NETWORK_FILE.into();
    manifest.network.format = NetworkFormat::Nnef;
    manifest.network.bytes = tar.len() as u64;
    manifest.id = format!("{}-nnef", manifest.id);
    manifest.name = format!("{} (NNEF, faster load)", manifest.name);
    manifest.description =
        format!("{}; converted to tract's NNEF, decluttered at build time, so it loads faster", manifest.description);
    let onnx = &bundle.manifest.network;
    manifest.source = format!(
        "nnef-bundle (tract {TRACT_VERSION}) of {} ({}, sha256 {}); that bundle's source: {}",
        bundle.manifest.id, onnx.file, onnx.sha256, manifest.source
    );
    manifest.validate()?;

    std::fs::create_dir_all(out)?;
    std::fs::write(out.join(NETWORK_FILE), &tar)?;
    std::fs::copy(source.join(&manifest.labels), out.join(&manifest.labels))?;
    std::fs::write(out.join("model.json"), serde_json::to_string_pretty(&manifest)? + "\n")?;
    println!("{}: {} ({:.1} MB)", out.display(), manifest.name, tar.len() as f64 / 1e6);
    Ok(())
}
