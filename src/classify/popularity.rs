//! Popularity quartiles (0-25 / 25-50 / 50-75 / 75-100) of `popularity/`: one row per
//! `track_id`, the 12 audio features, artist popularity (imputed and flagged where unknown) and
//! the playlist genre one-hot; stratified 80/20 splits over 5 seeds and 5-fold CV. The model it
//! saves is the [`PopularityPredictor`] the web app serves.

use std::collections::HashMap;
use std::path::Path;

use dataset::load::popularity as data;
use dataset::Strictness;

use crate::bundle::{save_popularity_bundle, PopularityBundle};
use crate::classify::error::{ClassifyError, MissingValue};
use crate::classify::experiment::{self, Experiment, ExperimentOutcome, Protocol};
use crate::classify::family::RunConfig;
use crate::classify::family::{bundle_training, protocol_scores};
use crate::classify::identity::{Candidate, ExperimentId, Learner};
use crate::classify::lineup::{lineup, BlendPool, Model, Scale};
use crate::classify::output::{write_family, FamilyText};
use crate::classify::problem::Problem;
use crate::classify::report::ExperimentReport;
use crate::classify::saved::predict_lines;
use crate::popularity::{
    boosting_params, feature_names, network_params, Members, PopularityData, PopularityPredictor,
    PredictorConfig, QuartileModel, SongInput, TrainedPredictor, QUARTILES,
};

/// The experiment.
pub const ID: ExperimentId = ExperimentId::Popularity;

/// Rows kept by `--quick` (every n-th track).
const QUICK_ROWS: usize = 3000;

/// The problem of the popularity data.
pub fn problem(data: &PopularityData) -> Problem {
    Problem {
        id: ID,
        title: "Popularity quartiles".into(),
        classes: QUARTILES.iter().map(|c| c.to_string()).collect(),
        feature_names: feature_names(&data.genres),
        ids: data.tracks.iter().map(|t| t.track.id.clone()).collect(),
        x: data.x.clone(),
        y: data.y.clone(),
    }
}

/// The line-up: the classic models of the large-data line-up, with the boosted trees and the
/// network the saved predictor uses.
pub fn models(quick: bool, seed: u64) -> Vec<Model> {
    lineup(QUARTILES.len(), Scale::Large, quick)
        .into_iter()
        .map(|model| match model {
            Model::Boosting(_) => Model::Boosting(boosting_params(quick, seed)),
            Model::Network(_) => Model::Network(network_params(quick, seed)),
            other => other,
        })
        .collect()
}

/// The popularity data: every track, or every n-th one when quick.
fn load(config: &RunConfig) -> Result<PopularityData, ClassifyError> {
    let full = PopularityData::load(&config.data)?;
    if !config.quick {
        return Ok(full);
    }
    let step = (full.tracks.len() / QUICK_ROWS).max(1);
    let tracks = full.tracks.iter().step_by(step).cloned().collect();
    Ok(PopularityData::from_rows(tracks, full.file_rows)?)
}

/// Notes on the data: rows kept, artist popularity imputed, the classes.
fn notes(data: &PopularityData, quick: bool) -> Vec<String> {
    let known = data
        .tracks
        .iter()
        .filter(|t| t.artist_popularity.is_some())
        .count();
    vec![
        format!(
            "`{}`: {} rows, one per track and playlist; one row per `track_id` is kept (its first playlist), {} tracks{}.",
            data::SONGS,
            data.file_rows,
            data.tracks.len(),
            if quick { " (`--quick`: every n-th track only)" } else { "" }
        ),
        format!(
            "Artist popularity is joined by exact artist name from `{}`; it is unknown for {} of the tracks ({:.1}%). Those get the median of the known ones ({:.0}) and `artist_popularity_missing` = 1, so the models can tell an imputed value from a real one; a song given to the saved model always carries its own artist popularity.",
            data::ARTISTS,
            data.tracks.len() - known,
            100.0 * data.missing_share(),
            data.imputed
        ),
        "Classes are the quartile bins 0-25 / 25-50 / 50-75 / 75-100 of `track_popularity` (a popularity of exactly 25, 50 or 75 goes to the upper bin).".into(),
        "The published 78.4% was measured on a different, larger data set, so it is context, not a target.".into(),
    ]
}

/// The experiment on the data: splits over seeds and a 5-fold CV, the blend restricted to the
/// boosted trees and the network.
fn experiment(config: &RunConfig, data: &PopularityData) -> Experiment {
    Experiment {
        problem: problem(data),
        protocol: Protocol::Split { cv_k: 5 },
        models: models(config.quick, config.seed),
        published: Some(0.784),
        target: None,
        notes: notes(data, config.quick),
        seed: config.seed,
        quick: config.quick,
        blend_pool: BlendPool::Only(vec![Learner::Boosting, Learner::Network]),
        refit_best: false,
    }
}

/// The predictor's members: the most accurate of the boosted trees, the network and their
/// blend (ties: the later of them).
pub fn saved_members(report: &ExperimentReport) -> Members {
    saved_candidate(report).0
}

/// The predictor's members and the report's candidate they are.
fn saved_candidate(report: &ExperimentReport) -> (Members, Candidate) {
    let accuracy = |candidate: Candidate| report.accuracy(candidate).unwrap_or(f64::NEG_INFINITY);
    [
        (Members::Boosting, Candidate::Single(Learner::Boosting)),
        (Members::Network, Candidate::Single(Learner::Network)),
        (Members::Blend, Candidate::Blend),
    ]
    .into_iter()
    .max_by(|a, b| accuracy(a.1).total_cmp(&accuracy(b.1)))
    .unwrap_or((Members::Blend, Candidate::Blend))
}

/// Whether the network or the blend beats the best classic model, in a sentence.
fn verdict(report: &ExperimentReport) -> String {
    let accuracy = |candidate: Candidate| report.accuracy(candidate).unwrap_or(f64::NEG_INFINITY);
    let best_classic = report
        .best_classic
        .and_then(|learner| report.accuracy(learner.into()))
        .unwrap_or(f64::NAN);
    let classic_name = report.best_classic.map_or(String::new(), |l| l.to_string());
    let network = accuracy(Learner::Network.into());
    let blend = accuracy(Candidate::Blend);
    if network.max(blend) > best_classic {
        format!(
            "**The {} beats the best classic model** ({classic_name}, {:.2}%) by {:.2} points.",
            if blend >= network {
                "blend of the network and the boosted trees"
            } else {
                "network"
            },
            100.0 * best_classic,
            100.0 * (network.max(blend) - best_classic)
        )
    } else {
        format!(
            "**Neither the network ({:.2}%) nor the blend ({:.2}%) beats the best classic model** ({classic_name}, {:.2}%): short by {:.2} points.",
            100.0 * network,
            100.0 * blend,
            100.0 * best_classic,
            100.0 * (best_classic - network.max(blend))
        )
    }
}

/// The report's section on the saved model.
fn saved_model_text(
    report: &ExperimentReport,
    trained: &TrainedPredictor,
    model_dir: &Path,
    rows: usize,
) -> String {
    let held: Vec<String> = trained
        .holdout_accuracy
        .iter()
        .map(|(name, a)| format!("{name} {:.2}%", 100.0 * a))
        .collect();
    format!(
        "## The saved model\n\n{} The majority-class baseline is {:.2}%.\n\nThe model the web app loads is saved in `{}` ({:?}; weights boosted trees {:.2}, network {:.2}), trained on all {} tracks with the same 20% held out for early stopping and the blend weight (held-out accuracy: {}). Load it with `PopularityPredictor::load`; nothing retrains.",
        verdict(report),
        100.0 * report.majority_baseline,
        model_dir.display(),
        trained.predictor.members(),
        trained.predictor.weights()[0],
        trained.predictor.weights()[1],
        rows,
        held.join(", ")
    )
}

/// Runs the experiment, writes its outputs into `config.out`, and trains and saves the
/// predictor (boosted trees, network or their blend, whichever scored best) in
/// `config.out/model`.
pub fn run(config: &RunConfig) -> Result<Vec<ExperimentOutcome>, ClassifyError> {
    let data = load(config)?;
    let outcome = experiment::run(&experiment(config, &data))?;
    let rows: Vec<usize> = (0..data.y.len()).collect();
    let predictor_config = PredictorConfig {
        members: saved_members(&outcome.report),
        seed: config.seed,
        quick: config.quick,
    };
    let trained = PopularityPredictor::train(&data, &rows, &predictor_config)?;
    let model_dir = config.out.join("model");
    let (_, candidate) = saved_candidate(&outcome.report);
    save_popularity_bundle(
        &model_dir,
        &trained.predictor,
        bundle_training(config, &outcome.report, candidate),
        protocol_scores(&outcome.report, candidate),
    )
    .map_err(Box::new)?;
    let text = FamilyText {
        title: "Popularity classification",
        intro: "Popularity quartiles from the audio features, the artist's popularity and the playlist genre. The headline accuracy is the mean over 5 stratified 80/20 splits (seed 12345 and seeds 1–4); the seed-12345 split and a 5-fold cross-validation are reported beside it. The blend is restricted to the boosted trees and the network, the two models the saved predictor holds. Every number below is generated by this run.",
        extra: saved_model_text(&outcome.report, &trained, &model_dir, rows.len()),
    };
    let outcomes = vec![outcome];
    write_family(&config.out, &text, &outcomes)?;
    Ok(outcomes)
}

/// A track of the data as a row of the popularity bundle's inputs: its audio fields, its
/// artist's popularity (NaN when unknown: the bundle imputes it) and its genre's index (-1 for a
/// genre the model does not know). Fails when the track lacks a field or its genre.
fn bundle_row(track: &data::PopularityTrack, genres: &[String]) -> Result<Vec<f64>, MissingValue> {
    let song = SongInput::from_track(track, f64::NAN)?;
    let mut row: Vec<f64> = song.numeric_fields().iter().map(|f| f.1).collect();
    row.push(
        genres
            .iter()
            .position(|g| *g == song.genre)
            .map_or(-1.0, |g| g as f64),
    );
    Ok(row)
}

/// Predicts the popularity quartile of each id with the saved predictor (`out/model`), the
/// tracks read from `features` (laid out like `spotify_songs.csv`; default: that file), joined
/// with the data directory's artist popularity.
pub fn predict(
    config: &RunConfig,
    ids: &[String],
    features: Option<&Path>,
) -> Result<Vec<String>, ClassifyError> {
    let model = PopularityBundle::load(&config.out.join("model")).map_err(Box::new)?;
    let songs = features
        .map(Path::to_path_buf)
        .unwrap_or_else(|| config.data.join(data::SONGS));
    let loaded = data::load_paths(
        &songs,
        &config.data.join(data::ARTISTS),
        Strictness::Lenient,
    )?;
    let tracks: HashMap<String, data::PopularityTrack> = data::unique_tracks(loaded.rows)
        .into_iter()
        .map(|t| (t.track.id.clone(), t))
        .collect();
    let genres = model.predictor().genres();
    let mut rows = HashMap::new();
    let mut refused = HashMap::new();
    for id in ids {
        if let Some(track) = tracks.get(id) {
            match bundle_row(track, genres) {
                Ok(row) => {
                    rows.insert(id.clone(), row);
                }
                Err(e) => {
                    refused.insert(id.clone(), format!("{id} → cannot predict: {e}"));
                }
            }
        }
    }
    let source = songs.display().to_string();
    Ok(predict_lines(&model, ids, &rows, &source)
        .into_iter()
        .zip(ids)
        .map(|(line, id)| refused.remove(id).unwrap_or(line))
        .collect())
}
