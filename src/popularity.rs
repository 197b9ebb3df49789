//! The song-popularity model's input and the interface every popularity-quartile model offers.
//!
//! The popularity experiment (`examples/popularity_classifier`) trains a model that implements
//! [`QuartileModel`] and saves it as a bundle (`crate::bundle::PopularityBundle`); the web app
//! (`crates/web-app/examples/popularity_app`) loads it and serves its probabilities. Both speak
//! [`SongInput`], whose fields carry the Web API's names.

use dataset::features::AudioFeature;
use dataset::validate::{feature_range, Range, POPULARITY};
use serde::{Deserialize, Serialize};

pub use dataset::load::popularity::POPULARITY_CLASSES as QUARTILES;

/// One song as a popularity model sees it: its audio features, its artist's popularity and its
/// genre (one of the genres the model was trained on).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SongInput {
    /// How suitable for dancing, 0..1.
    pub danceability: f64,
    /// Perceived intensity, 0..1.
    pub energy: f64,
    /// Pitch class, -1 (none) ..= 11.
    pub key: f64,
    /// Overall loudness in dB, -60..5.
    pub loudness: f64,
    /// Major (1) or minor (0).
    pub mode: f64,
    /// Presence of spoken words, 0..1.
    pub speechiness: f64,
    /// Confidence the track is acoustic, 0..1.
    pub acousticness: f64,
    /// Confidence the track has no vocals, 0..1.
    pub instrumentalness: f64,
    /// Presence of an audience, 0..1.
    pub liveness: f64,
    /// Musical positiveness, 0..1.
    pub valence: f64,
    /// Tempo in beats per minute, 0..300.
    pub tempo: f64,
    /// Duration in milliseconds.
    pub duration_ms: f64,
    /// The artist's popularity, 0..=100.
    pub artist_popularity: f64,
    /// The playlist genre, e.g. `pop`.
    pub genre: String,
}

/// A value of a [`SongInput`] that is out of its range: names the field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("`{field}` = {value} is outside {min}..={max}")]
pub struct FieldError {
    /// The field's name, as in the Web API.
    pub field: &'static str,
    /// The value given.
    pub value: f64,
    /// Lowest allowed value.
    pub min: f64,
    /// Highest allowed value.
    pub max: f64,
}

impl SongInput {
    /// The numeric fields in model order, with their names and allowed ranges.
    pub fn numeric_fields(&self) -> [(&'static str, f64, Range); 13] {
        let audio = |feature: AudioFeature| feature_range(feature);
        [
            (
                "danceability",
                self.danceability,
                audio(AudioFeature::Danceability),
            ),
            ("energy", self.energy, audio(AudioFeature::Energy)),
            ("key", self.key, audio(AudioFeature::Key)),
            ("loudness", self.loudness, audio(AudioFeature::Loudness)),
            ("mode", self.mode, audio(AudioFeature::Mode)),
            (
                "speechiness",
                self.speechiness,
                audio(AudioFeature::Speechiness),
            ),
            (
                "acousticness",
                self.acousticness,
                audio(AudioFeature::Acousticness),
            ),
            (
                "instrumentalness",
                self.instrumentalness,
                audio(AudioFeature::Instrumentalness),
            ),
            ("liveness", self.liveness, audio(AudioFeature::Liveness)),
            ("valence", self.valence, audio(AudioFeature::Valence)),
            ("tempo", self.tempo, audio(AudioFeature::Tempo)),
            (
                "duration_ms",
                self.duration_ms,
                audio(AudioFeature::DurationMs),
            ),
            ("artist_popularity", self.artist_popularity, POPULARITY),
        ]
    }

    /// Checks every numeric field against its range; the first field out of range is named.
    pub fn validate(&self) -> Result<(), FieldError> {
        for (field, value, range) in self.numeric_fields() {
            if !range.contains(value) {
                return Err(FieldError {
                    field,
                    value,
                    min: range.min,
                    max: range.max,
                });
            }
        }
        Ok(())
    }
}

/// A trained model that gives the probability of each popularity quartile of a song.
pub trait QuartileModel: Send + Sync {
    /// The genres the model knows, in the order of its one-hot encoding.
    fn genres(&self) -> &[String];

    /// The probability of each class of [`QUARTILES`], in that order; they sum to 1.
    ///
    /// Fails naming the field when the song is out of range or its genre unknown
    /// ([`SongError::field`]).
    fn predict_proba(&self, song: &SongInput) -> Result<[f64; 4], SongError>;

    /// The quartiles that, together, hold a song's true quartile with a stated probability,
    /// given its probabilities: `Some((coverage, quartile indices, most likely first))` for a
    /// model calibrated for it, `None` (the default) otherwise.
    fn prediction_set(&self, probabilities: &[f64; 4]) -> Option<(f64, Vec<usize>)> {
        let _ = probabilities;
        None
    }
}

/// Coverage of the popularity predictor's prediction sets.
pub const SET_COVERAGE: f64 = 0.9;

/// A conformal threshold for least-ambiguous prediction sets
/// (`evaluation::conformal::lac_set`): a song's set is the quartiles at least `1 − threshold`
/// likely, and it holds the true quartile with probability `coverage`.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SetThreshold {
    /// The nominal coverage.
    pub coverage: f64,
    /// The conformal quantile of `1 − p(true quartile)` on the calibration rows.
    pub threshold: f64,
    /// The calibration rows: the 20% held out for early stopping and blend weights, which the
    /// models were not fitted on.
    pub rows: usize,
}

/// Why a popularity model gave no probabilities for a song.
#[derive(Debug, thiserror::Error)]
pub enum SongError {
    /// A numeric field is outside its range.
    #[error(transparent)]
    OutOfRange(#[from] FieldError),
    /// The genre is not one the model was trained on.
    #[error("`genre` = {genre:?} is not one of the genres the model knows: {}", known.join(", "))]
    UnknownGenre {
        /// The genre given.
        genre: String,
        /// The genres the model knows.
        known: Vec<String>,
    },
    /// The model failed on the song's row.
    #[error("the popularity model could not predict the song")]
    Model(#[source] Box<PredictorError>),
    /// The model's probabilities do not sum to a positive finite number.
    #[error("the model gave no valid probabilities")]
    NoProbabilities,
}

impl SongError {
    /// The field at fault, when one is: a numeric field's name, or `genre`.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            SongError::OutOfRange(error) => Some(error.field),
            SongError::UnknownGenre { .. } => Some("genre"),
            SongError::Model(_) | SongError::NoProbabilities => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The trained popularity model.
// ---------------------------------------------------------------------------------------------

use std::path::{Path, PathBuf};

use classic_models::{BoostingClassifierParams, ClassifierFile, FittedClassifier};
use dataset::load::popularity::{self as popularity_data, popularity_class, PopularityTrack};
use dataset::{DataDir, DatasetError, Strictness};
use evaluation::classification::{accuracy, argmax_rows, holdout, select_proba_weights};
use evaluation::EvalError;
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};

use crate::classify::error::{probabilities, LearnerError, MissingValue};
use crate::classify::identity::{Candidate, Learner};
use crate::classify::saved::{one_row, FileProblem};
use crate::classify::{FittedNetwork, Network};

/// Where `popularity_classifier` saves the model it trains, relative to the working directory
/// (the example's `--out` directory, `out/popularity` by default, plus `model`).
pub const DEFAULT_MODEL_DIR: &str = "out/popularity/model";

/// The tag of a predictor's manifest, `predictor.json`.
pub const PREDICTOR_FORMAT: &str = "spotify-ml/popularity-predictor";
/// The manifest layout this build writes and reads.
pub const PREDICTOR_VERSION: u32 = 1;

const MANIFEST: &str = "predictor.json";
const BOOSTING_FILE: &str = "boosting.json";
const NETWORK_FILE: &str = "network.json";

/// The name of the column that flags an imputed artist popularity.
pub const ARTIST_MISSING: &str = "artist_popularity_missing";

/// The input columns of a popularity model, in order: the 12 audio features and the artist
/// popularity of [`SongInput`], the missing-artist flag, then one column `genre_<g>` per genre.
pub fn feature_names(genres: &[String]) -> Vec<String> {
    let mut names: Vec<String> = SongInput::default_fields()
        .iter()
        .map(|name| name.to_string())
        .collect();
    names.push(ARTIST_MISSING.into());
    names.extend(genres.iter().map(|g| format!("genre_{g}")));
    names
}

impl SongInput {
    /// Names of the numeric fields, in model order.
    fn default_fields() -> [&'static str; 13] {
        [
            "danceability",
            "energy",
            "key",
            "loudness",
            "mode",
            "speechiness",
            "acousticness",
            "instrumentalness",
            "liveness",
            "valence",
            "tempo",
            "duration_ms",
            "artist_popularity",
        ]
    }

    /// The song of a row of the popularity data; a missing artist popularity becomes `imputed`.
    /// Fails when the row lacks an audio feature the model needs, or its genre.
    pub fn from_track(track: &PopularityTrack, imputed: f64) -> Result<SongInput, MissingValue> {
        let f = &track.track.features;
        let need = |value: Option<f64>, field: &'static str| {
            value.ok_or_else(|| MissingValue {
                id: track.track.id.clone(),
                field,
            })
        };
        Ok(SongInput {
            danceability: f.danceability,
            energy: f.energy,
            key: f64::from(f.key),
            loudness: f.loudness,
            mode: need(f.mode.map(f64::from), "mode")?,
            speechiness: f.speechiness,
            acousticness: f.acousticness,
            instrumentalness: f.instrumentalness,
            liveness: f.liveness,
            valence: need(f.valence, "valence")?,
            tempo: f.tempo,
            duration_ms: need(f.duration_ms.map(|d| d as f64), "duration_ms")?,
            artist_popularity: track.artist_popularity.unwrap_or(imputed),
            genre: need_genre(track)?,
        })
    }
}

fn need_genre(track: &PopularityTrack) -> Result<String, MissingValue> {
    track
        .track
        .labels
        .genre
        .clone()
        .ok_or_else(|| MissingValue {
            id: track.track.id.clone(),
            field: "genre",
        })
}

/// One model row of a song: its numeric fields, the missing-artist flag and the genre one-hot.
/// An unknown genre is [`SongError::UnknownGenre`].
pub fn design_row(
    song: &SongInput,
    artist_missing: bool,
    genres: &[String],
) -> Result<Vec<f64>, SongError> {
    let Some(genre) = genres.iter().position(|g| *g == song.genre) else {
        return Err(SongError::UnknownGenre {
            genre: song.genre.clone(),
            known: genres.to_vec(),
        });
    };
    let mut row = vec![0.0; feature_names(genres).len()];
    fill_design_row(
        &mut row,
        song.numeric_fields().iter().map(|f| f.1),
        artist_missing,
        genre,
    );
    Ok(row)
}

/// Writes one model row into `row` (all zeros, as wide as [`feature_names`]): the 13 numeric
/// fields in [`SongInput::numeric_fields`] order, the missing-artist flag, and a one at the
/// genre's column.
pub(crate) fn fill_design_row(
    row: &mut [f64],
    numeric: impl IntoIterator<Item = f64>,
    artist_missing: bool,
    genre: usize,
) {
    let mut n = 0;
    for (slot, value) in row.iter_mut().zip(numeric) {
        *slot = value;
        n += 1;
    }
    row[n] = if artist_missing { 1.0 } else { 0.0 };
    row[n + 1 + genre] = 1.0;
}

/// A row of the blend's weighted probabilities divided by its sum, as every caller sees them;
/// `None` when the sum is not a positive finite number.
pub(crate) fn normalised(p: impl IntoIterator<Item = f64>) -> Option<[f64; 4]> {
    let mut out = [0.0; 4];
    for (o, v) in out.iter_mut().zip(p) {
        *o = v;
    }
    let sum: f64 = out.iter().sum();
    if !(sum.is_finite() && sum > 0.0) {
        return None;
    }
    for o in &mut out {
        *o /= sum;
    }
    Some(out)
}

/// The popularity data as the experiment uses it: one row per `track_id` (its first playlist),
/// artist popularity imputed with the median of the artists that are known, and flagged.
#[derive(Clone, Debug)]
pub struct PopularityData {
    /// The tracks, one per id.
    pub tracks: Vec<PopularityTrack>,
    /// The genres of the one-hot columns.
    pub genres: Vec<String>,
    /// Model rows, columns as [`feature_names`].
    pub x: Array2<f64>,
    /// Quartile class of each track (index into [`QUARTILES`]).
    pub y: Array1<usize>,
    /// Whether each track's artist popularity is known.
    pub artist_known: Vec<bool>,
    /// The value given to unknown artist popularities: the median of the known ones.
    pub imputed: f64,
    /// Rows of the songs file before keeping one per id.
    pub file_rows: usize,
}

/// Why the popularity data could not be loaded or encoded.
#[derive(Debug, thiserror::Error)]
pub enum PopularityDataError {
    /// A file could not be read, or a row is invalid.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A track lacks a value the model needs.
    #[error(transparent)]
    MissingValue(#[from] MissingValue),
    /// A track's genre is not one of the data set's genres.
    #[error(transparent)]
    Song(#[from] SongError),
}

impl PopularityData {
    /// Loads, joins and encodes the popularity data (strict: a bad row is an error).
    pub fn load(dir: &DataDir) -> Result<PopularityData, PopularityDataError> {
        let loaded = popularity_data::load(dir, Strictness::Strict)?;
        let file_rows = loaded.rows.len();
        PopularityData::from_rows(popularity_data::unique_tracks(loaded.rows), file_rows)
    }

    /// Encodes tracks already reduced to one per id.
    pub fn from_rows(
        tracks: Vec<PopularityTrack>,
        file_rows: usize,
    ) -> Result<PopularityData, PopularityDataError> {
        let genres: Vec<String> = popularity_data::GENRES
            .iter()
            .map(|g| g.to_string())
            .collect();
        let mut known: Vec<f64> = tracks.iter().filter_map(|t| t.artist_popularity).collect();
        known.sort_by(f64::total_cmp);
        let imputed = known.get(known.len() / 2).copied().unwrap_or(50.0);
        let mut values = Vec::with_capacity(tracks.len() * (14 + genres.len()));
        let mut y = Vec::with_capacity(tracks.len());
        let mut artist_known = Vec::with_capacity(tracks.len());
        for track in &tracks {
            let song = SongInput::from_track(track, imputed)?;
            values.extend(design_row(
                &song,
                track.artist_popularity.is_none(),
                &genres,
            )?);
            let popularity = track.track.labels.popularity.ok_or_else(|| MissingValue {
                id: track.track.id.clone(),
                field: "track_popularity",
            })?;
            y.push(popularity_class(popularity));
            artist_known.push(track.artist_popularity.is_some());
        }
        let width = feature_names(&genres).len();
        let x = Array2::from_shape_vec((tracks.len(), width), values)
            .expect("every design row has one value per feature name");
        Ok(PopularityData {
            tracks,
            genres,
            x,
            y: Array1::from(y),
            artist_known,
            imputed,
            file_rows,
        })
    }

    /// Share of tracks whose artist popularity is imputed.
    pub fn missing_share(&self) -> f64 {
        let missing = self.artist_known.iter().filter(|k| !**k).count();
        missing as f64 / self.artist_known.len().max(1) as f64
    }
}

/// Which models a [`PopularityPredictor`] combines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Members {
    /// The boosted trees alone.
    Boosting,
    /// The network alone.
    Network,
    /// Both, with a weight chosen on held-out rows.
    Blend,
}

/// How to train a [`PopularityPredictor`].
#[derive(Clone, Debug)]
pub struct PredictorConfig {
    /// Which models to combine.
    pub members: Members,
    /// Seed of the held-out rows, the trees and the network.
    pub seed: u64,
    /// A token fit (few rounds and epochs) for tests and `--quick`.
    pub quick: bool,
}

/// The boosted-trees settings of the popularity model.
pub fn boosting_params(quick: bool, seed: u64) -> BoostingClassifierParams {
    let params = BoostingClassifierParams::new()
        .n_classes(QUARTILES.len())
        .max_leaves(31)
        .min_leaf_rows(20)
        .feature_fraction(0.8)
        .row_fraction(0.8)
        .validation_fraction(0.2)
        .seed(seed);
    if quick {
        params.n_rounds(40).learning_rate(0.2)
    } else {
        params
            .n_rounds(3000)
            .learning_rate(0.03)
            .early_stopping_rounds(100)
    }
}

/// The network settings of the popularity model.
pub fn network_params(quick: bool, seed: u64) -> Network {
    if quick {
        Network::new(vec![32], 0.0, QUARTILES.len(), seed).with(|p| p.max_epochs(3).batch_size(512))
    } else {
        Network::new(vec![256, 128, 64], 0.1, QUARTILES.len(), seed)
            .with(|p| p.batch_size(256).learning_rate(1e-3).patience(20))
    }
}

/// Errors of training, saving, loading and running a [`PopularityPredictor`].
#[derive(Debug, thiserror::Error)]
pub enum PredictorError {
    /// The model directory or its manifest is missing.
    #[error("{path}: no popularity model here; train one with `cargo run --release --example popularity_classifier -- --out out/popularity` (it saves to {DEFAULT_MODEL_DIR})")]
    Missing {
        /// The missing manifest.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A file the manifest lists is missing.
    #[error("{path}: the manifest lists it but the file is missing; train the model again with `cargo run --release --example popularity_classifier`")]
    MissingMember {
        /// The missing file.
        path: PathBuf,
    },
    /// A file is damaged, foreign or of another version.
    #[error("{path}: {problem}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        problem: Box<FileProblem>,
    },
    /// A file could not be written.
    #[error("{path}: {problem}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        problem: Box<FileProblem>,
    },
    /// A member failed to fit or predict.
    #[error("the popularity model's {learner} failed")]
    Learner {
        /// The member.
        learner: Learner,
        /// What failed.
        #[source]
        source: Box<LearnerError>,
    },
    /// Scoring the held-out rows or choosing the blend's weight on them failed.
    #[error("the popularity model could not be scored on its held-out rows")]
    HeldOut(#[source] EvalError),
    /// The prediction sets could not be calibrated on the held-out rows.
    #[error("the popularity model's prediction sets could not be calibrated")]
    Sets(#[source] evaluation::conformal::ConformalError),
    /// The rows have the wrong number of columns.
    #[error("the model takes {expected} columns but got {found}")]
    Width {
        /// Columns the model takes.
        expected: usize,
        /// Columns given.
        found: usize,
    },
}

impl PredictorError {
    fn learner<E: Into<LearnerError>>(learner: Learner) -> impl FnOnce(E) -> PredictorError {
        move |error| PredictorError::Learner {
            learner,
            source: Box::new(error.into()),
        }
    }

    fn corrupt(path: &Path) -> impl Fn(FileProblem) -> PredictorError + '_ {
        move |problem| PredictorError::Corrupt {
            path: path.to_path_buf(),
            problem: Box::new(problem),
        }
    }

    fn write(path: &Path) -> impl Fn(FileProblem) -> PredictorError + '_ {
        move |problem| PredictorError::Write {
            path: path.to_path_buf(),
            problem: Box::new(problem),
        }
    }
}

/// The manifest of a saved predictor.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Manifest {
    format: String,
    version: u32,
    classes: Vec<String>,
    genres: Vec<String>,
    feature_names: Vec<String>,
    /// The artist popularity that replaced unknown ones in training (songs given to the model
    /// always carry their own).
    imputed_artist_popularity: f64,
    members: Members,
    /// Weights of the boosted trees and of the network in the blend.
    weights: [f64; 2],
    /// Rows the model was fitted on (held-out rows included).
    training_rows: usize,
    /// The prediction sets' threshold (absent from manifests written before it existed).
    #[serde(default)]
    prediction_set: Option<SetThreshold>,
}

impl Manifest {
    /// Checks a manifest read from `path` against this build.
    fn check(&self, path: &Path) -> Result<(), PredictorError> {
        let corrupt = PredictorError::corrupt(path);
        if self.format != PREDICTOR_FORMAT || self.version != PREDICTOR_VERSION {
            return Err(corrupt(FileProblem::Foreign {
                format: self.format.clone(),
                version: self.version,
                expected_format: PREDICTOR_FORMAT,
                expected_version: PREDICTOR_VERSION,
            }));
        }
        if self.feature_names != feature_names(&self.genres)
            || self.classes.len() != QUARTILES.len()
        {
            return Err(corrupt(FileProblem::Mismatch(
                "the manifest's columns or classes are not those of this build",
            )));
        }
        evaluation::blend::check_weights(&self.weights)
            .map_err(|e| corrupt(FileProblem::Weights(e)))?;
        if let Some(set) = &self.prediction_set {
            let valid = set.coverage > 0.0
                && set.coverage < 1.0
                && (set.threshold == f64::INFINITY || (0.0..=1.0).contains(&set.threshold));
            if !valid {
                return Err(corrupt(FileProblem::Mismatch(
                    "the prediction sets' coverage or threshold is out of range",
                )));
            }
        }
        let [boosting, network] = self.weights;
        let unlisted = match self.members {
            Members::Boosting => network > 0.0,
            Members::Network => boosting > 0.0,
            Members::Blend => false,
        };
        if unlisted {
            return Err(corrupt(FileProblem::Mismatch(
                "a model the manifest does not list has a blend weight",
            )));
        }
        Ok(())
    }
}

/// A trained popularity-quartile model: boosted trees, a network, or their blend. It is what
/// `popularity_classifier` saves (in [`DEFAULT_MODEL_DIR`] by default) and the web app loads.
///
/// ```no_run
/// use spotify_ml::popularity::{PopularityPredictor, QuartileModel, SongInput, DEFAULT_MODEL_DIR};
///
/// let model = PopularityPredictor::load(DEFAULT_MODEL_DIR.as_ref())?;
/// let song = SongInput {
///     danceability: 0.75, energy: 0.9, key: 6.0, loudness: -2.6, mode: 1.0,
///     speechiness: 0.06, acousticness: 0.1, instrumentalness: 0.0, liveness: 0.07,
///     valence: 0.52, tempo: 122.0, duration_ms: 194_754.0, artist_popularity: 80.0,
///     genre: "pop".into(),
/// };
/// let [p0, p1, p2, p3] = model.predict_proba(&song)?;
/// # let _ = (p0, p1, p2, p3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PopularityPredictor {
    manifest: Manifest,
    boosting: Option<ClassifierFile>,
    network: Option<FittedNetwork>,
}

impl std::fmt::Debug for PopularityPredictor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PopularityPredictor")
            .field("members", &self.manifest.members)
            .field("weights", &self.manifest.weights)
            .field("genres", &self.manifest.genres)
            .finish_non_exhaustive()
    }
}

/// What training a predictor measured on its held-out rows.
#[derive(Debug)]
pub struct TrainedPredictor {
    /// The predictor.
    pub predictor: PopularityPredictor,
    /// Held-out accuracy of the boosted trees, the network and the blend, where fitted.
    pub holdout_accuracy: Vec<(Candidate, f64)>,
}

/// The rows a predictor trains on, and the seeded 20% of them held out for early stopping and
/// the blend weight.
struct TrainingRows {
    train: DatasetBase<Array2<f64>, Array1<usize>>,
    held_x: Array2<f64>,
    held_y: Vec<usize>,
}

impl TrainingRows {
    fn new(data: &PopularityData, rows: &[usize], seed: u64) -> TrainingRows {
        let x = data.x.select(Axis(0), rows);
        let y = data.y.select(Axis(0), rows);
        let held = holdout(rows.len(), 0.2, seed);
        TrainingRows {
            held_x: x.select(Axis(0), &held.validation),
            held_y: held.validation.iter().map(|&r| y[r]).collect(),
            train: DatasetBase::new(x, y),
        }
    }

    /// Accuracy of probabilities of the held-out rows.
    fn score(&self, p: &Array2<f64>) -> Result<f64, PredictorError> {
        accuracy(&self.held_y, &argmax_rows(p.view())).map_err(PredictorError::HeldOut)
    }
}

/// The least-ambiguous sets' threshold at [`SET_COVERAGE`], calibrated on the held-out rows'
/// probabilities (each row normalised, as songs' are).
fn set_threshold(held: &Array2<f64>, truth: &[usize]) -> Result<SetThreshold, PredictorError> {
    let scores: Vec<f64> = held
        .rows()
        .into_iter()
        .zip(truth)
        .map(|(row, &label)| {
            let total: f64 = row.sum();
            let p: Vec<f64> = row.iter().map(|v| v / total).collect();
            evaluation::conformal::lac_score(&p, label)
        })
        .collect();
    let threshold = evaluation::conformal::conformal_quantile(&scores, SET_COVERAGE)
        .map_err(PredictorError::Sets)?;
    Ok(SetThreshold {
        coverage: SET_COVERAGE,
        threshold,
        rows: scores.len(),
    })
}

/// The blend's weights of the boosted trees and the network: chosen on the held-out rows when
/// both are fitted, else all on the one that is.
fn blend_weights(
    rows: &TrainingRows,
    boosting: Option<&Array2<f64>>,
    network: Option<&Array2<f64>>,
) -> Result<[f64; 2], PredictorError> {
    Ok(match (boosting, network) {
        (Some(b), Some(n)) => {
            let truth = Array1::from(rows.held_y.clone());
            let all: Vec<usize> = (0..rows.held_y.len()).collect();
            let w = select_proba_weights(&[b, n], &truth, &all).map_err(PredictorError::HeldOut)?;
            [w[0], w[1]]
        }
        (Some(_), None) => [1.0, 0.0],
        _ => [0.0, 1.0],
    })
}

impl PopularityPredictor {
    /// Trains on the given rows of `data`: the boosted trees and/or the network, each with early
    /// stopping on the same seeded 20% of those rows, and for a blend the weight that minimises
    /// the log loss on those held-out rows.
    pub fn train(
        data: &PopularityData,
        rows: &[usize],
        config: &PredictorConfig,
    ) -> Result<TrainedPredictor, PredictorError> {
        let names = feature_names(&data.genres);
        let classes: Vec<String> = QUARTILES.iter().map(|c| c.to_string()).collect();
        let training = TrainingRows::new(data, rows, config.seed);
        let boosting = if config.members != Members::Network {
            let model = boosting_params(config.quick, config.seed)
                .fit(&training.train)
                .map_err(PredictorError::learner(Learner::Boosting))?;
            let model = FittedClassifier::Boosting(model);
            Some(ClassifierFile::new(model, names.clone(), classes.clone()))
        } else {
            None
        };
        let network = if config.members != Members::Boosting {
            let params = network_params(config.quick, config.seed)
                .with(|p| p.with_feature_names(names.clone()));
            Some(
                params
                    .fit(&training.train)
                    .map_err(PredictorError::learner(Learner::Network))?,
            )
        } else {
            None
        };
        let mut accuracy = Vec::new();
        let boosting_held = match &boosting {
            Some(file) => {
                let p = file
                    .predict_proba(&training.held_x)
                    .map_err(PredictorError::learner(Learner::Boosting))?;
                accuracy.push((Learner::Boosting.into(), training.score(&p)?));
                Some(p)
            }
            None => None,
        };
        let network_held = match &network {
            Some(net) => {
                let p = probabilities(net, &training.held_x)
                    .map_err(PredictorError::learner(Learner::Network))?;
                accuracy.push((Learner::Network.into(), training.score(&p)?));
                Some(p)
            }
            None => None,
        };
        let weights = blend_weights(&training, boosting_held.as_ref(), network_held.as_ref())?;
        let predictor = PopularityPredictor {
            manifest: Manifest {
                format: PREDICTOR_FORMAT.into(),
                version: PREDICTOR_VERSION,
                classes,
                genres: data.genres.clone(),
                feature_names: names,
                imputed_artist_popularity: data.imputed,
                members: config.members,
                weights,
                training_rows: rows.len(),
                prediction_set: None,
            },
            boosting,
            network,
        };
        let held = predictor.predict_rows(&training.held_x)?;
        if config.members == Members::Blend {
            accuracy.push((Candidate::Blend, training.score(&held)?));
        }
        let mut predictor = predictor;
        predictor.manifest.prediction_set = Some(set_threshold(&held, &training.held_y)?);
        Ok(TrainedPredictor {
            predictor,
            holdout_accuracy: accuracy,
        })
    }

    /// Which models it combines.
    pub fn members(&self) -> Members {
        self.manifest.members
    }

    /// The prediction sets' threshold, when the predictor has one.
    pub fn prediction_set_threshold(&self) -> Option<SetThreshold> {
        self.manifest.prediction_set
    }

    /// The weights of the boosted trees and of the network.
    pub fn weights(&self) -> [f64; 2] {
        self.manifest.weights
    }

    /// The input column names.
    pub fn feature_names(&self) -> &[String] {
        &self.manifest.feature_names
    }

    /// The artist popularity that replaced unknown ones in training.
    pub fn imputed_artist_popularity(&self) -> f64 {
        self.manifest.imputed_artist_popularity
    }

    /// The boosted trees, if it has them.
    pub fn boosting(&self) -> Option<&ClassifierFile> {
        self.boosting.as_ref()
    }

    /// The network, if it has one.
    pub fn network(&self) -> Option<&FittedNetwork> {
        self.network.as_ref()
    }

    /// Probabilities of the quartiles for model rows (columns as [`feature_names`]).
    pub fn predict_rows(&self, x: &Array2<f64>) -> Result<Array2<f64>, PredictorError> {
        if x.ncols() != self.manifest.feature_names.len() {
            return Err(PredictorError::Width {
                expected: self.manifest.feature_names.len(),
                found: x.ncols(),
            });
        }
        let mut total = Array2::<f64>::zeros((x.nrows(), QUARTILES.len()));
        let [wb, wn] = self.manifest.weights;
        if let (Some(file), true) = (&self.boosting, wb > 0.0) {
            let p = file
                .predict_proba(x)
                .map_err(PredictorError::learner(Learner::Boosting))?;
            total.scaled_add(wb, &p);
        }
        if let (Some(net), true) = (&self.network, wn > 0.0) {
            let p = probabilities(net, x).map_err(PredictorError::learner(Learner::Network))?;
            total.scaled_add(wn, &p);
        }
        Ok(total)
    }

    /// Saves into `dir` (created if needed): `predictor.json`, and `boosting.json` and/or
    /// `network.json` + `network.safetensors`. Every file is written atomically; the manifest
    /// last, so a directory with a manifest is complete.
    pub fn save(&self, dir: &Path) -> Result<(), PredictorError> {
        std::fs::create_dir_all(dir).map_err(|e| PredictorError::write(dir)(FileProblem::Io(e)))?;
        if let Some(file) = &self.boosting {
            let path = dir.join(BOOSTING_FILE);
            file.save(&path)
                .map_err(|e| PredictorError::write(&path)(FileProblem::Classic(e)))?;
        }
        if let Some(net) = &self.network {
            let path = dir.join(NETWORK_FILE);
            net.with_model(|m| m.save(&path))
                .map_err(|e| PredictorError::write(&path)(FileProblem::Network(e)))?;
        }
        let path = dir.join(MANIFEST);
        let text = serde_json::to_vec_pretty(&self.manifest)
            .expect("a manifest of names and numbers serialises");
        evaluation::report::write_atomic(&path, &text)
            .map_err(|e| PredictorError::write(&path)(FileProblem::Write(e)))
    }

    /// Loads a predictor saved by [`PopularityPredictor::save`]. A missing directory or
    /// manifest is [`PredictorError::Missing`] (saying how to train one), a missing member
    /// [`PredictorError::MissingMember`]; a damaged or foreign file is
    /// [`PredictorError::Corrupt`], naming it.
    pub fn load(dir: &Path) -> Result<PopularityPredictor, PredictorError> {
        let path = dir.join(MANIFEST);
        let bytes = std::fs::read(&path).map_err(|source| PredictorError::Missing {
            path: path.clone(),
            source,
        })?;
        let manifest: Manifest = serde_json::from_slice(&bytes)
            .map_err(|e| PredictorError::corrupt(&path)(FileProblem::Json(e)))?;
        manifest.check(&path)?;
        let boosting = if manifest.members != Members::Network {
            Some(load_boosting(dir, &manifest)?)
        } else {
            None
        };
        let network = if manifest.members != Members::Boosting {
            Some(load_network(dir)?)
        } else {
            None
        };
        Ok(PopularityPredictor {
            manifest,
            boosting,
            network,
        })
    }
}

/// The path of a member the manifest lists, if the file is there.
fn member_path(dir: &Path, file: &str) -> Result<PathBuf, PredictorError> {
    let path = dir.join(file);
    if path.exists() {
        Ok(path)
    } else {
        Err(PredictorError::MissingMember { path })
    }
}

/// Loads the boosted trees and checks their columns against the manifest's.
fn load_boosting(dir: &Path, manifest: &Manifest) -> Result<ClassifierFile, PredictorError> {
    let path = member_path(dir, BOOSTING_FILE)?;
    let file = ClassifierFile::load(&path)
        .map_err(|e| PredictorError::corrupt(&path)(FileProblem::Classic(e)))?;
    if file.feature_names != manifest.feature_names {
        return Err(PredictorError::corrupt(&path)(FileProblem::Mismatch(
            "its columns differ from the manifest's",
        )));
    }
    Ok(file)
}

/// Loads the network and checks that it has four classes.
fn load_network(dir: &Path) -> Result<FittedNetwork, PredictorError> {
    let path = member_path(dir, NETWORK_FILE)?;
    let net = FittedNetwork::load(&path)
        .map_err(|e| PredictorError::corrupt(&path)(FileProblem::Network(e)))?;
    if net.with_model(|m| m.n_classes()) != QUARTILES.len() {
        return Err(PredictorError::corrupt(&path)(FileProblem::Mismatch(
            "it does not have 4 classes",
        )));
    }
    Ok(net)
}

impl QuartileModel for PopularityPredictor {
    fn genres(&self) -> &[String] {
        &self.manifest.genres
    }

    fn predict_proba(&self, song: &SongInput) -> Result<[f64; 4], SongError> {
        song.validate()?;
        let row = design_row(song, false, &self.manifest.genres)?;
        let p = self
            .predict_rows(&one_row(&row))
            .map_err(|error| SongError::Model(Box::new(error)))?;
        normalised(p.row(0).iter().copied()).ok_or(SongError::NoProbabilities)
    }

    fn prediction_set(&self, probabilities: &[f64; 4]) -> Option<(f64, Vec<usize>)> {
        let set = self.manifest.prediction_set?;
        Some((
            set.coverage,
            evaluation::conformal::lac_set(probabilities, set.threshold),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn song(genre: &str) -> SongInput {
        SongInput {
            danceability: 0.5,
            energy: 0.5,
            key: 5.0,
            loudness: -6.0,
            mode: 1.0,
            speechiness: 0.1,
            acousticness: 0.2,
            instrumentalness: 0.0,
            liveness: 0.1,
            valence: 0.5,
            tempo: 120.0,
            duration_ms: 200_000.0,
            artist_popularity: 60.0,
            genre: genre.into(),
        }
    }

    #[test]
    fn a_design_row_holds_the_fields_the_flag_and_a_one_hot_genre() {
        let genres = ["pop".to_string(), "rock".to_string()];
        let row = design_row(&song("rock"), true, &genres).unwrap();
        assert_eq!(row.len(), feature_names(&genres).len());
        assert_eq!(row[12], 60.0);
        assert_eq!(&row[13..], [1.0, 0.0, 1.0]);
    }

    #[test]
    fn an_unknown_genre_names_the_genre_field_and_the_known_ones() {
        let genres = ["pop".to_string(), "rock".to_string()];
        let error = design_row(&song("polka"), false, &genres).unwrap_err();
        assert_eq!(error.field(), Some("genre"));
        let message = error.to_string();
        assert!(
            message.contains("\"polka\"") && message.contains("pop, rock"),
            "{message}"
        );
    }

    #[test]
    fn an_out_of_range_field_is_named() {
        let mut loud = song("pop");
        loud.loudness = 40.0;
        let error = SongError::from(loud.validate().unwrap_err());
        assert_eq!(error.field(), Some("loudness"));
        assert_eq!(SongError::NoProbabilities.field(), None);
    }
}
