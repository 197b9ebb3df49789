//! Scores a catalogue with model bundles, in one streaming pass.
//!
//! `cargo run --release -p scoring --example score_catalogue -- --input catalogue.parquet
//!  --model out/valence/bundle --model out/moods/models/moods --output scores.parquet`
//!
//! Inputs and output are Parquet or CSV, by extension; the output is a folder of parts with
//! `_SUCCESS.json` (the summary) when finished. `--resume` continues an interrupted run.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Score a track catalogue (Parquet or CSV) with spotify-ml model bundles")]
struct Args {
    /// Input files, read in order as one catalogue.
    #[arg(long = "input", required = true, num_args = 1..)]
    inputs: Vec<PathBuf>,
    /// Bundle folders (Task 1's `bundle/`, a classifier's `models/NAME`).
    #[arg(long = "model", required = true, num_args = 1..)]
    models: Vec<PathBuf>,
    /// The output folder: `NAME.parquet` or `NAME.csv`.
    #[arg(long)]
    output: PathBuf,
    /// The column copied to the output to identify rows.
    #[arg(long, default_value = "id")]
    id_column: String,
    /// Rows per record batch.
    #[arg(long, default_value_t = 65536)]
    batch_rows: usize,
    /// Input rows per output part (what a crash can lose).
    #[arg(long, default_value_t = 4 * 1024 * 1024)]
    part_rows: u64,
    /// Worker threads of the models (default: every core).
    #[arg(long)]
    threads: Option<usize>,
    /// Stop at the first row a bundle refuses, naming file, row and column.
    #[arg(long)]
    strict: bool,
    /// Continue an interrupted run of the same job after its last whole part.
    #[arg(long)]
    resume: bool,
    /// Replace an existing output.
    #[arg(long)]
    overwrite: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(threads) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("setting the worker threads")?;
    }
    let job = scoring::ScoreJob {
        id_column: args.id_column,
        batch_rows: args.batch_rows,
        part_rows: args.part_rows,
        strict: args.strict,
        resume: args.resume,
        overwrite: args.overwrite,
        progress: !args.quiet,
        ..scoring::ScoreJob::new(args.inputs, args.models, args.output.clone())
    };
    let summary = scoring::score(&job)?;
    println!(
        "{} rows in {} ({} read by this run, {} kept from an earlier one), parts: {}",
        summary.rows_total,
        args.output.display(),
        summary.rows_read,
        summary.resumed_rows,
        summary.parts
    );
    for bundle in &summary.bundles {
        let rejected: u64 = bundle.rejected.values().sum();
        println!(
            "  {}: {} scored, {} rejected",
            bundle.name, bundle.scored, rejected
        );
        // One line per problem, its columns by count: `out_of_range 2,345 (loudness 310, …)`.
        let mut by_problem: std::collections::BTreeMap<&str, Vec<(&str, u64)>> = Default::default();
        for (reason, &n) in &bundle.rejected {
            let (problem, column) = reason.split_once(": ").unwrap_or((reason, ""));
            by_problem.entry(problem).or_default().push((column, n));
        }
        for (problem, mut columns) in by_problem {
            columns.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let total: u64 = columns.iter().map(|c| c.1).sum();
            let listed: Vec<String> = columns
                .iter()
                .take(4)
                .map(|(column, n)| format!("{column} {n}"))
                .collect();
            let more = if columns.len() > 4 { ", …" } else { "" };
            println!("    {problem} {total} ({}{more})", listed.join(", "));
        }
    }
    println!(
        "{:.1} s, {:.0} rows/s, peak memory {}",
        summary.seconds,
        summary.rows_per_second,
        summary
            .peak_memory_bytes
            .map_or("unknown".into(), |b| format!("{:.1} MB", b as f64 / 1e6))
    );
    Ok(())
}
