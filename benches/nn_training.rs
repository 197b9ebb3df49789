//! Training throughput of a representative valence network: samples per second for one epoch
//! of 36 inputs → 256 → 128 → 1 (ReLU, dropout 0.1, AdamW, batch 256, 2 torch threads).
//!
//! Uses the 13,749 chart tracks with `audio+analysis` features from the shared data
//! (`../shared/data` or `SPOTIFY_ML_DATA`), or synthetic rows of the same shape without it.
//! `tools/torch_epoch.py` runs the same epoch in PyTorch for comparison.
//!
//! One measured iteration is a whole `fit` with one epoch and no validation split: scaler,
//! tensor conversion, initialisation and the epoch of 54 mini-batches.

use std::time::Duration;

mod chart_data;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use linfa::traits::Fit;
use linfa::DatasetBase;
use neural_models::{MlpConfig, MlpRegressorParams, Optimiser};

fn one_epoch(c: &mut Criterion) {
    let (x, y) = chart_data::matrix("nn_training", &dataset::FeatureSet::audio_with_analysis());
    let rows = x.nrows();
    eprintln!("nn_training: {rows} rows × {} columns", x.ncols());
    let data = DatasetBase::new(x, y);
    let config = MlpConfig::new(vec![256, 128]).dropout(0.1);
    let params = MlpRegressorParams::new(config)
        .optimiser(Optimiser::AdamW { weight_decay: 0.01 })
        .learning_rate(1e-3)
        .batch_size(256)
        .max_epochs(1)
        .validation_fraction(0.0)
        .threads(2)
        .seed(0);

    let mut group = c.benchmark_group("nn_training");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(rows as u64));
    group.bench_function("epoch_36_256_128_1_batch256_adamw", |b| {
        b.iter(|| params.fit(&data).map(|model| model.best_epoch()))
    });
    group.finish();
}

criterion_group!(benches, one_epoch);
criterion_main!(benches);
