//! Fit time and prediction throughput of the workspace's gradient boosting
//! (`classic_models::BoostingParams`) with the LightGBM-equivalent settings: 2000 trees,
//! learning rate 0.02, 31 leaves, 20 rows per leaf, bagging 0.8 per tree, feature fraction 0.7.
//!
//! One measured fit is all 13,749 chart tracks from the shared data (`../shared/data` or
//! `SPOTIFY_ML_DATA`; synthetic rows of the same shape without it), `audio` (12 columns) and
//! `audio+analysis` (36 columns), inside a rayon pool of 2 threads. Prediction is timed for
//! batches of 1, 1,000 and 100,000 rows resampled from the chart tracks, with the
//! `audio+analysis` model, on the same 2 threads.
//!
//! Python LightGBM cannot be timed inside criterion, so the comparison with it (same rows,
//! same folds, same 2 threads, and the MAE alongside) is made by `tools/compare_boosting
//! --threads 2`; `docs/BOOSTING.md` records both.

use std::time::Duration;

use classic_models::{Boosting, BoostingParams, Loss};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use dataset::FeatureSet;
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Rows of the valence training set, for synthetic data of the same shape.
const CHART_ROWS: usize = 13_749;
/// Threads of every fit and prediction: the machine the comparison with LightGBM was made on.
const THREADS: usize = 2;

fn params() -> BoostingParams {
    BoostingParams::new()
        .n_trees(2000)
        .learning_rate(0.02)
        .max_leaves(31)
        .min_leaf_rows(20)
        .row_fraction(0.8)
        .feature_fraction(0.7)
        .loss(Loss::Squared)
        .seed(42)
}

/// The chart tracks as a matrix of `features` and their valence.
fn chart_tracks(
    features: &FeatureSet,
) -> Result<(Array2<f64>, Array1<f64>), Box<dyn std::error::Error>> {
    let dir = dataset::DataDir::resolve(None)?;
    let tracks: Vec<_> = dataset::load::valence::load(&dir)?
        .train
        .into_iter()
        .filter(|track| features.covers(track))
        .collect();
    Ok((features.matrix(&tracks)?, dataset::valence(&tracks)?))
}

fn synthetic(columns: usize) -> (Array2<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = Array2::from_shape_simple_fn((CHART_ROWS, columns), || rng.gen_range(-1.0..1.0));
    let y = Array1::from_shape_simple_fn(CHART_ROWS, || rng.gen_range(0.0..1.0));
    (x, y)
}

fn data(features: &FeatureSet) -> (Array2<f64>, Array1<f64>) {
    chart_tracks(features).unwrap_or_else(|error| {
        eprintln!(
            "boosting_fit: using synthetic rows for {} ({error})",
            features.name
        );
        synthetic(features.len())
    })
}

fn pool() -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(THREADS)
        .build()
        .expect("a rayon pool of 2 threads")
}

fn fit(c: &mut Criterion) {
    let pool = pool();
    let params = params();
    let mut group = c.benchmark_group("boosting_fit");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for features in [FeatureSet::audio(), FeatureSet::audio_with_analysis()] {
        let (x, y) = data(&features);
        let rows = x.nrows();
        let dataset = DatasetBase::new(x, y);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(
            BenchmarkId::new("2000_trees_2_threads", &features.name),
            |b| {
                b.iter(|| {
                    pool.install(|| params.fit(&dataset))
                        .map(|model| model.n_trees())
                })
            },
        );
    }
    group.finish();
}

fn predict(c: &mut Criterion) {
    let pool = pool();
    let features = FeatureSet::audio_with_analysis();
    let (x, y) = data(&features);
    let model: Boosting = pool
        .install(|| params().fit(&DatasetBase::new(x.clone(), y)))
        .expect("the benchmark model fits");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("boosting_predict");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for batch in [1usize, 1_000, 100_000] {
        let rows: Vec<usize> = (0..batch).map(|_| rng.gen_range(0..x.nrows())).collect();
        let batch_x = x.select(Axis(0), &rows);
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::new("audio+analysis", batch), |b| {
            b.iter(|| pool.install(|| model.try_predict(batch_x.view())))
        });
    }
    group.finish();
}

criterion_group!(benches, fit, predict);
criterion_main!(benches);
