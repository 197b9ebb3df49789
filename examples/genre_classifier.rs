//! Genres (3, 5, 7) and activity moods (4) from 11 audio features, by the published protocol:
//! duplicated `tid`s dropped, stratified 80/20 splits over 5 seeds, 20% of the training part
//! held out, and 5-fold CV; a network, the classic models and their blend.
//!
//! `cargo run --release --example genre_classifier -- --out out/genres [--quick]`
//! `cargo run --release --example genre_classifier -- --out out/genres --predict ID… [--experiment genre5] [--features CSV]`

mod common;

use std::path::PathBuf;

use clap::Parser;
use spotify_ml::classify::genres;
use spotify_ml::dataset::load::genres::GenreSet;

/// Genre and activity-mood classification.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    flags: common::ClassifierFlags,
    /// Output directory (models are saved in `models/NAME` inside it).
    #[arg(long, default_value = "out/genres")]
    out: PathBuf,
    /// Which experiments predict: genre3, genre5, genre7, activity4 (default: all four).
    #[arg(long, value_parser = genres::parse_set)]
    experiment: Vec<GenreSet>,
    /// Features of the ids to predict, laid out like the playlist files (default: each
    /// experiment's own file).
    #[arg(long)]
    features: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = args.flags.config(args.out.clone())?;
    if !args.flags.predict.is_empty() {
        let sets: Vec<GenreSet> = if args.experiment.is_empty() {
            GenreSet::ALL.to_vec()
        } else {
            args.experiment.clone()
        };
        for (name, lines) in genres::predict(
            &config,
            &sets,
            &args.flags.predict,
            args.features.as_deref(),
        )? {
            println!("[{name}]");
            for line in lines {
                println!("{line}");
            }
        }
        return Ok(());
    }
    for outcome in genres::run(&config)? {
        let report = &outcome.report;
        println!(
            "{}: best {} accuracy {:.4} (mean over seeds); report in {}",
            report.name,
            report.best,
            report.best_summary().protocol.mean.accuracy,
            args.out.join("report.md").display()
        );
    }
    Ok(())
}
