//! End-to-end runs of the Task 1 and Task 2 examples with `--quick` on the real data: the
//! binaries cargo built for this test run are started as a user would start them.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::example;

fn data_dir() -> Option<PathBuf> {
    common::data_path(&["valence/chart_tracks.csv"])
}

fn run(name: &str, args: &[&str]) {
    let output = Command::new(example(name))
        .args(args)
        .output()
        .expect("start example");
    assert!(
        output.status.success(),
        "{name} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The `(id, valence)` of every row of a `predictions.csv`, whose interval must hold its
/// prediction inside 0..=1.
fn read_predictions(path: &Path) -> Vec<(String, f64)> {
    let text = std::fs::read_to_string(path).expect("predictions.csv");
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("id,valence,valence_low,valence_high"));
    lines
        .map(|line| {
            let fields: Vec<&str> = line.split(',').collect();
            assert_eq!(fields.len(), 4, "{line}");
            let [value, low, high] = [1, 2, 3].map(|i| fields[i].parse::<f64>().expect("a number"));
            assert!(
                0.0 <= low && low <= value && value <= high && high <= 1.0 && low < high,
                "{line}"
            );
            (fields[0].to_string(), value)
        })
        .collect()
}

/// The intervals' cross-fitted checks in a `metrics.json`: at 0.8 and 0.9 on every feature set
/// reported, coverage within 0.01 of nominal overall and within 0.05 in every decile of
/// predicted valence (the targets), narrower than the plain interval or within 0.01 of
/// it, and the two twin groups each covered.
fn assert_intervals_hold_their_coverage(metrics: &serde_json::Value) {
    let reports = metrics["intervals"].as_array().expect("an intervals table");
    assert!(reports.len() >= 2, "{reports:?}");
    for report in reports {
        let nominal = report["coverage"].as_f64().unwrap();
        let achieved = report["intervals"]["achieved"].as_f64().unwrap();
        assert!((achieved - nominal).abs() <= 0.01, "{report}");
        for decile in report["deciles"].as_array().unwrap() {
            let covered = decile["intervals"]["achieved"].as_f64().unwrap();
            assert!(
                (covered - nominal).abs() <= 0.05,
                "decile {decile} of {report}"
            );
        }
        let width = report["intervals"]["mean_width"].as_f64().unwrap();
        assert!(
            width <= report["plain"]["mean_width"].as_f64().unwrap() + 0.01,
            "{report}"
        );
        for group in ["model_tracks", "twin_tracks"] {
            let covered = report[group]["achieved"].as_f64().unwrap();
            assert!((covered - nominal).abs() <= 0.03, "{group} of {report}");
        }
    }
    for nominal in [0.8, 0.9] {
        assert!(reports
            .iter()
            .any(|r| r["coverage"].as_f64() == Some(nominal)));
    }
}

fn assert_predicts_every_id_in_order(data: &Path, predictions: &Path) {
    let ids: Vec<String> = std::fs::read_to_string(data.join("valence/spotify_ids.txt"))
        .expect("ids")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let predicted = read_predictions(predictions);
    assert_eq!(predicted.len(), 1162);
    assert_eq!(
        predicted
            .iter()
            .map(|(id, _)| id.clone())
            .collect::<Vec<_>>(),
        ids
    );
    assert!(predicted.iter().all(|(_, v)| (0.0..=1.0).contains(v)));
    // A model, not a constant: predictions spread out.
    let min = predicted.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let max = predicted
        .iter()
        .map(|p| p.1)
        .fold(f64::NEG_INFINITY, f64::max);
    assert!(max - min > 0.3, "predictions span only {min}..{max}");
}

/// The run's valence bundle (Task 1's or Task 2's, named `name`), loaded and given the
/// evaluation tracks' features (analysis means missing where a track has none), predicts
/// `predictions.csv` byte for byte, from an `ndarray` and from an Arrow record batch alike.
fn assert_bundle_reproduces_the_predictions(
    run: &Path,
    name: &str,
    eval: &[spotify_ml::dataset::Track],
) {
    use spotify_ml::bundle::{self, Predictions};
    let valence = bundle::load(&run.join("bundle")).expect("the bundle loads");
    assert_eq!(valence.manifest().name, name);
    let columns = spotify_ml::dataset::FeatureSet::audio_with_analysis().columns;
    let inputs = &valence.manifest().inputs;
    let rows = ndarray::Array2::from_shape_fn((eval.len(), inputs.len()), |(r, c)| {
        let column = columns
            .iter()
            .find(|column| column.name() == inputs[c].name)
            .expect("an input of the bundle is a feature");
        column.value(&eval[r]).unwrap_or(f64::NAN)
    });
    let (predictions, checked) = valence.predict(rows.view()).expect("the bundle predicts");
    assert_eq!(
        checked.accepted().len(),
        eval.len(),
        "{:?}",
        checked.rejected
    );
    let Predictions::Values {
        values,
        intervals: Some(intervals),
    } = predictions
    else {
        panic!("a valence bundle predicts values with intervals")
    };
    let mut text = String::from("id,valence,valence_low,valence_high\n");
    for ((track, value), (low, high)) in eval.iter().zip(&values).zip(&intervals) {
        text.push_str(&format!("{},{value:.6},{low:.6},{high:.6}\n", track.id));
    }
    let written = std::fs::read_to_string(run.join("predictions.csv")).unwrap();
    assert!(
        text == written,
        "the bundle's predictions differ from predictions.csv"
    );

    let fields: Vec<arrow_schema::Field> = inputs
        .iter()
        .map(|c| arrow_schema::Field::new(&c.name, arrow_schema::DataType::Float64, true))
        .collect();
    let arrays: Vec<arrow_array::ArrayRef> = (0..inputs.len())
        .rev()
        .map(|c| {
            let column: arrow_array::Float64Array = rows
                .column(c)
                .iter()
                .map(|v| (!v.is_nan()).then_some(*v))
                .collect();
            std::sync::Arc::new(column) as arrow_array::ArrayRef
        })
        .collect();
    // Columns in reverse order: the batch is read by name.
    let schema = arrow_schema::Schema::new(fields.into_iter().rev().collect::<Vec<_>>());
    let batch = arrow_array::RecordBatch::try_new(std::sync::Arc::new(schema), arrays).unwrap();
    let output = valence
        .predict_batch(&batch)
        .expect("the bundle predicts a batch");
    let names: Vec<&str> = output
        .columns
        .iter()
        .map(|(f, _)| f.name().as_str())
        .collect();
    assert_eq!(
        names,
        [name, &format!("{name}_low"), &format!("{name}_high")]
    );
    for (i, expected) in [
        values,
        intervals.iter().map(|i| i.0).collect(),
        intervals.iter().map(|i| i.1).collect(),
    ]
    .iter()
    .enumerate()
    {
        let column = output.columns[i]
            .1
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .expect("Float64 outputs");
        assert_eq!(arrow_array::Array::null_count(column), 0);
        assert_eq!(column.values().to_vec(), *expected, "{}", names[i]);
    }
}

#[test]
fn quick_task1_then_task2_run_end_to_end_on_the_real_data() {
    let Some(data) = data_dir() else { return };
    let out = tempfile::tempdir().expect("temp dir");
    let task1 = out.path().join("task1");
    let task2 = out.path().join("task2");
    let data_arg = data.to_string_lossy().into_owned();
    run(
        "task1_valence",
        &[
            "--quick",
            "--data",
            &data_arg,
            "--out",
            &task1.to_string_lossy(),
        ],
    );
    assert_predicts_every_id_in_order(&data, &task1.join("predictions.csv"));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(task1.join("metrics.json")).unwrap())
            .unwrap();
    for method in [
        "elastic_net",
        "knn",
        "decision_tree",
        "random_forest",
        "svr",
        "boosting",
        "blend",
    ] {
        for set in ["audio", "audio+analysis"] {
            let mae = metrics["cv_mae"][method][set].as_f64().unwrap_or(f64::NAN);
            assert!(mae > 0.0 && mae < 0.25, "{method} on {set}: CV MAE {mae}");
        }
    }
    assert!(
        metrics["best"]["cv_mae"].as_f64().unwrap()
            <= metrics["cv_mae"]["boosting"]["audio+analysis"]
                .as_f64()
                .unwrap()
    );
    assert_eq!(metrics["fallback"]["ids"][0], "4LaGu95Ui2s4vprSQYWUAZ");
    assert_intervals_hold_their_coverage(&metrics);
    let report = std::fs::read_to_string(task1.join("report.md")).unwrap();
    for image in report
        .lines()
        .filter_map(|l| l.strip_prefix("!["))
        .filter_map(|l| l.split_once("]("))
    {
        let file = image.1.trim_end_matches(')');
        assert!(
            task1.join(file).is_file(),
            "report links missing plot {file}"
        );
    }

    // The saved best model reloads and predicts the same valence as the run wrote.
    let model =
        spotify_ml::classic_models::ModelFile::load(&task1.join("best_audio_analysis.json"))
            .unwrap();
    let dir = spotify_ml::dataset::DataDir::at(&data).unwrap();
    let eval = spotify_ml::dataset::load::valence::load(&dir).unwrap().eval;
    let first = spotify_ml::dataset::FeatureSet::audio_with_analysis()
        .matrix(&eval[..5])
        .unwrap();
    let reloaded = model.predict(&first).unwrap();
    let written = read_predictions(&task1.join("predictions.csv"));
    if metrics["best"]["feature_set"] == "audio+analysis" {
        // Tracks with a near twin were written with the twin's valence instead.
        let twins = &metrics["near_twins"][1]["eval"];
        for (i, (value, (_, written))) in reloaded.iter().zip(&written).enumerate() {
            let expected = twins[i].as_f64().unwrap_or(value.clamp(0.0, 1.0));
            assert!((expected - written).abs() < 1e-6, "track {i}");
        }
    }
    assert_bundle_reproduces_the_predictions(&task1, "valence", &eval);

    // Near twins are many among the chart tracks: correcting them lowers the CV MAE, and the
    // evaluation tracks that take a twin's valence are the ones the report counts.
    let twins = &metrics["near_twins"][1];
    assert!(twins["cv_mae"].as_f64().unwrap() < twins["cv_mae_model"].as_f64().unwrap());
    let replaced = twins["eval"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&written)
        .filter(|(twin, (_, written))| twin.as_f64().is_some_and(|v| (v - written).abs() < 1e-6))
        .count();
    assert!(
        replaced > 0 && replaced <= metrics["predictions"]["from_twins"].as_u64().unwrap() as usize
    );

    run(
        "task2_valence_nn",
        &[
            "--quick",
            "--data",
            &data_arg,
            "--task1",
            &task1.to_string_lossy(),
            "--out",
            &task2.to_string_lossy(),
        ],
    );
    assert_predicts_every_id_in_order(&data, &task2.join("predictions.csv"));
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(task2.join("metrics.json")).unwrap())
            .unwrap();
    for set in ["audio", "audio+analysis"] {
        assert!(metrics["cv_mae"]["nn"][set].as_f64().unwrap() < 0.25);
        assert!(metrics["cv_mae"]["blend"][set].as_f64().unwrap() < 0.25);
    }
    assert!(["with", "without"].contains(&metrics["answer"].as_str().unwrap()));
    assert_intervals_hold_their_coverage(&metrics);
    assert!(task2.join("learning_curve_audio_analysis.png").is_file());
    // Task 2's choice, networks or not, is a bundle too, and predicts its predictions.csv.
    assert_bundle_reproduces_the_predictions(&task2, "valence_nn", &eval);
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(task2.join("bundle").join("bundle.json")).unwrap(),
    )
    .unwrap();
    let best = &metrics["best"];
    assert_eq!(
        manifest["training"]["model"].as_str().unwrap(),
        format!(
            "{} on {}",
            best["method"].as_str().unwrap(),
            best["feature_set"].as_str().unwrap()
        )
    );
}

#[test]
fn task2_refuses_task1_outputs_from_other_folds() {
    let Some(data) = data_dir() else { return };
    let out = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        out.path().join("oof.csv"),
        "id,fold,boosting@audio\nnot-a-track,0,0.5\n",
    )
    .unwrap();
    let output = Command::new(example("task2_valence_nn"))
        .args([
            "--quick",
            "--data",
            &data.to_string_lossy(),
            "--task1",
            &out.path().to_string_lossy(),
            "--out",
            &out.path().join("t2").to_string_lossy(),
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("oof.csv:2"), "{stderr}");
}
