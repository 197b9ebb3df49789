//! Genres (3, 5 and 7) and activity moods (4) of `genres/data_*.csv`: every `tid` that appears
//! more than once is dropped, then stratified 80/20 splits (seed 12345 and four more) with 20%
//! of the training part held out, and 5-fold cross-validation.

use std::path::Path;

use dataset::load::genres::{self, GenreSet};
use dataset::{AudioFeature, FeatureSet, LabelEncoder, Strictness, Track};
use ndarray::Array1;
use spotify_client::LocalSource;

use crate::classify::error::ClassifyError;
use crate::classify::experiment::{self, Experiment, ExperimentOutcome, Protocol};
use crate::classify::family::{audio_rows, names, save_models, RunConfig};
use crate::classify::identity::{ExperimentId, UnknownName};
use crate::classify::lineup::{lineup, BlendPool, Scale};
use crate::classify::output::{write_family, FamilyText};
use crate::classify::problem::Problem;
use crate::classify::saved::predict_lines;

/// The 11 audio features of the playlist files, in file order.
pub const FEATURES: [AudioFeature; 11] = [
    AudioFeature::Danceability,
    AudioFeature::Energy,
    AudioFeature::Key,
    AudioFeature::Loudness,
    AudioFeature::Mode,
    AudioFeature::Speechiness,
    AudioFeature::Acousticness,
    AudioFeature::Instrumentalness,
    AudioFeature::Liveness,
    AudioFeature::Valence,
    AudioFeature::Tempo,
];

/// The experiment of a file: `genre3`, `genre5`, `genre7` or `activity4`.
pub fn id(set: GenreSet) -> ExperimentId {
    ExperimentId::of_genre_set(set)
}

/// The file of an experiment named by a flag; a name that is not one of the four experiments
/// is an error listing them.
pub fn parse_set(name: &str) -> Result<GenreSet, UnknownName> {
    name.parse::<ExperimentId>()
        .ok()
        .and_then(ExperimentId::genre_set)
        .ok_or_else(|| UnknownName {
            kind: "genre experiment",
            name: name.to_string(),
            known: GenreSet::ALL.map(|set| id(set).to_string()).to_vec(),
        })
}

/// Published accuracy and target of each file.
pub fn published_and_target(set: GenreSet) -> (f64, f64) {
    match set {
        GenreSet::Three => (0.8945, 0.93),
        GenreSet::Five => (0.8349, 0.88),
        GenreSet::Seven => (0.6790, 0.76),
        GenreSet::Moods => (0.7137, 0.80),
    }
}

/// The problem of some playlist tracks, labels in the file's order (`label` 0, 1, …).
pub fn problem(set: GenreSet, tracks: &[Track]) -> Result<Problem, ClassifyError> {
    let classes = set.label_names();
    let encoder = LabelEncoder::with_classes(classes)?;
    let labels: Vec<&str> = tracks
        .iter()
        .map(|t| {
            if set.is_mood() {
                t.labels.mood.as_deref().unwrap_or("")
            } else {
                t.labels.genre.as_deref().unwrap_or("")
            }
        })
        .collect();
    let y = encoder.encode(&labels)?;
    Ok(Problem {
        id: id(set),
        title: match set {
            GenreSet::Three => "3 genres",
            GenreSet::Five => "5 genres",
            GenreSet::Seven => "7 genres",
            GenreSet::Moods => "4 activity moods",
        }
        .into(),
        classes: classes.iter().map(|c| c.to_string()).collect(),
        feature_names: names(&FEATURES),
        ids: tracks.iter().map(|t| t.id.clone()).collect(),
        x: FeatureSet::of(&id(set).to_string(), &FEATURES).matrix(tracks)?,
        y: Array1::from(y),
    })
}

/// The experiment of one file, on its published rows.
pub fn experiment(config: &RunConfig, set: GenreSet) -> Result<Experiment, ClassifyError> {
    let all = genres::load(&config.data, set, Strictness::Strict)?;
    let published = genres::load_published(&config.data, set, Strictness::Strict)?;
    let problem = problem(set, &published.rows)?;
    let (published_accuracy, target) = published_and_target(set);
    let k = problem.n_classes();
    Ok(Experiment {
        notes: vec![format!(
            "`{}`: {} rows; {} rows of `tid`s that appear more than once are dropped (all of their rows), leaving {}.",
            set.file(),
            all.rows.len(),
            all.rows.len() - published.rows.len(),
            published.rows.len()
        )],
        problem,
        protocol: Protocol::Split { cv_k: 5 },
        models: lineup(k, Scale::Small, config.quick),
        published: Some(published_accuracy),
        target: Some(target),
        seed: config.seed,
        quick: config.quick,
        blend_pool: BlendPool::All,
        refit_best: true,
    })
}

/// Runs the four experiments, writes their outputs into `config.out` and saves each model in
/// `config.out/models/NAME`.
pub fn run(config: &RunConfig) -> Result<Vec<ExperimentOutcome>, ClassifyError> {
    let mut outcomes = Vec::new();
    for set in GenreSet::ALL {
        outcomes.push(experiment::run(&experiment(config, set)?)?);
    }
    let text = FamilyText {
        title: "Genre and activity-mood classification",
        intro: "Three, five and seven genres and four activity moods from 11 audio features, by the published protocol. The headline accuracy of each experiment is the mean over 5 stratified 80/20 splits (seed 12345 and seeds 1–4); the seed-12345 split and a 5-fold cross-validation are reported beside it. Every number below is generated by this run. The settings of the boosted trees and the forest (and the network's) were picked among a handful of candidates by 5-fold cross-validation on these same files, and the boosted trees refit on every training row after early stopping chose their number of rounds; a selection among few candidates on the same data makes the estimates slightly optimistic.",
        extra: String::new(),
    };
    write_family(&config.out, &text, &outcomes)?;
    save_models(config, &mut outcomes)?;
    Ok(outcomes)
}

/// Predicts each id with the saved model of each experiment of `sets`, features read from
/// `features` (default: each experiment's own file). Returns one block of lines per experiment.
pub fn predict(
    config: &RunConfig,
    sets: &[GenreSet],
    ids: &[String],
    features: Option<&Path>,
) -> Result<Vec<(ExperimentId, Vec<String>)>, ClassifyError> {
    let mut blocks = Vec::new();
    for &set in sets {
        let model = crate::bundle::load(&config.model_dir(id(set))).map_err(Box::new)?;
        let path = features
            .map(Path::to_path_buf)
            .unwrap_or_else(|| config.data.join(set.file()));
        let tracks = genres::load_path(&path, set, Strictness::Lenient)?;
        let mut source = LocalSource::new(&tracks.rows);
        let rows = audio_rows(&mut source, ids, &FEATURES)?;
        blocks.push((
            id(set),
            predict_lines(model.as_ref(), ids, &rows, &path.display().to_string()),
        ));
    }
    Ok(blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_genre_experiment_flag_names_one_of_the_four_files() {
        assert_eq!(parse_set("genre7").unwrap(), GenreSet::Seven);
        assert_eq!(parse_set("activity4").unwrap(), GenreSet::Moods);
        for name in ["moods", "genre4", ""] {
            let message = parse_set(name).unwrap_err().to_string();
            assert!(
                message.contains("genre3, genre5, genre7, activity4"),
                "{message}"
            );
        }
    }
}
