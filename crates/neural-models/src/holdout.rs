//! The seeded split of training rows into a fitting part and a validation part.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Rows used to fit and rows held out for validation, each in ascending order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holdout {
    /// Rows the network is trained on (and the scaler fitted on).
    pub train: Vec<usize>,
    /// Rows held out for early stopping and the learning-rate schedule.
    pub validation: Vec<usize>,
}

/// Splits `n_rows` rows the way the trainers do for a given `validation_fraction` and `seed`, so
/// callers can rebuild the validation set a fit used.
///
/// The validation part has `round(n_rows · validation_fraction)` rows, at least one when the
/// fraction is positive, and always leaves at least one training row.
pub fn holdout(n_rows: usize, validation_fraction: f64, seed: u64) -> Holdout {
    let n_validation = if validation_fraction > 0.0 && n_rows > 1 {
        ((n_rows as f64 * validation_fraction).round() as usize).clamp(1, n_rows - 1)
    } else {
        0
    };
    let mut rows: Vec<usize> = (0..n_rows).collect();
    // Stream 0 of the seed: the shuffles of mini-batches use stream 1, so changing the number
    // of epochs never changes the split.
    rows.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut validation = rows.split_off(n_rows - n_validation);
    rows.sort_unstable();
    validation.sort_unstable();
    Holdout {
        train: rows,
        validation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holdout_is_seeded_disjoint_and_sized_by_fraction() {
        let split = holdout(100, 0.2, 7);
        assert_eq!(split.validation.len(), 20);
        assert_eq!(split.train.len(), 80);
        assert!(split.train.iter().all(|r| !split.validation.contains(r)));
        assert_eq!(split, holdout(100, 0.2, 7));
        assert_ne!(split, holdout(100, 0.2, 8));
        assert!(holdout(100, 0.0, 7).validation.is_empty());
    }
}
