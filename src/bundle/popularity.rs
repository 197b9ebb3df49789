//! The popularity bundle: the popularity experiment's predictor (its own files, as
//! [`PopularityPredictor::save`] writes them) with `bundle.json` beside them.
//!
//! Its inputs are what a catalogue holds: the 12 audio features, the artist's popularity and
//! the playlist genre as text. A missing artist popularity is replaced by the median the model
//! was trained with and flagged to the model, as in training; a genre the model does not know
//! is [`Problem::UnknownCategory`](super::Problem::UnknownCategory). The probabilities are the
//! ones the web app serves, and the set column holds the predictor's least-ambiguous sets.

use std::collections::BTreeMap;
use std::path::Path;

use dataset::validate;
use ndarray::{Array2, ArrayView2};

use super::manifest::{
    expected_outputs, folder_members, ClassCalibration, InputColumn, InputType, Manifest,
    OutputColumn, OutputKind, OutputType, Task, Training, FORMAT, MANIFEST, VERSION,
};
use super::schema::known_column;
use super::{Bundle, BundleError, Predictions};
use crate::popularity::{
    feature_names, fill_design_row, normalised, PopularityPredictor, QuartileModel, QUARTILES,
};

/// The bundle's name, and the prefix of its output columns.
const NAME: &str = "popularity";
/// The input column of the artist's popularity.
const ARTIST: &str = "artist_popularity";
/// The input column of the genre.
const GENRE: &str = "genre";

/// The popularity bundle, loaded and checked.
pub struct PopularityBundle {
    manifest: Manifest,
    model: PopularityPredictor,
}

/// The input columns of a predictor: the audio fields of a song, its artist's popularity
/// (imputed when missing) and its genre (one of the predictor's).
fn inputs_of(model: &PopularityPredictor) -> Result<Vec<InputColumn>, String> {
    let names = feature_names(model.genres());
    let mut inputs = Vec::new();
    for name in names.iter().take_while(|name| *name != ARTIST) {
        inputs.push(known_column(name).ok_or_else(|| format!("{name:?} is not an audio feature"))?);
    }
    inputs.push(InputColumn {
        name: ARTIST.into(),
        dtype: InputType::Float64,
        unit: "the artist's popularity, 0..100 (when missing: the training median, flagged to the model)".into(),
        min: validate::POPULARITY.min,
        max: validate::POPULARITY.max,
        optional: false,
        categories: Vec::new(),
        imputed: Some(model.imputed_artist_popularity()),
    });
    inputs.push(InputColumn {
        name: GENRE.into(),
        dtype: InputType::Utf8,
        unit: "the playlist genre".into(),
        min: 0.0,
        max: model.genres().len().saturating_sub(1) as f64,
        optional: false,
        categories: model.genres().to_vec(),
        imputed: None,
    });
    Ok(inputs)
}

/// The output kind of a predictor: the quartiles, with its prediction sets when it has them (a
/// threshold above 1, from too few calibration rows, is 1: every class in every set).
fn output_of(model: &PopularityPredictor) -> OutputKind {
    OutputKind::Classes {
        names: QUARTILES.iter().map(|q| q.to_string()).collect(),
        calibration: model
            .prediction_set_threshold()
            .map(|set| ClassCalibration {
                temperature: 1.0,
                set_coverage: set.coverage,
                set_threshold: set.threshold.min(1.0),
            }),
    }
}

/// Saves `model` as a bundle in `dir`, replacing what was there: the predictor's own files,
/// then `bundle.json`.
pub fn save_popularity_bundle(
    dir: &Path,
    model: &PopularityPredictor,
    training: Training,
    scores: BTreeMap<String, f64>,
) -> Result<Manifest, BundleError> {
    super::write_fresh(dir, |fresh| {
        model
            .save(fresh)
            .map_err(|e| BundleError::member(fresh, e))?;
        let output = output_of(model);
        let outputs = expected_outputs(NAME, &output)
            .map_err(|problem| BundleError::invalid(fresh, problem))?
            .into_iter()
            .enumerate()
            .map(|(i, (name, dtype))| OutputColumn {
                description: match dtype {
                    OutputType::Utf8 if i == 0 => "the most probable popularity quartile".into(),
                    OutputType::Utf8 => "the quartiles likely enough to hold the true one at the set coverage, most likely first (least-ambiguous conformal set; may be empty)".into(),
                    OutputType::Float64 => format!("probability of the quartile {:?}", QUARTILES[i - 1]),
                },
                name,
                dtype,
            })
            .collect();
        let members = folder_members(fresh, |_| "predictor")?;
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            name: NAME.into(),
            task: Task::Popularity,
            output,
            inputs: inputs_of(model).map_err(|problem| BundleError::invalid(fresh, problem))?,
            outputs,
            training,
            scores,
            members,
        }
        .write(fresh)
    })
}

impl PopularityBundle {
    /// Loads and checks the popularity bundle in `dir` (any other bundle is refused).
    pub fn load(dir: &Path) -> Result<PopularityBundle, BundleError> {
        PopularityBundle::from_manifest(dir, Manifest::read(dir)?)
    }

    /// Loads the predictor of a checked manifest (whose folder holds nothing but its members)
    /// and checks that the manifest's inputs and output are the predictor's.
    pub(crate) fn from_manifest(
        dir: &Path,
        manifest: Manifest,
    ) -> Result<PopularityBundle, BundleError> {
        let model = PopularityPredictor::load(dir).map_err(|e| BundleError::member(dir, e))?;
        let consistent = manifest.task == Task::Popularity
            && manifest.name == NAME
            && inputs_of(&model).is_ok_and(|inputs| inputs == manifest.inputs)
            && manifest.output == output_of(&model);
        if !consistent {
            return Err(BundleError::invalid(
                &dir.join(MANIFEST),
                "its name, input columns (genres, imputed artist popularity) or output differ from predictor.json's",
            ));
        }
        Ok(PopularityBundle { manifest, model })
    }

    /// The predictor.
    pub fn predictor(&self) -> &PopularityPredictor {
        &self.model
    }

    /// The predictor, for a caller that serves songs one by one (the web app).
    pub fn into_predictor(self) -> PopularityPredictor {
        self.model
    }
}

impl Bundle for PopularityBundle {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Builds each row's model row (the artist popularity imputed and flagged where missing,
    /// the genre one-hot) and returns the normalised quartile probabilities.
    fn predict_checked(&self, rows: ArrayView2<'_, f64>) -> Result<Predictions, BundleError> {
        let width = self.model.feature_names().len();
        let n_genres = self.model.genres().len();
        let inputs = self.manifest.inputs.len();
        if rows.ncols() != inputs {
            return Err(BundleError::Width {
                bundle: NAME.into(),
                expected: inputs,
                found: rows.ncols(),
            });
        }
        let (artist, genre) = (inputs - 2, inputs - 1);
        let imputed = self.model.imputed_artist_popularity();
        let mut x = vec![0.0; rows.nrows() * width];
        for (row, out) in rows.rows().into_iter().zip(x.chunks_exact_mut(width)) {
            let g = row[genre];
            if !(g.fract() == 0.0 && g >= 0.0 && g < n_genres as f64) {
                return Err(BundleError::model(
                    NAME,
                    std::io::Error::other(format!(
                        "{g} is not the index of a genre (unchecked rows)"
                    )),
                ));
            }
            let missing = row[artist].is_nan();
            let numeric = row.iter().take(artist).copied().chain([if missing {
                imputed
            } else {
                row[artist]
            }]);
            fill_design_row(out, numeric, missing, g as usize);
        }
        let x = Array2::from_shape_vec((rows.nrows(), width), x)
            .map_err(|e| BundleError::model(NAME, e))?;
        let p = self
            .model
            .predict_rows(&x)
            .map_err(|e| BundleError::model(NAME, e))?;
        let mut proba = Array2::<f64>::zeros((rows.nrows(), QUARTILES.len()));
        for (row, mut out) in p.rows().into_iter().zip(proba.rows_mut()) {
            let normal = normalised(row.iter().copied()).ok_or_else(|| {
                BundleError::model(
                    NAME,
                    std::io::Error::other("the model gave no valid probabilities"),
                )
            })?;
            out.assign(&ndarray::aview1(&normal));
        }
        Ok(Predictions::Classes(proba))
    }
}
