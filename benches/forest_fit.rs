//! Fit time of the random forest (`classic_models::RandomForestParams`, smartcore trees) on the
//! chart tracks, with the settings `tools/compare_peers` gives scikit-learn's
//! `RandomForestRegressor`: 100 trees, depth at most 12, 5 rows per leaf, a third of the features
//! per split, on 2 threads. Throughput is in training rows per second.

use std::time::Duration;

mod chart_data;

use classic_models::RandomForestParams;
use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use dataset::FeatureSet;
use linfa::traits::Fit;
use linfa::DatasetBase;

fn fit(c: &mut Criterion) {
    let pool = chart_data::pool(2);
    let params = RandomForestParams::new()
        .n_trees(100)
        .max_depth(Some(12))
        .min_leaf_rows(5)
        .feature_fraction(1.0 / 3.0)
        .seed(42);
    let mut group = c.benchmark_group("forest_fit");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(10));
    for features in [FeatureSet::audio(), FeatureSet::audio_with_analysis()] {
        let (x, y) = chart_data::matrix("forest_fit", &features);
        let rows = x.nrows();
        let data = DatasetBase::new(x, y);
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(
            BenchmarkId::new("100_trees_depth_12", &features.name),
            |b| b.iter(|| pool.install(|| params.fit(&data))),
        );
    }
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    criterion::criterion_group!(benches, super::fit);
}
criterion_main!(group::benches);
