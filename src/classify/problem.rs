//! One classification problem: a matrix, labels `0..classes.len()`, and their names.

use ndarray::{Array1, Array2};

use crate::classify::identity::ExperimentId;

/// One classification problem: a matrix, labels `0..classes.len()` and names.
#[derive(Clone, Debug)]
pub struct Problem {
    /// The experiment it belongs to, e.g. `genre5`.
    pub id: ExperimentId,
    /// A title for reports, e.g. `5 genres`.
    pub title: String,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
    /// Column names.
    pub feature_names: Vec<String>,
    /// Track id of each row.
    pub ids: Vec<String>,
    /// Features, one row per track.
    pub x: Array2<f64>,
    /// Labels.
    pub y: Array1<usize>,
}

impl Problem {
    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.classes.len()
    }

    /// The labels, as a vector.
    pub fn labels(&self) -> Vec<usize> {
        self.y.to_vec()
    }

    /// The labels of some rows.
    pub fn labels_of(&self, rows: &[usize]) -> Vec<usize> {
        rows.iter().map(|&r| self.y[r]).collect()
    }

    /// Rows per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.n_classes()];
        for &label in &self.y {
            counts[label] += 1;
        }
        counts
    }

    /// Accuracy of always predicting the most frequent class.
    pub fn majority_baseline(&self) -> f64 {
        let counts = self.class_counts();
        counts.iter().copied().max().unwrap_or(0) as f64 / self.y.len().max(1) as f64
    }
}
