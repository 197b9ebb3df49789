//! Property tests of the root's model manifests (issue 23): the popularity predictor's
//! `predictor.json` with a number swapped for another, a byte changed or the file truncated is
//! either refused with a typed error or loads a model whose probabilities are valid, in bounded
//! time. The member files themselves are the crates' (`classic-models`' own property test).
// Networks are in every line-up and model here: the `neural` feature (on by default).
#![cfg(feature = "neural")]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use proptest::prelude::*;
use spotify_ml::dataset::DataDir;
use spotify_ml::popularity::{
    Members, PopularityData, PopularityPredictor, PredictorConfig, QuartileModel, SongInput,
};

const TIME_LIMIT: Duration = Duration::from_secs(20);

/// A quick blend trained once on every 9th row of the real data and saved; its directory and
/// its manifest's text.
fn saved() -> &'static (tempfile::TempDir, String) {
    static SAVED: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    SAVED.get_or_init(|| {
        let data = PopularityData::load(&DataDir::resolve(None).expect("data directory"))
            .expect("popularity data");
        let rows: Vec<usize> = (0..data.y.len()).step_by(9).collect();
        let config = PredictorConfig {
            members: Members::Blend,
            seed: 5,
            quick: true,
        };
        let trained = PopularityPredictor::train(&data, &rows, &config).expect("trains");
        let dir = tempfile::tempdir().expect("temporary directory");
        trained.predictor.save(dir.path()).expect("saves");
        let text = std::fs::read_to_string(dir.path().join("predictor.json")).expect("manifest");
        (dir, text)
    })
}

fn song(genre: &str) -> SongInput {
    SongInput {
        danceability: 0.7,
        energy: 0.8,
        key: 5.0,
        loudness: -5.0,
        mode: 1.0,
        speechiness: 0.05,
        acousticness: 0.1,
        instrumentalness: 0.0,
        liveness: 0.1,
        valence: 0.5,
        tempo: 120.0,
        duration_ms: 200_000.0,
        artist_popularity: 60.0,
        genre: genre.into(),
    }
}

/// A copy of the saved model with `manifest` as its `predictor.json`.
fn copy_with(manifest: &str) -> tempfile::TempDir {
    let copy = tempfile::tempdir().expect("temporary directory");
    for entry in std::fs::read_dir(saved().0.path()).expect("saved model") {
        let path: PathBuf = entry.expect("entry").path();
        std::fs::copy(&path, copy.path().join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(copy.path().join("predictor.json"), manifest).expect("manifest");
    copy
}

/// Loads `dir` and predicts three songs on a thread of its own: `Ok(None)` when refused or
/// valid, `Ok(Some(problem))` when a loaded model answers wrongly, `Err` on a panic or time-out.
fn load_and_predict(dir: &Path) -> Result<Option<String>, String> {
    let dir = dir.to_path_buf();
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            let model = PopularityPredictor::load(&dir).ok()?;
            for genre in model.genres().iter().take(3) {
                // A typed refusal of the song is not a fault of the file.
                let Ok(p) = model.predict_proba(&song(genre)) else {
                    continue;
                };
                let valid = p.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v))
                    && (p.iter().sum::<f64>() - 1.0).abs() < 1e-9;
                if !valid {
                    return Some(format!("{genre}: probabilities {p:?}"));
                }
                if let Some((coverage, set)) = model.prediction_set(&p) {
                    if !(coverage > 0.0 && coverage < 1.0) || set.iter().any(|&q| q >= 4) {
                        return Some(format!("{genre}: set {coverage} {set:?}"));
                    }
                }
            }
            None
        });
        let _ = sender.send(outcome.map_err(|_| "panicked".to_string()));
    });
    receiver
        .recv_timeout(TIME_LIMIT)
        .unwrap_or_else(|_| Err(format!("no answer within {TIME_LIMIT:?}")))
}

/// The byte ranges of the numbers in a JSON text.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let digit = bytes[i].is_ascii_digit()
            || (bytes[i] == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        let after_value =
            i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || b"\"._".contains(&bytes[i - 1]));
        if digit && !after_value {
            let start = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b".eE+-".contains(&bytes[i])) {
                i += 1;
            }
            found.push((start, i));
        } else {
            i += 1;
        }
    }
    found
}

const NUMBERS: [&str; 10] = [
    "0",
    "1",
    "-1",
    "2",
    "0.5",
    "1e308",
    "-1e308",
    "7",
    "1e-308",
    "4294967296",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_number_swapped_in_the_manifest_is_refused_or_harmless(
        spot in any::<prop::sample::Index>(),
        number in prop::sample::select(NUMBERS.to_vec()),
    ) {
        let text = &saved().1;
        let spans = numbers(text);
        let (start, end) = spans[spot.index(spans.len())];
        let mut mutated = text.clone();
        mutated.replace_range(start..end, number);
        let copy = copy_with(&mutated);
        prop_assert_eq!(load_and_predict(copy.path()), Ok(None), "{}", &text[start.saturating_sub(40)..end]);
    }

    #[test]
    fn a_changed_or_truncated_manifest_is_refused_or_harmless(
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = saved().1.clone().into_bytes();
        let at = at.index(bytes.len());
        if truncate {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        let copy = copy_with(&String::from_utf8_lossy(&bytes));
        prop_assert_eq!(load_and_predict(copy.path()), Ok(None));
    }
}
