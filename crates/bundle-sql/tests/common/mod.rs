//! What the SQL tests (and the cluster crate's) share: small bundles fitted here, a catalogue
//! made by `catalogue::make` from the shared data, the streaming scorer's output for it, and
//! row-for-row comparison.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use catalogue::make::{CatalogueParams, Sources, WriteOptions};
use linfa::prelude::*;
use linfa::DatasetBase;
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use spotify_ml::bundle::{self, InputColumn, RoutePart, Training, ValenceParts};
use spotify_ml::classic_models::FittedClassifier;
use spotify_ml::classic_models::{BoostingClassifierParams, ModelFile};
use spotify_ml::classify::saved::SavedClassifier;
use spotify_ml::classify::{Candidate, ExperimentId, Fitted, Learner};
use spotify_ml::dataset::{DataDir, FeatureSet};
use spotify_ml::evaluation::conformal::{Difficulty, IntervalModel};
use spotify_ml::valence::{Budget, Method};

/// The shared data directory, or `None` (with a message) when it is absent: the catalogue is
/// resampled from it.
pub fn data_dir() -> Option<DataDir> {
    match DataDir::resolve(None) {
        Ok(dir) => Some(dir),
        Err(error) => {
            eprintln!("skipped: the shared data sets are needed to make a catalogue ({error})");
            None
        }
    }
}

fn training(model: &str, rows: usize) -> Training {
    Training {
        data_set: "synthetic".into(),
        rows,
        date: "2026-12-05".into(),
        crate_version: "0.1.0".into(),
        seed: 1,
        model: model.into(),
    }
}

/// `n` rows inside every column's range, from `seed`.
fn random_rows(columns: &[InputColumn], n: usize, seed: u64) -> Array2<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((n, columns.len()), |(_, c)| {
        let column = &columns[c];
        rng.gen_range(column.min..=column.max)
    })
}

fn columns(features: &FeatureSet) -> Vec<InputColumn> {
    bundle::schema::input_columns(&features.names()).expect("the workspace's feature names")
}

/// A valence bundle: k-NN on the audio features and analysis means, with an audio-only k-NN
/// for tracks without analysis (its optional inputs), and intervals.
pub fn valence_bundle(dir: &Path) -> PathBuf {
    let knn = |features: &FeatureSet, seed: u64| {
        let columns = columns(features);
        let x = random_rows(&columns, 120, seed);
        let y: Array1<f64> = x.column(1).mapv(|v| v.clamp(0.0, 1.0));
        let params = Method::Knn.search(Budget::Quick, 1).candidates().unwrap()[0].clone();
        let model = Method::Knn.fit(&params, &x, &y).unwrap();
        ModelFile::new(model, features.names(), "valence")
    };
    let (best, fallback) = (
        knn(&FeatureSet::audio_with_analysis(), 1),
        knn(&FeatureSet::audio(), 2),
    );
    let flat = || Difficulty {
        edges: vec![0.5],
        scale: vec![1.0, 1.5],
    };
    let intervals = IntervalModel {
        coverage: 0.9,
        groups: vec![(0.2, flat()), (0.05, flat())],
    };
    let path = dir.join("valence");
    bundle::write_valence_bundle(
        &path,
        ValenceParts {
            name: "valence",
            best: RoutePart {
                model: bundle::RouteModel::Model(&best),
                twins: None,
                intervals: &intervals,
            },
            fallback: Some(RoutePart {
                model: bundle::RouteModel::Model(&fallback),
                twins: None,
                intervals: &intervals,
            }),
            training: training("k-NN", 120),
            scores: BTreeMap::new(),
        },
    )
    .unwrap();
    path
}

/// A mood classifier bundle: boosting on the audio features, four classes.
pub fn moods_bundle(dir: &Path) -> PathBuf {
    let features = FeatureSet::audio();
    let columns = columns(&features);
    let x = random_rows(&columns, 200, 3);
    let energy = columns.iter().position(|c| c.name == "energy").unwrap();
    let y: Array1<usize> = x.column(energy).mapv(|v| ((v * 4.0) as usize).min(3));
    let boosting = BoostingClassifierParams::new()
        .n_classes(4)
        .n_rounds(10)
        .fit(&DatasetBase::new(x, y))
        .unwrap();
    let fitted = Fitted::Classic(FittedClassifier::Boosting(boosting));
    let mut saved = SavedClassifier::new(
        ExperimentId::Moods,
        Candidate::Single(Learner::Boosting),
        ["calm", "sad", "happy", "energetic"]
            .map(String::from)
            .to_vec(),
        features.names(),
        fitted,
    );
    let path = dir.join("moods");
    bundle::save_classifier_bundle(
        &path,
        &mut saved,
        training("boosting", 200),
        BTreeMap::new(),
        // Tempered probabilities and a set column, so the engines are compared on them too.
        Some(bundle::ClassCalibration {
            temperature: 1.3,
            set_coverage: 0.9,
            set_threshold: 0.6,
        }),
    )
    .unwrap();
    path
}

/// Writes a catalogue of `rows` rows from `seed` (5% without analysis, 1% bad rows) to `path`.
pub fn catalogue(data: &DataDir, path: &Path, rows: u64, seed: u64) {
    let sources = Sources::load(data).unwrap();
    CatalogueParams::new(rows, seed)
        .check()
        .unwrap()
        .write(&sources, path, &WriteOptions::default())
        .unwrap();
}

/// The streaming scorer's output for `input` and `bundles`, as one batch in input order.
pub fn scored(input: &[PathBuf], bundles: &[PathBuf], dir: &Path) -> RecordBatch {
    let output = dir.join("scored.parquet");
    let mut job = scoring::ScoreJob::new(input.to_vec(), bundles.to_vec(), output.clone());
    job.progress = false;
    scoring::score(&job).unwrap();
    let mut parts: Vec<PathBuf> = std::fs::read_dir(&output)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    let mut batches = Vec::new();
    for part in parts {
        let file = std::fs::File::open(part).unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        batches.extend(reader.map(Result::unwrap));
    }
    arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// A cell, comparable bit for bit: a float's bits, a text, or null.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Cell {
    /// A `Float64`'s bits.
    Float(u64),
    /// A text.
    Text(String),
    /// Null.
    Null,
}

/// The cells of `columns` for each row, keyed by the `id` column.
pub fn rows_by_id(batches: &[RecordBatch], columns: &[&str]) -> HashMap<String, Vec<Cell>> {
    let mut rows = HashMap::new();
    for batch in batches {
        let ids = batch.column_by_name("id").expect("an id column");
        for r in 0..batch.num_rows() {
            let Cell::Text(id) = cell(ids.as_ref(), r) else {
                panic!("an id that is not text")
            };
            let cells = columns
                .iter()
                .map(|name| {
                    let column = batch
                        .column_by_name(name)
                        .unwrap_or_else(|| panic!("no column {name}"));
                    cell(column.as_ref(), r)
                })
                .collect();
            let previous = rows.insert(id.clone(), cells);
            assert!(previous.is_none(), "id {id} twice");
        }
    }
    rows
}

fn cell(column: &dyn Array, r: usize) -> Cell {
    if column.is_null(r) {
        return Cell::Null;
    }
    match column.data_type() {
        DataType::Float64 => Cell::Float(column.as_primitive::<Float64Type>().value(r).to_bits()),
        DataType::Utf8 => Cell::Text(column.as_string::<i32>().value(r).to_string()),
        DataType::Utf8View => Cell::Text(column.as_string_view().value(r).to_string()),
        other => panic!("a column of type {other}"),
    }
}

/// Asserts that two tables hold the same rows (by id) with the same cells, bit for bit, and
/// returns how many rows had a null and a non-null cell.
pub fn assert_same_rows(
    expected: &HashMap<String, Vec<Cell>>,
    found: &HashMap<String, Vec<Cell>>,
    columns: &[&str],
) -> (usize, usize) {
    assert_eq!(expected.len(), found.len(), "row counts");
    let (mut nulls, mut values) = (0, 0);
    for (id, cells) in expected {
        let other = found.get(id).unwrap_or_else(|| panic!("id {id} missing"));
        for ((name, a), b) in columns.iter().zip(cells).zip(other) {
            assert_eq!(a, b, "id {id}, column {name}");
            if *a == Cell::Null {
                nulls += 1;
            } else {
                values += 1;
            }
        }
    }
    (nulls, values)
}

/// The bundles' output columns, as the scorer names them and the SQL functions are named.
pub fn output_columns(bundles: &[PathBuf]) -> Vec<String> {
    bundles
        .iter()
        .flat_map(|path| {
            let loaded = bundle::load(path).unwrap();
            loaded
                .manifest()
                .outputs
                .iter()
                .map(|c| c.name.clone())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// A SQL call of each output function of the bundles with its inputs by position, aliased to
/// the output's name (`moods_p_calm(danceability, …) AS moods_p_calm`).
pub fn select_list(bundles: &[PathBuf], named: bool) -> String {
    let mut calls = Vec::new();
    for path in bundles {
        let loaded = bundle::load(path).unwrap();
        let manifest = loaded.manifest();
        let arguments: Vec<String> = manifest
            .inputs
            .iter()
            .map(|c| {
                if named {
                    format!("{0} => {0}", c.name)
                } else {
                    c.name.clone()
                }
            })
            .collect();
        for output in &manifest.outputs {
            calls.push(format!(
                "{}({}) AS {}",
                output.name,
                arguments.join(", "),
                output.name
            ));
        }
    }
    calls.join(", ")
}

/// A bundle's inputs as positional SQL arguments, in the manifest's order.
pub fn arguments(path: &Path) -> String {
    let loaded = bundle::load(path).unwrap();
    let names: Vec<&str> = loaded
        .manifest()
        .inputs
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    names.join(", ")
}

/// An error and its causes, joined.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(" / ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}
