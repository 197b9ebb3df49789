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

/// Issue 20: the popularity predictor as a bundle. Its input schema says what a catalogue holds
/// (the genre as text, the artist popularity imputed where missing); from a record batch it
/// predicts what the web app serves for a song, and the imputed, flagged row the model was
/// trained with for a song without its artist's popularity.
#[test]
fn the_popularity_bundle_takes_text_genres_and_imputes_a_missing_artist_popularity() {
    use std::sync::Arc;

    use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use spotify_ml::bundle::{self, InputType, Problem, Training};

    let data = data();
    let rows: Vec<usize> = (0..data.y.len()).step_by(11).collect();
    let model = PopularityPredictor::train(
        &data,
        &rows,
        &PredictorConfig {
            members: Members::Blend,
            seed: 5,
            quick: true,
        },
    )
    .expect("trains")
    .predictor;
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("popularity");
    let training = Training {
        data_set: "popularity".into(),
        rows: rows.len(),
        date: "2026-12-06".into(),
        crate_version: "0".into(),
        seed: 5,
        model: "blend".into(),
    };
    bundle::save_popularity_bundle(&folder, &model, training, Default::default()).unwrap();
    let loaded = bundle::load(&folder).expect("the bundle loads");
    let manifest = loaded.manifest();
    let inputs: Vec<&str> = manifest.inputs.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(inputs.len(), 14);
    assert_eq!(inputs[12..], ["artist_popularity", "genre"]);
    assert_eq!(
        manifest.inputs[12].imputed,
        Some(model.imputed_artist_popularity())
    );
    assert_eq!(manifest.inputs[13].dtype, InputType::Utf8);
    assert_eq!(manifest.inputs[13].categories, model.genres());

    // Songs in a batch, columns by name in reverse order: three known genres, one song whose
    // artist popularity is missing, and one of a genre the model does not know.
    let songs = [
        song("pop"),
        song("rock"),
        song("edm"),
        song("latin"),
        song("polka"),
    ];
    let fields = song_fields(&songs[0]);
    let mut columns: Vec<(Field, ArrayRef)> = fields
        .iter()
        .enumerate()
        .map(|(i, (name, _))| {
            let values: Float64Array = songs
                .iter()
                .enumerate()
                .map(|(r, s)| {
                    let value = song_fields(s)[i].1;
                    (!(r == 3 && *name == "artist_popularity")).then_some(value)
                })
                .collect();
            (
                Field::new(*name, DataType::Float64, true),
                Arc::new(values) as ArrayRef,
            )
        })
        .collect();
    let genres: StringArray = songs.iter().map(|s| Some(s.genre.as_str())).collect();
    columns.push((Field::new("genre", DataType::Utf8, true), Arc::new(genres)));
    columns.reverse();
    let (fields, arrays): (Vec<Field>, Vec<ArrayRef>) = columns.into_iter().unzip();
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap();
    let output = loaded.predict_batch(&batch).expect("predicts the batch");
    let names: Vec<&str> = output
        .columns
        .iter()
        .map(|(f, _)| f.name().as_str())
        .collect();
    assert_eq!(
        names,
        [
            "popularity",
            "popularity_p_0_25",
            "popularity_p_25_50",
            "popularity_p_50_75",
            "popularity_p_75_100",
            "popularity_set"
        ]
    );
    let probability = |row: usize| -> Vec<f64> {
        (1..=4)
            .map(|c| {
                let column = output.columns[c]
                    .1
                    .as_any()
                    .downcast_ref::<Float64Array>()
                    .unwrap();
                column.value(row)
            })
            .collect()
    };
    for (row, song) in songs.iter().enumerate().take(3) {
        let served = model.predict_proba(song).unwrap();
        assert_eq!(
            probability(row),
            served,
            "the web app's probabilities, row {row}"
        );
    }
    // Without its artist's popularity, a song is the model row of training: the median, flagged.
    let genres = model.genres().to_vec();
    let mut imputed_song = songs[3].clone();
    imputed_song.artist_popularity = model.imputed_artist_popularity();
    let design = spotify_ml::popularity::design_row(&imputed_song, true, &genres).unwrap();
    let raw = model
        .predict_rows(&ndarray::Array2::from_shape_vec((1, design.len()), design).unwrap())
        .unwrap();
    let sum: f64 = raw.row(0).iter().sum();
    let expected: Vec<f64> = raw.row(0).iter().map(|p| p / sum).collect();
    assert_eq!(probability(3), expected);
    assert_ne!(
        probability(3),
        model.predict_proba(&songs[3]).unwrap().to_vec()
    );
    let rejected = output.rejected[4].expect("an unknown genre gets no prediction");
    assert_eq!(
        (
            manifest.inputs[rejected.column].name.as_str(),
            rejected.problem
        ),
        ("genre", Problem::UnknownCategory)
    );
    assert!(output.columns[0].1.is_null(4));
    assert!(output.rejected[..4].iter().all(Option::is_none));
    // The set column holds the predictor's own sets.
    let sets = output.columns[5]
        .1
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    for (row, song) in songs.iter().enumerate().take(3) {
        let p = model.predict_proba(song).unwrap();
        let (_, set) = model.prediction_set(&p).unwrap();
        let spelt: Vec<&str> = set
            .iter()
            .map(|&q| spotify_ml::popularity::QUARTILES[q])
            .collect();
        assert_eq!(sets.value(row), spelt.join("|"), "row {row}");
    }

    // A manifest that names other genres than the predictor's is refused.
    let manifest_path = folder.join("bundle.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(&manifest_path, text.replacen("\"pop\"", "\"polka\"", 1)).unwrap();
    let error = match bundle::load(&folder) {
        Ok(_) => panic!("a manifest with other genres loaded"),
        Err(e) => e.to_string(),
    };
    assert!(
        error.contains("bundle.json") && error.contains("genres"),
        "{error}"
    );
}

/// A song's numeric fields by name, in model order.
fn song_fields(song: &SongInput) -> Vec<(&'static str, f64)> {
    song.numeric_fields()
        .iter()
        .map(|(name, value, _)| (*name, *value))
        .collect()
}
