//! Task 2: predict valence with neural networks, compare them with Task 1 on the same folds,
//! blend, and answer whether networks gave the best results.
//!
//! Needs Task 1's outputs (`--task1`, default `out/valence`):
//! `cargo run --release --example task2_valence_nn -- --out out/valence_nn [--quick]`

mod common;

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::task2::{run, Task2Config};

/// Task 2: valence with neural networks.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    flags: common::ValenceFlags,
    /// Task 1's output directory, whose out-of-fold predictions and models are blended with.
    #[arg(long, default_value = "out/valence")]
    task1: PathBuf,
    /// Output directory.
    #[arg(long, default_value = "out/valence_nn")]
    out: PathBuf,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let summary = run(&Task2Config {
        task1: args.task1,
        run: args.flags.config(args.out.clone())?,
    })?;
    println!(
        "best: {} on {} features, CV MAE {:.4}: the best results come {} neural networks; predictions in {}",
        summary.best.candidate.name(),
        summary.best.candidate.features(),
        summary.best.scores.mae,
        summary.answer,
        args.out.join("predictions.csv").display()
    );
    Ok(())
}
