//! A valence route's model when it is more than one classic model: a weighted blend of classic
//! models and network ensembles, as Task 2 chooses them. The pipeline predicts with this type
//! and the bundle saves and loads it, so both give the same numbers.
//!
//! In the bundle, a blend is the member `<route>_blend.json` ([`BlendFile`]), which names its
//! parts' files: classic models as `classic-models` model files, each network as the JSON and
//! safetensors files `neural-models` writes. Every one of those is a member too.

use std::path::Path;

use classic_models::ModelFile;
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::BundleError;

/// One part of a [`Blend`].
pub enum BlendPart {
    /// A classic model.
    Model(Box<ModelFile>),
    /// Networks whose predictions are averaged.
    Networks(NetworkEnsemble),
}

/// A weighted sum of parts' predictions, all on the same columns.
pub struct Blend {
    feature_names: Vec<String>,
    parts: Vec<(f64, BlendPart)>,
}

/// Why a blend cannot be made or cannot predict.
#[derive(Debug, thiserror::Error)]
pub enum BlendError {
    /// The parts are inconsistent.
    #[error("blend: {0}")]
    Invalid(String),
    /// A classic part failed.
    #[error("blend: a classic model failed")]
    Model(#[source] classic_models::ModelError),
    /// A network failed.
    #[cfg(feature = "neural")]
    #[error("blend: a network failed")]
    Network(#[source] neural_models::NeuralError),
}

impl Blend {
    /// A blend of `parts`, each weight positive, the weights summing to 1 (within 1e-9), each
    /// part taking `feature_names`.
    pub fn new(
        feature_names: Vec<String>,
        parts: Vec<(f64, BlendPart)>,
    ) -> Result<Blend, BlendError> {
        if parts.is_empty() {
            return Err(BlendError::Invalid("no parts".into()));
        }
        let total: f64 = parts.iter().map(|(weight, _)| weight).sum();
        if (total - 1.0).abs() > 1e-9 {
            return Err(BlendError::Invalid(format!(
                "the weights sum to {total}, not 1"
            )));
        }
        for (weight, part) in &parts {
            if !(weight.is_finite() && *weight > 0.0 && *weight <= 1.0) {
                return Err(BlendError::Invalid(format!(
                    "the weight {weight} is not in (0, 1]"
                )));
            }
            let names = match part {
                BlendPart::Model(model) => model.feature_names.clone(),
                BlendPart::Networks(networks) => networks.feature_names()?,
            };
            if names != feature_names {
                return Err(BlendError::Invalid(format!(
                    "a part takes the columns {names:?}, not the blend's {feature_names:?}"
                )));
            }
        }
        Ok(Blend {
            feature_names,
            parts,
        })
    }

    /// The columns it takes, in order.
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// The weighted sum of the parts' predictions of `x`, added in the parts' order; one part of
    /// weight 1 predicts exactly what it predicts alone.
    pub fn predict(&self, x: &Array2<f64>) -> Result<Array1<f64>, BlendError> {
        if let [(weight, part)] = self.parts.as_slice() {
            if *weight == 1.0 {
                return part.predict(x);
            }
        }
        let mut total = Array1::zeros(x.nrows());
        for (weight, part) in &self.parts {
            total.scaled_add(*weight, &part.predict(x)?);
        }
        Ok(total)
    }

    /// Writes every part's files into `dir`, named `<prefix>_<k>…`, and `<prefix>_blend.json`;
    /// returns the files written, the blend file first.
    pub(crate) fn save(&self, dir: &Path, prefix: &str) -> Result<Vec<String>, BundleError> {
        let mut files = vec![format!("{prefix}_blend.json")];
        let mut listed = Vec::new();
        for (k, (weight, part)) in self.parts.iter().enumerate() {
            let entry = match part {
                BlendPart::Model(model) => {
                    let file = format!("{prefix}_{k}_model.json");
                    let path = dir.join(&file);
                    model
                        .save(&path)
                        .map_err(|e| BundleError::member(&path, e))?;
                    files.push(file.clone());
                    PartFile::Model {
                        weight: *weight,
                        file,
                    }
                }
                BlendPart::Networks(networks) => {
                    let names = networks.save(dir, &format!("{prefix}_{k}_network"))?;
                    for name in &names {
                        files.push(format!("{name}.json"));
                        files.push(format!("{name}.safetensors"));
                    }
                    PartFile::Networks {
                        weight: *weight,
                        files: names.into_iter().map(|n| format!("{n}.json")).collect(),
                    }
                }
            };
            listed.push(entry);
        }
        let blend = BlendFile {
            feature_names: self.feature_names.clone(),
            parts: listed,
        };
        super::valence::write_json(&dir.join(&files[0]), &blend)?;
        Ok(files)
    }

    /// Loads the blend file at `path` and its parts (from its folder), checking each.
    pub(crate) fn load(path: &Path) -> Result<Blend, BundleError> {
        let file: BlendFile = super::valence::read_json(path)?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut parts = Vec::new();
        for part in file.parts {
            parts.push(match part {
                PartFile::Model { weight, file } => {
                    let path = plain_member(dir, &file)?;
                    let model =
                        ModelFile::load(&path).map_err(|e| BundleError::member(&path, e))?;
                    (weight, BlendPart::Model(Box::new(model)))
                }
                PartFile::Networks { weight, files } => (
                    weight,
                    BlendPart::Networks(NetworkEnsemble::load(dir, &files)?),
                ),
            });
        }
        Blend::new(file.feature_names, parts).map_err(|e| BundleError::member(path, e))
    }
}

/// `dir/file`, when `file` is a plain JSON file name (a member of the bundle's own folder).
fn plain_member(dir: &Path, file: &str) -> Result<std::path::PathBuf, BundleError> {
    let path = dir.join(file);
    if file.contains(['/', '\\']) || file.starts_with('.') || !file.ends_with(".json") {
        return Err(BundleError::invalid(
            &path,
            "a blend part is not a plain JSON file name of the bundle's folder",
        ));
    }
    Ok(path)
}

impl BlendPart {
    fn predict(&self, x: &Array2<f64>) -> Result<Array1<f64>, BlendError> {
        match self {
            BlendPart::Model(model) => model.predict(x).map_err(BlendError::Model),
            BlendPart::Networks(networks) => networks.predict(x),
        }
    }
}

/// The blend member: its columns and its parts' files.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BlendFile {
    feature_names: Vec<String>,
    parts: Vec<PartFile>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case", tag = "kind")]
enum PartFile {
    Model { weight: f64, file: String },
    Networks { weight: f64, files: Vec<String> },
}

pub use networks::NetworkEnsemble;

#[cfg(feature = "neural")]
mod networks {
    use std::path::Path;
    use std::sync::Mutex;

    use ndarray::{Array1, Array2};
    use neural_models::MlpRegressor;

    use super::BlendError;
    use crate::bundle::BundleError;

    /// Networks whose predictions are averaged (added in order, then divided by their number),
    /// each behind a lock: libtorch tensors are `Send` but not `Sync`, so a bundle's callers on
    /// several threads take turns at each network.
    pub struct NetworkEnsemble {
        networks: Vec<Mutex<MlpRegressor>>,
    }

    impl NetworkEnsemble {
        /// The ensemble of `networks`; each must carry the names of its columns.
        pub fn new(networks: Vec<MlpRegressor>) -> Result<NetworkEnsemble, BlendError> {
            if networks.is_empty() {
                return Err(BlendError::Invalid("a network ensemble of none".into()));
            }
            let ensemble = NetworkEnsemble {
                networks: networks.into_iter().map(Mutex::new).collect(),
            };
            ensemble.feature_names()?;
            Ok(ensemble)
        }

        fn with<T>(network: &Mutex<MlpRegressor>, f: impl FnOnce(&MlpRegressor) -> T) -> T {
            f(&network.lock().unwrap_or_else(|poison| poison.into_inner()))
        }

        /// The columns every network takes, in order.
        pub(super) fn feature_names(&self) -> Result<Vec<String>, BlendError> {
            let names: Vec<Option<Vec<String>>> = self
                .networks
                .iter()
                .map(|n| Self::with(n, |n| n.feature_names().map(<[String]>::to_vec)))
                .collect();
            match names.first() {
                Some(Some(first)) if names.iter().all(|n| n.as_ref() == Some(first)) => {
                    Ok(first.clone())
                }
                _ => Err(BlendError::Invalid(
                    "the ensemble's networks do not all name the same columns".into(),
                )),
            }
        }

        /// The mean of the networks' predictions of `x`.
        pub(super) fn predict(&self, x: &Array2<f64>) -> Result<Array1<f64>, BlendError> {
            let mut sum = Array1::zeros(x.nrows());
            for network in &self.networks {
                sum += &Self::with(network, |n| n.try_predict(x.view()))
                    .map_err(BlendError::Network)?;
            }
            Ok(sum / self.networks.len() as f64)
        }

        /// Saves network `k` as `<stem>_<k>.json` and `.safetensors` in `dir`; returns the stems.
        pub(super) fn save(&self, dir: &Path, stem: &str) -> Result<Vec<String>, BundleError> {
            let mut stems = Vec::new();
            for (k, network) in self.networks.iter().enumerate() {
                let name = format!("{stem}_{k}");
                let path = dir.join(format!("{name}.json"));
                Self::with(network, |n| n.save(&path))
                    .map_err(|e| BundleError::member(&path, e))?;
                stems.push(name);
            }
            Ok(stems)
        }

        /// Loads the networks saved as `files` (their JSON files) in `dir`.
        pub(super) fn load(dir: &Path, files: &[String]) -> Result<NetworkEnsemble, BundleError> {
            let mut networks = Vec::new();
            for file in files {
                let path = super::plain_member(dir, file)?;
                networks
                    .push(MlpRegressor::load(&path).map_err(|e| BundleError::member(&path, e))?);
            }
            NetworkEnsemble::new(networks).map_err(|e| BundleError::member(dir, e))
        }
    }
}

#[cfg(not(feature = "neural"))]
mod networks {
    use std::path::Path;

    use ndarray::{Array1, Array2};

    use super::BlendError;
    use crate::bundle::BundleError;

    /// Networks whose predictions are averaged. This build has no networks (the `neural`
    /// feature is off), so none can be made or loaded.
    pub enum NetworkEnsemble {}

    impl NetworkEnsemble {
        pub(super) fn feature_names(&self) -> Result<Vec<String>, BlendError> {
            match *self {}
        }

        pub(super) fn predict(&self, _: &Array2<f64>) -> Result<Array1<f64>, BlendError> {
            match *self {}
        }

        pub(super) fn save(&self, _: &Path, _: &str) -> Result<Vec<String>, BundleError> {
            match *self {}
        }

        pub(super) fn load(dir: &Path, _: &[String]) -> Result<NetworkEnsemble, BundleError> {
            Err(BundleError::invalid(
                dir,
                "the bundle holds networks, but this build of spotify-ml has none (enable its `neural` feature)",
            ))
        }
    }
}
