//! Popularity quartiles (0-25 / 25-50 / 50-75 / 75-100) of `popularity/`: one row per
//! `track_id`, the 12 audio features, artist popularity (imputed and flagged where unknown) and
//! the playlist genre one-hot; stratified 80/20 splits over 5 seeds and 5-fold CV. The model it
//! saves is the [`PopularityPredictor`] the web app serves.

use std::collections::HashMap;
use std::path::Path;

use dataset::load::popularity as data;
use dataset::Strictness;
use ndarray::Array2;

use crate::classify::engine::{lineup, Model, Problem, Scale, BLEND};
use crate::classify::experiment::{self, Experiment, ExperimentOutcome, Protocol};
use crate::classify::family::{ClassifyError, RunConfig};
use crate::classify::output::write_family;
use crate::classify::saved::prediction_line;
use crate::popularity::{
    boosting_params, design_row, feature_names, network_params, Members, PopularityData,
    PopularityPredictor, PredictorConfig, SongInput, QUARTILES,
};

/// The experiment's key.
pub const NAME: &str = "popularity";

/// Rows kept by `--quick` (every n-th track).
const QUICK_ROWS: usize = 3000;

/// The problem of the popularity data.
pub fn problem(data: &PopularityData) -> Problem {
    Problem {
        name: NAME.into(),
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

/// Runs the experiment, writes its outputs into `config.out`, and trains and saves the
/// predictor (boosted trees, network or their blend, whichever scored best) in
/// `config.out/model`.
pub fn run(config: &RunConfig) -> Result<Vec<ExperimentOutcome>, ClassifyError> {
    let full = PopularityData::load(&config.data).map_err(ClassifyError::Invalid)?;
    let data = if config.quick {
        let step = (full.tracks.len() / QUICK_ROWS).max(1);
        let tracks = full.tracks.iter().step_by(step).cloned().collect();
        PopularityData::from_rows(tracks, full.file_rows).map_err(ClassifyError::Invalid)?
    } else {
        full
    };
    let known: Vec<f64> = data
        .tracks
        .iter()
        .filter_map(|t| t.artist_popularity)
        .collect();
    let notes = vec![
        format!(
            "`{}`: {} rows, one per track and playlist; one row per `track_id` is kept (its first playlist), {} tracks{}.",
            data::SONGS,
            data.file_rows,
            data.tracks.len(),
            if config.quick { " (`--quick`: every n-th track only)" } else { "" }
        ),
        format!(
            "Artist popularity is joined by exact artist name from `{}`; it is unknown for {} of the tracks ({:.1}%). Those get the median of the known ones ({:.0}) and `artist_popularity_missing` = 1, so the models can tell an imputed value from a real one; a song given to the saved model always carries its own artist popularity.",
            data::ARTISTS,
            data.tracks.len() - known.len(),
            100.0 * data.missing_share(),
            data.imputed
        ),
        "Classes are the quartile bins 0-25 / 25-50 / 50-75 / 75-100 of `track_popularity` (a popularity of exactly 25, 50 or 75 goes to the upper bin).".into(),
        "The published 78.4% was measured on a different, larger data set, so it is context, not a target.".into(),
    ];
    let experiment = Experiment {
        problem: problem(&data),
        protocol: Protocol::Split { cv_k: 5 },
        models: models(config.quick, config.seed),
        published: Some(0.784),
        target: None,
        notes,
        seed: config.seed,
        quick: config.quick,
        blend_pool: vec!["boosting", "network"],
        refit_best: false,
    };
    let outcome = experiment::run(&experiment)?;

    // The saved predictor: the best of the boosted trees, the network and their blend.
    let accuracy = |name: &str| {
        outcome
            .model(name)
            .map_or(f64::NEG_INFINITY, |m| m.protocol.mean.accuracy)
    };
    let members = [
        (Members::Boosting, "boosting"),
        (Members::Network, "network"),
        (Members::Blend, BLEND),
    ]
    .into_iter()
    .max_by(|a, b| accuracy(a.1).total_cmp(&accuracy(b.1)))
    .map(|(m, _)| m)
    .unwrap_or(Members::Blend);
    let rows: Vec<usize> = (0..data.y.len()).collect();
    let trained = PopularityPredictor::train(
        &data,
        &rows,
        &PredictorConfig {
            members,
            seed: config.seed,
            quick: config.quick,
        },
    )?;
    let model_dir = config.out.join("model");
    trained.predictor.save(&model_dir)?;

    let best_classic = outcome
        .model(&outcome.best_classic)
        .map_or(f64::NAN, |m| m.protocol.mean.accuracy);
    let network = accuracy("network");
    let blend = accuracy(BLEND);
    let verdict = if network.max(blend) > best_classic {
        format!(
            "**The {} beats the best classic model** ({}, {:.2}%) by {:.2} points.",
            if blend >= network {
                "blend of the network and the boosted trees"
            } else {
                "network"
            },
            outcome.best_classic,
            100.0 * best_classic,
            100.0 * (network.max(blend) - best_classic)
        )
    } else {
        format!(
            "**Neither the network ({:.2}%) nor the blend ({:.2}%) beats the best classic model** ({}, {:.2}%): short by {:.2} points.",
            100.0 * network,
            100.0 * blend,
            outcome.best_classic,
            100.0 * best_classic,
            100.0 * (best_classic - network.max(blend))
        )
    };
    let held: Vec<String> = trained
        .holdout_accuracy
        .iter()
        .map(|(name, a)| format!("{name} {:.2}%", 100.0 * a))
        .collect();
    let extra = format!(
        "## The saved model\n\n{verdict} The majority-class baseline is {:.2}%.\n\nThe model the web app loads is saved in `{}` ({:?}; weights boosted trees {:.2}, network {:.2}), trained on all {} tracks with the same 20% held out for early stopping and the blend weight (held-out accuracy: {}). Load it with `PopularityPredictor::load`; nothing retrains.",
        100.0 * outcome.majority_baseline,
        model_dir.display(),
        trained.predictor.members(),
        trained.predictor.weights()[0],
        trained.predictor.weights()[1],
        rows.len(),
        held.join(", ")
    );
    let outcomes = vec![outcome];
    write_family(
        &config.out,
        "Popularity classification",
        "Popularity quartiles from the audio features, the artist's popularity and the playlist genre. The headline accuracy is the mean over 5 stratified 80/20 splits (seed 12345 and seeds 1–4); the seed-12345 split and a 5-fold cross-validation are reported beside it. The blend is restricted to the boosted trees and the network, the two models the saved predictor holds. Every number below is generated by this run.",
        &outcomes,
        &extra,
    )?;
    Ok(outcomes)
}

/// Predicts the popularity quartile of each id with the saved predictor (`out/model`), the
/// tracks read from `features` (laid out like `spotify_songs.csv`; default: that file), joined
/// with the data directory's artist popularity.
pub fn predict(
    config: &RunConfig,
    ids: &[String],
    features: Option<&Path>,
) -> Result<Vec<String>, ClassifyError> {
    let predictor = PopularityPredictor::load(&config.out.join("model"))?;
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
    let classes: Vec<String> = QUARTILES.iter().map(|c| c.to_string()).collect();
    Ok(ids
        .iter()
        .map(|id| {
            let Some(track) = tracks.get(id) else {
                return format!("{id} → unknown track id: not in {}", songs.display());
            };
            let row = SongInput::from_track(track, predictor.imputed_artist_popularity())
                .and_then(|song| {
                    design_row(
                        &song,
                        track.artist_popularity.is_none(),
                        crate::popularity::QuartileModel::genres(&predictor),
                    )
                })
                .and_then(|row| {
                    Array2::from_shape_vec((1, row.len()), row).map_err(|e| e.to_string())
                })
                .and_then(|x| predictor.predict_rows(&x).map_err(|e| e.to_string()));
            match row {
                Ok(p) => prediction_line(id, &classes, &p.row(0).to_vec()),
                Err(e) => format!("{id} → cannot predict: {e}"),
            }
        })
        .collect())
}
