//! Hit or flop (Billboard Hot-100 or not) of `hits/dataset-of-*.csv`: per decade and pooled,
//! stratified 80/20 splits over 5 seeds (and 5-fold CV for the pooled data).

use std::collections::HashMap;
use std::path::Path;

use dataset::load::hits::{self, HitTrack, DECADES};
use dataset::prepare::drop_repeated_ids;
use dataset::{AudioFeature, Strictness};
use ndarray::{Array1, Array2};

use crate::classify::engine::{lineup, Model, Problem, Scale};
use crate::classify::experiment::{self, Experiment, ExperimentOutcome, Protocol};
use crate::classify::family::{save_models, ClassifyError, RunConfig};
use crate::classify::output::write_family;
use crate::classify::saved::{predict_lines, SavedClassifier};

/// The pooled experiment's key.
pub const NAME: &str = "hits";

/// Class names: `target` 0 and 1.
pub const CLASSES: [&str; 2] = ["flop", "hit"];

/// Rows per decade kept by `--quick` (every n-th track).
const QUICK_ROWS_PER_DECADE: usize = 500;

/// Column names: the 13 audio features, `chorus_hit`, `sections`, and `decade` when pooled.
pub fn feature_names(pooled: bool) -> Vec<String> {
    let mut names: Vec<String> = AudioFeature::ALL
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    names.extend(["chorus_hit".to_string(), "sections".to_string()]);
    if pooled {
        names.push("decade".into());
    }
    names
}

/// The model row of a track, or why it has none.
pub fn row(track: &HitTrack, pooled: bool) -> Result<Vec<f64>, String> {
    let mut row = AudioFeature::ALL
        .iter()
        .map(|&f| {
            track
                .track
                .features
                .get(f)
                .ok_or_else(|| format!("track {} has no `{f}`", track.track.id))
        })
        .collect::<Result<Vec<f64>, String>>()?;
    row.push(track.chorus_hit);
    row.push(f64::from(track.sections));
    if pooled {
        row.push(f64::from(track.decade));
    }
    Ok(row)
}

/// The problem of some hit tracks.
pub fn problem(
    name: &str,
    title: &str,
    tracks: &[HitTrack],
    pooled: bool,
) -> Result<Problem, ClassifyError> {
    let width = feature_names(pooled).len();
    let mut values = Vec::with_capacity(tracks.len() * width);
    for track in tracks {
        values.extend(row(track, pooled).map_err(ClassifyError::Invalid)?);
    }
    Ok(Problem {
        name: name.into(),
        title: title.into(),
        classes: CLASSES.iter().map(|c| c.to_string()).collect(),
        feature_names: feature_names(pooled),
        ids: tracks.iter().map(|t| t.track.id.clone()).collect(),
        x: Array2::from_shape_vec((tracks.len(), width), values)
            .map_err(|e| ClassifyError::Invalid(e.to_string()))?,
        y: Array1::from_iter(
            tracks
                .iter()
                .map(|t| usize::from(t.track.labels.hit == Some(true))),
        ),
    })
}

fn thin(tracks: Vec<HitTrack>, quick: bool) -> Vec<HitTrack> {
    if !quick {
        return tracks;
    }
    let step = (tracks.len() / QUICK_ROWS_PER_DECADE).max(1);
    tracks.into_iter().step_by(step).collect()
}

/// Runs the pooled experiment (the full line-up) and one per decade (boosted trees and network,
/// splits only), writes the outputs into `config.out` and saves the pooled model in
/// `config.out/models/hits`.
pub fn run(config: &RunConfig) -> Result<Vec<ExperimentOutcome>, ClassifyError> {
    let mut pooled_rows = Vec::new();
    let mut decade_experiments = Vec::new();
    let mut notes = Vec::new();
    for decade in DECADES {
        let loaded = hits::load_decade(&config.data, decade, Strictness::Strict)?;
        let n = loaded.rows.len();
        let rows = thin(drop_repeated_ids(loaded.rows), config.quick);
        notes.push(format!(
            "{decade}s (`{}`): {n} rows, {} kept after dropping every `uri` that appears more than once in the file",
            hits::file(decade),
            rows.len()
        ));
        let name = format!("hits_{decade}s");
        let problem = problem(&name, &format!("Hits of the {decade}s"), &rows, false)?;
        decade_experiments.push(Experiment {
            problem,
            protocol: Protocol::Split { cv_k: 0 },
            models: lineup(2, Scale::Large, config.quick)
                .into_iter()
                .filter(|m| matches!(m, Model::Boosting(_) | Model::Network(_)))
                .collect(),
            published: None,
            target: None,
            notes: vec![notes[notes.len() - 1].clone()],
            seed: config.seed,
            quick: config.quick,
            blend_pool: Vec::new(),
            refit_best: false,
        });
        pooled_rows.extend(rows);
    }
    let before = pooled_rows.len();
    let pooled_rows = drop_repeated_ids(pooled_rows);
    notes.push(format!(
        "Pooled: {before} rows of the six decades, {} kept after dropping every `uri` that appears in more than one decade; `decade` is a feature of the pooled model.",
        pooled_rows.len()
    ));
    let pooled = Experiment {
        problem: problem(NAME, "Hit or flop, all decades pooled", &pooled_rows, true)?,
        protocol: Protocol::Split { cv_k: 5 },
        models: lineup(2, Scale::Large, config.quick),
        published: None,
        target: None,
        notes,
        seed: config.seed,
        quick: config.quick,
        blend_pool: vec!["boosting", "network"],
        refit_best: true,
    };
    let mut outcomes = vec![experiment::run(&pooled)?];
    for experiment in &decade_experiments {
        outcomes.push(experiment::run(experiment)?);
    }
    let decade_table: Vec<String> = outcomes
        .iter()
        .skip(1)
        .map(|o| {
            let best = o.best_summary().map(|m| m.protocol.mean);
            format!(
                "| {} | {} | {:.2}% | {:.4} | {} |",
                o.title,
                o.best,
                100.0 * best.map_or(f64::NAN, |b| b.accuracy),
                best.map_or(f64::NAN, |b| b.roc_auc),
                o.models
                    .iter()
                    .map(|m| format!("{} {:.2}%", m.name, 100.0 * m.protocol.mean.accuracy))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    let extra = format!(
        "## Per decade, at a glance\n\n| decade | best | accuracy | ROC AUC | every model |\n|---|---|---|---|---|\n{}\n",
        decade_table.join("\n")
    );
    write_family(
        &config.out,
        "Hit or flop",
        "Whether a track was on the Billboard Hot-100, from its audio features, `chorus_hit` and `sections`: all decades pooled (the `hits` experiment of `metrics.json`, with every model and a 5-fold CV), then each decade alone (boosted trees, network and their blend, splits only). The blend is that of the boosted trees and the network (the other models are compared but not blended, which keeps the pooled run to a few minutes). Accuracies are means over 5 stratified 80/20 splits (seed 12345 and seeds 1–4). Every number below is generated by this run.",
        &outcomes,
        &extra,
    )?;
    save_models(config, &mut outcomes[..1])?;
    Ok(outcomes)
}

/// Predicts hit or flop for each id with the saved pooled model, the tracks read from
/// `features` (laid out like the decade files; default: all six decade files).
pub fn predict(
    config: &RunConfig,
    ids: &[String],
    features: Option<&Path>,
) -> Result<Vec<String>, ClassifyError> {
    let model = SavedClassifier::load(&config.model_dir(NAME))?;
    let (tracks, source) = match features {
        Some(path) => (
            hits::load_path(path, Strictness::Lenient)?.rows,
            path.display().to_string(),
        ),
        None => (
            hits::load(&config.data, Strictness::Lenient)?.rows,
            format!("{}/hits/dataset-of-*.csv", config.data.root().display()),
        ),
    };
    let mut rows: HashMap<String, Vec<f64>> = HashMap::new();
    for track in &tracks {
        if let Ok(values) = row(track, true) {
            rows.entry(track.track.id.clone()).or_insert(values);
        }
    }
    Ok(predict_lines(&model, ids, &rows, &source))
}
