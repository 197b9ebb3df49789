//! The classification experiments of issue 5: every family's `--quick` run on the real data
//! (outputs, `metrics.json` shape, prediction from the saved model), and the rules they rest on:
//! label mapping, the duplicate-`tid` rule, stratification, metric values computed by hand, and
//! a saved classifier that reloads with identical probabilities.
// Networks are in every line-up and model here: the `neural` feature (on by default).
#![cfg(feature = "neural")]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use ndarray::Array2;
use spotify_ml::bundle::{self, OutputKind, Predictions};
use spotify_ml::evaluation::calibration::temperature_scale;

use spotify_ml::classic_models::BoostingClassifierParams;
use spotify_ml::classify::family::RunConfig;
use spotify_ml::classify::saved::{prediction_line, SavedClassifier};
use spotify_ml::classify::{
    genres, hits, moods, popularity, Candidate, Details, ExperimentId, Fitted, Metrics, Model,
    Network,
};
use spotify_ml::dataset::load::genres::GenreSet;
use spotify_ml::dataset::split::{stratified_k_fold, stratified_train_test_split};
use spotify_ml::dataset::{DataDir, Strictness};
use spotify_ml::evaluation::classification::{
    accuracy, confusion_counts, macro_f1, roc_auc, roc_auc_proba, PredictProba,
};

fn config(out: &Path) -> RunConfig {
    RunConfig {
        data: DataDir::resolve(None).expect("data directory"),
        out: out.to_path_buf(),
        quick: true,
        seed: 12345,
    }
}

fn data() -> DataDir {
    DataDir::resolve(None).expect("data directory")
}

/// `label` of every row of a playlist file, by tid.
fn raw_labels(file: &str) -> Vec<(String, usize)> {
    let mut reader = csv::Reader::from_path(data().join(file)).expect("opens");
    let headers = reader.headers().expect("header").clone();
    let tid = headers.iter().position(|h| h == "tid").expect("tid");
    let label = headers.iter().position(|h| h == "label").expect("label");
    reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            (r[tid].to_string(), r[label].parse().expect("label"))
        })
        .collect()
}

/// Checks a family's outputs: the metrics shape, report, readable plots and saved model.
fn check_outputs(out: &Path, names: &[&str]) {
    let text = std::fs::read_to_string(out.join("metrics.json")).unwrap();
    // Both files read back into the types whose serialisation they are.
    let typed: Metrics = serde_json::from_str(&text).expect("metrics.json is a Metrics");
    let details: Details =
        serde_json::from_str(&std::fs::read_to_string(out.join("details.json")).unwrap())
            .expect("details.json is a Details");
    for report in &details.experiments {
        if let Some(metrics) = typed.experiments.get(&report.name) {
            assert_eq!(metrics.best.model, report.best);
        }
    }
    let metrics: serde_json::Value = serde_json::from_str(&text).unwrap();
    let experiments = metrics["experiments"].as_object().expect("experiments");
    let keys: Vec<&str> = experiments.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), names.len(), "{keys:?}");
    for name in names {
        let experiment = &experiments[*name];
        let best = &experiment["best"];
        let model = best["model"].as_str().expect("best model");
        assert!(
            experiment["models"][model].is_object(),
            "{name}: {model} listed"
        );
        for key in ["accuracy", "macro_f1", "roc_auc"] {
            let value = best[key].as_f64().unwrap_or_else(|| panic!("{name}.{key}"));
            assert!((0.0..=1.0).contains(&value), "{name}.{key} = {value}");
            assert_eq!(experiment["models"][model][key].as_f64(), Some(value));
        }
        for (model, scores) in experiment["models"].as_object().unwrap() {
            let keys: Vec<&String> = scores.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["accuracy", "macro_f1", "roc_auc"], "{name}.{model}");
        }
        assert!(
            experiment["models"]["network"].is_object(),
            "{name} has a network"
        );
        assert!(
            experiment["models"]["blend"].is_object(),
            "{name} has a blend"
        );
        // Calibration and prediction sets of the best model and the blend: least-ambiguous sets
        // hold their nominal coverage within 0.02 (the target); adaptive ones at least
        // nominally; temperature scaling is used only where it lowered the log loss.
        let calibration = experiment["calibration"].as_array().expect("calibration");
        assert!(!calibration.is_empty(), "{name} has a calibration table");
        for entry in calibration {
            for set in entry["sets"].as_array().unwrap() {
                let (nominal, achieved) = (
                    set["coverage"].as_f64().unwrap(),
                    set["achieved"].as_f64().unwrap(),
                );
                match set["method"].as_str() {
                    Some("lac") => assert!((achieved - nominal).abs() <= 0.02, "{name}: {set}"),
                    Some("aps") => assert!(achieved >= nominal - 0.02, "{name}: {set}"),
                    other => panic!("{name}: set method {other:?}"),
                }
            }
            let (before, after) = (&entry["before"]["log_loss"], &entry["after"]["log_loss"]);
            assert_eq!(
                entry["calibrated"].as_bool(),
                Some(after.as_f64() < before.as_f64())
            );
        }
        for plot in [
            "confusion",
            "network_loss",
            "network_accuracy",
            "importance",
            "reliability",
        ] {
            let path = out.join(format!("plots/{name}_{plot}.png"));
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            assert_eq!(
                &bytes[..8],
                b"\x89PNG\r\n\x1a\n",
                "{} is a PNG",
                path.display()
            );
        }
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("Majority-class baseline"));
}

#[test]
fn mood_quick_run_reports_saves_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let outcomes = moods::run(&config).expect("runs");
    assert_eq!(
        outcomes[0].report.classes,
        ["Happy", "Sad", "Energetic", "Calm"]
    );
    check_outputs(dir.path(), &["moods"]);
    assert!(std::fs::read_to_string(dir.path().join("report.md"))
        .unwrap()
        .contains("target of 82.00%"));
    let ids = vec![
        "2H7PHVdQ3mXqEHXcvclTB0".to_string(),
        "0000000000000000000000".to_string(),
    ];
    let lines = moods::predict(&config, &ids, None).expect("predicts");
    assert!(
        lines[0].starts_with("2H7PHVdQ3mXqEHXcvclTB0 → "),
        "{}",
        lines[0]
    );
    assert_eq!(
        lines[0].matches(" (0.").count() + lines[0].matches(" (1.").count(),
        4
    );
    assert!(lines[1].contains("unknown track id"), "{}", lines[1]);
    assert!(lines[0].contains("; at 90%: "), "{}", lines[0]);

    // The bundle carries the best model's calibration, fitted on its out-of-fold
    // probabilities, and applies it: tempered probabilities and least-ambiguous sets.
    let dir = config.model_dir(ExperimentId::Moods);
    let model = bundle::load(&dir).unwrap();
    let OutputKind::Classes {
        names,
        calibration: Some(calibration),
    } = &model.manifest().output
    else {
        panic!("{:?}", model.manifest().output)
    };
    let report = &outcomes[0].report;
    let fitted = report.calibration.iter().find(|c| c.model == report.best);
    assert_eq!(Some(calibration), fitted.map(|c| &c.deployed));
    assert_eq!(calibration.set_coverage, 0.9);
    assert!(calibration.set_threshold > 0.0 && calibration.set_threshold <= 1.0);
    let inputs = &model.manifest().inputs;
    let rows = Array2::from_shape_fn((40, inputs.len()), |(r, c)| {
        inputs[c].min + (inputs[c].max - inputs[c].min) * ((r * 7 + c * 3) % 40) as f64 / 39.0
    });
    let (Predictions::Classes(proba), _) = model.predict(rows.view()).unwrap() else {
        panic!("a classifier predicts classes")
    };
    let as_fitted = SavedClassifier::load(&dir)
        .unwrap()
        .predict_proba(&rows)
        .unwrap();
    let expected = if calibration.temperature == 1.0 {
        as_fitted
    } else {
        temperature_scale(as_fitted.view(), calibration.temperature)
    };
    assert_eq!(proba, expected);
    let batch = RecordBatch::try_from_iter(inputs.iter().enumerate().map(|(c, input)| {
        let column: ArrayRef = Arc::new(Float64Array::from(rows.column(c).to_vec()));
        (input.name.clone(), column)
    }))
    .unwrap();
    let output = model.predict_batch(&batch).unwrap();
    let (field, sets) = output.columns.last().unwrap();
    assert_eq!(field.name(), "moods_set");
    let sets = sets.as_any().downcast_ref::<StringArray>().unwrap();
    for (r, row) in proba.rows().into_iter().enumerate() {
        let set: Vec<&str> = sets.value(r).split('|').filter(|s| !s.is_empty()).collect();
        for (class, &p) in names.iter().zip(row) {
            assert_eq!(
                set.contains(&class.as_str()),
                1.0 - p <= calibration.set_threshold,
                "row {r}: {class} ({p}) in {set:?}"
            );
        }
    }
}

#[test]
fn genre_quick_run_reports_all_four_experiments_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    genres::run(&config).expect("runs");
    check_outputs(dir.path(), &["genre3", "genre5", "genre7", "activity4"]);
    let known = raw_labels(GenreSet::Three.file())[0].0.clone();
    let ids = vec!["unknown".to_string(), known.clone()];
    let blocks = genres::predict(&config, &[GenreSet::Three, GenreSet::Moods], &ids, None)
        .expect("predicts");
    assert_eq!(blocks[0].0, ExperimentId::Genre3);
    assert!(blocks[0].1[0].contains("unknown track id"));
    assert!(blocks[0].1[1].starts_with(&format!("{known} → ")));
    // The genre3 id is not in the activity-mood file: said plainly, not an error.
    assert_eq!(blocks[1].1.len(), 2);
}

#[test]
fn popularity_quick_run_saves_the_predictor_and_predicts() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let outcomes = popularity::run(&config).expect("runs");
    check_outputs(dir.path(), &["popularity"]);
    assert!(outcomes[0].report.majority_baseline > 0.2);
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(
        report.contains("best classic model"),
        "verdict on network vs classic"
    );
    // The predictor is saved as a bundle, which `--predict` reads: a track whose artist has no
    // popularity in the data (Nikki Vianna) is predicted too, with the imputed value.
    let bundle = spotify_ml::bundle::load(&dir.path().join("model")).expect("a bundle");
    assert_eq!(bundle.manifest().task, spotify_ml::bundle::Task::Popularity);
    let ids = ["6f807x0ima9a1j3VPbc7VN", "nope", "1hr5Y2i4NlE3LPvQZ9Q5Ao"]
        .map(String::from)
        .to_vec();
    let lines = popularity::predict(&config, &ids, None).expect("predicts");
    for (line, id) in [(&lines[0], &ids[0]), (&lines[2], &ids[2])] {
        assert!(line.starts_with(&format!("{id} → ")), "{line}");
        assert!(line.contains("75-100") && line.contains("0-25"), "{line}");
        assert!(line.contains("; at 90%: "), "{line}");
    }
    assert!(lines[1].contains("unknown track id"));
}

#[test]
fn hit_quick_run_reports_pooled_and_per_decade() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path());
    let outcomes = hits::run(&config).expect("runs");
    assert_eq!(outcomes.len(), 7, "pooled and six decades");
    check_outputs(dir.path(), &["hits"]);
    let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
    assert!(report.contains("Hits of the 1960s") && report.contains("ROC AUC"));
    let lines = hits::predict(
        &config,
        &["4GiXBCUF7H6YfNQsnBRIzl".into(), "x".into()],
        None,
    )
    .expect("predicts");
    assert!(
        lines[0].contains("hit (") && lines[0].contains("flop ("),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("unknown track id"));
}

#[test]
fn labels_map_to_the_published_class_names() {
    // Genre files: integer `label` k is the k-th name, and the problem keeps the integer.
    for set in GenreSet::ALL {
        let raw: HashMap<String, usize> = raw_labels(set.file()).into_iter().collect();
        let loaded =
            spotify_ml::dataset::load::genres::load_published(&data(), set, Strictness::Strict)
                .unwrap();
        let problem = genres::problem(set, &loaded.rows).unwrap();
        assert_eq!(problem.classes, set.label_names());
        for (id, &label) in problem.ids.iter().zip(&problem.y) {
            assert_eq!(raw[id], label, "{} {id}", set.file());
        }
    }
    assert_eq!(
        GenreSet::Seven.label_names(),
        [
            "jazz",
            "classical",
            "indie",
            "country",
            "rock",
            "hip-hop",
            "edm"
        ]
    );
    // Moods: the names in the authors' order.
    let tracks = spotify_ml::dataset::load::moods::load(&data(), Strictness::Strict).unwrap();
    let problem = moods::problem(&tracks.rows).unwrap();
    for (track, &label) in tracks.rows.iter().zip(&problem.y) {
        assert_eq!(
            problem.classes[label],
            track.labels.mood.as_deref().unwrap()
        );
    }
    // Hits: target 1 is `hit`.
    let decade =
        spotify_ml::dataset::load::hits::load_decade(&data(), 2000, Strictness::Strict).unwrap();
    let problem =
        hits::problem(ExperimentId::HitsOfDecade(2000), "x", &decade.rows, false).unwrap();
    for (track, &label) in decade.rows.iter().zip(&problem.y) {
        assert_eq!(
            problem.classes[label] == "hit",
            track.track.labels.hit == Some(true)
        );
    }
    // Popularity: the quartile bins.
    use spotify_ml::dataset::load::popularity::popularity_class;
    assert_eq!(
        [0.0, 24.0, 25.0, 49.0, 50.0, 74.0, 75.0, 100.0].map(popularity_class),
        [0, 0, 1, 1, 2, 2, 3, 3]
    );
}

#[test]
fn every_row_of_a_repeated_tid_is_dropped() {
    for (set, rows, kept) in [
        (GenreSet::Three, 983, 983),
        (GenreSet::Seven, 2145, 2139),
        (GenreSet::Moods, 1350, 1282),
    ] {
        let raw = raw_labels(set.file());
        assert_eq!(raw.len(), rows);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for (tid, _) in &raw {
            *counts.entry(tid).or_default() += 1;
        }
        let published =
            spotify_ml::dataset::load::genres::load_published(&data(), set, Strictness::Strict)
                .unwrap();
        assert_eq!(published.rows.len(), kept, "{}", set.file());
        for track in &published.rows {
            assert_eq!(
                counts[track.id.as_str()],
                1,
                "{} kept a repeated tid",
                track.id
            );
        }
        let expected = counts.values().filter(|&&n| n == 1).count();
        assert_eq!(published.rows.len(), expected);
    }
}

#[test]
fn stratified_splits_keep_class_proportions_within_one_row_per_class() {
    let loaded = spotify_ml::dataset::load::genres::load_published(
        &data(),
        GenreSet::Seven,
        Strictness::Strict,
    )
    .unwrap();
    let y = genres::problem(GenreSet::Seven, &loaded.rows)
        .unwrap()
        .y
        .to_vec();
    let n = y.len() as f64;
    let count = |rows: &[usize], class: usize| rows.iter().filter(|&&r| y[r] == class).count();
    for seed in [12345, 1, 2] {
        let split = stratified_train_test_split(&y, 0.2, seed).unwrap();
        let test_n = split.test.len() as f64;
        for class in 0..7 {
            let total = y.iter().filter(|&&c| c == class).count() as f64;
            // The test part holds the class's share of the test size, within one row.
            let expected = total / n * test_n;
            let got = count(&split.test, class) as f64;
            assert!(
                (got - expected).abs() <= 1.0,
                "class {class}: {got} vs {expected}"
            );
        }
    }
    for fold in stratified_k_fold(&y, 5, 12345).unwrap() {
        let fold_n = fold.test.len() as f64;
        for class in 0..7 {
            let total = y.iter().filter(|&&c| c == class).count() as f64;
            let got = count(&fold.test, class) as f64;
            assert!(
                (got - total / n * fold_n).abs() <= 1.0,
                "fold class {class}"
            );
        }
    }
}

#[test]
fn metrics_match_hand_computed_values() {
    // truth:     A A A B B C C C
    // predicted: A A B B C C C A
    let truth = [0, 0, 0, 1, 1, 2, 2, 2];
    let predicted = [0, 0, 1, 1, 2, 2, 2, 0];
    assert_eq!(accuracy(&truth, &predicted).unwrap(), 5.0 / 8.0);
    assert_eq!(
        confusion_counts(&truth, &predicted, 3).unwrap(),
        vec![vec![2, 1, 0], vec![0, 1, 1], vec![1, 0, 2]]
    );
    // A: P 2/3, R 2/3 → 2/3. B: P 1/2, R 1/2 → 1/2. C: P 2/3, R 2/3 → 2/3.
    let f1 = macro_f1(&truth, &predicted, 3).unwrap();
    assert!((f1 - (2.0 / 3.0 + 0.5 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
    // AUC: positives 0.9, 0.4, 0.6; negatives 0.3, 0.6, 0.1 → pairs won: 3 + 2 + (2 + ½) = 7.5
    // of 9.
    let auc = roc_auc(
        &[true, true, true, false, false, false],
        &[0.9, 0.4, 0.6, 0.3, 0.6, 0.1],
    )
    .unwrap();
    assert!((auc - 7.5 / 9.0).abs() < 1e-12);
    let proba = ndarray::array![
        [0.1, 0.9],
        [0.6, 0.4],
        [0.4, 0.6],
        [0.7, 0.3],
        [0.4, 0.6],
        [0.9, 0.1]
    ];
    let auc2 = roc_auc_proba(&[1, 1, 1, 0, 0, 0], proba.view()).unwrap();
    assert!((auc2 - 7.5 / 9.0).abs() < 1e-12);
    assert_eq!(
        prediction_line(
            "id",
            &["A".into(), "B".into(), "C".into()],
            &[0.18, 0.71, 0.11]
        ),
        "id → B (0.71), A (0.18), C (0.11)"
    );
}

#[test]
fn saved_blend_with_a_network_reloads_with_identical_probabilities() {
    let loaded = spotify_ml::dataset::load::genres::load_published(
        &data(),
        GenreSet::Three,
        Strictness::Strict,
    )
    .unwrap();
    let problem = genres::problem(GenreSet::Three, &loaded.rows).unwrap();
    let trees = Model::Boosting(BoostingClassifierParams::new().n_classes(3).n_rounds(20))
        .fit(problem.x.clone(), problem.y.clone())
        .unwrap();
    let network = Model::Network(Network::new(vec![16], 0.1, 3, 7).with(|p| p.max_epochs(3)))
        .fit(problem.x.clone(), problem.y.clone())
        .unwrap();
    let blend = Fitted::Blend(vec![(0.6, trees), (0.4, network)]);
    let before = blend.predict_proba(&problem.x).unwrap();
    let mut saved = SavedClassifier::new(
        ExperimentId::Genre3,
        Candidate::Blend,
        problem.classes.clone(),
        problem.feature_names.clone(),
        blend,
    );
    let dir = tempfile::tempdir().unwrap();
    saved.save(dir.path()).unwrap();
    let again = SavedClassifier::load(dir.path()).unwrap();
    assert_eq!(again.classes(), problem.classes);
    assert_eq!(again.predict_proba(&problem.x).unwrap(), before);
    // A damaged member is named.
    std::fs::write(dir.path().join("member0.json"), b"{").unwrap();
    let error = SavedClassifier::load(dir.path()).unwrap_err().to_string();
    assert!(error.contains("member0.json"), "{error}");
    let error = SavedClassifier::load(&dir.path().join("none"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("no trained model"), "{error}");
}
