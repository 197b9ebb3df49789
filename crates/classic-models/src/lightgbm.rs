//! The tree ensembles in LightGBM's text model format, so that LightGBM itself can predict with
//! exactly the workspace's trees: the peer side of `tools/compare_scoring`, and a way out for a
//! user whose other tools read LightGBM models.
//!
//! A split sends `x <= threshold` left and NaN right, as the workspace's trees do (LightGBM's
//! decision type 8: missing values are NaN, default right). Each model's starting scores are
//! added to the leaves of its first tree of each output, as LightGBM stores them, so the sums
//! are the same additions in the same order. The forest is written as LightGBM's random forest
//! (`average_output`, one tree per class and forest tree, leaves the class shares) under the
//! objective `custom`, whose prediction is the plain average.

use std::fmt::Write;

use crate::error::ModelError;

/// One node of a tree to write: the root first, children anywhere after their parent.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PlainNode {
    /// Rows with `x[feature] <= threshold` go to `left`, the others (and NaN) to `right`.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// The value a row that reaches it adds to its output.
    Leaf(f64),
}

/// What the model predicts, which sets LightGBM's objective line and its number of outputs.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Objective {
    /// One value, the sum of the trees.
    Regression,
    /// Two classes: the sigmoid of the sum.
    Binary,
    /// `n` classes: the softmax of the `n` sums.
    Multiclass(usize),
    /// `n` classes: the mean over forest trees of each class's shares.
    ForestAverage(usize),
}

impl Objective {
    fn outputs(self) -> usize {
        match self {
            Objective::Regression | Objective::Binary => 1,
            Objective::Multiclass(n) | Objective::ForestAverage(n) => n,
        }
    }

    fn header(self) -> String {
        match self {
            Objective::Regression => "objective=regression\n".into(),
            Objective::Binary => "objective=binary sigmoid:1\n".into(),
            Objective::Multiclass(n) => format!("objective=multiclass num_class:{n}\n"),
            Objective::ForestAverage(_) => "objective=custom\naverage_output\n".into(),
        }
    }
}

/// Writes the model text: `trees` round after round, [`Objective::outputs`] trees a round
/// (output `k` of a round is its `k`-th tree), over `n_features` columns named `names`.
pub(crate) fn model_text(
    objective: Objective,
    names: &[String],
    n_features: usize,
    trees: &[Vec<PlainNode>],
) -> Result<String, ModelError> {
    if names.len() != n_features {
        return Err(ModelError::InvalidModel(format!(
            "{} feature names for a model of {n_features} features",
            names.len()
        )));
    }
    if let Some(name) = names
        .iter()
        .find(|n| n.is_empty() || n.chars().any(|c| c.is_whitespace() || c == '='))
    {
        return Err(ModelError::InvalidModel(format!(
            "feature name {name:?}: LightGBM's names are one word without `=`"
        )));
    }
    let k = objective.outputs();
    if trees.is_empty() || trees.len().checked_rem(k) != Some(0) {
        return Err(ModelError::InvalidModel(format!(
            "{} trees for {k} outputs a round",
            trees.len()
        )));
    }
    let mut text = String::new();
    let _ = write!(
        text,
        "tree\nversion=v4\nnum_class={k}\nnum_tree_per_iteration={k}\nlabel_index=0\n\
         max_feature_idx={}\n{}feature_names={}\nfeature_infos={}\n\n",
        n_features.saturating_sub(1),
        objective.header(),
        names.join(" "),
        vec!["none"; n_features].join(" ")
    );
    for (index, tree) in trees.iter().enumerate() {
        tree_text(&mut text, index, tree, n_features)?;
    }
    text.push_str(
        "end of trees\n\nfeature_importances:\n\nparameters:\nend of parameters\n\n\
         pandas_categorical:null\n",
    );
    Ok(text)
}

/// Appends one tree: split nodes numbered in order from the root (0), leaves in order, a child
/// that is leaf `l` written as `-(l + 1)`.
fn tree_text(
    text: &mut String,
    index: usize,
    nodes: &[PlainNode],
    n_features: usize,
) -> Result<(), ModelError> {
    let bad = |problem: String| ModelError::InvalidModel(format!("tree {index}: {problem}"));
    if nodes.is_empty() {
        return Err(bad("it has no node".into()));
    }
    // Each node's number among the split nodes or among the leaves.
    let mut number = Vec::with_capacity(nodes.len());
    let (mut splits, mut leaves) = (0usize, 0usize);
    for node in nodes {
        match node {
            PlainNode::Split { .. } => {
                number.push(splits);
                splits += 1;
            }
            PlainNode::Leaf(_) => {
                number.push(leaves);
                leaves += 1;
            }
        }
    }
    let child = |parent: usize, c: usize| -> Result<String, ModelError> {
        match nodes.get(c) {
            Some(PlainNode::Split { .. }) if c > parent => Ok(number[c].to_string()),
            Some(PlainNode::Leaf(_)) if c > parent => Ok(format!("-{}", number[c] + 1)),
            _ => Err(bad(format!("node {parent} points to node {c}"))),
        }
    };
    let (mut feature, mut threshold, mut left, mut right, mut values) =
        (vec![], vec![], vec![], vec![], vec![]);
    for (i, node) in nodes.iter().enumerate() {
        match *node {
            PlainNode::Split {
                feature: f,
                threshold: t,
                left: l,
                right: r,
            } => {
                if f >= n_features || t.is_nan() {
                    return Err(bad(format!("node {i} splits feature {f} at {t}")));
                }
                feature.push(f.to_string());
                threshold.push(format!("{t:?}"));
                left.push(child(i, l)?);
                right.push(child(i, r)?);
            }
            PlainNode::Leaf(v) => {
                if !v.is_finite() {
                    return Err(bad(format!("node {i} is a leaf of {v}")));
                }
                values.push(format!("{v:?}"));
            }
        }
    }
    if splits + 1 != leaves {
        return Err(bad(format!("{splits} split nodes but {leaves} leaves")));
    }
    let zeros = |n: usize| vec!["0"; n].join(" ");
    let _ = write!(
        text,
        "Tree={index}\nnum_leaves={leaves}\nnum_cat=0\nsplit_feature={}\nsplit_gain={}\n\
         threshold={}\ndecision_type={}\nleft_child={}\nright_child={}\nleaf_value={}\n\
         leaf_weight={}\nleaf_count={}\ninternal_value={}\ninternal_weight={}\n\
         internal_count={}\nis_linear=0\nshrinkage=1\n\n\n",
        feature.join(" "),
        zeros(splits),
        threshold.join(" "),
        vec!["8"; splits].join(" "),
        left.join(" "),
        right.join(" "),
        values.join(" "),
        zeros(leaves),
        zeros(leaves),
        zeros(splits),
        zeros(splits),
        zeros(splits),
    );
    Ok(())
}

/// `tree` with `bias` added to every leaf (a tree of one leaf of `bias` when there is none).
pub(crate) fn with_bias(tree: Option<Vec<PlainNode>>, bias: f64) -> Vec<PlainNode> {
    match tree {
        None => vec![PlainNode::Leaf(bias)],
        Some(nodes) => nodes
            .into_iter()
            .map(|node| match node {
                // `leaf + bias` is the model's own `bias + leaf`: addition commutes exactly.
                PlainNode::Leaf(v) => PlainNode::Leaf(v + bias),
                split => split,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("f{i}")).collect()
    }

    fn stump(feature: usize, threshold: f64, low: f64, high: f64) -> Vec<PlainNode> {
        vec![
            PlainNode::Split {
                feature,
                threshold,
                left: 1,
                right: 2,
            },
            PlainNode::Leaf(low),
            PlainNode::Leaf(high),
        ]
    }

    #[test]
    fn a_tree_numbers_its_splits_and_leaves_in_order() {
        // root splits f1; its left child splits f0; leaves in node order 2, 3, 4.
        let tree = vec![
            PlainNode::Split {
                feature: 1,
                threshold: 0.25,
                left: 1,
                right: 4,
            },
            PlainNode::Split {
                feature: 0,
                threshold: -1.5e-7,
                left: 2,
                right: 3,
            },
            PlainNode::Leaf(1.0),
            PlainNode::Leaf(2.0),
            PlainNode::Leaf(0.1),
        ];
        let text = model_text(Objective::Regression, &names(2), 2, &[tree]).unwrap();
        for line in [
            "num_leaves=3",
            "split_feature=1 0",
            "threshold=0.25 -1.5e-7",
            "decision_type=8 8",
            "left_child=1 -1",
            "right_child=-3 -2",
            "leaf_value=1.0 2.0 0.1",
            "objective=regression",
            "feature_names=f0 f1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }

    #[test]
    fn rounds_must_fill_every_output_and_trees_must_be_whole() {
        let two = [stump(0, 0.5, 0.0, 1.0), stump(0, 0.5, 1.0, 0.0)];
        assert!(model_text(Objective::Multiclass(3), &names(1), 1, &two).is_err());
        assert!(model_text(Objective::Multiclass(2), &names(1), 1, &two).is_ok());
        let backwards = vec![
            PlainNode::Leaf(0.0),
            PlainNode::Split {
                feature: 0,
                threshold: 0.0,
                left: 0,
                right: 0,
            },
        ];
        assert!(model_text(Objective::Regression, &names(1), 1, &[backwards]).is_err());
        assert!(model_text(
            Objective::Regression,
            &names(1),
            1,
            &[stump(3, 0.5, 0.0, 1.0)]
        )
        .is_err());
        assert!(model_text(Objective::Regression, &["a b".to_string()], 1, &two[..1]).is_err());
    }

    #[test]
    fn the_bias_goes_into_every_leaf_of_the_first_tree() {
        let biased = with_bias(Some(stump(0, 0.5, 0.25, -1.0)), 0.5);
        let leaves: Vec<f64> = biased
            .iter()
            .filter_map(|n| match n {
                PlainNode::Leaf(v) => Some(*v),
                PlainNode::Split { .. } => None,
            })
            .collect();
        assert_eq!(leaves, vec![0.75, -0.5]);
        assert!(matches!(with_bias(None, 0.5)[..], [PlainNode::Leaf(v)] if v == 0.5));
    }
}
