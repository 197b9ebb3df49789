//! Batch prediction of the tree ensembles: the node-by-node walk against the flattened trees
//! (`flat_trees.rs`), on the peer comparison's 2000-tree boosting fitted on the chart tracks
//! (audio+analysis; synthetic rows of the same width when `SPOTIFY_ML_DATA` is absent), and on a
//! 100-tree forest classifier of the same rows. The peer comparison against LightGBM is
//! `tools/compare_peers --only predict`.
//!
//! `cargo bench -p classic-models --bench tree_predict`

use criterion::{BenchmarkId, Criterion, Throughput};
use dataset::{DataDir, FeatureSet, Track};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use classic_models::{BoostingParams, ForestClassifierParams};

/// Rows of each timed batch.
const BATCH: usize = 20_000;

/// The chart tracks' audio+analysis features and valence, or synthetic rows of the same shape.
fn rows() -> (Array2<f64>, Array1<f64>) {
    let features = FeatureSet::audio_with_analysis();
    let loaded = DataDir::resolve(None)
        .ok()
        .and_then(|dir| dataset::load::valence::load(&dir).ok());
    if let Some(data) = loaded {
        let tracks: Vec<Track> = data
            .train
            .into_iter()
            .filter(|track| features.covers(track))
            .collect();
        if let (Ok(x), Ok(y)) = (features.matrix(&tracks), dataset::valence(&tracks)) {
            return (x, y);
        }
    }
    eprintln!("tree_predict: no chart tracks (set SPOTIFY_ML_DATA); timing synthetic rows");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x = Array2::from_shape_fn((12_000, features.len()), |_| rng.gen_range(-1.0..1.0));
    let y = x.map_axis(Axis(1), |row| {
        (3.0f64 * row[0]).sin() + row[1] * row[2] + 0.1 * row[3]
    });
    (x, y)
}

fn tree_predict(c: &mut Criterion) {
    let (x, y) = rows();
    let boosting = BoostingParams::new()
        .n_trees(2000)
        .learning_rate(0.02)
        .max_leaves(31)
        .min_leaf_rows(20)
        .row_fraction(0.8)
        .feature_fraction(0.7)
        .seed(42)
        .fit(&DatasetBase::new(x.clone(), y.clone()))
        .expect("the chart tracks fit");
    let labels = y.mapv(|v| ((v * 3.0) as usize).min(2));
    let forest = ForestClassifierParams::new()
        .n_trees(100)
        .n_classes(3)
        .seed(42)
        .fit(&DatasetBase::new(x.clone(), labels))
        .expect("the chart tracks fit");
    let picks: Vec<usize> = (0..BATCH).map(|i| (i * 7919) % x.nrows()).collect();
    let batch = x.select(Axis(0), &picks);

    let mut group = c.benchmark_group("tree_predict");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function(BenchmarkId::new("boosting_2000_trees", "walk"), |b| {
        b.iter(|| boosting.try_predict_walking(batch.view()).expect("width"))
    });
    group.bench_function(BenchmarkId::new("boosting_2000_trees", "flat"), |b| {
        b.iter(|| boosting.try_predict(batch.view()).expect("width"))
    });
    group.bench_function(
        BenchmarkId::new("forest_classifier_100_trees", "walk"),
        |b| {
            b.iter(|| {
                forest
                    .try_predict_proba_walking(batch.view())
                    .expect("width")
            })
        },
    );
    group.bench_function(
        BenchmarkId::new("forest_classifier_100_trees", "flat"),
        |b| b.iter(|| forest.try_predict_proba(batch.view()).expect("width")),
    );
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    criterion::criterion_group!(benches, super::tree_predict);
}
criterion::criterion_main!(group::benches);
