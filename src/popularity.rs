//! The song-popularity model's input and the interface every popularity-quartile model offers.
//!
//! The popularity experiment (`examples/popularity_classifier`) trains and saves a model that
//! implements [`QuartileModel`]; the web app (`examples/popularity_app`) loads it and serves its
//! probabilities. Both speak [`SongInput`], whose fields carry the Web API's names.

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
    /// Fails with a message naming the field when the song is out of range or its genre unknown.
    fn predict_proba(&self, song: &SongInput) -> Result<[f64; 4], String>;
}

// ---------------------------------------------------------------------------------------------
// The trained popularity model.
// ---------------------------------------------------------------------------------------------

use std::path::{Path, PathBuf};

use classic_models::{BoostingClassifierParams, ClassifierFile, FittedClassifier};
use dataset::load::popularity::{self as popularity_data, popularity_class, PopularityTrack};
use dataset::{DataDir, Strictness};
use evaluation::classification::{holdout, select_proba_weights, PredictProba};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};

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
    /// Fails when the row lacks an audio feature the model needs.
    pub fn from_track(track: &PopularityTrack, imputed: f64) -> Result<SongInput, String> {
        let f = &track.track.features;
        let need = |value: Option<f64>, name: &str| {
            value.ok_or_else(|| format!("track {} has no `{name}`", track.track.id))
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
            genre: track
                .track
                .labels
                .genre
                .clone()
                .ok_or_else(|| format!("track {} has no genre", track.track.id))?,
        })
    }
}

/// One model row of a song: its numeric fields, the missing-artist flag and the genre one-hot.
/// An unknown genre is an error naming the `genre` field.
pub fn design_row(
    song: &SongInput,
    artist_missing: bool,
    genres: &[String],
) -> Result<Vec<f64>, String> {
    let Some(genre) = genres.iter().position(|g| *g == song.genre) else {
        return Err(format!(
            "`genre` = {:?} is not one of the genres the model knows: {}",
            song.genre,
            genres.join(", ")
        ));
    };
    let mut row: Vec<f64> = song.numeric_fields().iter().map(|f| f.1).collect();
    row.push(if artist_missing { 1.0 } else { 0.0 });
    row.extend((0..genres.len()).map(|g| if g == genre { 1.0 } else { 0.0 }));
    Ok(row)
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

impl PopularityData {
    /// Loads, joins and encodes the popularity data (strict: a bad row is an error).
    pub fn load(dir: &DataDir) -> Result<PopularityData, String> {
        let loaded = popularity_data::load(dir, Strictness::Strict).map_err(|e| e.to_string())?;
        let file_rows = loaded.rows.len();
        PopularityData::from_rows(popularity_data::unique_tracks(loaded.rows), file_rows)
    }

    /// Encodes tracks already reduced to one per id.
    pub fn from_rows(
        tracks: Vec<PopularityTrack>,
        file_rows: usize,
    ) -> Result<PopularityData, String> {
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
            let popularity = track
                .track
                .labels
                .popularity
                .ok_or_else(|| format!("track {} has no popularity", track.track.id))?;
            y.push(popularity_class(popularity));
            artist_known.push(track.artist_popularity.is_some());
        }
        let width = feature_names(&genres).len();
        let x = Array2::from_shape_vec((tracks.len(), width), values).map_err(|e| e.to_string())?;
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

/// Errors of saving and loading a [`PopularityPredictor`].
#[derive(Debug, thiserror::Error)]
pub enum PredictorError {
    /// The model directory or one of its files is missing.
    #[error("{path}: no popularity model here ({message}); train one with `cargo run --release --example popularity_classifier -- --out out/popularity` (it saves to {DEFAULT_MODEL_DIR})")]
    Missing {
        /// The missing file or directory.
        path: PathBuf,
        /// The system's message.
        message: String,
    },
    /// A file is damaged, foreign or of another version.
    #[error("{path}: {message}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Training or predicting failed.
    #[error("{0}")]
    Model(String),
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
    /// Held-out accuracy of the boosted trees, the network and the predictor, where fitted.
    pub holdout_accuracy: Vec<(String, f64)>,
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
        let x = data.x.select(Axis(0), rows);
        let y = data.y.select(Axis(0), rows);
        let names = feature_names(&data.genres);
        let classes: Vec<String> = QUARTILES.iter().map(|c| c.to_string()).collect();
        let model_error = |e: &dyn std::fmt::Display| PredictorError::Model(e.to_string());
        let train = DatasetBase::new(x.clone(), y.clone());
        let held = holdout(rows.len(), 0.2, config.seed);
        let held_x = x.select(Axis(0), &held.validation);
        let held_y: Vec<usize> = held.validation.iter().map(|&r| y[r]).collect();
        let mut accuracy = Vec::new();
        let score = |p: &Array2<f64>| {
            evaluation::classification::accuracy(
                &held_y,
                &evaluation::classification::argmax_rows(p.view()),
            )
            .unwrap_or(f64::NAN)
        };
        let boosting = if config.members != Members::Network {
            let model = boosting_params(config.quick, config.seed)
                .fit(&train)
                .map_err(|e| model_error(&e))?;
            Some(ClassifierFile::new(
                FittedClassifier::Boosting(model),
                names.clone(),
                classes.clone(),
            ))
        } else {
            None
        };
        let network = if config.members != Members::Boosting {
            let params = network_params(config.quick, config.seed)
                .with(|p| p.with_feature_names(names.clone()));
            Some(params.fit(&train).map_err(|e| model_error(&e))?)
        } else {
            None
        };
        let boosting_held = match &boosting {
            Some(file) => {
                let p = file.predict_proba(&held_x).map_err(|e| model_error(&e))?;
                accuracy.push(("boosting".to_string(), score(&p)));
                Some(p)
            }
            None => None,
        };
        let network_held = match &network {
            Some(net) => {
                let p = net.predict_proba(&held_x).map_err(|e| model_error(&e))?;
                accuracy.push(("network".to_string(), score(&p)));
                Some(p)
            }
            None => None,
        };
        let weights = match (&boosting_held, &network_held) {
            (Some(b), Some(n)) => {
                let truth = Array1::from(held_y.clone());
                let all: Vec<usize> = (0..held_y.len()).collect();
                let w = select_proba_weights(&[b, n], &truth, &all).map_err(|e| model_error(&e))?;
                [w[0], w[1]]
            }
            (Some(_), None) => [1.0, 0.0],
            _ => [0.0, 1.0],
        };
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
            },
            boosting,
            network,
        };
        if config.members == Members::Blend {
            let p = predictor.predict_rows(&held_x)?;
            accuracy.push(("blend".to_string(), score(&p)));
        }
        Ok(TrainedPredictor {
            predictor,
            holdout_accuracy: accuracy,
        })
    }

    /// Which models it combines.
    pub fn members(&self) -> Members {
        self.manifest.members
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
            return Err(PredictorError::Model(format!(
                "the model takes {} columns but got {}",
                self.manifest.feature_names.len(),
                x.ncols()
            )));
        }
        let mut total = Array2::<f64>::zeros((x.nrows(), QUARTILES.len()));
        let [wb, wn] = self.manifest.weights;
        if let (Some(file), true) = (&self.boosting, wb > 0.0) {
            let p = file
                .predict_proba(x)
                .map_err(|e| PredictorError::Model(e.to_string()))?;
            total.scaled_add(wb, &p);
        }
        if let (Some(net), true) = (&self.network, wn > 0.0) {
            let p = net
                .predict_proba(x)
                .map_err(|e| PredictorError::Model(evaluation::error::chain(&e)))?;
            total.scaled_add(wn, &p);
        }
        Ok(total)
    }

    /// Saves into `dir` (created if needed): `predictor.json`, and `boosting.json` and/or
    /// `network.json` + `network.safetensors`. Every file is written atomically; the manifest
    /// last, so a directory with a manifest is complete.
    pub fn save(&self, dir: &Path) -> Result<(), PredictorError> {
        let write_error = |path: &Path, e: &dyn std::fmt::Display| PredictorError::Corrupt {
            path: path.to_path_buf(),
            message: format!("could not write: {e}"),
        };
        std::fs::create_dir_all(dir).map_err(|e| write_error(dir, &e))?;
        if let Some(file) = &self.boosting {
            let path = dir.join(BOOSTING_FILE);
            file.save(&path).map_err(|e| write_error(&path, &e))?;
        }
        if let Some(net) = &self.network {
            let path = dir.join(NETWORK_FILE);
            net.with_model(|m| m.save(&path))
                .map_err(|e| write_error(&path, &e))?;
        }
        let path = dir.join(MANIFEST);
        let text = serde_json::to_vec_pretty(&self.manifest).map_err(|e| write_error(&path, &e))?;
        evaluation::report::write_atomic(&path, &text).map_err(|e| write_error(&path, &e))
    }

    /// Loads a predictor saved by [`PopularityPredictor::save`]. A missing directory or file is
    /// [`PredictorError::Missing`] (saying how to train one); a damaged or foreign file is
    /// [`PredictorError::Corrupt`], naming it.
    pub fn load(dir: &Path) -> Result<PopularityPredictor, PredictorError> {
        let path = dir.join(MANIFEST);
        let bytes = std::fs::read(&path).map_err(|e| PredictorError::Missing {
            path: path.clone(),
            message: e.to_string(),
        })?;
        let corrupt = |message: String| PredictorError::Corrupt {
            path: path.clone(),
            message,
        };
        let manifest: Manifest = serde_json::from_slice(&bytes).map_err(|e| {
            corrupt(format!(
                "not a popularity-model manifest (invalid or truncated JSON: {e})"
            ))
        })?;
        if manifest.format != PREDICTOR_FORMAT {
            return Err(corrupt(format!(
                "not a {PREDICTOR_FORMAT} manifest (format tag {:?})",
                manifest.format
            )));
        }
        if manifest.version != PREDICTOR_VERSION {
            return Err(corrupt(format!(
                "manifest version {} is not supported (this build reads version {PREDICTOR_VERSION})",
                manifest.version
            )));
        }
        if manifest.feature_names != feature_names(&manifest.genres)
            || manifest.classes.len() != QUARTILES.len()
        {
            return Err(corrupt(
                "the manifest's columns or classes are not those of this build".into(),
            ));
        }
        let member_error = |file: &str, e: String| {
            let member = dir.join(file);
            if member.exists() {
                PredictorError::Corrupt {
                    path: member,
                    message: e,
                }
            } else {
                PredictorError::Missing {
                    path: member,
                    message: "the manifest lists it but the file is missing".into(),
                }
            }
        };
        let boosting = if manifest.members != Members::Network {
            let file = ClassifierFile::load(&dir.join(BOOSTING_FILE))
                .map_err(|e| member_error(BOOSTING_FILE, e.to_string()))?;
            if file.feature_names != manifest.feature_names {
                return Err(member_error(
                    BOOSTING_FILE,
                    "its columns differ from the manifest's".into(),
                ));
            }
            Some(file)
        } else {
            None
        };
        let network = if manifest.members != Members::Boosting {
            let net = FittedNetwork::load(&dir.join(NETWORK_FILE))
                .map_err(|e| member_error(NETWORK_FILE, e.to_string()))?;
            if net.n_classes() != QUARTILES.len() {
                return Err(member_error(
                    NETWORK_FILE,
                    format!("it has {} classes, not 4", net.n_classes()),
                ));
            }
            Some(net)
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

impl QuartileModel for PopularityPredictor {
    fn genres(&self) -> &[String] {
        &self.manifest.genres
    }

    fn predict_proba(&self, song: &SongInput) -> Result<[f64; 4], String> {
        song.validate().map_err(|e| e.to_string())?;
        let row = design_row(song, false, &self.manifest.genres)?;
        let x = Array2::from_shape_vec((1, row.len()), row).map_err(|e| e.to_string())?;
        let p = self.predict_rows(&x).map_err(|e| e.to_string())?;
        let mut out = [0.0; 4];
        for (o, v) in out.iter_mut().zip(p.row(0)) {
            *o = *v;
        }
        let sum: f64 = out.iter().sum();
        if !(sum.is_finite() && sum > 0.0) {
            return Err("the model gave no valid probabilities".into());
        }
        for o in &mut out {
            *o /= sum;
        }
        Ok(out)
    }
}
