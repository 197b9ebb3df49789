//! The saved popularity model: trained (token settings) on the real data, saved, reloaded with
//! identical probabilities, input validation, and clear errors for missing or damaged files.
// Networks are in every line-up and model here: the `neural` feature (on by default).
#![cfg(feature = "neural")]

use spotify_ml::dataset::DataDir;
use spotify_ml::popularity::{
    Members, PopularityData, PopularityPredictor, PredictorConfig, PredictorError, QuartileModel,
    SongInput,
};

fn song(genre: &str) -> SongInput {
    SongInput {
        danceability: 0.748,
        energy: 0.916,
        key: 6.0,
        loudness: -2.634,
        mode: 1.0,
        speechiness: 0.0583,
        acousticness: 0.102,
        instrumentalness: 0.0,
        liveness: 0.0653,
        valence: 0.518,
        tempo: 122.036,
        duration_ms: 194_754.0,
        artist_popularity: 80.0,
        genre: genre.into(),
    }
}

fn data() -> PopularityData {
    PopularityData::load(&DataDir::resolve(None).expect("data directory")).expect("loads")
}

#[test]
fn one_row_per_track_with_imputed_and_flagged_artist_popularity() {
    let data = data();
    assert_eq!(data.file_rows, 32_549);
    assert_eq!(data.tracks.len(), 28_260);
    assert_eq!(data.x.nrows(), 28_260);
    let share = data.missing_share();
    assert!((0.2..0.4).contains(&share), "missing share {share}");
    let missing_column = spotify_ml::popularity::feature_names(&data.genres)
        .iter()
        .position(|n| n == "artist_popularity_missing")
        .unwrap();
    for (row, known) in data.artist_known.iter().enumerate() {
        assert_eq!(data.x[[row, missing_column]] == 1.0, !known);
        if !known {
            assert_eq!(data.x[[row, 12]], data.imputed);
        }
    }
}

#[test]
fn saved_predictor_reloads_with_identical_probabilities_and_validates_input() {
    let data = data();
    let rows: Vec<usize> = (0..data.y.len()).step_by(7).collect();
    let trained = PopularityPredictor::train(
        &data,
        &rows,
        &PredictorConfig {
            members: Members::Blend,
            seed: 3,
            quick: true,
        },
    )
    .expect("trains");
    let model = trained.predictor;
    let dir = tempfile::tempdir().unwrap();
    model.save(dir.path()).expect("saves");
    let again = PopularityPredictor::load(dir.path()).expect("loads");
    assert_eq!(again.genres(), model.genres());
    for genre in ["pop", "rock", "edm"] {
        let p = model.predict_proba(&song(genre)).expect("predicts");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert_eq!(again.predict_proba(&song(genre)).unwrap(), p);
    }
    let batch = model.predict_rows(&data.x).unwrap();
    assert_eq!(again.predict_rows(&data.x).unwrap(), batch);
    // The prediction sets, calibrated on the held-out rows, survive the reload.
    let p = model.predict_proba(&song("pop")).unwrap();
    let (coverage, set) = model.prediction_set(&p).expect("a calibrated set");
    assert_eq!(coverage, spotify_ml::popularity::SET_COVERAGE);
    assert_eq!(again.prediction_set(&p), Some((coverage, set.clone())));
    assert!(
        set.windows(2).all(|w| p[w[0]] >= p[w[1]]),
        "most likely first"
    );

    let unknown = model.predict_proba(&song("polka")).unwrap_err().to_string();
    assert!(
        unknown.contains("`genre`") && unknown.contains("polka"),
        "{unknown}"
    );
    let mut loud = song("pop");
    loud.loudness = 40.0;
    let out_of_range = model.predict_proba(&loud).unwrap_err().to_string();
    assert!(out_of_range.contains("`loudness`"), "{out_of_range}");

    // Damaged and missing files are named.
    std::fs::write(dir.path().join("boosting.json"), b"{\"format\": \"spot").unwrap();
    match PopularityPredictor::load(dir.path()) {
        Err(PredictorError::Corrupt { path, .. }) => assert!(path.ends_with("boosting.json")),
        other => panic!("expected a corrupt-file error, got {other:?}"),
    }
    std::fs::remove_file(dir.path().join("network.safetensors")).unwrap();
    std::fs::write(dir.path().join("predictor.json"), b"[1, 2").unwrap();
    let error = PopularityPredictor::load(dir.path())
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("predictor.json") && error.contains("truncated"),
        "{error}"
    );
    let error = PopularityPredictor::load(&dir.path().join("nowhere")).unwrap_err();
    assert!(matches!(error, PredictorError::Missing { .. }));
    assert!(
        error.to_string().contains("popularity_classifier"),
        "{error}"
    );
}

/// The messages of an error and of every cause below it.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(" / ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// A copy of the saved model in `from`, with `file` changed by `edit` (as JSON).
fn tampered(
    from: &std::path::Path,
    file: &str,
    edit: impl FnOnce(&mut serde_json::Value),
) -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, copy.path().join(path.file_name().unwrap())).unwrap();
    }
    let path = copy.path().join(file);
    let mut value: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(&path, serde_json::to_vec(&value).unwrap()).unwrap();
    copy
}

/// Calls `visit` on every JSON object inside `value`, depth first.
fn each_object(value: &mut serde_json::Value, visit: &mut impl FnMut(&mut serde_json::Value)) {
    match value {
        serde_json::Value::Object(map) => {
            for child in map.values_mut() {
                each_object(child, visit);
            }
            visit(value);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| each_object(v, visit)),
        _ => {}
    }
}

/// Loading `dir` fails on `file`, with `expected` in the error or its causes.
fn refused(dir: &tempfile::TempDir, file: &str, expected: &str) {
    match PopularityPredictor::load(dir.path()) {
        Err(error @ PredictorError::Corrupt { .. }) => {
            let text = chain(&error);
            assert!(text.contains(file) && text.contains(expected), "{text}");
        }
        other => panic!("expected {file} to be refused ({expected}), got {other:?}"),
    }
}

/// Issue 23, faults 1 and 2: a model file whose values cannot give probabilities (blend weights
/// that are negative, huge or do not sum to one; leaves that overflow; a tree that points back
/// at itself) is refused when loaded, naming the file, instead of predicting nonsense or hanging.
#[test]
fn saved_models_with_impossible_values_are_refused_on_load() {
    let data = data();
    let rows: Vec<usize> = (0..data.y.len()).step_by(9).collect();
    let config = PredictorConfig {
        members: Members::Blend,
        seed: 5,
        quick: true,
    };
    let trained = PopularityPredictor::train(&data, &rows, &config).expect("trains");
    let saved = tempfile::tempdir().unwrap();
    trained.predictor.save(saved.path()).expect("saves");
    PopularityPredictor::load(saved.path()).expect("the untouched copy loads");

    for (weights, expected) in [
        (serde_json::json!([5.0, -4.0]), "weight 1 is -4"),
        (serde_json::json!([1e308, 0.0]), "sum to 1e308"),
        (serde_json::json!([0.5, 0.4]), "sum to 0.9"),
        (serde_json::json!([f64::MAX, f64::MAX]), "weight"),
    ] {
        let copy = tampered(saved.path(), "predictor.json", |v| v["weights"] = weights);
        refused(&copy, "predictor.json", expected);
    }
    let copy = tampered(saved.path(), "predictor.json", |v| {
        v["members"] = "boosting".into();
        v["weights"] = serde_json::json!([0.5, 0.5]);
    });
    refused(&copy, "predictor.json", "does not list");

    let huge_leaves = tampered(saved.path(), "boosting.json", |v| {
        each_object(v, &mut |object| {
            if object.get("Leaf").is_some() {
                object["Leaf"] = 1e308.into();
            }
        })
    });
    refused(&huge_leaves, "boosting.json", "beyond any finite score");

    let mut first = true;
    let self_pointing = tampered(saved.path(), "boosting.json", |v| {
        each_object(v, &mut |object| {
            if let Some(split) = object.get_mut("Split") {
                if std::mem::take(&mut first) {
                    split["left"] = 0.into();
                }
            }
        })
    });
    refused(&self_pointing, "boosting.json", "points to node 0");
}
