//! The tree both boostings grow and save: split nodes and leaves in one vector, the root first.

use serde::{Deserialize, Serialize};

use crate::error::ModelError;
use crate::flat_trees::{FlatTrees, NodeRef, TreeRef};
use crate::lightgbm::PlainNode;

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
    /// The nodes as the LightGBM writer takes them.
    pub(crate) fn plain(&self) -> Vec<PlainNode> {
        self.nodes
            .iter()
            .map(|node| match *node {
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => PlainNode::Split {
                    feature,
                    threshold,
                    left,
                    right,
                },
                Node::Leaf(value) => PlainNode::Leaf(value),
            })
            .collect()
    }

    /// The value of the leaf `row` reaches; a missing column reads as NaN, which goes right like
    /// any NaN.
    pub(crate) fn predict(&self, row: &[f64]) -> f64 {
        self.walk(|_, feature, threshold| {
            row.get(feature).copied().unwrap_or(f64::NAN) <= threshold
        })
    }

    /// The value of the leaf reached from the root, going left at a split node when
    /// `goes_left(node, feature, threshold)`.
    pub(crate) fn walk(&self, mut goes_left: impl FnMut(usize, usize, f64) -> bool) -> f64 {
        let mut index = 0;
        loop {
            let node = self.nodes.get(index).expect(
                "trees are grown whole, and checked by `check_trees` when loaded: every child \
                 is a node",
            );
            match *node {
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    index = if goes_left(index, feature, threshold) {
                        left
                    } else {
                        right
                    };
                }
                Node::Leaf(value) => return value,
            }
        }
    }

    /// Checks that the tree can be walked: it has a node, every split's children come after it
    /// and inside the tree (so every walk ends at a leaf), splits are on features
    /// `0..n_features` at thresholds that are not NaN, and leaves are finite.
    fn check(&self, n_features: usize) -> Result<(), String> {
        if self.nodes.is_empty() {
            return Err("it has no node".into());
        }
        let n = self.nodes.len();
        for (index, node) in self.nodes.iter().enumerate() {
            match *node {
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    if feature >= n_features {
                        return Err(format!(
                            "node {index} splits on feature {feature} of {n_features}"
                        ));
                    }
                    if threshold.is_nan() {
                        return Err(format!("node {index} splits at NaN"));
                    }
                    for child in [left, right] {
                        if child <= index || child >= n {
                            return Err(format!(
                                "node {index} points to node {child} (children come after \
                                 their parent, in 1..{n})"
                            ));
                        }
                    }
                }
                Node::Leaf(value) if !value.is_finite() => {
                    return Err(format!("leaf {index} is {value}"));
                }
                Node::Leaf(_) => {}
            }
        }
        Ok(())
    }
}

/// Checks that no row can reach a score beyond `f64`: `|base|` plus the largest `|leaf|` of
/// every tree adding to this score is finite. Each leaf being finite is not enough: two leaves
/// of 1e308 sum to infinity, and a softmax of infinities is NaN. `what` names the score.
pub(crate) fn check_reach<'t>(
    what: &str,
    base: f64,
    trees: impl IntoIterator<Item = &'t Tree>,
) -> Result<(), ModelError> {
    let reach = trees.into_iter().fold(base.abs(), |total, tree| {
        let largest = tree.nodes.iter().fold(0.0_f64, |m, node| match node {
            Node::Leaf(value) => m.max(value.abs()),
            Node::Split { .. } => m,
        });
        total + largest
    });
    if reach.is_finite() {
        Ok(())
    } else {
        Err(ModelError::InvalidModel(format!(
            "{what}: the base score and the largest leaf of every tree sum to {reach}, beyond \
             any finite score (leaf values too large)"
        )))
    }
}

/// The boosting's trees flattened for prediction: `trees` yields each tree with the raw score
/// (`0..n_outputs`) it adds to, in the order the scores add them.
pub(crate) fn flatten<'t>(
    n_features: usize,
    n_outputs: usize,
    trees: impl IntoIterator<Item = (usize, &'t Tree)>,
) -> Result<FlatTrees, ModelError> {
    let trees = trees.into_iter().map(|(output, tree)| TreeRef {
        output,
        nodes: tree
            .nodes
            .iter()
            .map(|node| match node {
                Node::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => NodeRef::Split {
                    feature: *feature,
                    threshold: *threshold,
                    left: *left,
                    right: *right,
                },
                Node::Leaf(value) => NodeRef::Leaf(std::slice::from_ref(value)),
            })
            .collect(),
    });
    FlatTrees::new(n_features, n_outputs, 1, trees)
}

/// Checks every tree of a model read from a file ([`Tree::check`]), naming the first bad one.
pub(crate) fn check_trees<'t>(
    trees: impl IntoIterator<Item = &'t Tree>,
    n_features: usize,
) -> Result<(), ModelError> {
    for (i, tree) in trees.into_iter().enumerate() {
        tree.check(n_features)
            .map_err(|problem| ModelError::InvalidModel(format!("tree {i}: {problem}")))?;
    }
    Ok(())
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
    fn trees_that_cannot_be_walked_are_refused_naming_the_node() {
        assert!(check_trees([&stump()], 2).is_ok());
        let problem = |tree: Tree, n_features: usize| {
            check_trees([&stump(), &tree], n_features)
                .unwrap_err()
                .to_string()
        };
        let mut outside = stump();
        outside.nodes.truncate(2);
        assert!(problem(outside, 2).contains("tree 1: node 0 points to node 2"));
        let mut cycle = stump();
        cycle.nodes[0] = Node::Split {
            feature: 0,
            threshold: 0.5,
            left: 0,
            right: 2,
        };
        assert!(problem(cycle, 2).contains("node 0 points to node 0"));
        assert!(problem(stump(), 1).contains("node 0 splits on feature 1 of 1"));
        let mut infinite = stump();
        infinite.nodes[2] = Node::Leaf(f64::INFINITY);
        assert!(problem(infinite, 2).contains("leaf 2 is inf"));
        assert!(problem(Tree { nodes: Vec::new() }, 2).contains("no node"));
    }

    #[test]
    fn finite_leaves_whose_sum_overflows_are_refused() {
        assert!(check_reach("score", 0.5, [&stump(), &stump()]).is_ok());
        let mut huge = stump();
        huge.nodes[1] = Node::Leaf(-1e308);
        assert!(check_reach("score", 0.0, [&huge]).is_ok());
        let message = check_reach("class 2", 0.0, [&huge, &huge])
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("class 2") && message.contains("inf"),
            "{message}"
        );
        assert!(check_reach("score", f64::MAX, [&stump()]).is_ok());
        assert!(check_reach("score", -f64::MAX, [&huge]).is_err());
    }
}
