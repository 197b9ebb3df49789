//! The tree both boostings grow and save: split nodes and leaves in one vector, the root first.

use serde::{Deserialize, Serialize};

/// One node of a fitted tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) enum Node {
    /// Rows with `x[feature] <= threshold` go to `left`, the others (and NaN) to `right`.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// A contribution to the prediction (or raw score), already shrunk by the learning rate.
    Leaf(f64),
}

/// A fitted tree.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    pub(crate) nodes: Vec<Node>,
}

impl Tree {
    /// The value of the leaf `row` reaches; a missing column reads as NaN, which goes right like
    /// any NaN.
    pub(crate) fn predict(&self, row: &[f64]) -> f64 {
        self.walk(|_, feature, threshold| {
            row.get(feature).copied().unwrap_or(f64::NAN) <= threshold
        })
    }

    /// The value of the leaf reached from the root, going left at a split node when
    /// `goes_left(node, feature, threshold)`. A tree that points outside itself gives 0.
    pub(crate) fn walk(&self, mut goes_left: impl FnMut(usize, usize, f64) -> bool) -> f64 {
        let mut index = 0;
        loop {
            match self.nodes.get(index) {
                Some(&Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                }) => {
                    index = if goes_left(index, feature, threshold) {
                        left
                    } else {
                        right
                    };
                }
                Some(Node::Leaf(value)) => return *value,
                None => return 0.0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stump() -> Tree {
        Tree {
            nodes: vec![
                Node::Split {
                    feature: 1,
                    threshold: 0.5,
                    left: 1,
                    right: 2,
                },
                Node::Leaf(-1.0),
                Node::Leaf(2.0),
            ],
        }
    }

    #[test]
    fn rows_go_left_at_or_below_the_threshold_and_nan_goes_right() {
        let tree = stump();
        assert_eq!(tree.predict(&[9.0, 0.5]), -1.0);
        assert_eq!(tree.predict(&[9.0, 0.6]), 2.0);
        assert_eq!(tree.predict(&[9.0, f64::NAN]), 2.0);
        // A row too short for the split's feature reads it as NaN.
        assert_eq!(tree.predict(&[0.0]), 2.0);
    }

    #[test]
    fn a_tree_pointing_outside_itself_gives_zero() {
        let mut tree = stump();
        tree.nodes.truncate(2);
        assert_eq!(tree.predict(&[0.0, 0.9]), 0.0);
        assert_eq!(tree.predict(&[0.0, 0.1]), -1.0);
    }
}
