//! Hit or flop (Billboard Hot-100) from audio features, `chorus_hit` and `sections`: all
//! decades pooled (every model, splits over 5 seeds and 5-fold CV) and each decade alone;
//! accuracy and ROC AUC; saves the pooled model (`DIR/models/hits`).
//!
//! `cargo run --release --example hit_classifier -- --out out/hits [--quick]`
//! `cargo run --release --example hit_classifier -- --out out/hits --predict ID… [--features CSV]`

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::classify::family::{RunConfig, SEED};
use spotify_ml::classify::hits;
use spotify_ml::dataset::DataDir;

/// Hit-or-flop classification.
#[derive(Parser)]
struct Args {
    /// Data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output directory (the pooled model is saved in `models/hits` inside it).
    #[arg(long, default_value = "out/hits")]
    out: PathBuf,
    /// Token settings on a sample of each decade, finishing in well under a minute.
    #[arg(long)]
    quick: bool,
    /// Seed of folds and models.
    #[arg(long, default_value_t = SEED)]
    seed: u64,
    /// Predict these track ids with the saved model instead of training.
    #[arg(long, num_args = 1..)]
    predict: Vec<String>,
    /// Tracks to predict, laid out like `hits/dataset-of-*.csv` (default: all six files).
    #[arg(long)]
    features: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = RunConfig {
        data: DataDir::resolve(args.data.as_deref())?,
        out: args.out.clone(),
        quick: args.quick,
        seed: args.seed,
    };
    if !args.predict.is_empty() {
        for line in hits::predict(&config, &args.predict, args.features.as_deref())? {
            println!("{line}");
        }
        return Ok(());
    }
    for outcome in hits::run(&config)? {
        let best = outcome.best_summary().map(|m| m.protocol.mean);
        println!(
            "{}: best {} accuracy {:.4}, ROC AUC {:.4}",
            outcome.name,
            outcome.best,
            best.map_or(f64::NAN, |b| b.accuracy),
            best.map_or(f64::NAN, |b| b.roc_auc)
        );
    }
    println!("report in {}", args.out.join("report.md").display());
    Ok(())
}
