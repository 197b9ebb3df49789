//! A flattened, cache-friendly predictor for the crate's tree ensembles: the boosting regressor,
//! the boosting classifier and the forest classifier predict through [`FlatTrees`], built once
//! when a model is fitted or read from its file.
//!
//! Three things make it fast, and none changes a decision:
//!
//! - **Ranks instead of thresholds.** Every split threshold of a feature is one of that
//!   feature's sorted, distinct thresholds `t_0 < t_1 < … < t_{m-1}`. A row's value `x` is
//!   replaced, once per row, by its rank `r(x)`: the number of thresholds `< x`, or `m` for NaN.
//!   For every threshold `t_j`, `x <= t_j` exactly when `r(x) <= j` (the thresholds below `x`
//!   are a prefix of the sorted list, and `t_j` is outside it exactly when `x <= t_j`; NaN is
//!   above every `j`, so it goes right as it did), so a node holds a 16-bit rank, not an `f64`.
//! - **8-byte nodes, children side by side.** A node is its left child's index (`u32`), its
//!   feature (`u16`) and its threshold's rank (`u16`); the right child is the next node, so a
//!   step is `left + (rank > node.rank)`, with no branch. A leaf points to itself with the
//!   largest rank, so a row that has reached it stays there.
//! - **Blocks of rows.** Rows are ranked in blocks of [`BLOCK`], and each tree walks the whole
//!   block one level at a time before the next tree: the tree's nodes stay in the L1 cache, and
//!   the block's rows are independent walks the processor overlaps. A tree walks the block for
//!   its depth, or until no row moved in a level.
//!
//! Each row's sums add its leaves' values tree after tree, in the order of the trees, as the
//! node-by-node walk did, so the sums are bit for bit the same.

use ndarray::ArrayView2;
use rayon::prelude::*;

use crate::error::ModelError;

/// Rows ranked and walked together.
pub(crate) const BLOCK: usize = 64;

/// One node of a tree to flatten, as the models store it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NodeRef<'a> {
    /// Rows with `x[feature] <= threshold` go to `left`, the others (and NaN) to `right`.
    Split {
        feature: usize,
        threshold: f64,
        left: usize,
        right: usize,
    },
    /// The values a row reaching the leaf adds to its sums, from the tree's first output on.
    Leaf(&'a [f64]),
}

/// A tree to flatten: its nodes (the root first) and the first of the outputs its leaves add
/// to.
pub(crate) struct TreeRef<'a> {
    pub(crate) output: usize,
    pub(crate) nodes: Vec<NodeRef<'a>>,
}

/// A flattened node (see the module docs): 8 bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Node {
    /// Index of the left child; the right child is the next node. A leaf: its own index.
    left: u32,
    /// The feature split on (0 for a leaf).
    feature: u16,
    /// The rank of the threshold among the feature's thresholds (`u16::MAX` for a leaf).
    rank: u16,
}

/// Where a tree lies in the flat arrays.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Span {
    root: u32,
    /// Levels from the root to the deepest leaf.
    depth: u32,
    /// The first output its leaves add to.
    output: u32,
}

/// Tree ensembles flattened for prediction (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FlatTrees {
    n_features: usize,
    /// Sums per row.
    n_outputs: usize,
    /// Values per leaf.
    leaf_width: usize,
    /// Per feature, its distinct split thresholds in increasing order.
    thresholds: Vec<Vec<f64>>,
    nodes: Vec<Node>,
    /// `leaf_width` values per node (zeros for split nodes).
    values: Vec<f64>,
    trees: Vec<Span>,
    /// The same trees in fixed arrays, when they are small enough (see [`Small`]).
    small: Option<SmallLayout>,
}

/// Rows of a block that walk a tree of the small layout together.
const LANES: usize = 8;

/// Features the small layout indexes with a byte.
const SMALL_FEATURES: usize = 256;

/// A node of the small layout: 4 bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct SmallNode {
    /// The left child's index within the tree; the right child is the next. A leaf: itself.
    left: u8,
    feature: u8,
    rank: u16,
}

/// Trees of at most `N` nodes each, one value per leaf, over at most [`SMALL_FEATURES`]
/// features (the boosting's: 31 leaves make 61 nodes), in arrays of `N`: an index masked to
/// `N - 1` and a feature below 256 need no bounds check, so a step of the walk is half the
/// instructions of the general layout's.
#[derive(Clone, Debug, PartialEq)]
struct Small<const N: usize> {
    nodes: Vec<[SmallNode; N]>,
    /// The leaf's value at the leaf's index (zeros elsewhere).
    values: Vec<[f64; N]>,
    /// Levels each tree walks: its depth.
    depths: Vec<u32>,
    outputs: Vec<usize>,
}

/// The small layout for trees of up to 64 or up to 128 nodes.
#[derive(Clone, Debug, PartialEq)]
enum SmallLayout {
    Up64(Small<64>),
    Up128(Small<128>),
}

impl<const N: usize> Small<N> {
    /// The small layout of `flat`'s trees, if each has at most `N` nodes.
    fn of(flat: &FlatTrees) -> Option<Small<N>> {
        if flat.leaf_width != 1 || flat.n_features > SMALL_FEATURES {
            return None;
        }
        let mut small = Small {
            nodes: Vec::with_capacity(flat.trees.len()),
            values: Vec::with_capacity(flat.trees.len()),
            depths: Vec::with_capacity(flat.trees.len()),
            outputs: Vec::with_capacity(flat.trees.len()),
        };
        for (t, span) in flat.trees.iter().enumerate() {
            let start = span.root as usize;
            let end = flat
                .trees
                .get(t + 1)
                .map_or(flat.nodes.len(), |next| next.root as usize);
            if end - start > N {
                return None;
            }
            let mut nodes = [SmallNode::default(); N];
            let mut values = [0.0; N];
            for (slot, node) in flat.nodes[start..end].iter().enumerate() {
                nodes[slot] = SmallNode {
                    left: u8::try_from(node.left as usize - start).ok()?,
                    feature: u8::try_from(node.feature).ok()?,
                    rank: node.rank,
                };
                values[slot] = flat.values[start + slot];
            }
            small.nodes.push(nodes);
            small.values.push(values);
            small.depths.push(span.depth);
            small.outputs.push(span.output as usize);
        }
        Some(small)
    }

    /// Walks every tree over a block of ranked rows for its depth, adding each leaf's value to
    /// the rows' sums (`k` per row).
    fn add_block(
        &self,
        ranks: &[u16; SMALL_FEATURES * BLOCK],
        rows: usize,
        sums: &mut [f64],
        k: usize,
    ) {
        for (((nodes, values), &depth), &output) in self
            .nodes
            .iter()
            .zip(&self.values)
            .zip(&self.depths)
            .zip(&self.outputs)
        {
            for lane_start in (0..rows).step_by(LANES) {
                // Lanes of rows walk the tree together, their positions in registers.
                let mut at = [0u8; LANES];
                for _ in 0..depth {
                    for (lane, position) in at.iter_mut().enumerate() {
                        let node = nodes[usize::from(*position) % N];
                        let r = (lane_start + lane) % BLOCK;
                        let rank = ranks[usize::from(node.feature) * BLOCK + r];
                        *position = node.left + u8::from(rank > node.rank);
                    }
                }
                let lanes = LANES.min(rows - lane_start);
                for (lane, &position) in at.iter().enumerate().take(lanes) {
                    sums[(lane_start + lane) * k + output] += values[usize::from(position) % N];
                }
            }
        }
    }
}

/// Nodes of one source tree, checked: every child after its parent and inside the tree, with
/// one parent each, so that the nodes reachable from the root form a tree and every walk ends.
fn check_tree(
    nodes: &[NodeRef<'_>],
    n_features: usize,
    leaf_width: usize,
) -> Result<Vec<u32>, String> {
    if nodes.is_empty() {
        return Err("it has no node".into());
    }
    let n = nodes.len();
    let mut has_parent = vec![false; n];
    for (index, node) in nodes.iter().enumerate() {
        match *node {
            NodeRef::Split {
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
                            "node {index} points to node {child} (children come after their \
                             parent, in 1..{n})"
                        ));
                    }
                    if std::mem::replace(&mut has_parent[child], true) {
                        return Err(format!("node {child} has two parents"));
                    }
                }
            }
            NodeRef::Leaf(values) => {
                if values.len() != leaf_width {
                    return Err(format!(
                        "leaf {index} holds {} values, not {leaf_width}",
                        values.len()
                    ));
                }
            }
        }
    }
    // Children come after their parents, so one pass from the last node gives every depth.
    let mut depth = vec![0u32; n];
    for index in (0..n).rev() {
        if let NodeRef::Split { left, right, .. } = nodes[index] {
            depth[index] = 1 + depth[left].max(depth[right]);
        }
    }
    Ok(depth)
}

impl FlatTrees {
    /// Flattens `trees` over `n_features` columns into sums of `n_outputs` per row, each leaf
    /// holding `leaf_width` values. Checks what a model file could get wrong (children inside
    /// their tree, after their parent and with one parent each, so no cycle; features below
    /// `n_features`; thresholds not NaN; leaves of `leaf_width` values; outputs in range), and
    /// the limits of the layout (65,536 features, 65,534 thresholds per feature, 2³² nodes).
    pub(crate) fn new<'a>(
        n_features: usize,
        n_outputs: usize,
        leaf_width: usize,
        trees: impl IntoIterator<Item = TreeRef<'a>>,
    ) -> Result<FlatTrees, ModelError> {
        let invalid = |tree: usize, problem: String| {
            ModelError::InvalidModel(format!("tree {tree}: {problem}"))
        };
        if n_features > usize::from(u16::MAX) + 1 {
            return Err(ModelError::InvalidModel(format!(
                "{n_features} features; trees predict over at most 65,536"
            )));
        }
        let trees: Vec<TreeRef<'a>> = trees.into_iter().collect();
        let mut depths = Vec::with_capacity(trees.len());
        let mut thresholds: Vec<Vec<f64>> = vec![Vec::new(); n_features];
        for (t, tree) in trees.iter().enumerate() {
            if tree.output + leaf_width > n_outputs {
                return Err(invalid(
                    t,
                    format!(
                        "adds {leaf_width} values from output {} of {n_outputs}",
                        tree.output
                    ),
                ));
            }
            depths
                .push(check_tree(&tree.nodes, n_features, leaf_width).map_err(|p| invalid(t, p))?);
            for node in &tree.nodes {
                if let NodeRef::Split {
                    feature, threshold, ..
                } = *node
                {
                    thresholds[feature].push(threshold);
                }
            }
        }
        for (feature, list) in thresholds.iter_mut().enumerate() {
            list.sort_by(f64::total_cmp);
            // -0.0 and 0.0 are one threshold: every comparison treats them alike.
            list.dedup_by(|a, b| a == b);
            // Ranks of values go up to `list.len()` (NaN), below the leaves' `u16::MAX`.
            if list.len() >= usize::from(u16::MAX) {
                return Err(ModelError::InvalidModel(format!(
                    "feature {feature} is split at {} distinct thresholds; trees predict with \
                     at most 65,534",
                    list.len()
                )));
            }
        }
        let mut flat = FlatTrees {
            n_features,
            n_outputs,
            leaf_width,
            thresholds,
            nodes: Vec::new(),
            values: Vec::new(),
            trees: Vec::with_capacity(trees.len()),
            small: None,
        };
        for (t, (tree, depth)) in trees.iter().zip(&depths).enumerate() {
            let span = flat.push_tree(tree, depth[0]).map_err(|p| invalid(t, p))?;
            flat.trees.push(span);
        }
        flat.small = Small::<64>::of(&flat)
            .map(SmallLayout::Up64)
            .or_else(|| Small::<128>::of(&flat).map(SmallLayout::Up128));
        Ok(flat)
    }

    /// Lays out the nodes reachable from the root breadth first, each split's two children side
    /// by side.
    fn push_tree(&mut self, tree: &TreeRef<'_>, depth: u32) -> Result<Span, String> {
        let too_many = || "the model has more than 2³² nodes".to_string();
        let position = |nodes: &Vec<Node>| u32::try_from(nodes.len()).map_err(|_| too_many());
        let root = position(&self.nodes)?;
        // (source node, flat position), in the order the positions were given.
        let mut queue = std::collections::VecDeque::from([(0usize, root)]);
        self.nodes.push(Node {
            left: root,
            feature: 0,
            rank: u16::MAX,
        });
        self.values
            .extend(std::iter::repeat_n(0.0, self.leaf_width));
        while let Some((source, at)) = queue.pop_front() {
            let slot = at as usize;
            match tree.nodes[source] {
                NodeRef::Split {
                    feature,
                    threshold,
                    left,
                    right,
                } => {
                    let list = &self.thresholds[feature];
                    let rank = list.partition_point(|&t| t < threshold);
                    let first = position(&self.nodes)?;
                    self.nodes[slot] = Node {
                        left: first,
                        feature: u16::try_from(feature).expect("features were checked below 2¹⁶"),
                        rank: u16::try_from(rank).expect("thresholds were checked below 2¹⁶ - 1"),
                    };
                    for (child, offset) in [(left, 0), (right, 1)] {
                        let child_at = first.checked_add(offset).ok_or_else(too_many)?;
                        self.nodes.push(Node {
                            left: child_at,
                            feature: 0,
                            rank: u16::MAX,
                        });
                        self.values
                            .extend(std::iter::repeat_n(0.0, self.leaf_width));
                        queue.push_back((child, child_at));
                    }
                }
                NodeRef::Leaf(values) => {
                    let start = slot * self.leaf_width;
                    self.values[start..start + self.leaf_width].copy_from_slice(values);
                }
            }
        }
        Ok(Span {
            root,
            depth,
            output: u32::try_from(tree.output).map_err(|_| "output beyond 2³²".to_string())?,
        })
    }

    /// Number of trees.
    #[cfg(test)]
    pub(crate) fn n_trees(&self) -> usize {
        self.trees.len()
    }

    /// The sums of every row of `x` (row-major, `n_outputs` per row), each starting from
    /// `start` (one value per output) and adding every tree's leaf in tree order. The caller
    /// has checked that `x` has `n_features` columns.
    pub(crate) fn sums(&self, x: ArrayView2<'_, f64>, start: &[f64]) -> Vec<f64> {
        assert_eq!(
            (x.ncols(), start.len()),
            (self.n_features, self.n_outputs),
            "callers check the width of the rows and pass one start per output"
        );
        let k = self.n_outputs;
        let mut out: Vec<f64> = (0..x.nrows() * k).map(|i| start[i % k]).collect();
        if k == 0 {
            return out;
        }
        out.par_chunks_mut(BLOCK * k).enumerate().for_each_init(
            || Scratch::new(self.n_features),
            |scratch, (block, sums)| {
                let first = block * BLOCK;
                let rows = sums.len() / k;
                self.rank_block(x, first, rows, &mut scratch.ranks);
                match &self.small {
                    Some(small) => {
                        let ranks = scratch.ranks[..SMALL_FEATURES * BLOCK]
                            .try_into()
                            .expect("the scratch ranks cover 256 features");
                        match small {
                            SmallLayout::Up64(trees) => trees.add_block(ranks, rows, sums, k),
                            SmallLayout::Up128(trees) => trees.add_block(ranks, rows, sums, k),
                        }
                    }
                    None => self.add_block(&scratch.ranks, rows, sums, &mut scratch.at),
                }
            },
        );
        out
    }

    /// Ranks `rows` rows of `x` from `first` on into `ranks[feature * BLOCK + row]`.
    fn rank_block(&self, x: ArrayView2<'_, f64>, first: usize, rows: usize, ranks: &mut [u16]) {
        for (feature, list) in self.thresholds.iter().enumerate() {
            let column = x.column(feature);
            let out = &mut ranks[feature * BLOCK..(feature + 1) * BLOCK];
            for (r, slot) in out.iter_mut().enumerate().take(rows) {
                let value = column[first + r];
                let rank = if value.is_nan() {
                    list.len()
                } else {
                    list.partition_point(|&t| t < value)
                };
                *slot = rank as u16;
            }
        }
    }

    /// Walks every tree over a block of ranked rows, adding each leaf to the rows' sums.
    fn add_block(&self, ranks: &[u16], rows: usize, sums: &mut [f64], at: &mut [u32; BLOCK]) {
        let (k, width) = (self.n_outputs, self.leaf_width);
        let nodes = &self.nodes[..];
        for span in &self.trees {
            at.fill(span.root);
            for _ in 0..span.depth {
                let mut moved = false;
                for (r, position) in at.iter_mut().enumerate() {
                    let node = nodes[*position as usize];
                    let rank = ranks[usize::from(node.feature) * BLOCK + r];
                    let next = node.left + u32::from(rank > node.rank);
                    moved |= next != *position;
                    *position = next;
                }
                if !moved {
                    break;
                }
            }
            let output = span.output as usize;
            for (r, &position) in at.iter().enumerate().take(rows) {
                let leaf = &self.values[position as usize * width..][..width];
                let row = &mut sums[r * k + output..][..width];
                for (sum, value) in row.iter_mut().zip(leaf) {
                    *sum += value;
                }
            }
        }
    }
}

/// One thread's buffers for a block.
struct Scratch {
    ranks: Vec<u16>,
    at: [u32; BLOCK],
}

impl Scratch {
    fn new(n_features: usize) -> Scratch {
        Scratch {
            ranks: vec![0; n_features.max(SMALL_FEATURES) * BLOCK],
            at: [0; BLOCK],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn split(feature: usize, threshold: f64, left: usize, right: usize) -> NodeRef<'static> {
        NodeRef::Split {
            feature,
            threshold,
            left,
            right,
        }
    }

    #[test]
    fn ranks_give_the_threshold_decisions_for_ties_nan_and_signed_zeros() {
        // Two trees on feature 0 at -0.0 and 0.0 (one threshold), and at 1.0.
        let leaves: [[f64; 1]; 4] = [[1.0], [2.0], [10.0], [20.0]];
        let trees = vec![
            TreeRef {
                output: 0,
                nodes: vec![
                    split(0, -0.0, 1, 2),
                    NodeRef::Leaf(&leaves[0]),
                    NodeRef::Leaf(&leaves[1]),
                ],
            },
            TreeRef {
                output: 0,
                nodes: vec![
                    split(0, 1.0, 1, 2),
                    NodeRef::Leaf(&leaves[2]),
                    NodeRef::Leaf(&leaves[3]),
                ],
            },
        ];
        let flat = FlatTrees::new(1, 1, 1, trees).unwrap();
        let x = array![
            [-1.0],
            [-0.0],
            [0.0],
            [0.5],
            [1.0],
            [1.5],
            [f64::NAN],
            [f64::INFINITY],
            [f64::NEG_INFINITY]
        ];
        let sums = flat.sums(x.view(), &[0.0]);
        assert_eq!(sums, [11.0, 11.0, 11.0, 12.0, 12.0, 22.0, 22.0, 22.0, 11.0]);
    }

    #[test]
    fn trees_that_cannot_be_walked_are_refused() {
        let leaf = [0.0];
        let refused = |nodes: Vec<NodeRef<'_>>, n_features: usize| {
            FlatTrees::new(n_features, 1, 1, [TreeRef { output: 0, nodes }])
                .unwrap_err()
                .to_string()
        };
        let l = NodeRef::Leaf(&leaf);
        assert!(refused(vec![split(0, 0.5, 1, 3), l, l], 1).contains("points to node 3"));
        assert!(refused(vec![split(0, 0.5, 0, 1), l], 1).contains("points to node 0"));
        assert!(refused(vec![split(2, 0.5, 1, 2), l, l], 2).contains("feature 2 of 2"));
        assert!(refused(vec![split(0, f64::NAN, 1, 2), l, l], 1).contains("NaN"));
        assert!(refused(vec![split(0, 0.5, 1, 1), l], 1).contains("two parents"));
        assert!(refused(vec![], 1).contains("no node"));
        let wide = [0.0, 1.0];
        assert!(refused(vec![NodeRef::Leaf(&wide)], 1).contains("2 values"));
        let error = FlatTrees::new(
            1,
            1,
            1,
            [TreeRef {
                output: 1,
                nodes: vec![l],
            }],
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("output 1 of 1"), "{error}");
    }

    #[test]
    fn a_leaf_alone_adds_to_every_row() {
        let leaf = [0.25, 0.75];
        let flat = FlatTrees::new(
            2,
            3,
            2,
            [TreeRef {
                output: 1,
                nodes: vec![NodeRef::Leaf(&leaf)],
            }],
        )
        .unwrap();
        assert_eq!(flat.n_trees(), 1);
        let x = ndarray::Array2::<f64>::zeros((130, 2));
        let sums = flat.sums(x.view(), &[1.0, 2.0, 3.0]);
        assert!(sums.chunks(3).all(|row| row == [1.0, 2.25, 3.75]));
    }
}
