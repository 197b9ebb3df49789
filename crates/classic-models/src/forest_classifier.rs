//! A random forest of classification trees (Gini impurity, bootstrap rows, a random subset of
//! features at every node), grown on quantile bins of the features, trees in parallel. The
//! forest's probabilities are the mean of its leaves' class shares.

use linfa::traits::Fit;
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use evaluation::classification::{PredictProba, ProbaError};

use crate::binning::{bin_edges, bin_of};
use crate::classes::{check_n_classes, class_count};
use crate::error::ModelError;
use crate::flat_trees::{FlatTrees, NodeRef, TreeRef};
use crate::lightgbm::{self, PlainNode};

/// Checked parameters of [`ForestClassifier`], which only [`ForestClassifierParams`]'s check
/// builds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ForestClassifierValidParams {
    n_trees: usize,
    max_depth: Option<usize>,
    min_leaf_rows: usize,
    /// Features tried at each node; `None`: the square root of the number of features.
    features_per_split: Option<usize>,
    max_bins: usize,
    n_classes: Option<usize>,
    seed: u64,
}

impl ForestClassifierValidParams {
    /// Number of trees, at least 1.
    pub fn n_trees(&self) -> usize {
        self.n_trees
    }

    /// Deepest a leaf may be, `None` for unlimited.
    pub fn max_depth(&self) -> Option<usize> {
        self.max_depth
    }

    /// Fewest rows in a leaf, at least 1.
    pub fn min_leaf_rows(&self) -> usize {
        self.min_leaf_rows
    }

    /// Features tried at each node (`None`: √features).
    pub fn features_per_split(&self) -> Option<usize> {
        self.features_per_split
    }

    /// The fixed number of classes, if any.
    pub fn n_classes(&self) -> Option<usize> {
        self.n_classes
    }

    /// Seed of the bootstrap and feature sampling.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}

/// Parameters of [`ForestClassifier`], checked when fitted.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestClassifierParams(ForestClassifierValidParams);

debug_as_struct!(ForestClassifierParams {
    n_trees,
    max_depth,
    min_leaf_rows,
    features_per_split,
    max_bins,
    n_classes,
    seed
});

impl Default for ForestClassifierParams {
    fn default() -> Self {
        ForestClassifierParams::new()
    }
}

impl ForestClassifierParams {
    /// 300 fully grown trees (one row per leaf at least), √features per node.
    pub fn new() -> Self {
        ForestClassifierParams(ForestClassifierValidParams {
            n_trees: 300,
            max_depth: None,
            min_leaf_rows: 1,
            features_per_split: None,
            max_bins: 255,
            n_classes: None,
            seed: 0,
        })
    }

    /// Number of trees, at least 1.
    pub fn n_trees(mut self, n: usize) -> Self {
        self.0.n_trees = n;
        self
    }

    /// Deepest a leaf may be.
    pub fn max_depth(mut self, depth: Option<usize>) -> Self {
        self.0.max_depth = depth;
        self
    }

    /// Fewest rows in a leaf, at least 1.
    pub fn min_leaf_rows(mut self, rows: usize) -> Self {
        self.0.min_leaf_rows = rows;
        self
    }

    /// Features tried at each node (`None`: √features); at least 1.
    pub fn features_per_split(mut self, n: Option<usize>) -> Self {
        self.0.features_per_split = n;
        self
    }

    /// Fixes the number of classes, at least 2 (default: the largest label + 1).
    pub fn n_classes(mut self, n: usize) -> Self {
        self.0.n_classes = Some(n);
        self
    }

    /// Seed of the bootstrap and feature sampling.
    pub fn seed(mut self, seed: u64) -> Self {
        self.0.seed = seed;
        self
    }
}

impl ParamGuard for ForestClassifierParams {
    type Checked = ForestClassifierValidParams;
    type Error = ModelError;

    fn check_ref(&self) -> Result<&ForestClassifierValidParams, ModelError> {
        let params = &self.0;
        if params.n_trees == 0 {
            return Err(ModelError::parameter("n_trees", 0, "at least 1"));
        }
        if params.min_leaf_rows == 0 {
            return Err(ModelError::parameter("min_leaf_rows", 0, "at least 1"));
        }
        if params.features_per_split == Some(0) {
            return Err(ModelError::parameter(
                "features_per_split",
                0,
                "None (√features) or at least 1",
            ));
        }
        if !(2..=256).contains(&params.max_bins) {
            return Err(ModelError::parameter(
                "max_bins",
                params.max_bins,
                "2..=256",
            ));
        }
        check_n_classes(params.n_classes)?;
        Ok(params)
    }

    fn check(self) -> Result<ForestClassifierValidParams, ModelError> {
        self.check_ref()?;
        Ok(self.0)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Node {
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// Class shares of the training rows in the leaf.
    Leaf(Vec<f64>),
}

/// A fitted random forest classifier.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ForestClassifierData")]
pub struct ForestClassifier {
    n_classes: usize,
    n_features: usize,
    trees: Vec<Vec<Node>>,
    /// The trees flattened for prediction, built from `trees` when fitted or read.
    #[serde(skip_serializing)]
    flat: FlatTrees,
}

/// [`ForestClassifier`] as read from a file, before it is checked.
#[derive(Deserialize)]
struct ForestClassifierData {
    n_classes: usize,
    n_features: usize,
    trees: Vec<Vec<Node>>,
}

impl TryFrom<ForestClassifierData> for ForestClassifier {
    type Error = ModelError;

    /// A forest read from a file predicts only if its trees can be walked: children inside
    /// their tree and after their parent, splits on its own features, leaves of one share per
    /// class ([`FlatTrees`] checks them as it flattens them).
    fn try_from(data: ForestClassifierData) -> Result<ForestClassifier, ModelError> {
        ForestClassifier::new(data.n_classes, data.n_features, data.trees)
    }
}

/// The forest's trees flattened for prediction: each leaf adds its `n_classes` shares.
fn flatten(
    n_features: usize,
    n_classes: usize,
    trees: &[Vec<Node>],
) -> Result<FlatTrees, ModelError> {
    let trees = trees.iter().map(|tree| TreeRef {
        output: 0,
        nodes: tree
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
                Node::Leaf(shares) => NodeRef::Leaf(shares),
            })
            .collect(),
    });
    FlatTrees::new(n_features, n_classes, n_classes, trees)
}

impl ForestClassifier {
    fn new(
        n_classes: usize,
        n_features: usize,
        trees: Vec<Vec<Node>>,
    ) -> Result<ForestClassifier, ModelError> {
        Ok(ForestClassifier {
            flat: flatten(n_features, n_classes, &trees)?,
            n_classes,
            n_features,
            trees,
        })
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Class probabilities, failing on a wrong number of columns.
    pub fn try_predict_proba(&self, x: ArrayView2<'_, f64>) -> Result<Array2<f64>, ModelError> {
        self.check_width(x)?;
        let k = self.n_classes;
        let n = self.trees.len().max(1) as f64;
        let mut sums = self.flat.sums(x, &vec![0.0; k]);
        for sum in &mut sums {
            *sum /= n;
        }
        Array2::from_shape_vec((x.nrows(), k), sums).map_err(|e| {
            ModelError::InvalidModel(format!(
                "the flattened trees did not give one share per class and row: {e}"
            ))
        })
    }

    fn check_width(&self, x: ArrayView2<'_, f64>) -> Result<(), ModelError> {
        ModelError::check_width(self.n_features, x.ncols())
    }

    /// The forest in LightGBM's text format over columns `names` ([`crate::lightgbm`]): one
    /// LightGBM tree per forest tree and class, whose leaves are that class's shares, averaged.
    pub fn to_lightgbm(&self, names: &[String]) -> Result<String, ModelError> {
        let k = self.n_classes;
        let mut trees = Vec::with_capacity(self.trees.len() * k);
        for tree in &self.trees {
            for class in 0..k {
                trees.push(
                    tree.iter()
                        .map(|node| match node {
                            Node::Split {
                                feature,
                                threshold,
                                left,
                                right,
                            } => PlainNode::Split {
                                feature: *feature,
                                threshold: *threshold,
                                left: *left,
                                right: *right,
                            },
                            Node::Leaf(shares) => {
                                PlainNode::Leaf(shares.get(class).copied().unwrap_or(f64::NAN))
                            }
                        })
                        .collect(),
                );
            }
        }
        lightgbm::model_text(
            lightgbm::Objective::ForestAverage(k),
            names,
            self.n_features,
            &trees,
        )
    }

    /// Class probabilities as [`ForestClassifier::try_predict_proba`] gives them, walking each
    /// tree node by node for one row at a time: the reference the flattened trees are tested and
    /// measured against, bit for bit the same.
    pub fn try_predict_proba_walking(
        &self,
        x: ArrayView2<'_, f64>,
    ) -> Result<Array2<f64>, ModelError> {
        self.check_width(x)?;
        let k = self.n_classes;
        let rows: Vec<Vec<f64>> = x
            .axis_iter(Axis(0))
            .into_par_iter()
            .with_min_len(32)
            .map(|row| {
                let mut sum = vec![0.0; k];
                for tree in &self.trees {
                    let mut index = 0;
                    loop {
                        match &tree[index] {
                            Node::Split {
                                feature,
                                threshold,
                                left,
                                right,
                            } => {
                                index = if row[*feature] <= *threshold {
                                    *left
                                } else {
                                    *right
                                }
                            }
                            Node::Leaf(shares) => {
                                for (s, v) in sum.iter_mut().zip(shares) {
                                    *s += v;
                                }
                                break;
                            }
                        }
                    }
                }
                let n = self.trees.len().max(1) as f64;
                sum.into_iter().map(|s| s / n).collect()
            })
            .collect();
        Array2::from_shape_vec((x.nrows(), k), rows.concat()).map_err(|e| {
            ModelError::InvalidModel(format!("the trees did not give one share per class: {e}"))
        })
    }
}

impl PredictProba for ForestClassifier {
    fn n_classes(&self) -> usize {
        self.n_classes
    }

    fn predict_proba(&self, x: &Array2<f64>) -> Result<Array2<f64>, ProbaError> {
        Ok(self.try_predict_proba(x.view())?)
    }
}

struct Binned<'a> {
    bins: Vec<Vec<u8>>,
    edges: Vec<Vec<f64>>,
    y: &'a [usize],
    k: usize,
}

impl ForestClassifierValidParams {
    fn grow(
        &self,
        data: &Binned<'_>,
        rows: Vec<u32>,
        depth: usize,
        m: usize,
        rng: &mut ChaCha8Rng,
        nodes: &mut Vec<Node>,
    ) -> usize {
        let k = data.k;
        let mut counts = vec![0.0f64; k];
        for &r in &rows {
            counts[data.y[r as usize]] += 1.0;
        }
        let n = rows.len() as f64;
        let leaf = |counts: &[f64]| Node::Leaf(counts.iter().map(|c| c / n).collect());
        let index = nodes.len();
        let pure = counts.iter().filter(|&&c| c > 0.0).count() <= 1;
        if pure
            || rows.len() < 2 * self.min_leaf_rows
            || self.max_depth.is_some_and(|max| depth >= max)
        {
            nodes.push(leaf(&counts));
            return index;
        }
        let n_features = data.bins.len();
        let mut features: Vec<usize> = (0..n_features).collect();
        features.shuffle(rng);
        // Impurity as Σ_side (n_side − Σ_c count²/n_side); lower is better.
        let parent = n - counts.iter().map(|c| c * c).sum::<f64>() / n;
        let mut best: Option<(f64, usize, usize)> = None;
        // At least `m` features are tried, more until one gives a valid split.
        for (tried, &feature) in features.iter().enumerate() {
            if tried >= m && best.is_some() {
                break;
            }
            let n_bins = data.edges[feature].len() + 1;
            if n_bins < 2 {
                continue;
            }
            let mut hist = vec![0.0f64; n_bins * k];
            let column = &data.bins[feature];
            for &r in &rows {
                hist[column[r as usize] as usize * k + data.y[r as usize]] += 1.0;
            }
            let mut left = vec![0.0f64; k];
            let mut left_n = 0.0;
            for bin in 0..n_bins - 1 {
                for c in 0..k {
                    left[c] += hist[bin * k + c];
                }
                left_n += hist[bin * k..(bin + 1) * k].iter().sum::<f64>();
                let right_n = n - left_n;
                if left_n < self.min_leaf_rows as f64 {
                    continue;
                }
                if right_n < self.min_leaf_rows as f64 {
                    break;
                }
                let left_sq: f64 = left.iter().map(|c| c * c).sum();
                let right_sq: f64 = left
                    .iter()
                    .zip(&counts)
                    .map(|(l, t)| (t - l) * (t - l))
                    .sum();
                let impurity = (left_n - left_sq / left_n) + (right_n - right_sq / right_n);
                if impurity < parent - 1e-12 && best.is_none_or(|(b, _, _)| impurity < b) {
                    best = Some((impurity, feature, bin));
                }
            }
        }
        let Some((_, feature, bin)) = best else {
            nodes.push(leaf(&counts));
            return index;
        };
        nodes.push(Node::Leaf(Vec::new()));
        let column = &data.bins[feature];
        let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = rows
            .into_iter()
            .partition(|&r| (column[r as usize] as usize) <= bin);
        let left = self.grow(data, left_rows, depth + 1, m, rng, nodes);
        let right = self.grow(data, right_rows, depth + 1, m, rng, nodes);
        nodes[index] = Node::Split {
            feature,
            threshold: data.edges[feature][bin],
            left,
            right,
        };
        index
    }
}

impl Fit<Array2<f64>, Array1<usize>, ModelError> for ForestClassifierValidParams {
    type Object = ForestClassifier;

    fn fit(
        &self,
        dataset: &DatasetBase<Array2<f64>, Array1<usize>>,
    ) -> Result<ForestClassifier, ModelError> {
        let (x, y) = (dataset.records(), dataset.targets());
        if x.nrows() != y.len() || x.nrows() < 2 || x.ncols() == 0 {
            return Err(ModelError::InvalidData(format!(
                "a forest needs at least 2 rows, 1 column and one label per row ({} rows, {} labels)",
                x.nrows(),
                y.len()
            )));
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(ModelError::InvalidData(
                "features contain NaN or infinity".into(),
            ));
        }
        let labels: Vec<usize> = y.to_vec();
        let k = class_count(y, self.n_classes)?;
        let n_features = x.ncols();
        let edges: Vec<Vec<f64>> = (0..n_features)
            .map(|f| bin_edges(x.column(f).iter().copied(), self.max_bins))
            .collect();
        let bins: Vec<Vec<u8>> = (0..n_features)
            .map(|f| x.column(f).iter().map(|&v| bin_of(v, &edges[f])).collect())
            .collect();
        let data = Binned {
            bins,
            edges,
            y: &labels,
            k,
        };
        let m = self
            .features_per_split
            .unwrap_or(((n_features as f64).sqrt().round() as usize).max(1))
            .clamp(1, n_features);
        let n = x.nrows();
        let trees: Vec<Vec<Node>> = (0..self.n_trees)
            .into_par_iter()
            .map(|t| {
                let mut rng = ChaCha8Rng::seed_from_u64(
                    self.seed ^ (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                );
                let rows: Vec<u32> = (0..n).map(|_| rng.gen_range(0..n as u32)).collect();
                let mut nodes = Vec::new();
                self.grow(&data, rows, 0, m, &mut rng, &mut nodes);
                nodes
            })
            .collect();
        ForestClassifier::new(k, n_features, trees)
    }
}

impl crate::check::CheckedFile for ForestClassifier {
    /// At least one tree; in every tree, children after their parent and inside it, splits on
    /// the forest's features at thresholds that are not NaN, and leaves of one share per class,
    /// each in 0..=1, summing to 1.
    fn check_file(&self, n_features: usize) -> Result<(), String> {
        crate::check::width("the forest", self.n_features, n_features)?;
        if self.trees.is_empty() || self.n_classes < 2 {
            return Err(format!(
                "a forest of {} trees over {} classes",
                self.trees.len(),
                self.n_classes
            ));
        }
        for (t, tree) in self.trees.iter().enumerate() {
            check_tree(tree, self.n_features, self.n_classes)
                .map_err(|problem| format!("tree {t}: {problem}"))?;
        }
        Ok(())
    }
}

/// The checks of one tree of a [`ForestClassifier`] read from a file.
fn check_tree(nodes: &[Node], n_features: usize, n_classes: usize) -> Result<(), String> {
    if nodes.is_empty() {
        return Err("it has no node".into());
    }
    for (index, node) in nodes.iter().enumerate() {
        match node {
            Node::Split {
                feature,
                threshold,
                left,
                right,
            } => {
                if *feature >= n_features || threshold.is_nan() {
                    return Err(format!(
                        "node {index} splits on feature {feature} of {n_features} at {threshold}"
                    ));
                }
                if [left, right]
                    .iter()
                    .any(|&&c| c <= index || c >= nodes.len())
                {
                    return Err(format!(
                        "node {index} points to nodes {left} and {right} (children come after \
                         their parent, in 1..{})",
                        nodes.len()
                    ));
                }
            }
            Node::Leaf(shares) => {
                let valid = shares.len() == n_classes
                    && shares.iter().all(|s| (0.0..=1.0).contains(s))
                    && (shares.iter().sum::<f64>() - 1.0).abs() <= 1e-6;
                if !valid {
                    return Err(format!(
                        "leaf {index} has class shares {shares:?}, not {n_classes} in 0..=1 \
                         summing to 1"
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array;

    #[test]
    fn forest_separates_classes_and_is_seeded() {
        let x = Array::from_shape_fn((400, 2), |(i, j)| ((i * 37 + j * 11) % 101) as f64 / 101.0);
        let y = Array1::from_iter(
            (0..400)
                .map(|i| usize::from(x[[i, 0]] + x[[i, 1]] > 1.0) + usize::from(x[[i, 0]] > 0.8)),
        );
        let data = DatasetBase::new(x.clone(), y.clone());
        let params = ForestClassifierParams::new().n_trees(50).seed(3);
        let model = params.fit(&data).unwrap();
        assert_eq!(model, params.fit(&data).unwrap());
        let proba = model.predict_proba(&x).unwrap();
        let predicted = evaluation::classification::argmax_rows(proba.view());
        let acc = evaluation::classification::accuracy(y.as_slice().unwrap(), &predicted).unwrap();
        assert!(acc > 0.95, "{acc}");
        assert!(model
            .try_predict_proba(x.select(Axis(1), &[0]).view())
            .is_err());
    }
}
