//! Measures conformal valence intervals on the out-of-fold predictions a Task 1 run wrote
//! (`oof.csv`): for each chosen column and coverage, the plain interval `ŷ ± q` against one
//! scaled by the difficulty of the prediction's decile, each cross-fitted on Task 1's own folds
//! (every fold calibrated on the others). Prints coverage, mean width and the lowest and highest
//! coverage over the ten deciles of predicted valence.
//!
//! ```sh
//! cargo run --release --example task1_valence -- --out out/valence
//! cargo run --release --example valence_intervals -- --from out/valence
//! ```
//! The seed, fold and data flags must be those of the Task 1 run (its folds are rebuilt and
//! checked against the file).

mod common;

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use spotify_ml::evaluation::conformal::{check_intervals, IntervalCheck, Scaling};
use spotify_ml::valence::{prepare, OofColumn, OofTable};

/// Conformal valence intervals on Task 1's out-of-fold predictions.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    flags: common::ValenceFlags,
    /// The output directory of the Task 1 run.
    #[arg(long, default_value = "out/valence")]
    from: PathBuf,
    /// Columns of oof.csv to check.
    #[arg(long, num_args = 1.., default_values_t = ["blend@audio".to_string(), "blend@audio+analysis".to_string()])]
    columns: Vec<String>,
    /// Nominal coverages.
    #[arg(long, num_args = 1.., default_values_t = [0.8, 0.9])]
    coverage: Vec<f64>,
    /// Bins of predicted valence for the scaled interval's difficulty.
    #[arg(long, default_value_t = 10)]
    bins: usize,
}

/// The lowest and highest coverage over the ten equal-count deciles of `predicted`.
fn decile_range(check: &IntervalCheck, predicted: &[f64]) -> (f64, f64) {
    let mut order: Vec<usize> = (0..predicted.len()).collect();
    order.sort_by(|&a, &b| predicted[a].total_cmp(&predicted[b]));
    let n = order.len();
    (0..10)
        .map(|d| {
            let rows = &order[d * n / 10..(d + 1) * n / 10];
            rows.iter().filter(|&&r| check.covered[r]).count() as f64 / rows.len().max(1) as f64
        })
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
            (lo.min(c), hi.max(c))
        })
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let config = args.flags.config(args.from.clone())?;
    let inputs = prepare(&config)?;
    let table = OofTable::read(&args.from.join("oof.csv"), &inputs)?;
    let truth = inputs.y.to_vec();
    println!("| column | coverage | interval | achieved | mean width | deciles (min–max) |");
    println!("|---|---:|---|---:|---:|---|");
    for name in &args.columns {
        let column: OofColumn = name.parse()?;
        let predicted = table
            .columns
            .iter()
            .find(|(c, _)| *c == column)
            .map(|(_, values)| values.to_vec())
            .with_context(|| format!("{name} is not a column of the oof.csv in {:?}", args.from))?;
        for &coverage in &args.coverage {
            for scaling in [Scaling::Plain, Scaling::ByPrediction { bins: args.bins }] {
                let check = check_intervals(&truth, &predicted, &inputs.folds, coverage, scaling)?;
                let (lo, hi) = decile_range(&check, &predicted);
                let label = match scaling {
                    Scaling::Plain => "plain ŷ ± q".to_string(),
                    Scaling::ByPrediction { bins } => format!("scaled by {bins} bins of ŷ"),
                };
                println!(
                    "| {name} | {coverage} | {label} | {:.4} | {:.4} | {lo:.3}–{hi:.3} |",
                    check.coverage(),
                    check.mean_width()
                );
            }
        }
    }
    Ok(())
}
