//! The saved popularity model: trained (token settings) on the real data, saved, reloaded with
//! identical probabilities, input validation, and clear errors for missing or damaged files.

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
