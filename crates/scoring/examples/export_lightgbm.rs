//! Writes bundles' models in LightGBM's text format, so that LightGBM predicts with exactly
//! their trees (the peer side of `tools/compare_scoring`).
//!
//! `cargo run --release -p scoring --example export_lightgbm -- --model out/moods/models/moods
//!  --out out/lightgbm`
//!
//! For each bundle NAME (its manifest's name) it writes `NAME.txt`, the model, and `NAME.json`:
//! the bundle's folder, the model's input columns in order, and what LightGBM's `predict` gives
//! (`value`, `binary`: the second class's probability, or `classes`). A bundle that is not one
//! tree ensemble (a blend, a network, near twins, a fallback route) is refused, by name.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Parser;
use serde::Serialize;
use spotify_ml::bundle::{self, lightgbm::LightgbmOutput};

#[derive(Parser, Debug)]
#[command(about = "Write spotify-ml bundles' tree ensembles as LightGBM model files")]
struct Args {
    /// Bundle folders.
    #[arg(long = "model", required = true, num_args = 1..)]
    models: Vec<PathBuf>,
    /// The folder to write into (created if missing).
    #[arg(long)]
    out: PathBuf,
}

/// `NAME.json`: what the peer needs beside the model file.
#[derive(Serialize)]
struct Sidecar<'a> {
    bundle: &'a Path,
    model_file: String,
    columns: &'a [String],
    output: LightgbmOutput,
}

/// Writes `bytes` to `path` through a `.partial` file renamed when whole.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("renaming to {}", path.display()))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    for dir in &args.models {
        let loaded = bundle::load(dir).with_context(|| format!("loading {}", dir.display()))?;
        let name = loaded.manifest().name.clone();
        let Some(model) = loaded.lightgbm() else {
            bail!(
                "{}: bundle {name:?} is not one tree ensemble (a blend, a network, near twins \
                 or a fallback route), so LightGBM cannot hold it",
                dir.display()
            );
        };
        let model = model.with_context(|| format!("exporting {}", dir.display()))?;
        let model_file = format!("{name}.txt");
        write_atomic(&args.out.join(&model_file), model.text.as_bytes())?;
        let bundle_dir = dir
            .canonicalize()
            .with_context(|| format!("resolving {}", dir.display()))?;
        let sidecar = Sidecar {
            bundle: &bundle_dir,
            model_file,
            columns: &model.columns,
            output: model.output,
        };
        write_atomic(
            &args.out.join(format!("{name}.json")),
            &serde_json::to_vec_pretty(&sidecar)?,
        )?;
        println!(
            "{name}: {} -> {}",
            dir.display(),
            args.out.join(format!("{name}.txt")).display()
        );
    }
    Ok(())
}
