//! Task 2: predict valence with neural networks, guarded against overfitting, and compare them
//! honestly with Task 1 on the same folds: alone, and blended with Task 1's models.
//!
//! [`run`] is the sequence of stages: prepare (with Task 1's out-of-fold table) →
//! [`network::train`] on each feature set → [`compare::compare`] → [`compare::decide`] →
//! predict → near twins → [`report`].

pub mod compare;
pub mod deploy;
pub mod network;
pub mod report;

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use evaluation::report::write_predictions_with_intervals;

use crate::valence::intervals::{IntervalReport, SetIntervals};
use serde::{Deserialize, Serialize};

use crate::bundle::RouteModel;
use crate::log::log;
use crate::valence::deploy::{write_bundle, DeployedRoute};
use crate::valence::{
    prepare, FeatureSetId, NearTwins, OofTable, OutDir, PipelineError, Route, Routes, RunConfig,
    Scored, TwinDistances, ValenceInputs,
};

pub use compare::{compare, decide, Decision};
pub use network::{NetworkRun, Overfitting};
pub use report::Task2Metrics;

/// What to run.
#[derive(Clone, Debug)]
pub struct Task2Config {
    /// The shared settings; seed, folds and grouping must match Task 1's run.
    pub run: RunConfig,
    /// Where Task 1 wrote its outputs (its `oof.csv` and model files are read from there).
    pub task1: PathBuf,
}

/// Whether the best results come with neural networks; files spell it `with` or `without`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// A network alone, or a blend giving one weight, scores best.
    With,
    /// A Task 1 model scores best.
    Without,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Answer::With => "with",
            Answer::Without => "without",
        })
    }
}

/// The headline numbers of a run.
#[derive(Clone, Debug)]
pub struct Task2Summary {
    /// The winning candidate.
    pub best: Scored,
    /// Whether it uses neural networks.
    pub answer: Answer,
    /// The cross-fitted checks of the winner's and the fallback's valence intervals.
    pub intervals: Vec<IntervalReport>,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Near twins of the winner, the fallback and each feature set's best network.
#[derive(Clone, Debug)]
pub struct TwinOutcome {
    /// The winner's.
    pub best: NearTwins,
    /// The audio-only fallback's.
    pub fallback: NearTwins,
    /// Each feature set's network ensemble's, in [`FeatureSetId::ALL`] order.
    pub networks: Vec<NearTwins>,
    /// Evaluation tracks that took a near twin's valence.
    pub from_twins: usize,
}

/// Runs Task 2 and writes `predictions.csv`, `report.md`, `metrics.json` and learning curves.
pub fn run(config: &Task2Config) -> Result<Task2Summary, PipelineError> {
    let start = Instant::now();
    let out = OutDir::create(&config.run.out)?;
    let inputs = prepare(&config.run)?;
    let task1 = OofTable::read(&config.task1.join("oof.csv"), &inputs)?;
    log(
        "task2",
        format!(
            "{} chart tracks, {} folds; Task 1's out-of-fold predictions read from {}",
            inputs.train.len(),
            inputs.folds.len(),
            config.task1.display()
        ),
    );
    let networks = FeatureSetId::ALL
        .into_iter()
        .map(|features| network::train(config, features, &inputs, &out))
        .collect::<Result<Vec<_>, _>>()?;
    let candidates = compare(&networks, &task1, &inputs)?;
    let decision = decide(&candidates)?;
    log("task2", decision.to_string());
    let deployed = deploy::deploy(&config.task1, &decision, &networks, &inputs)?;
    let routes = Routes::split(&inputs.eval, decision.best.candidate.features());
    let mut predictions = predict(&decision, &deployed, &routes, &inputs)?;
    let twins = near_twins(&decision, &routes, &networks, &inputs, &mut predictions)?;
    let coverage = config.run.coverage;
    let best_intervals = SetIntervals::fit(&inputs, &twins.best, coverage)?;
    let fallback_intervals = SetIntervals::fit(&inputs, &twins.fallback, coverage)?;
    let bounds = routes.intervals(
        &predictions,
        (&best_intervals, &twins.best),
        (&fallback_intervals, &twins.fallback),
    );
    write_predictions_with_intervals(
        &out.file("predictions.csv"),
        "valence",
        &inputs.eval_ids(),
        &predictions,
        &bounds,
    )?;
    bundle(
        config,
        &out,
        &inputs,
        &decision,
        &deployed,
        &twins,
        [&best_intervals, &fallback_intervals],
    )?;
    let summary = Task2Summary {
        best: decision.best.clone(),
        answer: decision.answer,
        intervals: best_intervals
            .reports
            .into_iter()
            .chain(fallback_intervals.reports)
            .collect(),
        seconds: start.elapsed().as_secs_f64(),
    };
    report::write(&report::Finished {
        config,
        out: &out,
        y: &inputs.y,
        candidates: &candidates,
        networks: &networks,
        decision: &decision,
        fallback_ids: &routes.fallback_ids(&inputs.eval),
        twins: &twins,
        summary: &summary,
    })?;
    log(
        "task2",
        format!(
            "done in {:.0} s; outputs in {}",
            summary.seconds,
            config.run.out.display()
        ),
    );
    Ok(summary)
}

/// *Predict*: the winner's deployed model predicts the tracks its feature set covers; the others
/// get the audio-only fallback's.
fn predict(
    decision: &Decision,
    deployed: &deploy::Deployed,
    routes: &Routes,
    inputs: &ValenceInputs,
) -> Result<Vec<f64>, PipelineError> {
    log("task2", "predicting the evaluation tracks");
    routes.predict(|route, rows| {
        let (scored, blend) = match route {
            Route::Best => (&decision.best, Some(&deployed.best)),
            Route::Fallback => (&decision.fallback, deployed.fallback.as_ref()),
        };
        let blend = blend.ok_or_else(|| {
            PipelineError::Inconsistent("tracks to fall back on, but no fallback".into())
        })?;
        let x = scored
            .candidate
            .features()
            .set()
            .matrix(&inputs.eval_tracks(rows))?;
        Ok(blend.predict(&x)?)
    })
}

/// *Bundle*: the deployed winner and (when it needs the analysis means) the fallback, each with
/// its near twins and intervals, saved as `bundle/`, which predicts what `predictions.csv` holds.
fn bundle(
    config: &Task2Config,
    out: &OutDir,
    inputs: &ValenceInputs,
    decision: &Decision,
    deployed: &deploy::Deployed,
    twins: &TwinOutcome,
    [best, fallback]: [&SetIntervals; 2],
) -> Result<(), PipelineError> {
    write_bundle(
        "task2",
        "valence_nn",
        &out.file("bundle"),
        inputs,
        config.run.seed,
        DeployedRoute {
            chosen: &decision.best,
            model: RouteModel::Blend(&deployed.best),
            twins: &twins.best,
            intervals: best,
        },
        deployed.fallback.as_ref().map(|model| DeployedRoute {
            chosen: &decision.fallback,
            model: RouteModel::Blend(model),
            twins: &twins.fallback,
            intervals: fallback,
        }),
    )
}

/// *Near twins*: tracks with a near twin take its valence; the networks' corrected scores are
/// reported too.
fn near_twins(
    decision: &Decision,
    routes: &Routes,
    networks: &[NetworkRun],
    inputs: &ValenceInputs,
    predictions: &mut [f64],
) -> Result<TwinOutcome, PipelineError> {
    let distances = FeatureSetId::ALL
        .into_iter()
        .map(|features| TwinDistances::measure(features, &inputs.train_matrix(features)?, inputs))
        .collect::<Result<Vec<_>, PipelineError>>()?;
    let twins_of = |scored: &Scored| -> Result<NearTwins, PipelineError> {
        let features = scored.candidate.features();
        let index = FeatureSetId::ALL
            .iter()
            .position(|&set| set == features)
            .expect("every feature set's distances were measured");
        NearTwins::find(
            &distances[index],
            scored.candidate.name(),
            inputs,
            &scored.oof,
        )
    };
    let best = twins_of(&decision.best)?;
    let fallback = twins_of(&decision.fallback)?;
    let from_twins = routes.apply_twins(predictions, &best, &fallback);
    log("task2", best.describe());
    log(
        "task2",
        format!("{from_twins} evaluation tracks take a near twin's valence"),
    );
    let networks = networks
        .iter()
        .map(|network| twins_of(&network.ensemble))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TwinOutcome {
        best,
        fallback,
        networks,
        from_twins,
    })
}
