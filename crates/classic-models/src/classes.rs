//! The number of classes of a classifier: fixed by its parameters, or read from the labels.

use ndarray::Array1;

use crate::error::ModelError;

/// A fixed number of classes is at least 2.
pub(crate) fn check_n_classes(n_classes: Option<usize>) -> Result<(), ModelError> {
    match n_classes {
        Some(n) if n < 2 => Err(ModelError::parameter("n_classes", n, "at least 2")),
        _ => Ok(()),
    }
}

/// The number of classes of a fit: `fixed`, or else the largest label + 1 (at least 2). A label
/// outside the classes is an error.
pub(crate) fn class_count(
    labels: &Array1<usize>,
    fixed: Option<usize>,
) -> Result<usize, ModelError> {
    let largest = labels.iter().copied().max().unwrap_or(0);
    let n_classes = fixed.unwrap_or((largest + 1).max(2));
    if largest >= n_classes {
        return Err(ModelError::InvalidData(format!(
            "label {largest} but there are {n_classes} classes"
        )));
    }
    Ok(n_classes)
}
