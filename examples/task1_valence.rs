//! Task 1: predict the valence of the 1,162 tracks of `spotify_ids.txt` without neural
//! networks, and explain which features influence valence.
//!
//! `cargo run --release --example task1_valence -- --out out/valence [--quick]`

mod common;

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::task1::run;

/// Task 1: valence without neural networks.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    flags: common::ValenceFlags,
    /// Output directory.
    #[arg(long, default_value = "out/valence")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let summary = run(&args.flags.config(args.out.clone())?)?;
    println!(
        "best: {} on {} features, CV MAE {:.4}; predictions in {}",
        summary.best.method,
        summary.best.feature_set,
        summary.best.cv_mae,
        args.out.join("predictions.csv").display()
    );
    Ok(())
}
