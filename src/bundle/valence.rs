//! The valence bundle: Task 1's or Task 2's chosen model (one model file, or a blend of model
//! files and networks), its audio-only fallback for tracks without analysis means, each one's
//! near-twin table (when its radius is set) and conformal intervals. It predicts exactly what
//! the task writes into `predictions.csv`.

use std::collections::BTreeMap;
use std::path::Path;

use classic_models::{FittedModel, ModelFile, TwinLookup};
use evaluation::conformal::{Difficulty, IntervalModel};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use serde::{Deserialize, Serialize};

use super::blend::Blend;
use super::lightgbm::{LightgbmModel, LightgbmOutput};
use super::manifest::{
    Manifest, Member, OutputColumn, OutputKind, OutputType, Task, Training, FORMAT, VERSION,
};
use super::schema::input_columns;
use super::{Bundle, BundleError, Predictions};

/// The group of a track that keeps its model's prediction, and of one that takes a twin's
/// valence (as `valence::intervals` numbers them).
const MODEL_GROUP: usize = 0;
const TWIN_GROUP: usize = 1;

/// A near-twin table as a member file: the chart tracks (standardised) with their valence, and
/// the radius within which a twin's valence replaces the model's prediction.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TwinTable {
    radius: f64,
    lookup: TwinLookup,
}

/// One interval group as a member file (`quantile` `None`: the group had no calibration rows,
/// so its intervals are the whole range).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntervalGroup {
    quantile: Option<f64>,
    edges: Vec<f64>,
    scale: Vec<f64>,
}

/// The intervals of one route as a member file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IntervalsFile {
    coverage: f64,
    groups: Vec<IntervalGroup>,
}

impl IntervalsFile {
    fn of(model: &IntervalModel) -> IntervalsFile {
        IntervalsFile {
            coverage: model.coverage,
            groups: model
                .groups
                .iter()
                .map(|(q, d)| IntervalGroup {
                    quantile: q.is_finite().then_some(*q),
                    edges: d.edges.clone(),
                    scale: d.scale.clone(),
                })
                .collect(),
        }
    }

    fn check(&self) -> Result<IntervalModel, String> {
        if !(self.coverage > 0.0 && self.coverage < 1.0) {
            return Err(format!("coverage {} is not between 0 and 1", self.coverage));
        }
        if self.groups.len() != 2 {
            return Err(format!(
                "{} interval groups (model and twin: 2)",
                self.groups.len()
            ));
        }
        let mut groups = Vec::new();
        for (i, g) in self.groups.iter().enumerate() {
            let q = g.quantile.unwrap_or(f64::INFINITY);
            let rising = g.edges.windows(2).all(|w| w[0] <= w[1]);
            if q.is_nan()
                || q < 0.0
                || g.edges.iter().any(|e| !e.is_finite())
                || !rising
                || g.scale.len() != g.edges.len() + 1
                || g.scale.iter().any(|s| !(s.is_finite() && *s > 0.0))
            {
                return Err(format!(
                    "interval group {i}: a quantile below 0, edges not finite and rising, or scales not finite and positive, one more than the edges"
                ));
            }
            groups.push((
                q,
                Difficulty {
                    edges: g.edges.clone(),
                    scale: g.scale.clone(),
                },
            ));
        }
        Ok(IntervalModel {
            coverage: self.coverage,
            groups,
        })
    }
}

/// What a route predicts with: one classic model (Task 1's choice) or a blend of classic models
/// and networks (Task 2's).
#[derive(Clone, Copy)]
pub enum RouteModel<'a> {
    /// One model, saved as `<route>_model.json`.
    Model(&'a ModelFile),
    /// A blend, saved as `<route>_blend.json` and its parts' files.
    Blend(&'a Blend),
}

impl RouteModel<'_> {
    /// The columns it takes, in order.
    fn feature_names(&self) -> &[String] {
        match self {
            RouteModel::Model(model) => &model.feature_names,
            RouteModel::Blend(blend) => blend.feature_names(),
        }
    }
}

/// A route's model, loaded.
enum Loaded {
    Model(Box<ModelFile>),
    Blend(Blend),
}

impl Loaded {
    fn feature_names(&self) -> &[String] {
        match self {
            Loaded::Model(model) => &model.feature_names,
            Loaded::Blend(blend) => blend.feature_names(),
        }
    }

    fn predict(&self, x: &Array2<f64>, bundle: &str) -> Result<Array1<f64>, BundleError> {
        match self {
            Loaded::Model(model) => model.predict(x).map_err(|e| BundleError::model(bundle, e)),
            Loaded::Blend(blend) => blend.predict(x).map_err(|e| BundleError::model(bundle, e)),
        }
    }
}

/// One route's pieces, as Task 1 or Task 2 fitted them.
pub struct RoutePart<'a> {
    /// The model, fitted on all chart tracks (its feature names are its columns).
    pub model: RouteModel<'a>,
    /// The chart tracks' lookup on the model's columns and the radius, if twins are trusted.
    pub twins: Option<(TwinLookup, f64)>,
    /// The intervals fitted on its out-of-fold predictions.
    pub intervals: &'a IntervalModel,
}

/// What [`write_valence_bundle`] saves.
pub struct ValenceParts<'a> {
    /// The bundle's name, and so its output columns: `<name>`, `<name>_low` and `<name>_high`
    /// (`valence` for Task 1's, `valence_nn` for Task 2's, so that one job can score both).
    pub name: &'a str,
    /// The chosen model's route.
    pub best: RoutePart<'a>,
    /// The audio-only fallback's route, when the chosen model needs the analysis means.
    pub fallback: Option<RoutePart<'a>>,
    /// How it was trained.
    pub training: Training,
    /// Its cross-validated scores.
    pub scores: BTreeMap<String, f64>,
}

/// A predicted value with its `(low, high)` interval.
type Interval = (f64, (f64, f64));

/// One route, loaded: the model, the input indices of its columns, its twins and intervals.
struct Route {
    model: Loaded,
    columns: Vec<usize>,
    twins: Option<TwinTable>,
    intervals: IntervalModel,
}

/// The valence bundle, loaded and checked.
pub struct ValenceBundle {
    manifest: Manifest,
    best: Route,
    fallback: Option<Route>,
}

/// Writes the valence bundle into `dir` (replacing what was there): one model, twin and
/// interval file per route, then `bundle.json` with their checksums.
pub fn write_valence_bundle(dir: &Path, parts: ValenceParts<'_>) -> Result<Manifest, BundleError> {
    super::write_fresh(dir, |fresh| write_members(fresh, parts))
}

fn write_members(dir: &Path, parts: ValenceParts<'_>) -> Result<Manifest, BundleError> {
    let mut members = Vec::new();
    let coverage = parts.best.intervals.coverage;
    let routes = [
        ("best", Some(&parts.best)),
        ("fallback", parts.fallback.as_ref()),
    ];
    for (route, part) in routes {
        let Some(part) = part else { continue };
        match part.model {
            RouteModel::Model(model) => {
                let file = format!("{route}_model.json");
                let path = dir.join(&file);
                model
                    .save(&path)
                    .map_err(|e| BundleError::member(&path, e))?;
                members.push(member(&file, &format!("{route}_model")));
            }
            RouteModel::Blend(blend) => {
                let files = blend.save(dir, route)?;
                members.push(member(&files[0], &format!("{route}_blend")));
                for file in &files[1..] {
                    members.push(member(file, &format!("{route}_part")));
                }
            }
        }
        if let Some((lookup, radius)) = &part.twins {
            let file = format!("{route}_twins.json");
            let table = TwinTable {
                radius: *radius,
                lookup: lookup.clone(),
            };
            write_json(&dir.join(&file), &table)?;
            members.push(member(&file, &format!("{route}_twins")));
        }
        let file = format!("{route}_intervals.json");
        write_json(&dir.join(&file), &IntervalsFile::of(part.intervals))?;
        members.push(member(&file, &format!("{route}_intervals")));
    }
    let inputs = input_columns(parts.best.model.feature_names())
        .map_err(|problem| BundleError::invalid(dir, problem))?;
    let manifest = Manifest {
        format: FORMAT.into(),
        version: VERSION,
        name: parts.name.into(),
        task: Task::Valence,
        output: OutputKind::Value {
            min: 0.0,
            max: 1.0,
            coverage: Some(coverage),
        },
        inputs,
        outputs: outputs(parts.name, coverage),
        training: parts.training,
        scores: parts.scores,
        members,
    };
    manifest.write(dir)
}

fn member(file: &str, role: &str) -> Member {
    Member {
        file: file.into(),
        role: role.into(),
        sha256: String::new(),
    }
}

pub(super) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), BundleError> {
    let bytes = serde_json::to_vec(value).expect("a bundle member of numbers serialises");
    evaluation::report::write_atomic(path, &bytes).map_err(|source| BundleError::Write {
        path: path.to_path_buf(),
        source: Box::new(source),
    })
}

fn outputs(name: &str, coverage: f64) -> Vec<OutputColumn> {
    let column = |name: &str, description: String| OutputColumn {
        name: name.into(),
        dtype: OutputType::Float64,
        description,
    };
    vec![
        column(name, "predicted valence, 0..1".into()),
        column(
            &format!("{name}_low"),
            format!("low end of the conformal interval at coverage {coverage}"),
        ),
        column(
            &format!("{name}_high"),
            format!("high end of the conformal interval at coverage {coverage}"),
        ),
    ]
}

impl ValenceBundle {
    /// Loads the members of a checked manifest and checks them against it.
    pub(crate) fn from_manifest(
        dir: &Path,
        manifest: Manifest,
    ) -> Result<ValenceBundle, BundleError> {
        let best = load_route(dir, &manifest, "best")?.ok_or_else(|| {
            BundleError::invalid(
                &dir.join(super::MANIFEST),
                "no best_model or best_blend member",
            )
        })?;
        let fallback = load_route(dir, &manifest, "fallback")?;
        let optional: Vec<usize> = (0..manifest.inputs.len())
            .filter(|&c| manifest.inputs[c].optional)
            .collect();
        let manifest_path = dir.join(super::MANIFEST);
        if best.columns.len() != manifest.inputs.len() {
            return Err(BundleError::invalid(
                &manifest_path,
                "the best model does not take every input column",
            ));
        }
        match &fallback {
            Some(route) if route.columns.iter().any(|c| optional.contains(c)) => {
                return Err(BundleError::invalid(
                    &manifest_path,
                    "the fallback model takes an optional column",
                ))
            }
            None if !optional.is_empty() => {
                return Err(BundleError::invalid(
                    &manifest_path,
                    "optional input columns but no fallback model for rows without them",
                ))
            }
            _ => {}
        }
        if !matches!(manifest.output, OutputKind::Value { coverage: Some(c), .. } if c == best.intervals.coverage)
        {
            return Err(BundleError::invalid(
                &manifest_path,
                "the output's coverage is not the intervals' coverage",
            ));
        }
        Ok(ValenceBundle {
            manifest,
            best,
            fallback,
        })
    }

    fn predict_route(
        &self,
        route: &Route,
        rows: ArrayView2<'_, f64>,
    ) -> Result<Vec<Interval>, BundleError> {
        let name = &self.manifest.name;
        let x: Array2<f64> = rows.select(Axis(1), &route.columns);
        let predicted = route.model.predict(&x, name)?;
        let twins = match &route.twins {
            Some(table) => table
                .lookup
                .nearest_within(x.view(), table.radius)
                .map_err(|e| BundleError::model(name, e))?,
            None => vec![None; x.nrows()],
        };
        Ok(predicted
            .iter()
            .zip(twins)
            .map(|(&value, twin)| {
                let (value, group) = match twin {
                    Some(found) => (found.value, TWIN_GROUP),
                    None => (value.clamp(0.0, 1.0), MODEL_GROUP),
                };
                let half = route.intervals.half_width(group, value);
                (
                    value,
                    (
                        (value - half).clamp(0.0, 1.0),
                        (value + half).clamp(0.0, 1.0),
                    ),
                )
            })
            .collect())
    }
}

fn load_route(dir: &Path, manifest: &Manifest, route: &str) -> Result<Option<Route>, BundleError> {
    let (path, model) = match (
        manifest.member(&format!("{route}_model")),
        manifest.member(&format!("{route}_blend")),
    ) {
        (None, None) => return Ok(None),
        (Some(model), None) => {
            let path = dir.join(&model.file);
            let model = ModelFile::load(&path).map_err(|e| BundleError::member(&path, e))?;
            (path, Loaded::Model(Box::new(model)))
        }
        (None, Some(blend)) => {
            let path = dir.join(&blend.file);
            (path.clone(), Loaded::Blend(Blend::load(&path)?))
        }
        (Some(_), Some(_)) => {
            return Err(BundleError::invalid(
                &dir.join(super::MANIFEST),
                format!("both a {route}_model and a {route}_blend member"),
            ))
        }
    };
    let columns = model
        .feature_names()
        .iter()
        .map(|name| {
            manifest
                .inputs
                .iter()
                .position(|c| &c.name == name)
                .ok_or_else(|| {
                    BundleError::invalid(
                        &path,
                        format!("its column {name:?} is not an input of bundle.json"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let twins = match manifest.member(&format!("{route}_twins")) {
        Some(m) => {
            let path = dir.join(&m.file);
            let table: TwinTable = read_json(&path)?;
            table
                .lookup
                .check()
                .map_err(|problem| BundleError::invalid(&path, problem))?;
            if table.lookup.n_features() != columns.len()
                || !(table.radius.is_finite() && table.radius >= 0.0)
            {
                return Err(BundleError::invalid(
                    &path,
                    "its width differs from the model's, or its radius is not finite and non-negative",
                ));
            }
            Some(table)
        }
        None => None,
    };
    let intervals_member = manifest
        .member(&format!("{route}_intervals"))
        .ok_or_else(|| {
            BundleError::invalid(
                &dir.join(super::MANIFEST),
                format!("no {route}_intervals member"),
            )
        })?;
    let path = dir.join(&intervals_member.file);
    let intervals = read_json::<IntervalsFile>(&path)?
        .check()
        .map_err(|problem| BundleError::invalid(&path, problem))?;
    Ok(Some(Route {
        model,
        columns,
        twins,
        intervals,
    }))
}

pub(super) fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, BundleError> {
    let bytes = std::fs::read(path).map_err(|source| BundleError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| BundleError::Json {
        path: path.to_path_buf(),
        source,
    })
}

impl Bundle for ValenceBundle {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// A boosting model alone: no fallback route and no near twins.
    fn lightgbm(&self) -> Option<Result<LightgbmModel, BundleError>> {
        let (Loaded::Model(model), None, None) =
            (&self.best.model, &self.fallback, &self.best.twins)
        else {
            return None;
        };
        let FittedModel::Boosting(boosting) = &model.model else {
            return None;
        };
        let columns = model.feature_names.clone();
        Some(
            boosting
                .to_lightgbm(&columns)
                .map(|text| LightgbmModel {
                    text,
                    columns,
                    output: LightgbmOutput::Value,
                })
                .map_err(|e| BundleError::model(&self.manifest.name, e)),
        )
    }

    fn predict_checked(&self, rows: ArrayView2<'_, f64>) -> Result<Predictions, BundleError> {
        let complete = |r: usize| self.best.columns.iter().all(|&c| !rows[[r, c]].is_nan());
        let (best_rows, fallback_rows): (Vec<usize>, Vec<usize>) =
            (0..rows.nrows()).partition(|&r| complete(r));
        let mut out = vec![(f64::NAN, (f64::NAN, f64::NAN)); rows.nrows()];
        let routes = [
            (&best_rows, Some(&self.best)),
            (&fallback_rows, self.fallback.as_ref()),
        ];
        for (indices, route) in routes {
            if indices.is_empty() {
                continue;
            }
            let Some(route) = route else {
                return Err(BundleError::model(
                    &self.manifest.name,
                    std::io::Error::other("rows without the optional columns, and no fallback"),
                ));
            };
            let predicted = self.predict_route(route, rows.select(Axis(0), indices).view())?;
            for (&r, p) in indices.iter().zip(predicted) {
                out[r] = p;
            }
        }
        Ok(Predictions::Values {
            values: out.iter().map(|p| p.0).collect(),
            intervals: Some(out.iter().map(|p| p.1).collect()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::{load, InputColumn, Problem};
    use crate::valence::{Budget, Method};
    use dataset::FeatureSet;
    use ndarray::Array1;
    use rand::{Rng, SeedableRng};

    /// `n` rows inside the columns' ranges, from a seed.
    fn rows_in_range(columns: &[InputColumn], n: usize, seed: u64) -> Array2<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((n, columns.len()), |(_, c)| {
            rng.gen_range(columns[c].min..=columns[c].max)
        })
    }

    fn knn(x: &Array2<f64>, y: &Array1<f64>, names: Vec<String>) -> ModelFile {
        let params = Method::Knn.search(Budget::Quick, 1).candidates().unwrap()[0].clone();
        ModelFile::new(Method::Knn.fit(&params, x, y).unwrap(), names, "valence")
    }

    fn intervals(model: f64, twin: f64) -> IntervalModel {
        let flat = || Difficulty {
            edges: vec![],
            scale: vec![1.0],
        };
        IntervalModel {
            coverage: 0.9,
            groups: vec![(model, flat()), (twin, flat())],
        }
    }

    struct Fixture {
        dir: tempfile::TempDir,
        x_full: Array2<f64>,
        y: Array1<f64>,
        best: ModelFile,
        fallback: ModelFile,
    }

    /// A bundle of a k-NN on the audio features and the analysis means, with an audio-only
    /// k-NN as its fallback and near twins on the best route, written to a temporary folder.
    fn fixture() -> Fixture {
        let full = FeatureSet::audio_with_analysis().names();
        let audio = FeatureSet::audio().names();
        let columns = input_columns(&full).unwrap();
        let x_full = rows_in_range(&columns, 120, 7);
        let y = x_full.column(0).mapv(|v| (v * 0.8 + 0.1).clamp(0.0, 1.0));
        let x_audio = x_full.select(Axis(1), &(0..audio.len()).collect::<Vec<_>>());
        let best = knn(&x_full, &y, full);
        let fallback = knn(&x_audio, &y, audio);
        let (best_intervals, fallback_intervals) = (intervals(0.2, 0.05), intervals(0.3, 0.1));
        let dir = tempfile::tempdir().unwrap();
        let parts = ValenceParts {
            name: "valence",
            best: RoutePart {
                model: RouteModel::Model(&best),
                twins: Some((TwinLookup::fit(x_full.view(), y.view()).unwrap(), 1e-6)),
                intervals: &best_intervals,
            },
            fallback: Some(RoutePart {
                model: RouteModel::Model(&fallback),
                twins: None,
                intervals: &fallback_intervals,
            }),
            training: Training {
                data_set: "synthetic".into(),
                rows: 120,
                date: "2026-12-05".into(),
                crate_version: "0.1.0".into(),
                seed: 1,
                model: "k-NN".into(),
            },
            scores: BTreeMap::from([("cv_mae".to_string(), 0.1)]),
        };
        write_valence_bundle(&dir.path().join("valence"), parts).unwrap();
        Fixture {
            dir,
            x_full,
            y,
            best,
            fallback,
        }
    }

    #[test]
    fn a_bundle_predicts_as_its_models_with_twins_fallback_and_intervals() {
        let f = fixture();
        let bundle = load(&f.dir.path().join("valence")).unwrap();
        assert_eq!(bundle.manifest().inputs.len(), f.x_full.ncols());
        let columns = &bundle.manifest().inputs;
        // New rows, a training row (its own twin), and a row without analysis means.
        let mut rows = rows_in_range(columns, 6, 99);
        rows.row_mut(1).assign(&f.x_full.row(17));
        let n_audio = FeatureSet::audio().len();
        for c in n_audio..columns.len() {
            rows[[2, c]] = f64::NAN;
        }
        let (predictions, checked) = bundle.predict(rows.view()).unwrap();
        assert_eq!(checked.accepted().len(), 6);
        let Predictions::Values {
            values,
            intervals: Some(intervals),
        } = predictions
        else {
            panic!("values with intervals")
        };
        let by_best = f.best.predict(&rows).unwrap();
        let audio: Vec<usize> = (0..n_audio).collect();
        let by_fallback = f.fallback.predict(&rows.select(Axis(1), &audio)).unwrap();
        for r in [0, 3, 4, 5] {
            assert_eq!(values[r], by_best[r].clamp(0.0, 1.0), "row {r}");
            assert_eq!(
                intervals[r],
                ((values[r] - 0.2).max(0.0), (values[r] + 0.2).min(1.0))
            );
        }
        assert_eq!(values[1], f.y[17], "a training row takes its own valence");
        assert_eq!(
            intervals[1],
            ((values[1] - 0.05).max(0.0), (values[1] + 0.05).min(1.0))
        );
        assert_eq!(values[2], by_fallback[2].clamp(0.0, 1.0));
        assert_eq!(
            intervals[2],
            ((values[2] - 0.3).max(0.0), (values[2] + 0.3).min(1.0))
        );

        // Rows out of range or half without analysis get no prediction, and say why.
        let mut bad = rows.clone();
        bad[[0, 0]] = 1.5;
        bad[[3, 14]] = f64::NAN;
        bad[[4, 1]] = f64::INFINITY;
        let (_, checked) = bundle.predict(bad.view()).unwrap();
        let problems = checked.problems();
        assert_eq!(
            problems,
            [
                Some((0, Problem::OutOfRange)),
                None,
                None,
                Some((14, Problem::Missing)),
                Some((1, Problem::NotANumber)),
                None
            ]
        );
    }

    /// A blend of a k-NN (weight 0.25) and an ensemble of two small networks (0.75) on the audio
    /// features, as Task 2 deploys one, in a bundle of its own.
    #[cfg(feature = "neural")]
    fn blend_bundle() -> (tempfile::TempDir, Array2<f64>, crate::bundle::Blend) {
        use crate::bundle::{Blend, BlendPart, NetworkEnsemble};
        use linfa::traits::Fit;
        use neural_models::{MlpConfig, MlpRegressorParams};
        let audio = FeatureSet::audio().names();
        let x = rows_in_range(&input_columns(&audio).unwrap(), 120, 3);
        let y = x.column(0).mapv(|v| (v * 0.8 + 0.1).clamp(0.0, 1.0));
        let data = linfa::DatasetBase::new(x.clone(), y.clone());
        let networks = [1, 2]
            .map(|seed| {
                MlpRegressorParams::new(MlpConfig::new(vec![8]))
                    .max_epochs(3)
                    .seed(seed)
                    .fit(&data)
                    .unwrap()
                    .with_feature_names(audio.clone())
                    .unwrap()
            })
            .into_iter()
            .collect();
        let blend = Blend::new(
            audio.clone(),
            vec![
                (0.25, BlendPart::Model(Box::new(knn(&x, &y, audio.clone())))),
                (
                    0.75,
                    BlendPart::Networks(NetworkEnsemble::new(networks).unwrap()),
                ),
            ],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let intervals = intervals(0.2, 0.05);
        let parts = ValenceParts {
            name: "valence",
            best: RoutePart {
                model: RouteModel::Blend(&blend),
                twins: None,
                intervals: &intervals,
            },
            fallback: None,
            training: Training {
                data_set: "synthetic".into(),
                rows: 120,
                date: "2026-12-06".into(),
                crate_version: "0".into(),
                seed: 3,
                model: "nn+task1 on audio".into(),
            },
            scores: BTreeMap::new(),
        };
        write_valence_bundle(&dir.path().join("valence"), parts).unwrap();
        (dir, x, blend)
    }

    #[cfg(feature = "neural")]
    #[test]
    fn a_blend_with_networks_predicts_from_its_bundle_as_in_memory() {
        let (dir, x, blend) = blend_bundle();
        let folder = dir.path().join("valence");
        let mut files: Vec<String> = std::fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            [
                "best_0_model.json",
                "best_1_network_0.json",
                "best_1_network_0.safetensors",
                "best_1_network_1.json",
                "best_1_network_1.safetensors",
                "best_blend.json",
                "best_intervals.json",
                "bundle.json"
            ]
        );
        let bundle = load(&folder).unwrap();
        let rows = rows_in_range(&bundle.manifest().inputs, 50, 11);
        let (predictions, _) = bundle.predict(rows.view()).unwrap();
        let Predictions::Values { values, .. } = predictions else {
            panic!("values")
        };
        let expected = blend.predict(&rows).unwrap();
        let knn_only = knn(
            &x,
            &x.column(0).mapv(|v| (v * 0.8 + 0.1).clamp(0.0, 1.0)),
            FeatureSet::audio().names(),
        )
        .predict(&rows)
        .unwrap();
        for r in 0..rows.nrows() {
            assert_eq!(values[r], expected[r].clamp(0.0, 1.0), "row {r}");
        }
        assert!(
            (0..rows.nrows()).any(|r| expected[r] != knn_only[r]),
            "the networks take part"
        );
    }

    #[cfg(feature = "neural")]
    #[test]
    fn a_blend_naming_a_file_outside_its_folder_or_a_changed_network_is_refused() {
        let (dir, _, _) = blend_bundle();
        let folder = dir.path().join("valence");
        let path = folder.join("best_1_network_1.safetensors");
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        let error = load(&folder)
            .err()
            .expect("a changed network is refused")
            .to_string();
        assert!(
            error.contains("best_1_network_1.safetensors") && error.contains("SHA-256"),
            "{error}"
        );

        let (dir, _, _) = blend_bundle();
        let folder = dir.path().join("valence");
        let blend_path = folder.join("best_blend.json");
        let text = std::fs::read_to_string(&blend_path).unwrap();
        std::fs::write(
            &blend_path,
            text.replace("best_0_model.json", "../best_0_model.json"),
        )
        .unwrap();
        // Rewrite the manifest's checksum so that only the blend file's content is at fault.
        let manifest_path = folder.join("bundle.json");
        let mut manifest: Manifest =
            serde_json::from_str(&std::fs::read_to_string(&manifest_path).unwrap()).unwrap();
        for member in &mut manifest.members {
            if member.file == "best_blend.json" {
                member.sha256 = crate::bundle::manifest::sha256_file(&blend_path).unwrap();
            }
        }
        std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
        let error = match load(&folder) {
            Ok(_) => panic!("a blend naming a file outside its folder loaded"),
            Err(e) => e.to_string(),
        };
        assert!(error.contains("plain JSON file name"), "{error}");
    }

    #[test]
    fn a_blend_needs_positive_weights_summing_to_one_on_its_own_columns() {
        use crate::bundle::{Blend, BlendPart};
        let audio = FeatureSet::audio().names();
        let x = rows_in_range(&input_columns(&audio).unwrap(), 30, 4);
        let y = x.column(0).to_owned();
        let part = |weight: f64, names: Vec<String>| {
            (weight, BlendPart::Model(Box::new(knn(&x, &y, names))))
        };
        let error = |parts| Blend::new(audio.clone(), parts).err().unwrap().to_string();
        let short = error(vec![part(0.5, audio.clone()), part(0.25, audio.clone())]);
        assert!(short.contains("sum to 0.75"), "{short}");
        let negative = error(vec![part(1.5, audio.clone()), part(-0.5, audio.clone())]);
        assert!(negative.contains("not in (0, 1]"), "{negative}");
        let mut renamed = audio.clone();
        renamed[0] = "valence".into();
        let other = error(vec![part(1.0, renamed)]);
        assert!(other.contains("not the blend's"), "{other}");
        assert!(Blend::new(
            audio.clone(),
            vec![part(0.75, audio.clone()), part(0.25, audio.clone())]
        )
        .is_ok());
    }

    /// The error of loading the fixture's bundle after `damage` changed its folder.
    fn damaged(damage: impl FnOnce(&Path)) -> String {
        let f = fixture();
        let dir = f.dir.path().join("valence");
        damage(&dir);
        let error = match load(&dir) {
            Ok(_) => panic!("a damaged bundle loaded"),
            Err(e) => e,
        };
        let mut text = error.to_string();
        let mut cause = std::error::Error::source(&error);
        while let Some(inner) = cause {
            text.push_str(" / ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        text
    }

    #[test]
    fn damaged_foreign_or_incomplete_bundles_are_refused_naming_the_file() {
        let edit = |file: &'static str, from: &'static str, to: &'static str| {
            move |dir: &Path| {
                let path = dir.join(file);
                let text = std::fs::read_to_string(&path).unwrap();
                assert!(text.contains(from), "{file} lacks {from}");
                std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
            }
        };
        let message = damaged(edit("best_intervals.json", "0.2", "0.1"));
        assert!(
            message.contains("best_intervals.json") && message.contains("SHA-256"),
            "{message}"
        );
        let message = damaged(edit("bundle.json", "\"version\": 1", "\"version\": 2"));
        assert!(message.contains("version 2"), "{message}");
        let message = damaged(edit("bundle.json", "\"max\": 1.0", "\"max\": -5.0"));
        assert!(
            message.contains("bundle.json") && message.contains("range"),
            "{message}"
        );
        let message = damaged(edit(
            "bundle.json",
            "\"name\": \"valence\"",
            "\"name\": \"valence\", \"extra\": 1",
        ));
        assert!(
            message.contains("bundle.json") && message.contains("unknown field"),
            "{message}"
        );
        let message = damaged(|dir| std::fs::remove_file(dir.join("fallback_model.json")).unwrap());
        assert!(message.contains("fallback_model.json"), "{message}");
        let message = damaged(|dir| std::fs::write(dir.join("notes.txt"), "stale").unwrap());
        assert!(
            message.contains("notes.txt") && message.contains("not among"),
            "{message}"
        );
        let message =
            damaged(|dir| std::fs::write(dir.join("bundle.json"), vec![b' '; 2 << 20]).unwrap());
        assert!(message.contains("1 MiB"), "{message}");
    }

    #[test]
    fn only_a_lone_boosting_model_goes_to_lightgbm() {
        let f = fixture();
        let knn_bundle = load(&f.dir.path().join("valence")).unwrap();
        assert!(
            knn_bundle.lightgbm().is_none(),
            "a k-NN with twins and a fallback"
        );
        let audio = FeatureSet::audio().names();
        let x = f
            .x_full
            .select(Axis(1), &(0..audio.len()).collect::<Vec<_>>());
        let params = Method::Boosting
            .search(Budget::Quick, 1)
            .candidates()
            .unwrap()[0]
            .clone();
        let boosting = ModelFile::new(
            Method::Boosting.fit(&params, &x, &f.y).unwrap(),
            audio.clone(),
            "valence",
        );
        let interval_model = intervals(0.2, 0.05);
        let parts = ValenceParts {
            name: "valence",
            best: RoutePart {
                model: RouteModel::Model(&boosting),
                twins: None,
                intervals: &interval_model,
            },
            fallback: None,
            training: Training {
                data_set: "synthetic".into(),
                rows: 120,
                date: "2026-12-05".into(),
                crate_version: "0.1.0".into(),
                seed: 1,
                model: "boosting".into(),
            },
            scores: BTreeMap::new(),
        };
        let dir = f.dir.path().join("boosting");
        write_valence_bundle(&dir, parts).unwrap();
        let exported = load(&dir).unwrap().lightgbm().unwrap().unwrap();
        assert_eq!(exported.columns, audio);
        assert_eq!(exported.output, LightgbmOutput::Value);
        let FittedModel::Boosting(model) = &boosting.model else {
            panic!("Method::Boosting fits a boosting model")
        };
        let trees = exported
            .text
            .lines()
            .filter(|l| l.starts_with("Tree="))
            .count();
        assert_eq!(trees, model.n_trees().max(1));
    }

    #[test]
    fn writing_again_replaces_the_whole_bundle() {
        let f = fixture();
        let dir = f.dir.path().join("valence");
        let only = intervals(0.2, 0.05);
        let parts = ValenceParts {
            name: "valence",
            best: RoutePart {
                model: RouteModel::Model(&f.fallback),
                twins: None,
                intervals: &only,
            },
            fallback: None,
            training: Training {
                data_set: "synthetic".into(),
                rows: 120,
                date: "2026-12-05".into(),
                crate_version: "0.1.0".into(),
                seed: 1,
                model: "k-NN".into(),
            },
            scores: BTreeMap::new(),
        };
        write_valence_bundle(&dir, parts).unwrap();
        let mut files: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        assert_eq!(
            files,
            ["best_intervals.json", "best_model.json", "bundle.json"]
        );
        assert_eq!(
            load(&dir).unwrap().manifest().inputs.len(),
            FeatureSet::audio().len()
        );
        let siblings = std::fs::read_dir(f.dir.path()).unwrap().count();
        assert_eq!(siblings, 1, "no .partial or .old folder is left behind");
    }

    #[test]
    fn a_batch_is_read_by_name_and_a_missing_column_names_itself() {
        use arrow_array::{Array, Float64Array, RecordBatch};
        use arrow_schema::{DataType, Field, Schema};
        use std::sync::Arc;
        let f = fixture();
        let bundle = load(&f.dir.path().join("valence")).unwrap();
        let inputs = &bundle.manifest().inputs;
        let rows = rows_in_range(inputs, 4, 3);
        let batch = |skip: Option<usize>| {
            let keep: Vec<usize> = (0..inputs.len()).filter(|&c| Some(c) != skip).collect();
            let fields: Vec<Field> = keep
                .iter()
                .map(|&c| Field::new(&inputs[c].name, DataType::Float64, true))
                .collect();
            let arrays = keep
                .iter()
                .map(|&c| {
                    let mut values: Vec<Option<f64>> =
                        rows.column(c).iter().map(|v| Some(*v)).collect();
                    if c == 0 {
                        values[2] = None;
                    }
                    Arc::new(Float64Array::from(values)) as arrow_array::ArrayRef
                })
                .collect();
            RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
        };
        let output = bundle.predict_batch(&batch(None)).unwrap();
        let values = output.columns[0]
            .1
            .as_any()
            .downcast_ref::<Float64Array>()
            .unwrap()
            .clone();
        assert_eq!(values.null_count(), 1);
        assert!(values.is_null(2));
        assert_eq!(
            output.rejected[2].map(|r| r.problem),
            Some(Problem::Missing)
        );
        let Err(error) = bundle.predict_batch(&batch(Some(5))) else {
            panic!("a batch without an input column was predicted")
        };
        let message = error.to_string();
        assert!(
            message.contains("valence") && message.contains(&inputs[5].name),
            "{message}"
        );
    }
}
