//! *Deploy*: the winner's and the fallback's models, made ready for new tracks as [`Blend`]s:
//! the network ensemble (`nn`) is its configuration fitted on all chart tracks once per seed
//! (as Task 1 fits its chosen model on all of them), and Task 1's models are its saved files.
//! The evaluation tracks are predicted with these, and the bundle saves them.

use std::path::Path;

use classic_models::ModelFile;
use evaluation::{Tunable, Value};
use linfa::traits::Fit;
use linfa::DatasetBase;
use neural_models::{MlpRegressor, MlpRegressorParams};
use rayon::prelude::*;

use super::{Decision, NetworkRun};
use crate::bundle::{Blend, BlendPart, NetworkEnsemble};
use crate::log::log;
use crate::valence::{
    Candidate, CandidateName, FeatureSetId, Method, Model, PipelineError, Scored, ValenceInputs,
};

/// The deployed models of a decision.
pub struct Deployed {
    /// The winner's.
    pub best: Blend,
    /// The audio-only fallback's, when the winner needs the analysis means.
    pub fallback: Option<Blend>,
}

/// Fits or loads the models of the winner and (when the winner needs the analysis means) of the
/// fallback.
pub fn deploy(
    task1_dir: &Path,
    decision: &Decision,
    networks: &[NetworkRun],
    inputs: &ValenceInputs,
) -> Result<Deployed, PipelineError> {
    let best = blend_of(task1_dir, &decision.best, networks, inputs)?;
    let fallback = if decision.best.candidate.features() == FeatureSetId::FALLBACK {
        None
    } else {
        Some(blend_of(task1_dir, &decision.fallback, networks, inputs)?)
    };
    Ok(Deployed { best, fallback })
}

/// A candidate's members with a positive weight, each fitted or loaded.
fn blend_of(
    task1_dir: &Path,
    scored: &Scored,
    networks: &[NetworkRun],
    inputs: &ValenceInputs,
) -> Result<Blend, PipelineError> {
    let features = scored.candidate.features();
    let members: Vec<(Model, f64)> = match &scored.candidate {
        Candidate::Single { model, .. } => vec![(*model, 1.0)],
        Candidate::Blend { members, .. } => members
            .iter()
            .copied()
            .filter(|(_, weight)| *weight > 0.0)
            .collect(),
    };
    let task1_file = |name: &str| -> Result<ModelFile, PipelineError> {
        let path = task1_dir.join(format!("{name}_{}.json", features.slug()));
        Ok(ModelFile::load(&path)?)
    };
    let mut parts = Vec::new();
    for (model, weight) in members {
        let part = match model {
            Model::Network => {
                let network = networks
                    .iter()
                    .find(|network| network.features == features)
                    .ok_or_else(|| {
                        PipelineError::Inconsistent(format!("no network for {features}"))
                    })?;
                BlendPart::Networks(NetworkEnsemble::new(fit_networks(network, inputs)?)?)
            }
            Model::Method(Method::Boosting) => BlendPart::Model(Box::new(task1_file("boosting")?)),
            // Task 1 saves its chosen model as `best_<feature set>.json`.
            Model::Task1(_) => BlendPart::Model(Box::new(task1_file("best")?)),
            Model::Method(_) => {
                return Err(PipelineError::Unsupported {
                    pipeline: "Task 2",
                    action: "deploy",
                    candidate: CandidateName::Model(model),
                })
            }
        };
        parts.push((weight, part));
    }
    Ok(Blend::new(features.set().names(), parts)?)
}

/// The ensemble's configuration fitted on all chart tracks, once per seed of the ensemble (in
/// parallel), each network carrying its columns' names.
fn fit_networks(
    network: &NetworkRun,
    inputs: &ValenceInputs,
) -> Result<Vec<MlpRegressor>, PipelineError> {
    let features = network.features;
    log(
        "task2",
        format!(
            "nn [{features}]: fitting {} networks on all {} chart tracks",
            network.seeds.len(),
            inputs.y.len()
        ),
    );
    let data = DatasetBase::new(inputs.train_matrix(features)?, inputs.y.clone());
    network
        .seeds
        .par_iter()
        .map(|&seed| {
            let mut params = network.params.clone();
            params.insert("seed".into(), Value::Int(seed as i64));
            let fitted = MlpRegressorParams::from_params(&params)?.fit(&data)?;
            Ok(fitted.with_feature_names(features.set().names())?)
        })
        .collect()
}
