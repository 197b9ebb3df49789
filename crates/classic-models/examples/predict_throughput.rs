//! The workspace's side of `tools/compare_peers --only predict`: the boosting's batch prediction
//! throughput, through the flattened trees and through the node-by-node walk, in one process.
//!
//! It fits the peer comparison's boosting (2000 trees, learning rate 0.02, 31 leaves, 20 rows per
//! leaf, bagging 0.8, feature fraction 0.7, `--seed`) on every chart track that has the
//! `--features`, which is the model LightGBM fits under the same seed on the same rows (the
//! boosting draws as LightGBM does). It then predicts a batch of `--rows` rows, row `i` being
//! track `(i * 2654435761) % n` (the batch `tools/compare_peers.py --predict` builds), on
//! `--threads` threads: once with each predictor, fastest of `--repeats` timings each. It checks
//! that both predict the same bits, writes the predictions as little-endian `f64` to
//! `--predictions-out` (for the peer to compare with its own), and prints one JSON object.
//!
//! `cargo run --release -p classic-models --example predict_throughput -- --features audio`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;
use classic_models::BoostingParams;
use dataset::{DataDir, FeatureSet, Track};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::Axis;

/// The multiplier of the batch's row indices, shared with `tools/compare_peers.py`.
const BATCH_STEP: u64 = 2_654_435_761;

#[derive(Parser)]
#[command(about = "Batch prediction throughput of the boosting: flattened trees against the walk")]
struct Args {
    /// Feature set: audio or audio+analysis.
    #[arg(long, default_value = "audio")]
    features: String,
    /// Data directory (default: $SPOTIFY_ML_DATA).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Rows of the predicted batch.
    #[arg(long, default_value_t = 1_000_000)]
    rows: usize,
    /// Threads of the fit and the predictions.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Seed of the boosting's bagging and feature sampling.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Timings of each predictor; the fastest counts.
    #[arg(long, default_value_t = 3)]
    repeats: usize,
    /// Where to write the batch's predictions (little-endian f64).
    #[arg(long)]
    predictions_out: Option<PathBuf>,
}

/// CPU seconds (user and system) the process has used, from `/proc/self/stat`.
fn cpu_seconds() -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .context("no command name in /proc/self/stat")?
        .1
        .split_whitespace()
        .collect();
    let ticks = |i: usize| -> anyhow::Result<f64> {
        Ok(fields
            .get(i)
            .context("short /proc/self/stat")?
            .parse::<f64>()?)
    };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; 100 ticks a
    // second on Linux.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Timings of a predictor: the fastest wall time of the repeats and the CPU seconds of that
/// repeat.
struct Timing {
    wall: f64,
    cpu: f64,
}

/// The fastest of `repeats` runs of `run`, and its last result.
fn fastest<T>(
    repeats: usize,
    mut run: impl FnMut() -> anyhow::Result<T>,
) -> anyhow::Result<(Timing, T)> {
    let mut best = Timing {
        wall: f64::INFINITY,
        cpu: f64::INFINITY,
    };
    let mut last = None;
    for _ in 0..repeats.max(1) {
        let (start, cpu_start) = (Instant::now(), cpu_seconds()?);
        let value = run()?;
        let wall = start.elapsed().as_secs_f64();
        if wall < best.wall {
            best = Timing {
                wall,
                cpu: cpu_seconds()? - cpu_start,
            };
        }
        last = Some(value);
    }
    Ok((best, last.context("at least one run")?))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let features = match args.features.as_str() {
        "audio" => FeatureSet::audio(),
        "audio+analysis" => FeatureSet::audio_with_analysis(),
        other => bail!("--features {other:?}: use audio or audio+analysis"),
    };
    let dir = DataDir::resolve(args.data.as_deref())?;
    let tracks: Vec<Track> = dataset::load::valence::load(&dir)?
        .train
        .into_iter()
        .filter(|track| features.covers(track))
        .collect();
    let x = features.matrix(&tracks)?;
    let y = dataset::valence(&tracks)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;

    let params = BoostingParams::new()
        .n_trees(2000)
        .learning_rate(0.02)
        .max_leaves(31)
        .min_leaf_rows(20)
        .row_fraction(0.8)
        .feature_fraction(0.7)
        .seed(args.seed);
    let start = Instant::now();
    let model = pool.install(|| params.fit(&DatasetBase::new(x.clone(), y)))?;
    let fit_seconds = start.elapsed().as_secs_f64();
    eprintln!(
        "  fitted {} trees on {} rows of {} in {fit_seconds:.2} s",
        model.n_trees(),
        x.nrows(),
        features.name
    );

    let n = x.nrows() as u64;
    let rows: Vec<usize> = (0..args.rows as u64)
        .map(|i| ((i * BATCH_STEP) % n) as usize)
        .collect();
    let batch = x.select(Axis(0), &rows);
    let (flat_seconds, flat) = fastest(args.repeats, || {
        Ok(pool.install(|| model.try_predict(batch.view()))?)
    })?;
    let (walk_seconds, walked) = fastest(args.repeats, || {
        Ok(pool.install(|| model.try_predict_walking(batch.view()))?)
    })?;
    if let Some(row) = (0..flat.len()).find(|&r| flat[r].to_bits() != walked[r].to_bits()) {
        bail!(
            "row {row}: the flattened trees predict {} but the walk {}",
            flat[row],
            walked[row]
        );
    }
    if let Some(path) = &args.predictions_out {
        let bytes: Vec<u8> = flat.iter().flat_map(|v| v.to_le_bytes()).collect();
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    let report = serde_json::json!({
        "side": "spotify-ml",
        "features": features.name,
        "rows": x.nrows(),
        "columns": x.ncols(),
        "trees": model.n_trees(),
        "threads": args.threads,
        "batch_rows": args.rows,
        "fit_seconds": fit_seconds,
        "flat_rows_per_second": args.rows as f64 / flat_seconds.wall,
        "walk_rows_per_second": args.rows as f64 / walk_seconds.wall,
        "flat_rows_per_cpu_second": args.rows as f64 / flat_seconds.cpu,
        "walk_rows_per_cpu_second": args.rows as f64 / walk_seconds.cpu,
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
