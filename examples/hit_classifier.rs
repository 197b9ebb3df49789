//! Hit or flop (Billboard Hot-100) from audio features, `chorus_hit` and `sections`: all
//! decades pooled (every model, splits over 5 seeds and 5-fold CV) and each decade alone;
//! accuracy and ROC AUC; saves the pooled model (`DIR/models/hits`).
//!
//! `cargo run --release --example hit_classifier -- --out out/hits [--quick]`
//! `cargo run --release --example hit_classifier -- --out out/hits --predict ID… [--features CSV]`

mod common;

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::classify::hits;

/// Hit-or-flop classification.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    flags: common::ClassifierFlags,
    /// Output directory (the pooled model is saved in `models/hits` inside it).
    #[arg(long, default_value = "out/hits")]
    out: PathBuf,
    /// Tracks to predict, laid out like `hits/dataset-of-*.csv` (default: all six files).
    #[arg(long)]
    features: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = args.flags.config(args.out.clone())?;
    if !args.flags.predict.is_empty() {
        for line in hits::predict(&config, &args.flags.predict, args.features.as_deref())? {
            println!("{line}");
        }
        return Ok(());
    }
    for outcome in hits::run(&config)? {
        let report = &outcome.report;
        let best = report.best_summary().protocol.mean;
        println!(
            "{}: best {} accuracy {:.4}, ROC AUC {:.4}",
            report.name, report.best, best.accuracy, best.roc_auc
        );
    }
    println!("report in {}", args.out.join("report.md").display());
    Ok(())
}
