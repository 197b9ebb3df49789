//! The network's learning curves: the history of its fit on every row, its accuracy on the
//! rows it was fitted on and on the held-out ones, and the training accuracy epoch by epoch,
//! measured by replaying the fit.

use evaluation::classification::{accuracy, argmax_rows, holdout};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use neural_models::EpochRecord;
use rayon::prelude::*;

use crate::classify::engine::VALIDATION_FRACTION;
use crate::classify::error::{probabilities, ClassifyError, LearnerError};
use crate::classify::identity::{Candidate, Learner};
use crate::classify::network::{FittedNetwork, Network};
use crate::classify::problem::Problem;
use crate::classify::report::NetworkCurves;

/// The epochs (1-based) at which the training accuracy is replayed: every epoch of a short fit,
/// else a dozen (five for more than 5,000 rows, where epochs are dear) spread over the fit, the
/// kept epoch and the last one.
fn replay_epochs(n_epochs: usize, best_epoch: usize, quick: bool, n_rows: usize) -> Vec<usize> {
    let most = if quick {
        3
    } else if n_rows > 5000 {
        5
    } else {
        12
    };
    let mut epochs: Vec<usize> = if n_epochs <= most {
        (1..=n_epochs).collect()
    } else {
        (0..most)
            .map(|i| 1 + (i * (n_epochs - 1)) / (most - 1))
            .collect()
    };
    epochs.push(best_epoch + 1);
    epochs.sort_unstable();
    epochs.dedup();
    epochs.retain(|&e| e >= 1 && e <= n_epochs);
    epochs
}

/// The rows a fit replays and the history it must reproduce.
struct Replay<'a> {
    network: &'a Network,
    x: Array2<f64>,
    y: Vec<usize>,
    history: &'a [EpochRecord],
}

/// Replays the network's fit on its fitting rows without the held-out ones, stopped after each
/// chosen epoch: with a constant learning rate and the same seed it passes through the same
/// weights, so its accuracy on those rows is the training accuracy at that epoch. Returns the
/// curve and whether each replay's last training loss equals the fit's at that epoch.
fn replay_train_accuracy(
    problem: &Problem,
    replay: &Replay<'_>,
    best_epoch: usize,
    quick: bool,
) -> Result<(Vec<(usize, f64)>, bool), ClassifyError> {
    let epochs = replay_epochs(replay.history.len(), best_epoch, quick, replay.x.nrows());
    let points = epochs
        .par_iter()
        .map(|&epoch| {
            replay_epoch(replay, epoch).map_err(ClassifyError::in_learner(
                problem.id,
                Candidate::Single(Learner::Network),
                format!("replay to epoch {epoch}"),
            ))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let exact = points.iter().all(|p| p.2);
    Ok((points.into_iter().map(|(e, a, _)| (e, a)).collect(), exact))
}

/// One replay, stopped after `epoch`: the epoch, the accuracy on the replayed rows, and
/// whether its last training loss equals the fit's at that epoch.
fn replay_epoch(replay: &Replay<'_>, epoch: usize) -> Result<(usize, f64, bool), LearnerError> {
    let stopped = replay
        .network
        .clone()
        .with(|p| p.validation_fraction(0.0).max_epochs(epoch));
    let y = Array1::from(replay.y.clone());
    let fitted = stopped.fit(&DatasetBase::new(replay.x.clone(), y))?;
    let p = probabilities(&fitted, &replay.x)?;
    let exact = fitted.with_model(|m| {
        m.history().last().map(|r| r.train_loss)
            == replay.history.get(epoch - 1).map(|r| r.train_loss)
    });
    let accuracy = accuracy(&replay.y, &argmax_rows(p.view()))
        .expect("a replay predicts one label per row it was fitted on");
    Ok((epoch, accuracy, exact))
}

/// Accuracy of a fitted network on some rows of the problem.
fn accuracy_on(
    problem: &Problem,
    network: &FittedNetwork,
    rows: &[usize],
) -> Result<f64, ClassifyError> {
    let p = probabilities(network, &problem.x.select(Axis(0), rows)).map_err(
        ClassifyError::in_learner(problem.id, Learner::Network.into(), "every row"),
    )?;
    Ok(accuracy(&problem.labels_of(rows), &argmax_rows(p.view()))?)
}

/// The curves of a network fitted on every row of the problem: `spec` is the line-up's network
/// with the experiment's seed, which the replays refit.
pub fn network_curves(
    problem: &Problem,
    network: &FittedNetwork,
    spec: &Network,
    seed: u64,
    quick: bool,
) -> Result<NetworkCurves, ClassifyError> {
    let held = holdout(problem.y.len(), VALIDATION_FRACTION, seed);
    let history = network.with_model(|m| m.history().to_vec());
    let best_epoch = network.with_model(|m| m.best_epoch());
    let replay = Replay {
        network: spec,
        x: problem.x.select(Axis(0), &held.train),
        y: problem.labels_of(&held.train),
        history: &history,
    };
    let (train_accuracy_curve, replay_exact) =
        replay_train_accuracy(problem, &replay, best_epoch, quick)?;
    Ok(NetworkCurves {
        train_accuracy: accuracy_on(problem, network, &held.train)?,
        validation_accuracy: accuracy_on(problem, network, &held.validation)?,
        history,
        best_epoch,
        train_accuracy_curve,
        replay_exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_fit_replays_every_epoch() {
        assert_eq!(replay_epochs(3, 1, true, 100), [1, 2, 3]);
    }

    #[test]
    fn a_long_fit_replays_a_spread_of_epochs_with_the_kept_one() {
        let epochs = replay_epochs(100, 41, false, 1000);
        assert_eq!(epochs.len(), 13, "{epochs:?}");
        assert_eq!(epochs[0], 1);
        assert_eq!(*epochs.last().unwrap(), 100);
        assert!(epochs.contains(&42));
        // More than 5,000 rows: five spread epochs and the kept one.
        assert_eq!(
            replay_epochs(100, 41, false, 6000),
            [1, 25, 42, 50, 75, 100]
        );
    }
}
