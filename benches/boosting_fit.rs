//! Fit time and prediction throughput of the workspace's gradient boosting
//! (`classic_models::BoostingParams`) with the LightGBM-equivalent settings: 2000 trees,
//! learning rate 0.02, 31 leaves, 20 rows per leaf, bagging 0.8 per tree, feature fraction 0.7.
//!
//! One measured fit is all 13,749 chart tracks from the shared data (`../shared/data` or
//! `SPOTIFY_ML_DATA`; synthetic rows of the same shape without it), `audio` (12 columns) and
//! `audio+analysis` (36 columns), inside a rayon pool of 2 threads. Prediction is timed for
//! batches of 1 and 1,000 rows resampled from the chart tracks and of 1,000,000 synthetic rows,
//! with the `audio+analysis` model, on the same 2 threads.
//!
//! Python LightGBM cannot be timed inside criterion, so the comparison with it (same rows,
//! same folds, same 2 threads, and the MAE alongside) is made by `tools/compare_peers` and
//! `tools/compare_boosting`; `docs/PERFORMANCE.md` and `docs/BOOSTING.md` record them.

use std::time::Duration;

mod chart_data;

use classic_models::{Boosting, BoostingParams};
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use dataset::FeatureSet;
use evaluation::Tunable;
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::Axis;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Threads of every fit and prediction: the machine the comparison with LightGBM was made on.
const THREADS: usize = 2;

/// LightGBM's settings of the comparison (`spotify_ml::valence::lightgbm_like`), seed 42.
fn params() -> BoostingParams {
    BoostingParams::from_params(&spotify_ml::valence::lightgbm_like())
        .expect("LightGBM-like settings are valid")
        .seed(42)
}

fn fit(c: &mut Criterion) {
    let pool = chart_data::pool(THREADS);
    let params = params();
    let mut group = c.benchmark_group("boosting_fit");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for features in [FeatureSet::audio(), FeatureSet::audio_with_analysis()] {
        let (x, y) = chart_data::matrix("boosting_fit", &features);
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
    let pool = chart_data::pool(THREADS);
    let features = FeatureSet::audio_with_analysis();
    let (x, y) = chart_data::matrix("boosting_fit", &features);
    let model: Boosting = pool
        .install(|| params().fit(&DatasetBase::new(x.clone(), y)))
        .expect("the benchmark model fits");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut group = c.benchmark_group("boosting_predict");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for batch in [1usize, 1_000, 1_000_000] {
        // Resampled chart tracks up to 1,000 rows; the million are synthetic rows of the same
        // shape, which walk the trees as deep.
        let batch_x = if batch <= x.nrows() {
            let rows: Vec<usize> = (0..batch).map(|_| rng.gen_range(0..x.nrows())).collect();
            x.select(Axis(0), &rows)
        } else {
            chart_data::synthetic(batch, x.ncols(), 1).0
        };
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::new("audio+analysis", batch), |b| {
            b.iter(|| pool.install(|| model.try_predict(batch_x.view())))
        });
    }
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    criterion::criterion_group!(benches, super::fit, super::predict);
}
criterion_main!(group::benches);
