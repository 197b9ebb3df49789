//! Building the feature matrix: the chart tracks (already loaded and validated) into the `f64`
//! matrix every learner reads, for `audio` (12 columns) and `audio+analysis` (36 columns), and the
//! `f32` matrix the networks read. Throughput is in tracks per second.

use std::time::Duration;

mod chart_data;

use criterion::{criterion_main, BenchmarkId, Criterion, Throughput};
use dataset::FeatureSet;

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("feature_matrix");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for features in [FeatureSet::audio(), FeatureSet::audio_with_analysis()] {
        let tracks = match chart_data::tracks(&features) {
            Ok(tracks) => tracks,
            Err(error) => {
                eprintln!("feature_matrix: skipped, the chart tracks are needed ({error})");
                return;
            }
        };
        group.throughput(Throughput::Elements(tracks.len() as u64));
        group.bench_function(BenchmarkId::new("f64", &features.name), |b| {
            b.iter(|| features.matrix(&tracks))
        });
        group.bench_function(BenchmarkId::new("f32", &features.name), |b| {
            b.iter(|| features.matrix_f32(&tracks))
        });
    }
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    criterion::criterion_group!(benches, super::build);
}
criterion_main!(group::benches);
