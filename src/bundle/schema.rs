//! Input columns: their specification by name, the check of each row against it, and the
//! reading of a bundle's columns out of an Arrow record batch (by name, in any order).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, Float64Array, RecordBatch, StringArray};
use arrow_schema::DataType;
use dataset::validate::{self, Range};
use dataset::AudioFeature;
use ndarray::{Array2, ArrayView2};

use super::manifest::{InputColumn, InputType};
use super::BundleError;

/// The specification of a column a model may take, by its name in the shared files: audio
/// features, analysis means, the hit data's `chorus_hit`, `sections` and `decade`. `optional`
/// is set for the analysis means. `None` for a name the workspace does not know.
pub fn known_column(name: &str) -> Option<InputColumn> {
    let (unit, range, optional): (&str, Range, bool) =
        if let Some(feature) = AudioFeature::from_name(name) {
            (audio_unit(feature), validate::feature_range(feature), false)
        } else if let Some(i) = name.strip_prefix("pitch_") {
            index_below_12(i)?;
            (
                "mean chroma of the pitch class, 0..1",
                validate::PITCH,
                true,
            )
        } else if let Some(i) = name.strip_prefix("timbre_") {
            index_below_12(i)?;
            (
                "mean timbre coefficient (unbounded; 1e6 in magnitude at most here)",
                Range {
                    min: -1e6,
                    max: 1e6,
                },
                true,
            )
        } else {
            match name {
                "chorus_hit" => ("seconds", validate::CHORUS_HIT, false),
                "sections" => ("count", validate::SECTIONS, false),
                "decade" => ("year the decade starts", validate::DECADE, false),
                _ => return None,
            }
        };
    Some(InputColumn {
        name: name.to_string(),
        dtype: InputType::Float64,
        unit: unit.to_string(),
        min: range.min,
        max: range.max,
        optional,
        categories: Vec::new(),
        imputed: None,
    })
}

fn index_below_12(i: &str) -> Option<()> {
    (i.parse::<usize>().ok()? < 12 && !i.starts_with('+')).then_some(())
}

fn audio_unit(feature: AudioFeature) -> &'static str {
    match feature {
        AudioFeature::Key => "pitch class (-1: none)",
        AudioFeature::Mode => "0 minor, 1 major",
        AudioFeature::Loudness => "dB",
        AudioFeature::Tempo => "beats per minute",
        AudioFeature::DurationMs => "milliseconds",
        AudioFeature::TimeSignature => "beats per bar",
        _ => "score, 0..1",
    }
}

/// The input columns of a model's feature names, in order; an unknown name is an error.
pub fn input_columns(names: &[String]) -> Result<Vec<InputColumn>, String> {
    names
        .iter()
        .map(|name| {
            known_column(name).ok_or_else(|| {
                format!("column {name:?} is not an audio feature, analysis mean or hit column")
            })
        })
        .collect()
}

/// Why a row got no prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Problem {
    /// A value the bundle needs is missing (null).
    Missing,
    /// A value is NaN or infinite.
    NotANumber,
    /// A value lies outside the column's valid range.
    OutOfRange,
    /// A text column's value is none of its categories (a genre the model was not trained on).
    UnknownCategory,
}

impl Problem {
    /// The reason's name in summaries.
    pub fn name(self) -> &'static str {
        match self {
            Problem::Missing => "missing",
            Problem::NotANumber => "not_a_number",
            Problem::OutOfRange => "out_of_range",
            Problem::UnknownCategory => "unknown_category",
        }
    }
}

/// The first problem of a row: which input column (index into the manifest's inputs), what is
/// wrong and the value (NaN when missing).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rejection {
    /// The input column.
    pub column: usize,
    /// What is wrong.
    pub problem: Problem,
    /// The value found (NaN when missing).
    pub value: f64,
}

/// A bundle's input rows, checked: the matrix (columns in manifest order; optional columns NaN
/// when a row lacks them all, an imputed column NaN where a row lacks it, a text column the
/// index of its category; rows that failed are NaN throughout) and each row's rejection.
#[derive(Clone, Debug)]
pub struct CheckedRows {
    /// One row per input row.
    pub rows: Array2<f64>,
    /// Per row, why it gets no prediction (`None`: it gets one).
    pub rejected: Vec<Option<Rejection>>,
}

impl CheckedRows {
    /// The indices of the rows that get a prediction.
    pub fn accepted(&self) -> Vec<usize> {
        (0..self.rejected.len())
            .filter(|&r| self.rejected[r].is_none())
            .collect()
    }

    /// Each row's problem as (input column, problem), `None` for an accepted row.
    pub fn problems(&self) -> Vec<Option<(usize, Problem)>> {
        self.rejected
            .iter()
            .map(|r| r.map(|r| (r.column, r.problem)))
            .collect()
    }
}

/// Checks every row of `rows` (manifest column order, NaN for missing) against `inputs`. A
/// required column must be present, finite and in range. Optional columns are present together
/// or missing together; when some are present, each must be finite and in range. A column with
/// an imputed value may be missing. A text column holds its category's index: anything else is
/// [`Problem::UnknownCategory`]. With `nulls` (from a record batch), only nulls are missing;
/// without, NaN is missing in an optional, imputed or text column.
pub fn check_rows(
    inputs: &[InputColumn],
    rows: ArrayView2<'_, f64>,
    nulls: Option<&[Vec<bool>]>,
) -> CheckedRows {
    let mut checked = rows.to_owned();
    let mut rejected = vec![None; rows.nrows()];
    for (r, row) in rows.rows().into_iter().enumerate() {
        let is_null = |c: usize| nulls.is_some_and(|n| n[c][r]);
        let all_optional_missing = inputs
            .iter()
            .enumerate()
            .filter(|(_, col)| col.optional)
            .all(|(c, _)| is_null(c) || (nulls.is_none() && row[c].is_nan()));
        let any_optional = inputs.iter().any(|c| c.optional);
        let problem = inputs.iter().enumerate().find_map(|(c, col)| {
            let value = row[c];
            if col.optional && any_optional && all_optional_missing {
                return None;
            }
            let text = col.dtype == InputType::Utf8;
            let missing = is_null(c)
                || (nulls.is_none()
                    && value.is_nan()
                    && (col.optional || col.imputed.is_some() || text));
            let problem = if missing && col.imputed.is_some() {
                return None;
            } else if missing {
                Problem::Missing
            } else if text && !(value.fract() == 0.0 && value >= col.min && value <= col.max) {
                Problem::UnknownCategory
            } else if !value.is_finite() {
                Problem::NotANumber
            } else if value < col.min || value > col.max {
                Problem::OutOfRange
            } else {
                return None;
            };
            Some(Rejection {
                column: c,
                problem,
                value: if matches!(problem, Problem::Missing | Problem::UnknownCategory) {
                    f64::NAN
                } else {
                    value
                },
            })
        });
        if problem.is_some() {
            checked.row_mut(r).fill(f64::NAN);
        } else if any_optional && all_optional_missing {
            for (c, _) in inputs.iter().enumerate().filter(|(_, col)| col.optional) {
                checked[[r, c]] = f64::NAN;
            }
        }
        rejected[r] = problem;
    }
    CheckedRows {
        rows: checked,
        rejected,
    }
}

/// Reads a bundle's input columns out of a record batch, matched by name, and checks every row.
/// A column the bundle needs and the batch lacks is [`BundleError::MissingColumn`] (an optional
/// column, or one imputed where missing, may be absent: every row lacks it); a number
/// column that is not numeric, or a text column that is not text, is [`BundleError::WrongType`].
/// Integer columns are read as numbers, a text column's values as their categories' indices.
pub fn rows_of_batch(
    bundle: &str,
    inputs: &[InputColumn],
    batch: &RecordBatch,
) -> Result<CheckedRows, BundleError> {
    let n = batch.num_rows();
    let mut matrix = Array2::<f64>::from_elem((n, inputs.len()), f64::NAN);
    let mut nulls = Vec::with_capacity(inputs.len());
    let schema = batch.schema();
    for (c, column) in inputs.iter().enumerate() {
        let Ok(index) = schema.index_of(&column.name) else {
            if column.optional || column.imputed.is_some() {
                nulls.push(vec![true; n]);
                continue;
            }
            return Err(BundleError::MissingColumn {
                bundle: bundle.to_string(),
                column: column.name.clone(),
            });
        };
        let array = batch.column(index);
        let wrong_type = || BundleError::WrongType {
            bundle: bundle.to_string(),
            column: column.name.clone(),
            found: array.data_type().to_string(),
        };
        let values = match column.dtype {
            InputType::Float64 => as_f64(array).ok_or_else(wrong_type)?,
            InputType::Utf8 => category_indices(column, array).ok_or_else(wrong_type)?,
        };
        let mut is_null = vec![false; n];
        for r in 0..n {
            if values.is_null(r) {
                is_null[r] = true;
            } else {
                matrix[[r, c]] = values.value(r);
            }
        }
        nulls.push(is_null);
    }
    Ok(check_rows(inputs, matrix.view(), Some(&nulls)))
}

/// Whether a column of this type is read as text: `Utf8`, `LargeUtf8`, `Utf8View`, or a
/// dictionary of one of them (as a pandas category is written to Parquet).
pub fn is_text_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => true,
        DataType::Dictionary(_, values) => {
            matches!(
                **values,
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
            )
        }
        _ => false,
    }
}

/// A text array's values as the indices of `column`'s categories (`-1` for any other text; null
/// stays null); `None` unless [`is_text_type`]. A dictionary's values are looked up once each.
fn category_indices(column: &InputColumn, array: &ArrayRef) -> Option<Float64Array> {
    let index =
        |value: Option<&str>| value.map(|text| column.category(text).map_or(-1.0, |i| i as f64));
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().iter().map(index).collect(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().map(index).collect(),
        DataType::Utf8View => array.as_string_view().iter().map(index).collect(),
        data_type if is_text_type(data_type) => {
            let dictionary = array.as_any_dictionary_opt()?;
            let values = category_indices(column, dictionary.values())?;
            if values.is_empty() {
                // No values: every key is null.
                return Some((0..array.len()).map(|_| None::<f64>).collect());
            }
            let keys = dictionary.normalized_keys();
            (0..array.len())
                .map(|r| {
                    let key = keys[r];
                    (!array.is_null(r) && !values.is_null(key)).then(|| values.value(key))
                })
                .collect()
        }
        _ => return None,
    })
}

/// A numeric array as `Float64` (integers and `Float32` converted exactly); `None` for other
/// types.
fn as_f64(array: &ArrayRef) -> Option<Float64Array> {
    macro_rules! convert {
        ($t:ty) => {
            array
                .as_primitive::<$t>()
                .iter()
                .map(|v| v.map(|v| v as f64))
                .collect::<Float64Array>()
        };
    }
    Some(match array.data_type() {
        DataType::Float64 => array.as_primitive::<Float64Type>().clone(),
        DataType::Float32 => array
            .as_primitive::<Float32Type>()
            .iter()
            .map(|v| v.map(f64::from))
            .collect(),
        DataType::Int8 => convert!(Int8Type),
        DataType::Int16 => convert!(Int16Type),
        DataType::Int32 => convert!(Int32Type),
        DataType::Int64 => convert!(Int64Type),
        DataType::UInt8 => convert!(UInt8Type),
        DataType::UInt16 => convert!(UInt16Type),
        DataType::UInt32 => convert!(UInt32Type),
        DataType::UInt64 => convert!(UInt64Type),
        _ => return None,
    })
}

/// A `Float64` output column: `values[i]` for accepted row `i` of `accepted`, null elsewhere.
pub fn float_column(n: usize, accepted: &[usize], values: &[f64]) -> ArrayRef {
    let mut out: Vec<Option<f64>> = vec![None; n];
    for (&row, &v) in accepted.iter().zip(values) {
        out[row] = Some(v);
    }
    Arc::new(Float64Array::from(out))
}

/// A `Utf8` output column: `labels[i]` for accepted row `i`, null elsewhere.
pub fn text_column(n: usize, accepted: &[usize], labels: &[&str]) -> ArrayRef {
    let mut out: Vec<Option<&str>> = vec![None; n];
    for (&row, &v) in accepted.iter().zip(labels) {
        out[row] = Some(v);
    }
    Arc::new(StringArray::from(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Float32Array, Int64Array};
    use arrow_schema::{Field, Schema};
    use ndarray::array;

    fn columns() -> Vec<InputColumn> {
        input_columns(&[
            "energy".into(),
            "key".into(),
            "pitch_0".into(),
            "pitch_1".into(),
        ])
        .unwrap()
    }

    #[test]
    fn unknown_and_malformed_names_are_refused() {
        assert!(known_column("pitch_12").is_none());
        assert!(known_column("pitch_+1").is_none());
        assert!(known_column("colour").is_none());
        assert!(known_column("timbre_11").unwrap().optional);
        assert!(!known_column("tempo").unwrap().optional);
    }

    #[test]
    fn each_row_gets_its_first_problem_and_optional_columns_go_together() {
        let rows = array![
            [0.5, 3.0, 0.1, 0.2],
            [0.5, 3.0, f64::NAN, f64::NAN],
            [f64::NAN, 3.0, 0.1, 0.2],
            [0.5, 12.0, 0.1, 0.2],
            [0.5, 3.0, 0.1, f64::NAN],
            [0.5, 3.0, 0.1, 1.5],
        ];
        let checked = check_rows(&columns(), rows.view(), None);
        let problems = checked.problems();
        assert_eq!(
            problems,
            vec![
                None,
                None,
                Some((0, Problem::NotANumber)),
                Some((1, Problem::OutOfRange)),
                Some((3, Problem::Missing)),
                Some((3, Problem::OutOfRange)),
            ]
        );
        assert_eq!(checked.accepted(), vec![0, 1]);
        assert!(checked.rows.row(2).iter().all(|v| v.is_nan()));
    }

    #[test]
    fn batches_are_read_by_name_in_any_order_with_integers_as_numbers() {
        let schema = Schema::new(vec![
            Field::new("pitch_1", DataType::Float32, true),
            Field::new("key", DataType::Int64, true),
            Field::new("energy", DataType::Float64, true),
            Field::new("pitch_0", DataType::Float64, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Float32Array::from(vec![Some(0.25), None, Some(0.5)])),
                Arc::new(Int64Array::from(vec![Some(3), Some(4), None])),
                Arc::new(Float64Array::from(vec![0.5, 0.6, 0.7])),
                Arc::new(Float64Array::from(vec![Some(0.1), None, Some(0.3)])),
            ],
        )
        .unwrap();
        let checked = rows_of_batch("b", &columns(), &batch).unwrap();
        assert_eq!(checked.rows.row(0).to_vec(), vec![0.5, 3.0, 0.1, 0.25]);
        assert!(checked.rejected[1].is_none(), "analysis missing together");
        assert_eq!(checked.rows[[1, 1]], 4.0);
        let third = checked.rejected[2].unwrap();
        assert_eq!((third.column, third.problem), (1, Problem::Missing));
    }

    /// `energy`, an artist popularity imputed with 40 where missing, and a genre of two.
    fn song_columns() -> Vec<InputColumn> {
        let mut artist = known_column("energy").unwrap();
        artist.name = "artist_popularity".into();
        artist.max = 100.0;
        artist.imputed = Some(40.0);
        let genre = InputColumn {
            name: "genre".into(),
            dtype: InputType::Utf8,
            unit: "genre".into(),
            min: 0.0,
            max: 1.0,
            optional: false,
            categories: vec!["pop".into(), "rock".into()],
            imputed: None,
        };
        vec![known_column("energy").unwrap(), artist, genre]
    }

    #[test]
    fn text_columns_read_as_category_indices_and_imputed_columns_may_be_missing() {
        use arrow_array::LargeStringArray;
        let schema = Schema::new(vec![
            Field::new("genre", DataType::LargeUtf8, true),
            Field::new("energy", DataType::Float64, true),
            Field::new("artist_popularity", DataType::Float64, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(LargeStringArray::from(vec![
                    Some("rock"),
                    Some("pop"),
                    Some("jazz"),
                    None,
                    Some("Rock"),
                ])),
                Arc::new(Float64Array::from(vec![0.5; 5])),
                Arc::new(Float64Array::from(vec![
                    Some(70.0),
                    None,
                    Some(1.0),
                    Some(1.0),
                    Some(1.0),
                ])),
            ],
        )
        .unwrap();
        let checked = rows_of_batch("popularity", &song_columns(), &batch).unwrap();
        assert_eq!(checked.rows.row(0).to_vec(), vec![0.5, 70.0, 1.0]);
        assert!(
            checked.rejected[1].is_none(),
            "a missing imputed value is no problem"
        );
        assert!(checked.rows[[1, 1]].is_nan() && checked.rows[[1, 2]] == 0.0);
        let problems = checked.problems();
        assert_eq!(
            problems[2..],
            [
                Some((2, Problem::UnknownCategory)),
                Some((2, Problem::Missing)),
                Some((2, Problem::UnknownCategory)),
            ]
        );

        // A batch without the imputed column: every row lacks it. A number where text is due,
        // or text where a number is, names the column.
        let schema = Schema::new(vec![
            Field::new("energy", DataType::Float64, true),
            Field::new("genre", DataType::Utf8, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Float64Array::from(vec![0.5])),
                Arc::new(StringArray::from(vec!["pop"])),
            ],
        )
        .unwrap();
        let checked = rows_of_batch("popularity", &song_columns(), &batch).unwrap();
        assert!(checked.rejected[0].is_none() && checked.rows[[0, 1]].is_nan());
    }

    #[test]
    fn a_dictionary_of_strings_reads_as_its_categories_and_numbers_are_refused() {
        // A pandas category comes out of Parquet as a dictionary.
        let genres: arrow_array::DictionaryArray<arrow_array::types::Int32Type> =
            vec![Some("rock"), None, Some("jazz"), Some("rock")]
                .into_iter()
                .collect();
        let schema = Schema::new(vec![
            Field::new("energy", DataType::Float64, true),
            Field::new("genre", genres.data_type().clone(), true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(Float64Array::from(vec![0.5; 4])), Arc::new(genres)],
        )
        .unwrap();
        let checked = rows_of_batch("popularity", &song_columns(), &batch).unwrap();
        assert_eq!(
            checked.problems(),
            [
                None,
                Some((2, Problem::Missing)),
                Some((2, Problem::UnknownCategory)),
                None
            ]
        );
        assert_eq!((checked.rows[[0, 2]], checked.rows[[3, 2]]), (1.0, 1.0));
        // Numbers where the categories' text is due name the column and their type.
        let schema = Schema::new(vec![
            Field::new("energy", DataType::Float64, true),
            Field::new("genre", DataType::Int64, true),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Float64Array::from(vec![0.5])),
                Arc::new(Int64Array::from(vec![0])),
            ],
        )
        .unwrap();
        let error = rows_of_batch("popularity", &song_columns(), &batch)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("genre") && error.contains("Int64"),
            "{error}"
        );
    }

    #[test]
    fn in_an_ndarray_a_category_is_its_index_and_nan_is_missing_where_allowed() {
        let rows = array![
            [0.5, 70.0, 1.0],
            [0.5, f64::NAN, 0.0],
            [0.5, 70.0, 2.0],
            [0.5, 70.0, 0.5],
            [0.5, 70.0, f64::NAN],
            [f64::NAN, 70.0, 0.0],
        ];
        let checked = check_rows(&song_columns(), rows.view(), None);
        let problems = checked.problems();
        assert_eq!(
            problems,
            [
                None,
                None,
                Some((2, Problem::UnknownCategory)),
                Some((2, Problem::UnknownCategory)),
                Some((2, Problem::Missing)),
                Some((0, Problem::NotANumber)),
            ]
        );
    }

    #[test]
    fn a_column_whose_type_categories_range_or_imputed_value_disagree_is_refused() {
        let good = song_columns();
        for column in &good {
            column.check().unwrap();
        }
        let mut numbers_with_categories = good[0].clone();
        numbers_with_categories.categories = vec!["a".into()];
        let mut repeated = good[2].clone();
        repeated.categories = vec!["pop".into(), "pop".into()];
        let mut wide = good[2].clone();
        wide.max = 2.0;
        let mut imputed_outside = good[1].clone();
        imputed_outside.imputed = Some(101.0);
        let mut imputed_optional = good[1].clone();
        imputed_optional.optional = true;
        for (bad, says) in [
            (numbers_with_categories, "lists categories"),
            (repeated, "distinct"),
            (wide, "indices"),
            (imputed_outside, "imputed value 101"),
            (imputed_optional, "optional"),
        ] {
            let error = bad.check().unwrap_err();
            assert!(error.contains(says) && error.contains(&bad.name), "{error}");
        }
    }

    #[test]
    fn a_missing_or_mistyped_column_names_itself_and_the_bundle() {
        let schema = Schema::new(vec![Field::new("energy", DataType::Utf8, true)]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringArray::from(vec!["loud"]))],
        )
        .unwrap();
        let error = rows_of_batch("moods", &columns(), &batch)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("moods") && error.contains("energy") && error.contains("Utf8"),
            "{error}"
        );
        let schema = Schema::new(vec![Field::new("energy", DataType::Float64, true)]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(Float64Array::from(vec![0.5]))],
        )
        .unwrap();
        let error = rows_of_batch("moods", &columns(), &batch)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("moods") && error.contains("\"key\""),
            "{error}"
        );
    }
}
