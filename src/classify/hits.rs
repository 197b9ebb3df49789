//! Hit or flop (Billboard Hot-100 or not) of `hits/dataset-of-*.csv`: per decade and pooled,
//! stratified 80/20 splits over 5 seeds (and 5-fold CV for the pooled data).

use std::collections::HashMap;
use std::path::Path;

use dataset::load::hits::{self, HitTrack, DECADES};
use dataset::prepare::drop_repeated_ids;
use dataset::{AudioFeature, Strictness};
use ndarray::{Array1, Array2};

use crate::classify::error::{ClassifyError, MissingValue};
use crate::classify::experiment::{self, Experiment, ExperimentOutcome, Protocol};
use crate::classify::family::{save_models, RunConfig};
use crate::classify::identity::{ExperimentId, Learner};
use crate::classify::lineup::{lineup, BlendPool, Scale};
use crate::classify::output::{write_family, FamilyText};
use crate::classify::problem::Problem;
use crate::classify::saved::predict_lines;

/// The pooled experiment.
pub const ID: ExperimentId = ExperimentId::Hits;

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

/// The model row of a track, or the feature it lacks.
pub fn row(track: &HitTrack, pooled: bool) -> Result<Vec<f64>, MissingValue> {
    let mut row = AudioFeature::ALL
        .iter()
        .map(|&f| {
            track.track.features.get(f).ok_or_else(|| MissingValue {
                id: track.track.id.clone(),
                field: f.name(),
            })
        })
        .collect::<Result<Vec<f64>, MissingValue>>()?;
    row.push(track.chorus_hit);
    row.push(f64::from(track.sections));
    if pooled {
        row.push(f64::from(track.decade));
    }
    Ok(row)
}

/// The problem of some hit tracks.
pub fn problem(
    id: ExperimentId,
    title: &str,
    tracks: &[HitTrack],
    pooled: bool,
) -> Result<Problem, ClassifyError> {
    let width = feature_names(pooled).len();
    let mut values = Vec::with_capacity(tracks.len() * width);
    for track in tracks {
        values.extend(row(track, pooled)?);
    }
    Ok(Problem {
        id,
        title: title.into(),
        classes: CLASSES.iter().map(|c| c.to_string()).collect(),
        feature_names: feature_names(pooled),
        ids: tracks.iter().map(|t| t.track.id.clone()).collect(),
        x: Array2::from_shape_vec((tracks.len(), width), values)
            .expect("every row has one value per feature name"),
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

/// One decade's experiment (boosted trees and network, splits only) and its rows.
fn decade_experiment(
    config: &RunConfig,
    decade: u16,
) -> Result<(Experiment, Vec<HitTrack>), ClassifyError> {
    let loaded = hits::load_decade(&config.data, decade, Strictness::Strict)?;
    let n = loaded.rows.len();
    let rows = thin(drop_repeated_ids(loaded.rows), config.quick);
    let note = format!(
        "{decade}s (`{}`): {n} rows, {} kept after dropping every `uri` that appears more than once in the file",
        hits::file(decade),
        rows.len()
    );
    let id = ExperimentId::HitsOfDecade(decade);
    let experiment = Experiment {
        problem: problem(id, &format!("Hits of the {decade}s"), &rows, false)?,
        protocol: Protocol::Split { cv_k: 0 },
        models: lineup(2, Scale::Large, config.quick)
            .into_iter()
            .filter(|m| matches!(m.learner(), Learner::Boosting | Learner::Network))
            .collect(),
        published: None,
        target: None,
        notes: vec![note],
        seed: config.seed,
        quick: config.quick,
        blend_pool: BlendPool::All,
        refit_best: false,
    };
    Ok((experiment, rows))
}

/// The pooled experiment: every decade's rows, each `uri` once, with `decade` a feature.
fn pooled_experiment(
    config: &RunConfig,
    rows: Vec<HitTrack>,
    mut notes: Vec<String>,
) -> Result<Experiment, ClassifyError> {
    let before = rows.len();
    let rows = drop_repeated_ids(rows);
    notes.push(format!(
        "Pooled: {before} rows of the six decades, {} kept after dropping every `uri` that appears in more than one decade; `decade` is a feature of the pooled model.",
        rows.len()
    ));
    Ok(Experiment {
        problem: problem(ID, "Hit or flop, all decades pooled", &rows, true)?,
        protocol: Protocol::Split { cv_k: 5 },
        models: lineup(2, Scale::Large, config.quick),
        published: None,
        target: None,
        notes,
        seed: config.seed,
        quick: config.quick,
        blend_pool: BlendPool::Only(vec![Learner::Boosting, Learner::Network]),
        refit_best: true,
    })
}

/// The per-decade table of `report.md`.
fn decade_table(decades: &[ExperimentOutcome]) -> String {
    let lines: Vec<String> = decades
        .iter()
        .map(|o| {
            let report = &o.report;
            let best = report.best_summary().protocol.mean;
            format!(
                "| {} | {} | {:.2}% | {:.4} | {} |",
                report.title,
                report.best,
                100.0 * best.accuracy,
                best.roc_auc,
                report
                    .models
                    .iter()
                    .map(|m| format!("{} {:.2}%", m.name, 100.0 * m.protocol.mean.accuracy))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    format!(
        "## Per decade, at a glance\n\n| decade | best | accuracy | ROC AUC | every model |\n|---|---|---|---|---|\n{}\n",
        lines.join("\n")
    )
}

/// Runs the pooled experiment (the full line-up) and one per decade (boosted trees and network,
/// splits only), writes the outputs into `config.out` and saves the pooled model in
/// `config.out/models/hits`.
pub fn run(config: &RunConfig) -> Result<Vec<ExperimentOutcome>, ClassifyError> {
    let mut pooled_rows = Vec::new();
    let mut decade_experiments = Vec::new();
    for decade in DECADES {
        let (experiment, rows) = decade_experiment(config, decade)?;
        pooled_rows.extend(rows);
        decade_experiments.push(experiment);
    }
    let notes = decade_experiments
        .iter()
        .flat_map(|e| e.notes.iter().cloned())
        .collect();
    let pooled = pooled_experiment(config, pooled_rows, notes)?;
    let mut outcomes = vec![experiment::run(&pooled)?];
    for experiment in &decade_experiments {
        outcomes.push(experiment::run(experiment)?);
    }
    let text = FamilyText {
        title: "Hit or flop",
        intro: "Whether a track was on the Billboard Hot-100, from its audio features, `chorus_hit` and `sections`: all decades pooled (the `hits` experiment of `metrics.json`, with every model and a 5-fold CV), then each decade alone (boosted trees, network and their blend, splits only). The blend is that of the boosted trees and the network (the other models are compared but not blended, which keeps the pooled run to a few minutes). Accuracies are means over 5 stratified 80/20 splits (seed 12345 and seeds 1–4). Every number below is generated by this run.",
        extra: decade_table(&outcomes[1..]),
    };
    write_family(&config.out, &text, &outcomes)?;
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
    let model = crate::bundle::load(&config.model_dir(ID)).map_err(Box::new)?;
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
        // A track without every feature has no row: it is reported as unknown.
        if let Ok(values) = row(track, true) {
            rows.entry(track.track.id.clone()).or_insert(values);
        }
    }
    Ok(predict_lines(model.as_ref(), ids, &rows, &source))
}
