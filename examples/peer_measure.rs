//! One side of `tools/compare_peers`: measures one of the workspace's models on the chart tracks,
//! in a process of its own so that its peak memory is its own.
//!
//! For `--model` (boosting, forest or network) and `--features` (audio or audio+analysis) it
//! reports, as one JSON object on stdout (or `--json-out`):
//! - the 5-fold CV MAE on the folds in `--folds` (`row,id,fold`, as written by
//!   `examples/boosting_candidates.rs --folds-out`), the very folds the Python peers use;
//! - the mean fit seconds per fold;
//! - the resident-set high-water mark (`VmHWM`) after the fits, and the resident set after loading
//!   the data, before any fit;
//! - prediction throughput in rows per second, for a batch of `--predict-rows` rows resampled
//!   from the chart tracks, by the model fitted on the last fold.
//!
//! The settings are fixed, and `tools/compare_peers.py` gives each peer the same ones:
//! - boosting: 2000 trees, learning rate 0.02, 31 leaves, 20 rows per leaf, bagging 0.8, feature
//!   fraction 0.7 (LightGBM's names: `num_leaves`, `bagging_fraction`, `feature_fraction`);
//! - forest: 100 trees, depth at most 12, 5 rows per leaf, a third of the features per split;
//! - network: 256 → 128 → 1, ReLU, dropout 0.1, AdamW (learning rate 1e-3, weight decay 0.01),
//!   batch 256, mean squared error, 40 epochs, no early stopping (so both sides do equal work).
//!
//! With `--edges-out FILE` it also writes, as JSON, the histogram bin edges of every feature that
//! the boosting draws from the first fold's training rows (`classic_models::bin_edges`, 255 bins),
//! which `tools/compare_peers.py --check-bins` sets beside LightGBM's.
//!
//! `cargo run --release --example peer_measure -- --model boosting --features audio --folds F`

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use classic_models::{BoostingParams, RandomForestParams};
use dataset::{DataDir, FeatureSet, Track};
use evaluation::{CvScores, Fold, Tunable};
use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use neural_models::{MlpConfig, MlpRegressorParams, Optimiser};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Measure one workspace model on given folds.
#[derive(Parser)]
struct Args {
    /// The model to measure.
    #[arg(long, value_enum)]
    model: Model,
    /// The feature set: `audio` or `audio+analysis`.
    #[arg(long)]
    features: String,
    /// The folds, `row,id,fold` in chart_tracks.csv order.
    #[arg(long)]
    folds: PathBuf,
    /// The data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Threads of every fit and prediction.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Rows of the timed prediction batch.
    #[arg(long, default_value_t = 1_000_000)]
    predict_rows: usize,
    /// Seed of every learner.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Where to write the JSON (default: stdout).
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Where to write the bin edges of the first fold's training rows, as JSON.
    #[arg(long)]
    edges_out: Option<PathBuf>,
    /// Where to write the out-of-fold prediction of every covered row, in file order (CSV).
    #[arg(long)]
    oof_out: Option<PathBuf>,
}

/// Most histogram bins per feature, of the boosting fitted and of the edges written: LightGBM's
/// default `max_bin`.
const MAX_BINS: usize = 255;

/// The bin edges of every feature of the first fold's training rows.
#[derive(Serialize)]
struct BinEdges {
    features: String,
    fold: usize,
    rows: usize,
    max_bins: usize,
    edges: Vec<Vec<f64>>,
}

/// A model measured against a Python peer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Model {
    /// `classic_models::BoostingParams`, against LightGBM.
    Boosting,
    /// `classic_models::RandomForestParams`, against scikit-learn's `RandomForestRegressor`.
    Forest,
    /// `neural_models::MlpRegressorParams`, against PyTorch and scikit-learn's `MLPRegressor`.
    Network,
}

/// The settings shared with `tools/compare_peers.py`.
const FOREST_TREES: usize = 100;
const FOREST_DEPTH: u16 = 12;
const FOREST_LEAF_ROWS: usize = 5;
const NETWORK_EPOCHS: usize = 40;

#[derive(Serialize)]
struct Measurement {
    side: &'static str,
    model: String,
    features: String,
    rows: usize,
    columns: usize,
    threads: usize,
    cv_mae: f64,
    mean_fit_seconds: f64,
    fit_seconds: Vec<f64>,
    /// Training rows per second of fit (rows × epochs for the network).
    train_rows_per_second: f64,
    predict_rows: usize,
    predict_rows_per_second: f64,
    baseline_rss_mb: f64,
    peak_rss_mb: f64,
}

/// A fitted model of any of the three kinds.
enum Fitted {
    Boosting(classic_models::Boosting),
    Forest(classic_models::RandomForest),
    Network(neural_models::MlpRegressor),
}

impl Fitted {
    fn predict(&self, x: &Array2<f64>) -> anyhow::Result<Array1<f64>> {
        Ok(match self {
            Fitted::Boosting(model) => model.try_predict(x.view())?,
            Fitted::Forest(model) => model.predict(x),
            Fitted::Network(model) => model.try_predict(x.view())?,
        })
    }
}

fn fit(
    model: Model,
    data: &DatasetBase<Array2<f64>, Array1<f64>>,
    args: &Args,
) -> anyhow::Result<Fitted> {
    Ok(match model {
        Model::Boosting => Fitted::Boosting(
            BoostingParams::from_params(&spotify_ml::valence::lightgbm_like())?
                .max_bins(MAX_BINS)
                .seed(args.seed)
                .fit(data)?,
        ),
        Model::Forest => Fitted::Forest(
            RandomForestParams::new()
                .n_trees(FOREST_TREES)
                .max_depth(Some(FOREST_DEPTH))
                .min_leaf_rows(FOREST_LEAF_ROWS)
                .feature_fraction(1.0 / 3.0)
                .seed(args.seed)
                .fit(data)?,
        ),
        Model::Network => Fitted::Network(
            MlpRegressorParams::new(MlpConfig::new(vec![256, 128]).dropout(0.1))
                .loss(neural_models::Loss::Mse)
                .optimiser(Optimiser::AdamW { weight_decay: 0.01 })
                .learning_rate(1e-3)
                .batch_size(256)
                .max_epochs(NETWORK_EPOCHS)
                .validation_fraction(0.0)
                .threads(args.threads)
                .seed(args.seed)
                .fit(data)?,
        ),
    })
}

/// `VmRSS` or `VmHWM` of this process, in MiB.
fn memory_mb(field: &str) -> anyhow::Result<f64> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let line = status
        .lines()
        .find(|line| line.starts_with(field))
        .with_context(|| format!("no {field} in /proc/self/status"))?;
    let kib: f64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|value| value.parse().ok())
        .with_context(|| format!("unreadable line {line:?}"))?;
    Ok(kib / 1024.0)
}

/// The folds of `path`, checked against the chart tracks' ids and order.
fn read_folds(path: &PathBuf, tracks: &[Track]) -> anyhow::Result<Vec<usize>> {
    let mut reader =
        csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let mut fold_of = Vec::with_capacity(tracks.len());
    for (line, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("{}: line {}", path.display(), line + 2))?;
        let (id, fold) = (record.get(1).unwrap_or(""), record.get(2).unwrap_or(""));
        let expected = tracks.get(line).map(|track| track.id.as_str());
        if expected != Some(id) {
            bail!(
                "{}: line {}: id {id:?}, but chart_tracks.csv has {expected:?} there",
                path.display(),
                line + 2
            );
        }
        fold_of
            .push(fold.parse().with_context(|| {
                format!("{}: line {}: fold {fold:?}", path.display(), line + 2)
            })?);
    }
    if fold_of.len() != tracks.len() {
        bail!(
            "{} has {} rows, chart_tracks.csv {}",
            path.display(),
            fold_of.len(),
            tracks.len()
        );
    }
    Ok(fold_of)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let features = match args.features.as_str() {
        "audio" => FeatureSet::audio(),
        "audio+analysis" => FeatureSet::audio_with_analysis(),
        other => bail!("--features {other:?}: use audio or audio+analysis"),
    };
    let dir = DataDir::resolve(args.data.as_deref())?;
    let tracks = dataset::load::valence::load(&dir)?.train;
    let fold_of = read_folds(&args.folds, &tracks)?;
    let (covered, covered_folds): (Vec<Track>, Vec<usize>) = tracks
        .into_iter()
        .zip(fold_of)
        .filter(|(track, _)| features.covers(track))
        .unzip();
    let x = features.matrix(&covered)?;
    let y = dataset::valence(&covered)?;
    let n_folds = covered_folds.iter().max().map_or(0, |max| max + 1);
    let folds: Vec<Fold> = (0..n_folds)
        .map(|fold| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..covered_folds.len()).partition(|&row| covered_folds[row] == fold);
            Fold { train, test }
        })
        .collect();
    let baseline_rss_mb = memory_mb("VmRSS")?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;

    let mut oof = Array1::from_elem(y.len(), f64::NAN);
    let mut fit_seconds = Vec::new();
    let mut last = None;
    for (i, fold) in folds.iter().enumerate() {
        let data = DatasetBase::new(
            x.select(Axis(0), &fold.train),
            y.select(Axis(0), &fold.train),
        );
        let start = Instant::now();
        let model = run_on(&pool, args.model, || fit(args.model, &data, &args))?;
        let seconds = start.elapsed().as_secs_f64();
        eprintln!(
            "  {:?} {} fold {i}: {seconds:.2} s",
            args.model, features.name
        );
        fit_seconds.push(seconds);
        let predicted = run_on(&pool, args.model, || {
            model.predict(&x.select(Axis(0), &fold.test))
        })?;
        for (&row, value) in fold.test.iter().zip(predicted) {
            oof[row] = value;
        }
        last = Some(model);
    }
    let peak_rss_mb = memory_mb("VmHWM")?;
    let scores = CvScores::of_predictions(&y, &oof, &folds)?;
    let model = last.context("no folds")?;

    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let rows: Vec<usize> = (0..args.predict_rows)
        .map(|_| rng.gen_range(0..x.nrows()))
        .collect();
    let batch = x.select(Axis(0), &rows);
    let start = Instant::now();
    let predicted = run_on(&pool, args.model, || model.predict(&batch))?;
    let predict_seconds = start.elapsed().as_secs_f64();
    if predicted.iter().any(|value| !value.is_finite()) {
        bail!("the model predicted a non-finite value");
    }

    let mean_fit_seconds = fit_seconds.iter().sum::<f64>() / fit_seconds.len() as f64;
    let mean_train_rows =
        folds.iter().map(|fold| fold.train.len()).sum::<usize>() as f64 / folds.len() as f64;
    let epochs = if args.model == Model::Network {
        NETWORK_EPOCHS as f64
    } else {
        1.0
    };
    let measurement = Measurement {
        side: "spotify-ml",
        model: format!("{:?}", args.model).to_lowercase(),
        features: features.name.clone(),
        rows: x.nrows(),
        columns: x.ncols(),
        threads: args.threads,
        cv_mae: scores.mae,
        mean_fit_seconds,
        fit_seconds,
        train_rows_per_second: mean_train_rows * epochs / mean_fit_seconds,
        predict_rows: args.predict_rows,
        predict_rows_per_second: args.predict_rows as f64 / predict_seconds,
        baseline_rss_mb,
        peak_rss_mb,
    };
    // After every measurement, so that it does not touch them.
    if let Some(path) = &args.edges_out {
        let fold = folds.first().context("no folds")?;
        let train = x.select(Axis(0), &fold.train);
        let edges = BinEdges {
            features: features.name.clone(),
            fold: 0,
            rows: train.nrows(),
            max_bins: MAX_BINS,
            edges: train
                .columns()
                .into_iter()
                .map(|column| classic_models::bin_edges(column.iter().copied(), MAX_BINS))
                .collect(),
        };
        let json = serde_json::to_string(&edges)?;
        evaluation::report::write_atomic(path, json.as_bytes())?;
    }
    if let Some(path) = &args.oof_out {
        let mut csv = String::from("prediction\n");
        for value in &oof {
            csv.push_str(&format!("{value}\n"));
        }
        evaluation::report::write_atomic(path, csv.as_bytes())?;
    }
    let json = serde_json::to_string_pretty(&measurement)?;
    match &args.json_out {
        Some(path) => evaluation::report::write_atomic(path, json.as_bytes())?,
        None => println!("{json}"),
    }
    Ok(())
}

/// Runs `job` in the rayon pool of `--threads` threads, except for the network: libtorch runs
/// its own threads, and calls from more than one thread give its OpenMP runtime a team per
/// calling thread, more threads than cores, which then sleep between parallel regions instead of
/// spinning. PyTorch on the other side also calls from one thread.
fn run_on<T: Send>(pool: &rayon::ThreadPool, model: Model, job: impl FnOnce() -> T + Send) -> T {
    if model == Model::Network {
        job()
    } else {
        pool.install(job)
    }
}
