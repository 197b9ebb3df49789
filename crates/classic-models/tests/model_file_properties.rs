//! Property tests of the model-file loaders (issue 23): every kind of saved model, with random
//! numbers swapped in, truncated or with a byte changed, either loads and then predicts finite
//! values (probabilities in 0..=1 summing to 1) in bounded time, or is refused with a typed
//! error. No input makes a loader or a prediction panic or hang.

use std::path::Path;
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

use classic_models::{
    BoostingClassifierParams, BoostingParams, ClassifierFile, DecisionTreeParams, ElasticNetParams,
    FittedClassifier, FittedModel, ForestClassifierParams, KnnClassifierParams, KnnParams,
    LogisticParams, ModelFile, RandomForestParams, Scaled, SvrParams,
};
use linfa::traits::Fit;
use linfa::DatasetBase;
use ndarray::{Array1, Array2};
use proptest::prelude::*;

/// The longest a load and a prediction of a small model may take, even on a loaded machine.
const TIME_LIMIT: Duration = Duration::from_secs(5);

fn rows(n: usize) -> Array2<f64> {
    Array2::from_shape_fn((n, 3), |(r, c)| ((r * 7 + c * 13) % 17) as f64 / 4.0 - 2.0)
}

fn names() -> Vec<String> {
    ["a", "b", "c"].map(String::from).to_vec()
}

/// One saved file of every kind of model, as JSON text.
fn fixtures() -> &'static Vec<(&'static str, String)> {
    static FIXTURES: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let x = rows(60);
        let y: Array1<f64> = x.rows().into_iter().map(|r| r[0] - 0.5 * r[1]).collect();
        let labels: Array1<usize> = y.iter().map(|v| (v.max(-1.9) + 2.0) as usize % 3).collect();
        let values = DatasetBase::new(x.clone(), y);
        let classes = DatasetBase::new(x, labels);
        let regressors = vec![
            (
                "elastic_net",
                FittedModel::ElasticNet(Scaled::new(ElasticNetParams::new()).fit(&values).unwrap()),
            ),
            (
                "knn",
                FittedModel::Knn(Scaled::new(KnnParams::new().k(3)).fit(&values).unwrap()),
            ),
            (
                "tree",
                FittedModel::DecisionTree(
                    DecisionTreeParams::new()
                        .max_depth(Some(3))
                        .fit(&values)
                        .unwrap(),
                ),
            ),
            (
                "forest",
                FittedModel::RandomForest(
                    RandomForestParams::new()
                        .n_trees(3)
                        .max_depth(Some(3))
                        .fit(&values)
                        .unwrap(),
                ),
            ),
            (
                "svr",
                FittedModel::Svr(Scaled::new(SvrParams::new()).fit(&values).unwrap()),
            ),
            (
                "boosting",
                FittedModel::Boosting(
                    BoostingParams::new()
                        .n_trees(5)
                        .max_leaves(4)
                        .fit(&values)
                        .unwrap(),
                ),
            ),
        ];
        let classifiers = vec![
            (
                "boosting_classifier",
                FittedClassifier::Boosting(
                    BoostingClassifierParams::new()
                        .n_rounds(4)
                        .max_leaves(4)
                        .n_classes(3)
                        .fit(&classes)
                        .unwrap(),
                ),
            ),
            (
                "forest_classifier",
                FittedClassifier::Forest(
                    ForestClassifierParams::new()
                        .n_trees(3)
                        .max_depth(Some(3))
                        .n_classes(3)
                        .fit(&classes)
                        .unwrap(),
                ),
            ),
            (
                "logistic",
                FittedClassifier::Logistic(
                    Scaled::new(LogisticParams::new().iterations(20).n_classes(3))
                        .fit(&classes)
                        .unwrap(),
                ),
            ),
            (
                "knn_classifier",
                FittedClassifier::Knn(
                    Scaled::new(KnnClassifierParams::new().k(3).n_classes(3))
                        .fit(&classes)
                        .unwrap(),
                ),
            ),
        ];
        let mut out: Vec<(&'static str, String)> = regressors
            .into_iter()
            .map(|(name, model)| {
                (
                    name,
                    serde_json::to_string(&ModelFile::new(model, names(), "valence")).unwrap(),
                )
            })
            .collect();
        let class_names = ["x", "y", "z"].map(String::from).to_vec();
        out.extend(classifiers.into_iter().map(|(name, model)| {
            (
                name,
                serde_json::to_string(&ClassifierFile::new(model, names(), class_names.clone()))
                    .unwrap(),
            )
        }));
        out
    })
}

/// Loads `text` as the fixture `name`'s kind of file and predicts 40 rows, on a thread of its
/// own: `Ok(None)` when refused, `Ok(Some(problem))` when accepted but predicting wrongly,
/// `Err` when it panicked or did not finish in time.
fn load_and_predict(name: &'static str, text: String) -> Result<Option<String>, String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = std::panic::catch_unwind(|| {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("model.json");
            std::fs::write(&path, text).unwrap();
            check(name, &path)
        });
        let _ = sender.send(outcome.map_err(|_| "panicked".to_string()));
    });
    match receiver.recv_timeout(TIME_LIMIT) {
        Ok(outcome) => outcome,
        Err(_) => Err(format!("no answer within {TIME_LIMIT:?}")),
    }
}

fn check(name: &str, path: &Path) -> Option<String> {
    let x = rows(40);
    if name.ends_with("classifier") || name == "logistic" {
        let file = ClassifierFile::load(path).ok()?;
        let p = match file.predict_proba(&x) {
            Ok(p) => p,
            Err(error) => return Some(format!("a loaded model failed to predict: {error}")),
        };
        let bad_row = p.rows().into_iter().position(|row| {
            !row.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v))
                || (row.sum() - 1.0).abs() > 1e-6
        });
        bad_row.map(|r| format!("row {r} has probabilities {}", p.row(r)))
    } else {
        let file = ModelFile::load(path).ok()?;
        let predicted = match file.predict(&x) {
            Ok(predicted) => predicted,
            Err(error) => return Some(format!("a loaded model failed to predict: {error}")),
        };
        let bad = predicted.iter().position(|v| !v.is_finite());
        bad.map(|r| format!("row {r} predicts {}", predicted[r]))
    }
}

/// Values a mutation writes over a number of the file.
const NUMBERS: [&str; 12] = [
    "0",
    "1",
    "-1",
    "2",
    "3",
    "1000000",
    "1e308",
    "-1e308",
    "1e-308",
    "0.5",
    "4294967296",
    "18446744073709551615",
];

/// The byte ranges of the numbers in a JSON text.
fn numbers(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let starts = bytes[i].is_ascii_digit()
            || (bytes[i] == b'-' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit));
        if starts
            && (i == 0
                || !(bytes[i - 1].is_ascii_alphanumeric()
                    || bytes[i - 1] == b'"'
                    || bytes[i - 1] == b'.'))
        {
            let start = i;
            i += 1;
            while i < bytes.len() && (bytes[i].is_ascii_digit() || b".eE+-".contains(&bytes[i])) {
                i += 1;
            }
            found.push((start, i));
        } else {
            i += 1;
        }
    }
    found
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn a_number_swapped_for_another_is_refused_or_predicts_finite_values(
        which in 0usize..10,
        spot in any::<prop::sample::Index>(),
        number in prop::sample::select(NUMBERS.to_vec()),
        also in any::<Option<(prop::sample::Index, prop::sample::Index)>>(),
    ) {
        let (name, text) = &fixtures()[which];
        let spans = numbers(text);
        let mut edits = vec![(spans[spot.index(spans.len())], number)];
        if let Some((spot, value)) = also {
            edits.push((spans[spot.index(spans.len())], NUMBERS[value.index(NUMBERS.len())]));
        }
        edits.sort_by_key(|((start, _), _)| std::cmp::Reverse(*start));
        edits.dedup_by_key(|((start, _), _)| *start);
        let mut mutated = text.clone();
        for ((start, end), value) in edits {
            mutated.replace_range(start..end, value);
        }
        let outcome = load_and_predict(name, mutated);
        prop_assert_eq!(outcome, Ok(None), "{}", name);
    }

    #[test]
    fn a_truncated_or_changed_file_is_refused_or_predicts_finite_values(
        which in 0usize..10,
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        truncate in any::<bool>(),
    ) {
        let (name, text) = &fixtures()[which];
        let mut bytes = text.clone().into_bytes();
        let at = at.index(bytes.len());
        if truncate {
            bytes.truncate(at);
        } else {
            bytes[at] = byte;
        }
        let mutated = String::from_utf8_lossy(&bytes).into_owned();
        let around = String::from_utf8_lossy(&text.as_bytes()[at.saturating_sub(60)..(at + 20).min(text.len())]).into_owned();
        let outcome = load_and_predict(name, mutated);
        prop_assert_eq!(outcome, Ok(None), "{} at {}: {:?}", name, at, around);
    }
}
