//! Decisions taken once per epoch from the monitored loss: early stopping and the
//! reduce-on-plateau learning rate.

use serde::{Deserialize, Serialize};

/// Settings of the reduce-learning-rate-on-plateau schedule (PyTorch's `ReduceLROnPlateau` in
/// `min` mode with a relative threshold of 1e-4 and no cooldown).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReduceOnPlateau {
    /// Multiplier applied to the learning rate on a plateau, in `(0, 1)`.
    pub factor: f64,
    /// Epochs without improvement tolerated before the rate is reduced.
    pub patience: usize,
    /// The rate is never reduced below this.
    pub min_learning_rate: f64,
}

/// A relative improvement smaller than this does not count (PyTorch's default threshold).
const RELATIVE_THRESHOLD: f64 = 1e-4;

/// State of a [`ReduceOnPlateau`] schedule during one fit.
pub(crate) struct PlateauState {
    settings: ReduceOnPlateau,
    best: f64,
    bad_epochs: usize,
}

impl PlateauState {
    pub(crate) fn new(settings: ReduceOnPlateau) -> Self {
        PlateauState {
            settings,
            best: f64::INFINITY,
            bad_epochs: 0,
        }
    }

    /// The learning rate for the next epoch, given this epoch's monitored loss and rate.
    pub(crate) fn next_rate(&mut self, loss: f64, rate: f64) -> f64 {
        if loss < self.best * (1.0 - RELATIVE_THRESHOLD) {
            self.best = loss;
            self.bad_epochs = 0;
            return rate;
        }
        self.bad_epochs += 1;
        if self.bad_epochs > self.settings.patience {
            self.bad_epochs = 0;
            (rate * self.settings.factor).max(self.settings.min_learning_rate)
        } else {
            rate
        }
    }
}

/// State of early stopping during one fit: the best epoch so far and how long ago it was.
pub(crate) struct EarlyStopping {
    patience: usize,
    best: f64,
    best_epoch: Option<usize>,
}

impl EarlyStopping {
    pub(crate) fn new(patience: usize) -> Self {
        EarlyStopping {
            patience,
            best: f64::INFINITY,
            best_epoch: None,
        }
    }

    /// Records `loss` of `epoch`; returns whether it is the best so far.
    pub(crate) fn record(&mut self, epoch: usize, loss: f64) -> bool {
        if loss < self.best {
            self.best = loss;
            self.best_epoch = Some(epoch);
            true
        } else {
            false
        }
    }

    /// Whether `patience` epochs have passed since the best one.
    pub(crate) fn should_stop(&self, epoch: usize) -> bool {
        self.best_epoch
            .is_some_and(|best| epoch.saturating_sub(best) >= self.patience)
    }

    /// The best epoch so far.
    pub(crate) fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plateau_reduces_rate_after_patience_epochs_without_improvement() {
        let mut state = PlateauState::new(ReduceOnPlateau {
            factor: 0.5,
            patience: 1,
            min_learning_rate: 0.3,
        });
        assert_eq!(state.next_rate(1.0, 1.0), 1.0);
        assert_eq!(state.next_rate(1.0, 1.0), 1.0);
        assert_eq!(state.next_rate(1.0, 1.0), 0.5);
        assert_eq!(state.next_rate(1.0, 0.5), 0.5);
        assert_eq!(state.next_rate(1.0, 0.5), 0.3);
    }

    #[test]
    fn early_stopping_waits_patience_epochs_after_best() {
        let mut stop = EarlyStopping::new(2);
        assert!(stop.record(0, 1.0));
        assert!(!stop.record(1, 1.5));
        assert!(!stop.should_stop(1));
        assert!(!stop.record(2, 1.2));
        assert!(stop.should_stop(2));
        assert_eq!(stop.best_epoch(), Some(0));
    }
}
