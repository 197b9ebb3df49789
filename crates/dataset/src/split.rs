//! Seeded train/test splits and k-fold cross-validation, as row indices that apply to any matrix
//! or slice (e.g. with `ndarray`'s `select(Axis(0), &split.train)`).
//!
//! Shuffling uses `ChaCha8Rng` seeded with the given seed, so the same seed gives the same
//! split on every platform. Index lists are returned sorted.

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::DatasetError;

/// Row indices of a training part and a test part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainTest {
    /// Rows to train on, sorted.
    pub train: Vec<usize>,
    /// Rows to test on, sorted.
    pub test: Vec<usize>,
}

/// Row indices of a training, a validation and a test part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrainValidationTest {
    /// Rows to train on, sorted.
    pub train: Vec<usize>,
    /// Rows to choose hyper-parameters or stop training on, sorted.
    pub validation: Vec<usize>,
    /// Rows to test on, sorted.
    pub test: Vec<usize>,
}

fn check_fraction(fraction: f64) -> Result<(), DatasetError> {
    if fraction.is_finite() && fraction > 0.0 && fraction < 1.0 {
        Ok(())
    } else {
        Err(DatasetError::Invalid(format!(
            "test fraction must lie strictly between 0 and 1, got {fraction}"
        )))
    }
}

fn finish(mut train: Vec<usize>, mut test: Vec<usize>) -> Result<TrainTest, DatasetError> {
    if train.is_empty() || test.is_empty() {
        return Err(DatasetError::Invalid(format!(
            "split leaves {} training and {} test rows; both parts need at least one",
            train.len(),
            test.len()
        )));
    }
    train.sort_unstable();
    test.sort_unstable();
    Ok(TrainTest { train, test })
}

/// Rows grouped by class label, classes in sorted order, each group shuffled with `rng`.
fn shuffled_classes<L: Ord>(labels: &[L], rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    let mut classes: BTreeMap<&L, Vec<usize>> = BTreeMap::new();
    for (index, label) in labels.iter().enumerate() {
        classes.entry(label).or_default().push(index);
    }
    let mut groups: Vec<Vec<usize>> = classes.into_values().collect();
    for group in &mut groups {
        group.shuffle(rng);
    }
    groups
}

/// Puts a random `test_fraction` of `n` rows (rounded) in the test part.
pub fn train_test_split(
    n: usize,
    test_fraction: f64,
    seed: u64,
) -> Result<TrainTest, DatasetError> {
    check_fraction(test_fraction)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let n_test = (n as f64 * test_fraction).round() as usize;
    let test = order.split_off(n - n_test.min(n));
    finish(order, test)
}

/// Puts a random `test_fraction` of each class (rounded per class) in the test part, so both
/// parts keep the class proportions of `labels`.
pub fn stratified_train_test_split<L: Ord>(
    labels: &[L],
    test_fraction: f64,
    seed: u64,
) -> Result<TrainTest, DatasetError> {
    check_fraction(test_fraction)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut train, mut test) = (Vec::new(), Vec::new());
    for mut group in shuffled_classes(labels, &mut rng) {
        let n_test = (group.len() as f64 * test_fraction).round() as usize;
        test.extend(group.split_off(group.len() - n_test.min(group.len())));
        train.extend(group);
    }
    finish(train, test)
}

/// A stratified test part, then a stratified validation part of the rest: the protocol
/// "stratified 80/20 split, 20% of the training part for validation".
pub fn stratified_train_validation_test<L: Ord>(
    labels: &[L],
    test_fraction: f64,
    validation_fraction: f64,
    seed: u64,
) -> Result<TrainValidationTest, DatasetError> {
    let outer = stratified_train_test_split(labels, test_fraction, seed)?;
    let rest: Vec<&L> = outer.train.iter().filter_map(|&i| labels.get(i)).collect();
    // A different stream for the inner split, derived from the seed.
    let inner = stratified_train_test_split(&rest, validation_fraction, seed.wrapping_add(1))?;
    let pick = |positions: &[usize]| -> Vec<usize> {
        positions
            .iter()
            .filter_map(|&p| outer.train.get(p).copied())
            .collect()
    };
    Ok(TrainValidationTest {
        train: pick(&inner.train),
        validation: pick(&inner.test),
        test: outer.test,
    })
}

fn check_folds(n: usize, k: usize) -> Result<(), DatasetError> {
    if k < 2 || k > n {
        Err(DatasetError::Invalid(format!(
            "k-fold needs 2 <= k <= number of rows; got k = {k} for {n} rows"
        )))
    } else {
        Ok(())
    }
}

/// Folds from each row's fold number: fold `f` tests on the rows numbered `f`.
fn folds_from(assignment: &[usize], k: usize) -> Result<Vec<TrainTest>, DatasetError> {
    (0..k)
        .map(|fold| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..assignment.len()).partition(|&i| assignment.get(i) == Some(&fold));
            finish(train, test)
        })
        .collect()
}

/// `k` folds of shuffled rows; every row is in exactly one test part, and fold sizes differ by
/// at most one.
pub fn k_fold(n: usize, k: usize, seed: u64) -> Result<Vec<TrainTest>, DatasetError> {
    check_folds(n, k)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    let mut assignment = vec![0; n];
    for (position, &row) in order.iter().enumerate() {
        if let Some(slot) = assignment.get_mut(row) {
            *slot = position % k;
        }
    }
    folds_from(&assignment, k)
}

/// `k` folds that each keep the class proportions of `labels` (within one row per class);
/// every row is in exactly one test part.
pub fn stratified_k_fold<L: Ord>(
    labels: &[L],
    k: usize,
    seed: u64,
) -> Result<Vec<TrainTest>, DatasetError> {
    check_folds(labels.len(), k)?;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut assignment = vec![0; labels.len()];
    // Dealing the shuffled classes out in turn, continuing across classes, keeps every class
    // spread evenly and the fold sizes within one of each other.
    let dealt = shuffled_classes(labels, &mut rng).into_iter().flatten();
    for (position, row) in dealt.enumerate() {
        if let Some(slot) = assignment.get_mut(row) {
            *slot = position % k;
        }
    }
    folds_from(&assignment, k)
}

/// `k` folds in which every group of rows (same key in `groups`) falls in one test part whole,
/// so near-copies of a row are never on both sides of a fold. Groups are shuffled, then dealt
/// largest first to the fold with the fewest rows.
pub fn group_k_fold<G: Ord>(
    groups: &[G],
    k: usize,
    seed: u64,
) -> Result<Vec<TrainTest>, DatasetError> {
    check_folds(groups.len(), k)?;
    let mut members: BTreeMap<&G, Vec<usize>> = BTreeMap::new();
    for (row, group) in groups.iter().enumerate() {
        members.entry(group).or_default().push(row);
    }
    let mut members: Vec<Vec<usize>> = members.into_values().collect();
    if members.len() < k {
        return Err(DatasetError::Invalid(format!(
            "{} groups cannot fill {k} folds",
            members.len()
        )));
    }
    members.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
    // Stable sort: equal sizes keep their shuffled order.
    members.sort_by_key(|rows| std::cmp::Reverse(rows.len()));
    let mut sizes = vec![0usize; k];
    let mut assignment = vec![0; groups.len()];
    for rows in members {
        let fold = (0..k)
            .min_by_key(|&f| (sizes[f], f))
            .expect("check_folds refuses k < 2");
        sizes[fold] += rows.len();
        for row in rows {
            assignment[row] = fold;
        }
    }
    folds_from(&assignment, k)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<&'static str> {
        // 60 a, 30 b, 10 c.
        let mut labels = vec!["a"; 60];
        labels.extend(vec!["b"; 30]);
        labels.extend(vec!["c"; 10]);
        labels
    }

    fn count(labels: &[&str], rows: &[usize], class: &str) -> usize {
        rows.iter().filter(|&&i| labels[i] == class).count()
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        let labels = labels();
        let split = stratified_train_test_split(&labels, 0.2, 7).expect("splits");
        assert_eq!(
            [
                count(&labels, &split.test, "a"),
                count(&labels, &split.test, "b"),
                count(&labels, &split.test, "c")
            ],
            [12, 6, 2]
        );
        assert_eq!(split.train.len(), 80);
    }

    #[test]
    fn random_split_partitions_rows_and_depends_only_on_the_seed() {
        let split = train_test_split(10, 0.3, 1).expect("splits");
        assert_eq!(split.test.len(), 3);
        let mut all: Vec<usize> = split.train.iter().chain(&split.test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
        assert_eq!(split, train_test_split(10, 0.3, 1).expect("splits"));
        assert_ne!(split, train_test_split(10, 0.3, 2).expect("splits"));
    }

    #[test]
    fn folds_partition_all_indices_exactly_once() {
        for folds in [
            k_fold(23, 5, 3).expect("folds"),
            stratified_k_fold(&labels(), 10, 3).expect("folds"),
        ] {
            let n = folds[0].train.len() + folds[0].test.len();
            let mut seen = vec![0; n];
            for fold in &folds {
                assert_eq!(fold.train.len() + fold.test.len(), n);
                assert!(fold.train.iter().all(|i| !fold.test.contains(i)));
                for &i in &fold.test {
                    seen[i] += 1;
                }
            }
            assert!(seen.iter().all(|&times| times == 1));
        }
    }

    #[test]
    fn same_seed_same_folds() {
        assert_eq!(
            k_fold(50, 5, 9).expect("folds"),
            k_fold(50, 5, 9).expect("folds")
        );
        assert_ne!(
            k_fold(50, 5, 9).expect("folds"),
            k_fold(50, 5, 10).expect("folds")
        );
        let labels = labels();
        assert_eq!(
            stratified_k_fold(&labels, 5, 9).expect("folds"),
            stratified_k_fold(&labels, 5, 9).expect("folds")
        );
    }

    #[test]
    fn stratified_folds_keep_class_proportions() {
        let labels = labels();
        for fold in stratified_k_fold(&labels, 10, 4).expect("folds") {
            assert_eq!(count(&labels, &fold.test, "a"), 6);
            assert_eq!(count(&labels, &fold.test, "b"), 3);
            assert_eq!(count(&labels, &fold.test, "c"), 1);
        }
    }

    #[test]
    fn validation_part_comes_from_the_training_part() {
        let labels = labels();
        let split = stratified_train_validation_test(&labels, 0.2, 0.25, 5).expect("splits");
        assert_eq!(
            (split.train.len(), split.validation.len(), split.test.len()),
            (60, 20, 20)
        );
        assert!(split.validation.iter().all(|i| !split.test.contains(i)));
        assert_eq!(count(&labels, &split.validation, "c"), 2);
    }

    #[test]
    fn impossible_requests_are_errors() {
        assert!(k_fold(3, 4, 0).is_err());
        assert!(k_fold(3, 1, 0).is_err());
        assert!(train_test_split(10, 1.0, 0).is_err());
        assert!(train_test_split(10, f64::NAN, 0).is_err());
        assert!(train_test_split(1, 0.5, 0).is_err());
    }

    #[test]
    fn group_k_fold_keeps_each_group_in_one_test_part() {
        let groups: Vec<usize> = (0..100).map(|i| i / 3).collect();
        let folds = group_k_fold(&groups, 5, 7).unwrap();
        let mut seen = vec![0; 100];
        for fold in &folds {
            for &row in &fold.test {
                seen[row] += 1;
                let partners = fold
                    .test
                    .iter()
                    .filter(|&&r| groups[r] == groups[row])
                    .count();
                let size = groups.iter().filter(|&&g| g == groups[row]).count();
                assert_eq!(partners, size, "group {} is split", groups[row]);
            }
            assert!((18..=22).contains(&fold.test.len()));
        }
        assert!(seen.iter().all(|&n| n == 1));
    }
}
