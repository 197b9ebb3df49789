//! What the scoring tests share: a small valence bundle and catalogue files written here.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use ndarray::{Array1, Array2};
use rand::{Rng, SeedableRng};
use spotify_ml::bundle::{self, InputColumn, RoutePart, Training, ValenceParts};
use spotify_ml::classic_models::{ModelFile, TwinLookup};
use spotify_ml::dataset::FeatureSet;
use spotify_ml::evaluation::conformal::{Difficulty, IntervalModel};
use spotify_ml::valence::{Budget, Method};

/// The audio features' input columns, as bundles describe them.
pub fn audio_columns() -> Vec<InputColumn> {
    bundle::schema::input_columns(&FeatureSet::audio().names()).unwrap()
}

/// Row `r` of a catalogue from `seed`, inside every column's range.
fn good_row(columns: &[InputColumn], seed: u64, r: u64) -> Vec<f64> {
    let mut rng =
        rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ r.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    columns
        .iter()
        .map(|c| rng.gen_range(c.min..=c.max))
        .collect()
}

/// A k-NN valence bundle on the audio features (with near twins and intervals), written to
/// `dir`.
pub fn valence_bundle(dir: &Path) -> PathBuf {
    let names = FeatureSet::audio().names();
    let columns = audio_columns();
    let x = Array2::from_shape_fn((150, columns.len()), |(r, c)| {
        good_row(&columns, 1, r as u64)[c]
    });
    let y: Array1<f64> = x.column(1).mapv(|v| v.clamp(0.0, 1.0));
    let params = Method::Knn.search(Budget::Quick, 1).candidates().unwrap()[0].clone();
    let model = ModelFile::new(Method::Knn.fit(&params, &x, &y).unwrap(), names, "valence");
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
                model: bundle::RouteModel::Model(&model),
                twins: Some((TwinLookup::fit(x.view(), y.view()).unwrap(), 0.5)),
                intervals: &intervals,
            },
            fallback: None,
            training: Training {
                data_set: "synthetic".into(),
                rows: 150,
                date: "2026-12-05".into(),
                crate_version: "0.1.0".into(),
                seed: 1,
                model: "k-NN".into(),
            },
            scores: BTreeMap::new(),
        },
    )
    .unwrap();
    path
}

/// A catalogue batch of rows `first..first + n`: an id and the audio features; every 50th row
/// is bad (a value missing, NaN or out of range, in turn).
pub fn catalogue_batch(seed: u64, first: u64, n: usize) -> RecordBatch {
    let columns = audio_columns();
    let rows: Vec<Vec<Option<f64>>> = (first..first + n as u64)
        .map(|r| {
            let mut row: Vec<Option<f64>> =
                good_row(&columns, seed, r).into_iter().map(Some).collect();
            if r % 50 == 7 {
                let c = (r / 50) as usize % columns.len();
                row[c] = match (r / 50) % 3 {
                    0 => None,
                    1 => Some(f64::NAN),
                    _ => Some(columns[c].max + 100.0),
                };
            }
            row
        })
        .collect();
    let ids: StringArray = (first..first + n as u64)
        .map(|r| Some(format!("track{r:08}")))
        .collect();
    let mut fields = vec![Field::new("id", DataType::Utf8, false)];
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(ids)];
    // Columns in reverse order, with an unused text column: inputs are matched by name.
    for (c, column) in columns.iter().enumerate().rev() {
        fields.push(Field::new(&column.name, DataType::Float64, true));
        let values: Float64Array = rows.iter().map(|row| row[c]).collect();
        arrays.push(Arc::new(values));
    }
    fields.push(Field::new("genre", DataType::Utf8, true));
    arrays.push(Arc::new(StringArray::from(vec![Some("pop"); n])));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// Writes `rows` catalogue rows to a Parquet file in row groups of `group` rows.
pub fn write_parquet(path: &Path, seed: u64, rows: u64, group: usize) {
    let schema = catalogue_batch(seed, 0, 1).schema();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(group))
        .build();
    let file = std::fs::File::create(path).unwrap();
    let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, Some(props)).unwrap();
    let mut first = 0;
    while first < rows {
        let n = (rows - first).min(10_000) as usize;
        writer.write(&catalogue_batch(seed, first, n)).unwrap();
        first += n as u64;
    }
    writer.close().unwrap();
}

/// Writes `rows` catalogue rows to a CSV file with a header.
pub fn write_csv(path: &Path, seed: u64, rows: u64) {
    let file = std::fs::File::create(path).unwrap();
    let mut writer = arrow_csv::WriterBuilder::new()
        .with_header(true)
        .build(file);
    let mut first = 0;
    while first < rows {
        let n = (rows - first).min(10_000) as usize;
        writer.write(&catalogue_batch(seed, first, n)).unwrap();
        first += n as u64;
    }
}

/// Every part of an output folder, read back in order as one batch.
pub fn read_output(dir: &Path) -> RecordBatch {
    let mut parts: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("part-") && (name.ends_with(".parquet") || name.ends_with(".csv"))
        })
        .collect();
    parts.sort();
    let mut batches = Vec::new();
    for part in &parts {
        if part.extension().unwrap() == "parquet" {
            let file = std::fs::File::open(part).unwrap();
            let reader =
                parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                    .unwrap()
                    .build()
                    .unwrap();
            batches.extend(reader.map(|b| b.unwrap()));
        } else {
            let schema = Arc::new(
                arrow_csv::reader::Format::default()
                    .with_header(true)
                    .infer_schema(std::fs::File::open(part).unwrap(), None)
                    .unwrap()
                    .0,
            );
            let reader = arrow_csv::ReaderBuilder::new(schema)
                .with_header(true)
                .build(std::fs::File::open(part).unwrap())
                .unwrap();
            batches.extend(reader.map(|b| b.unwrap()));
        }
    }
    let schema = batches[0].schema();
    arrow_select_concat(&schema, &batches)
}

fn arrow_select_concat(schema: &arrow_schema::SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    arrow_select::concat::concat_batches(schema, batches).unwrap()
}

/// A Float64 column of a batch.
pub fn floats(batch: &RecordBatch, name: &str) -> Vec<Option<f64>> {
    let column = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    let values = column.as_any().downcast_ref::<Float64Array>().unwrap();
    values.iter().collect()
}

/// A text column of a batch.
pub fn texts(batch: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let column = batch
        .column_by_name(name)
        .unwrap_or_else(|| panic!("no column {name}"));
    let values = column.as_any().downcast_ref::<StringArray>().unwrap();
    values.iter().map(|v| v.map(String::from)).collect()
}

/// An error's message and every cause's, joined.
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

/// The example binary built next to this test's binary.
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: cargo test builds the examples",
        path.display()
    );
    path
}
