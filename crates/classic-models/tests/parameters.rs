//! Parameters are checked once, before any fitting: a value out of its range and a name a
//! learner does not know are refused, naming what is wrong.

use classic_models::{
    DecisionTreeParams, ElasticNetParams, ForestClassifierParams, KnnClassifierParams, KnnParams,
    LogisticParams, ModelError, RandomForestParams, Scaled, SvrParams,
};
use evaluation::{EvalError, Fold, ParamSet, Search, Tunable, Value};
use linfa::traits::Fit;
use linfa::{DatasetBase, ParamGuard};
use ndarray::{Array1, Array2};

fn params(pairs: &[(&str, Value)]) -> ParamSet {
    pairs
        .iter()
        .map(|(name, value)| (name.to_string(), value.clone()))
        .collect()
}

/// The name of the parameter an error refuses, if it is a range error.
fn refused(error: ModelError) -> &'static str {
    match error {
        ModelError::InvalidParameter { name, .. } => name,
        other => panic!("expected a parameter error, got {other:?}"),
    }
}

#[test]
fn an_unknown_name_is_refused_with_the_known_ones_listed() {
    let typo = params(&[("alpah", Value::Float(0.1))]);
    let error = ElasticNetParams::from_params(&typo)
        .unwrap_err()
        .to_string();
    assert!(error.contains("`alpah`"), "{error}");
    assert!(error.contains("known: alpha, l1_ratio"), "{error}");

    let error = Scaled::<SvrParams>::from_params(&params(&[("max_rows", Value::Int(9))]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("known: c, epsilon, gamma, max_train_rows, seed"),
        "{error}"
    );
    for learner_error in [
        KnnParams::from_params(&typo).map(drop),
        DecisionTreeParams::from_params(&typo).map(drop),
        RandomForestParams::from_params(&typo).map(drop),
    ] {
        assert!(matches!(learner_error, Err(ModelError::Param(_))));
    }
}

#[test]
fn every_name_the_workspace_passes_is_accepted() {
    // The settings the pipelines override (src/valence.rs): a seed, and the SVR's row cap.
    RandomForestParams::from_params(&params(&[
        ("n_trees", Value::Int(20)),
        ("seed", Value::Int(42)),
    ]))
    .unwrap();
    SvrParams::from_params(&params(&[
        ("max_train_rows", Value::Int(500)),
        ("seed", Value::Int(42)),
    ]))
    .unwrap();
    ElasticNetParams::from_params(&params(&[("l1_ratio", Value::Float(0.5))])).unwrap();
}

#[test]
fn a_bad_range_is_refused_by_the_check_and_by_from_params() {
    assert_eq!(refused(KnnParams::new().k(0).check().unwrap_err()), "k");
    assert_eq!(
        refused(ElasticNetParams::new().l1_ratio(1.5).check().unwrap_err()),
        "l1_ratio"
    );
    assert_eq!(
        refused(SvrParams::new().gamma(0.0).check().unwrap_err()),
        "gamma"
    );
    assert_eq!(
        refused(SvrParams::new().epsilon(f64::NAN).check().unwrap_err()),
        "epsilon"
    );
    assert_eq!(
        refused(
            DecisionTreeParams::new()
                .min_leaf_rows(0)
                .check()
                .unwrap_err()
        ),
        "min_leaf_rows"
    );
    assert_eq!(
        refused(
            RandomForestParams::new()
                .feature_fraction(0.0)
                .check()
                .unwrap_err()
        ),
        "feature_fraction"
    );
    assert_eq!(
        refused(
            ForestClassifierParams::new()
                .n_trees(0)
                .check()
                .unwrap_err()
        ),
        "n_trees"
    );
    assert_eq!(
        refused(LogisticParams::new().n_classes(1).check().unwrap_err()),
        "n_classes"
    );
    assert_eq!(
        refused(KnnClassifierParams::new().k(0).check().unwrap_err()),
        "k"
    );
    let error =
        RandomForestParams::from_params(&params(&[("max_depth", Value::Int(5000))])).unwrap_err();
    assert_eq!(refused(error), "max_depth");
    assert!(KnnParams::from_params(&params(&[("k", Value::Int(-3))])).is_err());
}

#[test]
fn a_bad_range_is_refused_before_any_fitting() {
    // One row cannot fit a 5-neighbour model: if the learner were fitted, the error would be
    // about the data, not the parameter.
    let data = DatasetBase::new(Array2::<f64>::zeros((1, 2)), Array1::<f64>::zeros(1));
    let error = KnnParams::new().k(0).fit(&data).unwrap_err();
    assert_eq!(refused(error), "k");
    let error = Scaled::new(ElasticNetParams::new().alpha(-1.0))
        .fit(&data)
        .unwrap_err();
    assert_eq!(refused(error), "alpha");

    // A search refuses a bad candidate as a whole, before it fits a single fold.
    let x = Array2::from_shape_fn((20, 1), |(i, _)| i as f64);
    let y = x.column(0).to_owned();
    let folds = vec![
        Fold {
            train: (0..10).collect(),
            test: (10..20).collect(),
        },
        Fold {
            train: (10..20).collect(),
            test: (0..10).collect(),
        },
    ];
    let search = Search::grid("knn", KnnParams::search_space(), 2).overriding("k", Value::Int(0));
    match search.run::<KnnParams, _>(&x, &y, &folds) {
        Err(EvalError::Params { context, source }) => {
            assert!(context.contains("k=0"), "{context}");
            assert!(source.to_string().contains("`k`"), "{source}");
        }
        other => panic!("expected a parameter error, got {other:?}"),
    }
}
