//! Checks of model files that wrap other crates' fitted models (smartcore's trees and forests),
//! made on their serialised form: the fields are theirs and private, but a tree that points
//! outside itself panics in their prediction and one that points back at itself never ends.

use serde_json::Value;

/// Checks every smartcore node list inside `value` (a `"nodes"` array of objects with
/// `true_child` and `false_child`): a node is a leaf (both children null) or a split whose
/// children come after it and lie inside the list, on a feature below `n_features`, at a
/// threshold that is a number. Returns the largest `|output|` of each node list, in order.
pub(crate) fn smartcore_trees(value: &Value, n_features: usize) -> Result<Vec<f64>, String> {
    let mut reaches = Vec::new();
    visit(value, n_features, &mut reaches)?;
    if reaches.is_empty() {
        return Err("it holds no tree".into());
    }
    Ok(reaches)
}

fn visit(value: &Value, n_features: usize, reaches: &mut Vec<f64>) -> Result<(), String> {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("nodes", Value::Array(nodes)) => {
                        let tree = reaches.len();
                        let reach = nodes_reach(nodes, n_features)
                            .map_err(|problem| format!("tree {tree}: {problem}"))?;
                        reaches.push(reach);
                    }
                    _ => visit(child, n_features, reaches)?,
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .try_for_each(|item| visit(item, n_features, reaches)),
        _ => Ok(()),
    }
}

/// The checks of one node list; its largest `|output|`.
fn nodes_reach(nodes: &[Value], n_features: usize) -> Result<f64, String> {
    if nodes.is_empty() {
        return Err("it has no node".into());
    }
    let mut reach = 0.0_f64;
    for (index, node) in nodes.iter().enumerate() {
        let field = |name: &str| node.get(name).unwrap_or(&Value::Null);
        let output = field("output")
            .as_f64()
            .ok_or_else(|| format!("node {index} has no numeric output"))?;
        reach = reach.max(output.abs());
        match (field("true_child"), field("false_child")) {
            (Value::Null, Value::Null) => {}
            (left, right) => {
                for child in [left, right] {
                    let child = child.as_u64().and_then(|c| usize::try_from(c).ok());
                    if !child.is_some_and(|c| c > index && c < nodes.len()) {
                        return Err(format!(
                            "node {index} points to {child:?} (children come after their \
                             parent, in 1..{})",
                            nodes.len()
                        ));
                    }
                }
                let feature = field("split_feature").as_u64();
                if feature.is_none_or(|f| f >= n_features as u64) {
                    return Err(format!(
                        "node {index} splits on feature {feature:?} of {n_features}"
                    ));
                }
                if field("split_value").as_f64().is_none() {
                    return Err(format!("node {index} splits at no threshold"));
                }
            }
        }
    }
    Ok(reach)
}

/// Checks that `values` (the largest magnitudes a row can meet, summed) stay finite.
pub(crate) fn finite_sum(what: &str, values: impl IntoIterator<Item = f64>) -> Result<(), String> {
    let sum: f64 = values.into_iter().sum();
    if sum.is_finite() {
        Ok(())
    } else {
        Err(format!(
            "{what} can sum beyond any finite number (values too large)"
        ))
    }
}

/// The largest magnitude a fitted weight, scale or stored row may have: no fit on standardised
/// inputs comes near it, and beyond it a prediction can overflow.
pub(crate) const LARGEST: f64 = 1e12;

/// A fitted model's own consistency, checked when it is read from a file: its width matches
/// the file's `n_features` columns and its values cannot make a prediction panic, hang or
/// overflow. Fitted models pass by construction.
pub(crate) trait CheckedFile {
    /// What is wrong, if anything.
    fn check_file(&self, n_features: usize) -> Result<(), String>;
}

/// `values` all within `LARGEST` in magnitude (so finite), naming `what`.
pub(crate) fn bounded<'a>(
    what: &str,
    values: impl IntoIterator<Item = &'a f64>,
) -> Result<(), String> {
    match values.into_iter().find(|v| v.is_nan() || v.abs() > LARGEST) {
        Some(value) => Err(format!("{what} holds {value:e}, beyond ±{LARGEST:e}")),
        None => Ok(()),
    }
}

/// `found` columns where `n_features` are expected.
pub(crate) fn width(what: &str, found: usize, n_features: usize) -> Result<(), String> {
    if found == n_features {
        Ok(())
    } else {
        Err(format!("{what} has {found} columns, the file {n_features}"))
    }
}
