//! Saving and loading fitted networks.

use std::fs;

use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use ndarray::{Array1, Array2};
use neural_models::{
    MlpClassifier, MlpClassifierParams, MlpConfig, MlpRegressor, MlpRegressorParams, NeuralError,
    Normalisation, OutputHead,
};

fn features(rows: usize, cols: usize) -> Array2<f64> {
    Array2::from_shape_fn((rows, cols), |(r, c)| {
        ((r * 7 + c * 13) % 17) as f64 / 3.0 - 2.0
    })
}

fn regressor() -> MlpRegressor {
    let x = features(120, 3);
    let y = x
        .rows()
        .into_iter()
        .map(|r| (r[0] - r[1]).tanh() * 0.5 + 0.5)
        .collect();
    let config = MlpConfig::new(vec![8, 8])
        .normalisation(Normalisation::Batch)
        .dropout(0.1)
        .output_head(OutputHead::Clipped);
    MlpRegressorParams::new(config)
        .threads(1)
        .batch_size(32)
        .max_epochs(4)
        .with_feature_names(vec!["energy".into(), "tempo".into(), "loudness".into()])
        .fit(&DatasetBase::new(x, y))
        .unwrap()
}

#[test]
fn saved_regressor_loads_with_bit_identical_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let model = regressor();
    let json = model.save(dir.path().join("valence")).unwrap();
    assert!(json.ends_with("valence/model.json"));
    assert!(dir.path().join("valence/model.safetensors").is_file());
    // No temporary files are left behind.
    assert_eq!(fs::read_dir(dir.path().join("valence")).unwrap().count(), 2);

    let x = features(50, 3);
    for path in [json.clone(), dir.path().join("valence")] {
        let loaded = MlpRegressor::load(&path).unwrap();
        let (before, after) = (model.predict(&x), loaded.predict(&x));
        assert!(before
            .iter()
            .zip(&after)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_eq!(loaded.feature_names(), model.feature_names());
        assert_eq!(loaded.history(), model.history());
        assert_eq!(loaded.best_epoch(), model.best_epoch());
        assert_eq!(loaded.config(), model.config());
        assert_eq!(loaded.scaler(), model.scaler());
    }
}

#[test]
fn saved_classifier_loads_from_json_path_and_predicts_identically() {
    let x = features(90, 2);
    let y: Array1<usize> = x
        .rows()
        .into_iter()
        .map(|r| usize::from(r[0] > 0.0))
        .collect();
    let model =
        MlpClassifierParams::new(MlpConfig::new(vec![6]).normalisation(Normalisation::Layer))
            .threads(1)
            .max_epochs(3)
            .fit(&DatasetBase::new(x.clone(), y))
            .unwrap()
            .with_feature_names(vec!["a".into(), "b".into()])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let json = model.save(dir.path().join("mood.json")).unwrap();
    assert!(dir.path().join("mood.safetensors").is_file());
    let loaded = MlpClassifier::load(&json).unwrap();
    assert_eq!(loaded.n_classes(), 2);
    assert_eq!(
        loaded.predict_proba(x.view()).unwrap(),
        model.predict_proba(x.view()).unwrap()
    );
    let predicted: Array1<usize> = loaded.predict(&x);
    assert_eq!(predicted, model.predict(&x));
    assert_eq!(loaded.feature_names().unwrap(), ["a", "b"]);
}

#[test]
fn saving_twice_overwrites_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let model = regressor();
    model.save(dir.path()).unwrap();
    model.save(dir.path()).unwrap();
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    MlpRegressor::load(dir.path()).unwrap();
}

fn expect_bad_file(result: Result<MlpRegressor, NeuralError>, file_name: &str) {
    let error = result.unwrap_err();
    let message = error.to_string();
    assert!(message.contains(file_name), "{message}");
}

#[test]
fn corrupt_missing_or_foreign_files_give_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let json = regressor().save(dir.path()).unwrap();
    let weights = dir.path().join("model.safetensors");
    let original = fs::read(&weights).unwrap();

    // Truncated weights.
    fs::write(&weights, &original[..original.len() / 2]).unwrap();
    expect_bad_file(MlpRegressor::load(&json), "model.safetensors");
    // Same length, damaged bytes.
    let mut damaged = original.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 0xff;
    fs::write(&weights, &damaged).unwrap();
    expect_bad_file(MlpRegressor::load(&json), "model.safetensors");
    // Missing weights.
    fs::remove_file(&weights).unwrap();
    let error = MlpRegressor::load(&json).unwrap_err();
    assert!(matches!(error, NeuralError::Io { .. }), "{error}");
    assert!(error.to_string().contains("model.safetensors"));
    fs::write(&weights, &original).unwrap();

    // Truncated, foreign and non-JSON model files.
    let text = fs::read_to_string(&json).unwrap();
    fs::write(&json, &text[..text.len() / 2]).unwrap();
    expect_bad_file(MlpRegressor::load(&json), "model.json");
    fs::write(&json, r#"{"name": "someone else's model"}"#).unwrap();
    expect_bad_file(MlpRegressor::load(&json), "model.json");
    fs::write(&json, [0u8, 159, 146, 150]).unwrap();
    expect_bad_file(MlpRegressor::load(&json), "model.json");
    expect_bad_file(
        MlpRegressor::load(dir.path().join("absent.json")),
        "absent.json",
    );

    // A regressor is not a classifier.
    fs::write(&json, &text).unwrap();
    MlpRegressor::load(&json).unwrap();
    let error = MlpClassifier::load(&json).unwrap_err();
    assert!(matches!(error, NeuralError::WrongTask { .. }), "{error}");
}

/// FNV-1a, 64 bits, as the model file records its weights' hash: a test that changes the
/// weights on purpose records their new hash, so that the check under test is the one reached.
fn fnv1a64(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

#[test]
fn non_finite_weights_or_scaler_values_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let json = regressor().save(dir.path()).unwrap();
    let weights = dir.path().join("model.safetensors");
    let original = fs::read(&weights).unwrap();
    let text = fs::read_to_string(&json).unwrap();

    // A NaN in the first tensor's data, with the hash the file then needs.
    let header_len = u64::from_le_bytes(original[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&original[8..8 + header_len]).unwrap();
    let (name, tensor) = header
        .as_object()
        .unwrap()
        .iter()
        .find(|(name, _)| name.as_str() != "__metadata__")
        .unwrap();
    assert_eq!(tensor["dtype"], "F32", "{name}: {tensor}");
    let start = 8 + header_len + tensor["data_offsets"][0].as_u64().unwrap() as usize;
    let mut poisoned = original.clone();
    poisoned[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    fs::write(&weights, &poisoned).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&text).unwrap();
    record["weights"]["fnv1a64"] = fnv1a64(&poisoned).into();
    fs::write(&json, record.to_string()).unwrap();
    let message = MlpRegressor::load(&json).unwrap_err().to_string();
    assert!(
        message.contains("model.safetensors") && message.contains("NaN or infinite"),
        "{message}"
    );

    // A zero scale in the scaler.
    fs::write(&weights, &original).unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&text).unwrap();
    record["scaler"]["scale"]["data"][1] = 0.0.into();
    fs::write(&json, record.to_string()).unwrap();
    let message = MlpRegressor::load(&json).unwrap_err().to_string();
    assert!(
        message.contains("model.json") && message.contains("scaler column 1"),
        "{message}"
    );
    fs::write(&json, &text).unwrap();
    MlpRegressor::load(&json).unwrap();
}
