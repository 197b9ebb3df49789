//! *Prepare*: the tracks, their valence and the folds every model is scored on.

use std::collections::HashMap;

use dataset::Track;
use evaluation::Fold;
use ndarray::{Array1, Array2};

use super::{FeatureSetId, Grouping, PipelineError, RunConfig};

/// The data of the valence tasks, ready for learning.
pub struct ValenceInputs {
    /// Chart tracks with valence.
    pub train: Vec<Track>,
    /// The tracks to predict, in the order of `spotify_ids.txt`.
    pub eval: Vec<Track>,
    /// Valence of the training tracks.
    pub y: Array1<f64>,
    /// The folds every method is scored on.
    pub folds: Vec<Fold>,
    /// Number of groups of identical-feature tracks (recordings).
    pub recordings: usize,
    /// How the folds were made.
    pub grouping: Grouping,
}

impl ValenceInputs {
    /// The fold whose test rows hold each training row.
    pub fn fold_of_rows(&self) -> Vec<usize> {
        let mut fold = vec![0; self.y.len()];
        for (k, f) in self.folds.iter().enumerate() {
            for &row in &f.test {
                fold[row] = k;
            }
        }
        fold
    }

    /// The training matrix of a feature set.
    pub fn train_matrix(&self, features: FeatureSetId) -> Result<Array2<f64>, PipelineError> {
        Ok(features.set().matrix(&self.train)?)
    }

    /// The evaluation tracks at `rows`, in that order.
    pub fn eval_tracks(&self, rows: &[usize]) -> Vec<Track> {
        rows.iter().map(|&i| self.eval[i].clone()).collect()
    }

    /// The ids of the evaluation tracks, in order.
    pub fn eval_ids(&self) -> Vec<String> {
        self.eval.iter().map(|track| track.id.clone()).collect()
    }
}

/// Loads the data and builds the folds every method is scored on. The evaluation tracks'
/// features come through a [`spotify_client::FeatureSource`]: the configured cache, or the
/// shared files.
pub fn prepare(config: &RunConfig) -> Result<ValenceInputs, PipelineError> {
    let (dir, folds, seed, grouping) = (&config.data, config.folds, config.seed, config.grouping);
    let data = dataset::load::valence::load(dir)?;
    let y = dataset::valence(&data.train)?;
    let groups = dataset::prepare::recording_groups(&data.train);
    let recordings = groups.iter().copied().max().map_or(0, |g| g + 1);
    let splits = match grouping {
        Grouping::Recordings => dataset::split::group_k_fold(&groups, folds, seed)?,
        Grouping::Plain => dataset::split::k_fold(groups.len(), folds, seed)?,
    };
    let folds = splits
        .into_iter()
        .map(|split| Fold {
            train: split.train,
            test: split.test,
        })
        .collect();
    let eval = match &config.eval_cache {
        Some(path) => eval_tracks(&data.eval, &mut spotify_client::Cache::open(path)?)?,
        None => eval_tracks(
            &data.eval,
            &mut spotify_client::LocalSource::new(&data.eval),
        )?,
    };
    Ok(ValenceInputs {
        train: data.train,
        eval,
        y,
        folds,
        recordings,
        grouping,
    })
}

/// The evaluation tracks (the ids of `listed`, in order) with the features `source` gives them;
/// an id without features is an error that names it, an id without analysis keeps none.
fn eval_tracks(
    listed: &[Track],
    source: &mut dyn spotify_client::FeatureSource,
) -> Result<Vec<Track>, PipelineError> {
    let ids: Vec<String> = listed.iter().map(|track| track.id.clone()).collect();
    // The evaluation tracks' valence is held out: their features come without it.
    let options = spotify_client::fetch::FetchOptions::new()
        .progress(false)
        .require(&[]);
    let fetched = spotify_client::fetch::fetch(source, None, &ids, &options)?;
    let by_id: HashMap<&str, &spotify_client::fetch::FetchedTrack> = fetched
        .tracks
        .iter()
        .map(|track| (track.id.as_str(), track))
        .collect();
    ids.iter()
        .map(|id| {
            let found = by_id.get(id.as_str()).and_then(|track| {
                track
                    .features
                    .clone()
                    .map(|features| (features, track.analysis.clone()))
            });
            let (features, analysis) = found.ok_or_else(|| {
                PipelineError::Inconsistent(format!(
                    "the feature source `{}` has no audio features for evaluation track {id}",
                    source.name()
                ))
            })?;
            Ok(Track {
                id: id.clone(),
                features,
                analysis,
                labels: Default::default(),
            })
        })
        .collect()
}
