//! The flattened trees (`flat_trees.rs`) predict bit for bit what walking each tree node by node
//! predicts, for the boosting regressor, the boosting classifier and the forest classifier:
//! fitted at several depths on random data with NaNs, predicting rows that sit exactly on, just
//! above and just below the split thresholds, NaN, infinities and signed zeros, and again after
//! a save and a reload.

use classic_models::{
    bin_edges, BoostingClassifierParams, BoostingParams, ClassifierFile, FittedClassifier,
    FittedModel, ForestClassifierParams, ModelFile,
};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FEATURES: usize = 5;

/// Rows of five features: a continuous one, one of a few integers, one with both signs and
/// zeros, a skewed one and noise; `nan_share` of the values NaN.
fn rows(n: usize, nan_share: f64, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, FEATURES), |(_, column)| {
        if rng.gen_bool(nan_share) {
            return f64::NAN;
        }
        match column {
            0 => rng.gen_range(0.0..1.0),
            1 => f64::from(rng.gen_range(0..5u8)),
            2 => {
                if rng.gen_bool(0.2) {
                    0.0
                } else {
                    rng.gen_range(-3.0..3.0)
                }
            }
            3 => rng.gen_range(0.0f64..4.0).exp(),
            _ => rng.gen_range(-1.0..1.0),
        }
    })
}

/// A target of the first three features (NaN read as 0).
fn target(x: &Array2<f64>) -> Array1<f64> {
    x.map_axis(Axis(1), |row| {
        let v = |i: usize| if row[i].is_nan() { 0.0 } else { row[i] };
        (4.0 * v(0)).sin() + 0.3 * v(1) - 0.2 * v(2).abs() + 0.01 * v(3).ln_1p()
    })
}

fn labels(y: &Array1<f64>, n_classes: usize) -> Array1<usize> {
    y.mapv(|v| (((v + 1.5) * n_classes as f64 / 3.5).max(0.0) as usize).min(n_classes - 1))
}

/// Random rows, then rows that put each feature on every bin edge of the training rows (the
/// thresholds the trees split at are among them), one step of `f64` above and below it, and on
/// NaN, the infinities and both zeros.
fn probes(train: &Array2<f64>, seed: u64) -> Array2<f64> {
    let mut probe = rows(300, 0.1, seed);
    let base = rows(1, 0.0, seed + 1).row(0).to_owned();
    let special = [
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        0.0,
        -0.0,
        1e-35,
        -1e-35,
    ];
    for feature in 0..FEATURES {
        let edges = bin_edges(train.column(feature).iter().copied(), 255);
        let values = edges
            .iter()
            .flat_map(|&edge| [edge, edge.next_up(), edge.next_down()])
            .chain(special);
        for value in values {
            let mut row = base.clone();
            row[feature] = value;
            probe.push_row(row.view()).unwrap();
        }
    }
    probe
}

fn same_bits(a: &Array2<f64>, b: &Array2<f64>, what: &str) {
    assert_eq!(a.dim(), b.dim(), "{what}");
    for ((index, x), y) in a.indexed_iter().zip(b) {
        assert_eq!(
            x.to_bits(),
            y.to_bits(),
            "{what}: {index:?} {x} against {y}"
        );
    }
}

fn column(values: Array1<f64>) -> Array2<f64> {
    values.insert_axis(Axis(1))
}

#[test]
fn boosting_regressor_predicts_what_the_walk_predicts() {
    let train = rows(1500, 0.1, 1);
    let data = DatasetBase::new(train.clone(), target(&train));
    let probe = probes(&train, 2);
    let dir = tempfile::tempdir().unwrap();
    for (depth, leaves) in [
        (Some(1), 2),
        (Some(3), 8),
        (Some(6), 31),
        (None, 31),
        (None, 64),
    ] {
        let what = format!("depth {depth:?}, {leaves} leaves");
        let model = BoostingParams::new()
            .n_trees(60)
            .max_depth(depth)
            .max_leaves(leaves)
            .min_leaf_rows(5)
            .row_fraction(0.8)
            .feature_fraction(0.8)
            .seed(7)
            .fit(&data)
            .unwrap();
        let walked = column(model.try_predict_walking(probe.view()).unwrap());
        same_bits(
            &column(model.try_predict(probe.view()).unwrap()),
            &walked,
            &what,
        );

        let path = dir.path().join("boosting.json");
        let names: Vec<String> = (0..FEATURES).map(|f| format!("f{f}")).collect();
        ModelFile::new(FittedModel::Boosting(model), names, "y")
            .save(&path)
            .unwrap();
        let loaded = ModelFile::load(&path).unwrap();
        same_bits(&column(loaded.predict(&probe).unwrap()), &walked, &what);
    }
}

#[test]
fn boosting_classifier_probabilities_are_the_walks() {
    let train = rows(1500, 0.1, 3);
    let y = target(&train);
    let probe = probes(&train, 4);
    let dir = tempfile::tempdir().unwrap();
    for n_classes in [2, 4] {
        let data = DatasetBase::new(train.clone(), labels(&y, n_classes));
        for (depth, leaves) in [(Some(2), 4), (None, 31)] {
            let what = format!("{n_classes} classes, depth {depth:?}, {leaves} leaves");
            let model = BoostingClassifierParams::new()
                .n_rounds(30)
                .n_classes(n_classes)
                .max_depth(depth)
                .max_leaves(leaves)
                .row_fraction(0.8)
                .seed(5)
                .fit(&data)
                .unwrap();
            let walked = model.try_predict_proba_walking(probe.view()).unwrap();
            same_bits(
                &model.try_predict_proba(probe.view()).unwrap(),
                &walked,
                &what,
            );

            let path = dir.path().join("classifier.json");
            let names: Vec<String> = (0..FEATURES).map(|f| format!("f{f}")).collect();
            let classes: Vec<String> = (0..n_classes).map(|c| format!("c{c}")).collect();
            ClassifierFile::new(FittedClassifier::Boosting(model), names, classes)
                .save(&path)
                .unwrap();
            let loaded = ClassifierFile::load(&path).unwrap();
            same_bits(&loaded.predict_proba(&probe).unwrap(), &walked, &what);
        }
    }
}

#[test]
fn forest_classifier_probabilities_are_the_walks() {
    // The forest fits finite rows only; it predicts NaN like any value above every threshold.
    let train = rows(800, 0.0, 5);
    let y = target(&train);
    let probe = probes(&train, 6);
    let dir = tempfile::tempdir().unwrap();
    for n_classes in [2, 3] {
        let data = DatasetBase::new(train.clone(), labels(&y, n_classes));
        for depth in [Some(1), Some(4), None] {
            let what = format!("{n_classes} classes, depth {depth:?}");
            let model = ForestClassifierParams::new()
                .n_trees(25)
                .max_depth(depth)
                .n_classes(n_classes)
                .seed(11)
                .fit(&data)
                .unwrap();
            let walked = model.try_predict_proba_walking(probe.view()).unwrap();
            same_bits(
                &model.try_predict_proba(probe.view()).unwrap(),
                &walked,
                &what,
            );

            let path = dir.path().join("forest.json");
            let names: Vec<String> = (0..FEATURES).map(|f| format!("f{f}")).collect();
            let classes: Vec<String> = (0..n_classes).map(|c| format!("c{c}")).collect();
            ClassifierFile::new(FittedClassifier::Forest(model), names, classes)
                .save(&path)
                .unwrap();
            let loaded = ClassifierFile::load(&path).unwrap();
            same_bits(&loaded.predict_proba(&probe).unwrap(), &walked, &what);
        }
    }
}

#[test]
fn a_forest_file_whose_tree_points_back_is_refused_at_load() {
    let train = rows(200, 0.0, 8);
    let data = DatasetBase::new(train.clone(), labels(&target(&train), 2));
    let model = ForestClassifierParams::new()
        .n_trees(2)
        .max_depth(Some(2))
        .seed(1)
        .fit(&data)
        .unwrap();
    let names: Vec<String> = (0..FEATURES).map(|f| format!("f{f}")).collect();
    let file = ClassifierFile::new(
        FittedClassifier::Forest(model),
        names,
        vec!["a".into(), "b".into()],
    );
    let mut json: serde_json::Value = serde_json::to_value(&file).unwrap();
    let root = &mut json["model"]["Forest"]["trees"][1][0]["Split"];
    root["left"] = serde_json::json!(0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("forest.json");
    std::fs::write(&path, serde_json::to_string(&json).unwrap()).unwrap();
    let error = chain(ClassifierFile::load(&path).unwrap_err());
    assert!(error.contains("node 0 points to node 0"), "{error}");
}

/// The error and its sources, one after another.
fn chain(error: classic_models::ModelError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
