//! Training throughput of the valence networks: samples per second for one epoch on the chart
//! tracks (`audio+analysis`, 36 inputs), 2 torch threads.
//!
//! - `epoch_36_256_128_1_batch256_adamw`: a fixed reference network, 36 → 256 → 128 → 1 (ReLU,
//!   dropout 0.1, AdamW, batch 256, MSE), the one `tools/compare_peers` also trains.
//! - `task2_chosen`: the architecture Task 2 chose for `audio+analysis`, read from its
//!   `metrics.json` (`out/valence_nn/metrics.json`, or the file named by
//!   `SPOTIFY_ML_NN_METRICS`); skipped, with a message, when there is no such run.
//!
//! `tools/compare_nn_throughput` runs both and the identical epochs in PyTorch
//! (`tools/torch_epoch.py`). Uses the 13,749 chart tracks from the shared data
//! (`../shared/data` or `SPOTIFY_ML_DATA`), or synthetic rows of the same shape without it.
//!
//! One measured iteration is a whole `fit` with one epoch and no validation split: scaler,
//! tensor conversion, initialisation and the epoch's mini-batches.

use std::path::PathBuf;
use std::time::Duration;

mod chart_data;

use criterion::{criterion_main, Criterion, Throughput};
use evaluation::{describe, ParamSet, Tunable, Value};
use linfa::traits::Fit;
use linfa::DatasetBase;
use neural_models::{MlpConfig, MlpRegressorParams, Optimiser};

/// Task 2's chosen parameters for `audio+analysis`, from its `metrics.json`.
fn chosen_params() -> Result<ParamSet, String> {
    let path = std::env::var_os("SPOTIFY_ML_NN_METRICS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("out/valence_nn/metrics.json"));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let metrics: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let network = metrics["networks"]
        .as_array()
        .and_then(|all| all.iter().find(|n| n["feature_set"] == "audio+analysis"))
        .ok_or_else(|| format!("{}: no audio+analysis network", path.display()))?;
    serde_json::from_value(network["params"].clone())
        .map_err(|e| format!("{}: params: {e}", path.display()))
}

/// Prints the trainable weights of the network `params` builds, in the line
/// `tools/compare_nn_throughput` checks against PyTorch's count of its mirror.
fn report_parameters(
    bench: &str,
    params: &MlpRegressorParams,
    data: &DatasetBase<ndarray::Array2<f64>, ndarray::Array1<f64>>,
) {
    match params.fit(data) {
        Ok(model) => eprintln!("nn_training: parameters {bench} {}", model.n_parameters()),
        Err(e) => eprintln!("nn_training: {bench}: {e}"),
    }
}

fn one_epoch(c: &mut Criterion) {
    let (x, y) = chart_data::matrix("nn_training", &dataset::FeatureSet::audio_with_analysis());
    let rows = x.nrows();
    eprintln!("nn_training: {rows} rows × {} columns", x.ncols());
    let data = DatasetBase::new(x, y);
    let config = MlpConfig::new(vec![256, 128]).dropout(0.1);
    let reference = MlpRegressorParams::new(config)
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
    report_parameters("epoch_36_256_128_1_batch256_adamw", &reference, &data);
    group.bench_function("epoch_36_256_128_1_batch256_adamw", |b| {
        b.iter(|| reference.fit(&data).map(|model| model.best_epoch()))
    });
    match chosen_params() {
        Ok(mut params) => {
            for (name, value) in [
                ("max_epochs", Value::Int(1)),
                ("validation_fraction", Value::Float(0.0)),
                ("threads", Value::Int(2)),
                ("seed", Value::Int(0)),
            ] {
                params.insert(name.into(), value);
            }
            eprintln!(
                "nn_training: Task 2's chosen network: {}",
                describe(&params)
            );
            match MlpRegressorParams::from_params(&params) {
                Ok(chosen) => {
                    report_parameters("task2_chosen", &chosen, &data);
                    group.bench_function("task2_chosen", |b| {
                        b.iter(|| chosen.fit(&data).map(|model| model.best_epoch()))
                    });
                }
                Err(e) => eprintln!("nn_training: task2_chosen skipped: {e}"),
            }
        }
        Err(e) => eprintln!("nn_training: task2_chosen skipped ({e}); run task2_valence_nn first"),
    }
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    criterion::criterion_group!(benches, super::one_epoch);
}
criterion_main!(group::benches);
