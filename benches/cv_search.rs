//! One step of a hyperparameter search: one candidate scored by 5-fold CV on the chart tracks
//! (`audio+analysis`), through `evaluation::Search` as Task 1 runs it, on 2 threads. Two learners:
//! k-nearest neighbours (a cheap step) and the boosting with 300 trees (a typical one).
//! Throughput is in training rows per second, summed over the 5 fits.

use std::time::Duration;

mod chart_data;

use classic_models::{BoostingParams, KnnParams};
use criterion::{criterion_main, Criterion, Throughput};
use dataset::split::k_fold;
use dataset::FeatureSet;
use evaluation::{Fold, Search, Tunable, Value};

fn step(c: &mut Criterion) {
    let pool = chart_data::pool(2);
    let (x, y) = chart_data::matrix("cv_search", &FeatureSet::audio_with_analysis());
    let folds: Vec<Fold> = k_fold(x.nrows(), 5, 42)
        .expect("5 folds of the chart tracks")
        .into_iter()
        .map(|split| Fold {
            train: split.train,
            test: split.test,
        })
        .collect();
    let trained_rows: usize = folds.iter().map(|fold| fold.train.len()).sum();
    let knn = Search::random("knn", KnnParams::search_space(), 1, 7);
    let boosting = Search::random("boosting", BoostingParams::search_space(), 1, 7)
        .overriding("n_trees", Value::Int(300));

    let mut group = c.benchmark_group("cv_search_step");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(trained_rows as u64));
    group.bench_function("knn_5_folds", |b| {
        b.iter(|| pool.install(|| knn.run::<KnnParams, _>(&x, &y, &folds)))
    });
    group.bench_function("boosting_300_trees_5_folds", |b| {
        b.iter(|| pool.install(|| boosting.run::<BoostingParams, _>(&x, &y, &folds)))
    });
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    criterion::criterion_group!(benches, super::step);
}
criterion_main!(group::benches);
