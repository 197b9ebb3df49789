//! Measures gradient-boosting implementations on the chart tracks: 5-fold CV MAE and mean fit
//! seconds per fold, on the project's group folds, for `audio` and `audio+analysis` features.
//!
//! Candidates: the workspace's own `classic_models::BoostingParams` and `forust-ml`, both with
//! LightGBM-equivalent settings (2000 trees, learning rate 0.02, 31 leaves grown leaf-wise,
//! 20 rows per leaf, bagging 0.8 drawn per tree, feature fraction 0.7 per tree, 255/256 bins).
//! Fits run one at a time, each on `--threads` threads. The folds are written to `--folds-out`
//! so that `tools/compare_boosting.py` scores Python LightGBM 4 and `perpetual` on the same rows;
//! `tools/compare_boosting` runs both sides and prints the ratios (`docs/BOOSTING.md`).
//!
//! `cargo run --release --example boosting_candidates -- --threads 2 --folds-out out/folds.csv`

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context};
use clap::{Parser, ValueEnum};
use classic_models::{BoostingParams, Loss};
use dataset::split::group_k_fold;
use dataset::{DataDir, FeatureSet, Track};
use evaluation::{CvScores, Fold};
use forust_ml::gradientbooster::GrowPolicy;
use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use serde::Serialize;

/// Measure boosting candidates on identical folds.
#[derive(Parser)]
struct Args {
    /// The data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where to write the folds as CSV (`row,id,fold`, rows in chart_tracks.csv order).
    #[arg(long)]
    folds_out: Option<PathBuf>,
    /// Where to write the measurements as JSON.
    #[arg(long)]
    json_out: Option<PathBuf>,
    /// Seed of the group folds and of every learner.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Threads each fit may use.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Number of folds.
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Candidates to measure (default: all); `--candidates none` only writes the folds.
    #[arg(long, value_delimiter = ',')]
    candidates: Option<Vec<CandidateName>>,
}

/// A gradient-boosting implementation under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum CandidateName {
    /// `classic_models::BoostingParams`, the workspace's own.
    Workspace,
    /// `forust-ml` 0.8.
    Forust,
    /// Measure nothing.
    None,
}

impl CandidateName {
    fn label(self) -> &'static str {
        match self {
            CandidateName::Workspace => "workspace BoostingParams",
            CandidateName::Forust => "forust-ml 0.8",
            CandidateName::None => "none",
        }
    }
}

/// The measurement of one candidate on one feature set.
#[derive(Serialize)]
struct Measurement {
    candidate: String,
    features: String,
    rows: usize,
    columns: usize,
    threads: usize,
    mae: f64,
    mae_sd: f64,
    rmse: f64,
    fold_mae: Vec<f64>,
    mean_fit_seconds: f64,
    /// Robust to a fold slowed by other work on a shared machine.
    median_fit_seconds: f64,
    fit_seconds: Vec<f64>,
}

const N_TREES: usize = 2000;
const LEARNING_RATE: f64 = 0.02;
const MAX_LEAVES: usize = 31;
const MIN_LEAF_ROWS: usize = 20;
const ROW_FRACTION: f64 = 0.8;
const FEATURE_FRACTION: f64 = 0.7;

fn workspace_params(seed: u64) -> BoostingParams {
    BoostingParams::new()
        .n_trees(N_TREES)
        .learning_rate(LEARNING_RATE)
        .max_leaves(MAX_LEAVES)
        .min_leaf_rows(MIN_LEAF_ROWS)
        .row_fraction(ROW_FRACTION)
        .feature_fraction(FEATURE_FRACTION)
        .loss(Loss::Squared)
        .seed(seed)
}

fn forust_booster(seed: u64, threads: usize) -> anyhow::Result<GradientBooster> {
    let mut booster = GradientBooster::default()
        .set_objective_type(ObjectiveType::SquaredLoss)
        .set_iterations(N_TREES)
        .set_learning_rate(LEARNING_RATE as f32)
        .set_max_depth(usize::MAX)
        .set_max_leaves(MAX_LEAVES)
        // Squared loss has unit hessians, so this is LightGBM's min_data_in_leaf = 20.
        .set_min_leaf_weight(MIN_LEAF_ROWS as f32)
        .set_l2(0.0)
        .set_nbins(256)
        .set_subsample(ROW_FRACTION as f32)
        .set_sample_method(SampleMethod::Random)
        .set_colsample_bytree(FEATURE_FRACTION)
        .set_seed(seed)
        .set_parallel(threads > 1)
        .set_num_threads(Some(threads));
    booster.grow_policy = GrowPolicy::LossGuide;
    Ok(booster)
}

/// Fits on `train`, predicts `test`; returns the predictions and the seconds of the fit alone.
fn fit_predict(
    candidate: CandidateName,
    (x_train, y_train): (Array2<f64>, Array1<f64>),
    x_test: &Array2<f64>,
    seed: u64,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<(Array1<f64>, f64)> {
    match candidate {
        CandidateName::Workspace => {
            let params = workspace_params(seed);
            let data = DatasetBase::new(x_train, y_train);
            let start = Instant::now();
            let model = pool.install(|| params.fit(&data))?;
            let seconds = start.elapsed().as_secs_f64();
            let predicted = pool.install(|| model.try_predict(x_test.view()))?;
            Ok((predicted, seconds))
        }
        CandidateName::Forust => {
            let threads = pool.current_num_threads();
            let mut booster = forust_booster(seed, threads)?;
            // forust reads column-major data.
            let columns: Vec<f64> = x_train.t().iter().copied().collect();
            let matrix = Matrix::new(&columns, x_train.nrows(), x_train.ncols());
            let weights = vec![1.0; y_train.len()];
            let targets = y_train.to_vec();
            let start = Instant::now();
            booster
                .fit(&matrix, &targets, &weights, None)
                .map_err(|e| anyhow::anyhow!("forust fit: {e}"))?;
            let seconds = start.elapsed().as_secs_f64();
            let test_columns: Vec<f64> = x_test.t().iter().copied().collect();
            let test = Matrix::new(&test_columns, x_test.nrows(), x_test.ncols());
            let predicted = pool.install(|| booster.predict(&test, threads > 1));
            Ok((Array1::from(predicted), seconds))
        }
        CandidateName::None => bail!("nothing to fit"),
    }
}

/// Cross-validates one candidate, one fold after another.
fn measure(
    candidate: CandidateName,
    features: &FeatureSet,
    x: &Array2<f64>,
    y: &Array1<f64>,
    folds: &[Fold],
    args: &Args,
    pool: &rayon::ThreadPool,
) -> anyhow::Result<Measurement> {
    let mut oof = Array1::from_elem(y.len(), f64::NAN);
    let mut fit_seconds = Vec::with_capacity(folds.len());
    for (i, fold) in folds.iter().enumerate() {
        let train = (
            x.select(Axis(0), &fold.train),
            y.select(Axis(0), &fold.train),
        );
        let test = x.select(Axis(0), &fold.test);
        let (predicted, seconds) = fit_predict(candidate, train, &test, args.seed, pool)
            .with_context(|| format!("{} on {}, fold {i}", candidate.label(), features.name))?;
        eprintln!(
            "  {:<26} {:<15} fold {i}: {seconds:.2} s",
            candidate.label(),
            features.name
        );
        for (&row, value) in fold.test.iter().zip(predicted) {
            oof[row] = value;
        }
        fit_seconds.push(seconds);
    }
    let scores = CvScores::of_predictions(y, &oof, folds)?;
    Ok(Measurement {
        candidate: candidate.label().into(),
        features: features.name.clone(),
        rows: x.nrows(),
        columns: x.ncols(),
        threads: args.threads,
        mae: scores.mae,
        mae_sd: scores.mae_sd,
        rmse: scores.rmse,
        fold_mae: scores.folds.iter().map(|s| s.mae).collect(),
        mean_fit_seconds: fit_seconds.iter().sum::<f64>() / fit_seconds.len() as f64,
        median_fit_seconds: median(&fit_seconds),
        fit_seconds,
    })
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// Writes `row,id,fold` for every chart track, in file order.
fn write_folds(path: &PathBuf, tracks: &[Track], fold_of: &[usize]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::io::BufWriter::new(
        File::create(path).with_context(|| format!("creating {}", path.display()))?,
    );
    writeln!(file, "row,id,fold")?;
    for (row, (track, fold)) in tracks.iter().zip(fold_of).enumerate() {
        writeln!(file, "{row},{},{fold}", track.id)?;
    }
    file.flush()?;
    Ok(())
}

/// The folds restricted to `kept` rows, renumbered to positions in `kept`.
fn restrict(folds: &[Fold], kept: &[usize], n_rows: usize) -> Vec<Fold> {
    let mut position = vec![usize::MAX; n_rows];
    for (new, &old) in kept.iter().enumerate() {
        position[old] = new;
    }
    let map = |rows: &[usize]| -> Vec<usize> {
        rows.iter()
            .map(|&r| position[r])
            .filter(|&p| p != usize::MAX)
            .collect()
    };
    folds
        .iter()
        .map(|fold| Fold {
            train: map(&fold.train),
            test: map(&fold.test),
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = DataDir::resolve(args.data.as_deref())?;
    let tracks = dataset::load::valence::load(&dir)?.train;
    let groups = dataset::prepare::recording_groups(&tracks);
    let folds: Vec<Fold> = group_k_fold(&groups, args.folds, args.seed)?
        .into_iter()
        .map(|split| Fold {
            train: split.train,
            test: split.test,
        })
        .collect();
    let mut fold_of = vec![0; tracks.len()];
    for (i, fold) in folds.iter().enumerate() {
        for &row in &fold.test {
            fold_of[row] = i;
        }
    }
    if let Some(path) = &args.folds_out {
        write_folds(path, &tracks, &fold_of)?;
        eprintln!(
            "wrote {} folds of {} rows to {}",
            args.folds,
            tracks.len(),
            path.display()
        );
    }

    let candidates = args
        .candidates
        .clone()
        .unwrap_or_else(|| vec![CandidateName::Workspace, CandidateName::Forust]);
    let candidates: Vec<CandidateName> = candidates
        .into_iter()
        .filter(|&c| c != CandidateName::None)
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    let mut results = Vec::new();
    for features in [FeatureSet::audio(), FeatureSet::audio_with_analysis()] {
        if candidates.is_empty() {
            break;
        }
        let kept: Vec<usize> = (0..tracks.len())
            .filter(|&i| features.covers(&tracks[i]))
            .collect();
        let covered: Vec<Track> = kept.iter().map(|&i| tracks[i].clone()).collect();
        let x = features.matrix(&covered)?;
        let y = dataset::valence(&covered)?;
        let set_folds = restrict(&folds, &kept, tracks.len());
        eprintln!(
            "{}: {} rows × {} columns",
            features.name,
            x.nrows(),
            x.ncols()
        );
        for &candidate in &candidates {
            results.push(measure(
                candidate, &features, &x, &y, &set_folds, &args, &pool,
            )?);
        }
    }

    if !results.is_empty() {
        println!(
            "{:<26} {:<15} {:>8} {:>8} {:>10} {:>10}",
            "candidate", "features", "CV MAE", "± sd", "mean s", "median s"
        );
        for m in &results {
            println!(
                "{:<26} {:<15} {:>8.4} {:>8.4} {:>10.2} {:>10.2}",
                m.candidate, m.features, m.mae, m.mae_sd, m.mean_fit_seconds, m.median_fit_seconds
            );
        }
    }
    if let Some(path) = &args.json_out {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
        serde_json::to_writer_pretty(file, &results)?;
    }
    Ok(())
}
