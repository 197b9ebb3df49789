//! Reading a delimited table row by row, with errors that name file, line, column and value.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{DatasetError, ErrorKind};
use crate::validate::Range;

/// What a loader does with a row that fails validation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strictness {
    /// The first bad row is an error (the default).
    #[default]
    Strict,
    /// Bad rows are skipped and reported in [`Loaded::skipped`].
    Lenient,
}

/// Rows read from a file, with the rows skipped in lenient mode and why.
#[derive(Clone, Debug)]
pub struct Loaded<T> {
    /// The rows that passed validation, in file order.
    pub rows: Vec<T>,
    /// One error per skipped row (always empty in strict mode).
    pub skipped: Vec<SkippedRow>,
}

/// A row skipped in lenient mode.
#[derive(Clone, Debug, PartialEq)]
pub struct SkippedRow {
    /// The file.
    pub path: PathBuf,
    /// 1-based line of the row.
    pub line: u64,
    /// Why it was skipped: the message the strict mode would have failed with.
    pub reason: String,
    /// The kind of error that made it skipped.
    pub kind: ErrorKind,
    /// The offending column, when the error names one.
    pub column: Option<String>,
}

impl SkippedRow {
    /// The record of a row skipped because of `error`.
    pub fn from_error(path: &Path, error: &DatasetError) -> SkippedRow {
        SkippedRow {
            path: path.to_path_buf(),
            line: error.line().unwrap_or(0),
            reason: error.to_string(),
            kind: error.kind(),
            column: error.column().map(str::to_string),
        }
    }
}

impl<T> Default for Loaded<T> {
    fn default() -> Self {
        Loaded {
            rows: Vec::new(),
            skipped: Vec::new(),
        }
    }
}

impl<T> Loaded<T> {
    /// Appends the rows and skips of another load, e.g. of the next file of a multi-file set.
    pub fn append(&mut self, mut other: Loaded<T>) {
        self.rows.append(&mut other.rows);
        self.skipped.append(&mut other.skipped);
    }

    /// How many rows were skipped for each kind of error, e.g. to report a lenient load.
    pub fn skip_counts(&self) -> BTreeMap<ErrorKind, usize> {
        let mut counts = BTreeMap::new();
        for skipped in &self.skipped {
            *counts.entry(skipped.kind).or_insert(0) += 1;
        }
        counts
    }

    /// Rows kept, as a convenience.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no row was kept.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Applies `f` to every kept row, keeping the skip report.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Loaded<U> {
        Loaded {
            rows: self.rows.into_iter().map(f).collect(),
            skipped: self.skipped,
        }
    }
}

/// A header, mapping column names to positions.
pub(crate) struct Header {
    path: PathBuf,
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    fn position(&self, column: &str) -> Result<usize, DatasetError> {
        self.index
            .get(column)
            .copied()
            .ok_or_else(|| DatasetError::MissingColumn {
                path: self.path.clone(),
                column: column.to_string(),
                found: self.names.join(","),
            })
    }

    /// Whether the header has this column.
    pub(crate) fn has(&self, column: &str) -> bool {
        self.index.contains_key(column)
    }
}

/// One data row, with typed, range-checked access to its cells.
pub(crate) struct Row<'a> {
    header: &'a Header,
    record: &'a csv::StringRecord,
    line: u64,
}

impl Row<'_> {
    /// The trimmed text of the cell in column `index` of the header.
    fn cell(&self, index: usize) -> &str {
        self.record
            .get(index)
            .expect("the reader is not flexible: every record has the header's width")
            .trim()
    }

    /// The raw text of a cell, possibly empty: for free text such as names.
    pub(crate) fn free_text(&self, column: &str) -> Result<&str, DatasetError> {
        let index = self.header.position(column)?;
        Ok(self.cell(index))
    }

    /// A whole number within `range`, or `None` when the cell is empty or one of `missing`
    /// (e.g. `nan`, which some exports write for "no value").
    pub(crate) fn optional_integer(
        &self,
        column: &str,
        range: Range,
        missing: &[&str],
    ) -> Result<Option<i64>, DatasetError> {
        let text = self.free_text(column)?;
        if text.is_empty() || missing.contains(&text) {
            return Ok(None);
        }
        self.integer(column, range).map(Some)
    }

    /// A cell that must be one of `allowed`, returned as the matching allowed value.
    pub(crate) fn one_of<'s>(
        &self,
        column: &str,
        allowed: &[&'s str],
        expected: &'static str,
    ) -> Result<&'s str, DatasetError> {
        let text = self.text(column)?;
        allowed
            .iter()
            .find(|name| **name == text)
            .copied()
            .ok_or_else(|| self.bad(column, text, expected))
    }

    /// The raw text of a cell, which must not be empty.
    pub(crate) fn text(&self, column: &str) -> Result<&str, DatasetError> {
        let index = self.header.position(column)?;
        let value = self.cell(index);
        if value.is_empty() {
            return Err(DatasetError::EmptyValue {
                path: self.header.path.clone(),
                line: self.line,
                column: column.to_string(),
            });
        }
        Ok(value)
    }

    fn bad(&self, column: &str, value: &str, expected: &'static str) -> DatasetError {
        DatasetError::BadValue {
            path: self.header.path.clone(),
            line: self.line,
            column: column.to_string(),
            value: value.to_string(),
            expected,
        }
    }

    fn check(
        &self,
        column: &str,
        text: &str,
        value: f64,
        range: Range,
    ) -> Result<(), DatasetError> {
        if range.contains(value) {
            Ok(())
        } else {
            Err(DatasetError::OutOfRange {
                path: self.header.path.clone(),
                line: self.line,
                column: column.to_string(),
                value: text.to_string(),
                min: range.min,
                max: range.max,
            })
        }
    }

    /// A finite number within `range`.
    pub(crate) fn number(&self, column: &str, range: Range) -> Result<f64, DatasetError> {
        let text = self.text(column)?;
        let value: f64 = text
            .parse()
            .map_err(|_| self.bad(column, text, "a number"))?;
        if !value.is_finite() {
            return Err(self.bad(column, text, "a finite number"));
        }
        self.check(column, text, value, range)?;
        Ok(value)
    }

    /// A whole number within `range`. Accepts "4" and "4.0", as some exports write integers
    /// as floats.
    pub(crate) fn integer(&self, column: &str, range: Range) -> Result<i64, DatasetError> {
        let text = self.text(column)?;
        let value: f64 = text
            .parse()
            .map_err(|_| self.bad(column, text, "a whole number"))?;
        if !value.is_finite() || value.fract() != 0.0 {
            return Err(self.bad(column, text, "a whole number"));
        }
        self.check(column, text, value, range)?;
        // In range, so it fits: ranges are far inside i64.
        Ok(value as i64)
    }

    /// A Spotify id: 22 base-62 characters.
    pub(crate) fn spotify_id(&self, column: &str) -> Result<String, DatasetError> {
        let text = self.text(column)?;
        let text = text.strip_prefix("spotify:track:").unwrap_or(text);
        if is_spotify_id(text) {
            Ok(text.to_string())
        } else {
            Err(self.bad(column, text, "a 22-character base-62 Spotify id"))
        }
    }
}

/// Whether `text` has the shape of a Spotify id.
pub fn is_spotify_id(text: &str) -> bool {
    text.len() == 22 && text.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Options of one table read.
pub(crate) struct TableSpec<'a> {
    /// The name errors give for the source, a file path or `archive.zip!entry`.
    pub path: &'a Path,
    /// Field delimiter.
    pub delimiter: u8,
    /// Columns that must be in the header.
    pub required: &'a [&'a str],
    /// Strict or lenient.
    pub strictness: Strictness,
}

/// Opens a file for [`read_table`], with an error naming it.
pub(crate) fn open(path: &Path) -> Result<std::fs::File, DatasetError> {
    std::fs::File::open(path).map_err(|source| DatasetError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads every row of a table, turning each into a `T` with `parse`.
pub(crate) fn read_table<R: Read, T>(
    mut input: R,
    spec: &TableSpec<'_>,
    mut parse: impl FnMut(&Row<'_>) -> Result<T, DatasetError>,
) -> Result<Loaded<T>, DatasetError> {
    let path = spec.path.to_path_buf();
    // The whole table is read first so that line numbers can be counted from the bytes: the
    // csv reader's own line count lags one line behind in files with CRLF line ends.
    let mut data = Vec::new();
    input
        .read_to_end(&mut data)
        .map_err(|source| DatasetError::Io {
            path: path.clone(),
            source,
        })?;
    let mut lines = LineCounter::new(&data);
    let csv_error = |error: csv::Error, lines: &mut LineCounter<'_>| {
        let line = error
            .position()
            .map(|p| lines.line_at(p.byte()))
            .unwrap_or(0);
        match error.into_kind() {
            csv::ErrorKind::Io(source) => DatasetError::Io {
                path: path.clone(),
                source,
            },
            kind => DatasetError::Csv {
                path: path.clone(),
                line,
                message: describe_csv_error(&kind),
            },
        }
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(data.as_slice());
    let names: Vec<String> = reader
        .headers()
        .map_err(|error| csv_error(error, &mut lines))?
        .iter()
        .map(|name| name.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    if names.iter().all(|name| name.is_empty()) {
        return Err(DatasetError::Csv {
            path: path.clone(),
            line: 1,
            message: "the file has no header row".into(),
        });
    }
    let index = names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), i))
        .collect();
    let header = Header {
        path: path.clone(),
        names,
        index,
    };
    for column in spec.required {
        header.position(column)?;
    }
    let mut loaded = Loaded::default();
    let mut record = csv::StringRecord::new();
    loop {
        let outcome = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record
                    .position()
                    .map(|p| lines.line_at(p.byte()))
                    .unwrap_or(0);
                parse(&Row {
                    header: &header,
                    record: &record,
                    line,
                })
            }
            Err(error) if matches!(error.kind(), csv::ErrorKind::Io(_)) => {
                return Err(csv_error(error, &mut lines))
            }
            Err(error) => Err(csv_error(error, &mut lines)),
        };
        match (outcome, spec.strictness) {
            (Ok(row), _) => loaded.rows.push(row),
            (Err(error), Strictness::Strict) => return Err(error),
            (Err(error), Strictness::Lenient) => {
                loaded.skipped.push(SkippedRow::from_error(&path, &error))
            }
        }
    }
    Ok(loaded)
}

/// Turns byte offsets of record starts into 1-based line numbers, scanning forward only.
struct LineCounter<'a> {
    data: &'a [u8],
    offset: usize,
    line: u64,
}

impl<'a> LineCounter<'a> {
    fn new(data: &'a [u8]) -> Self {
        LineCounter {
            data,
            offset: 0,
            line: 1,
        }
    }

    /// The line of the record that starts at `byte`. A record never starts with a line end,
    /// so line ends at `byte` (the `\n` of a CRLF the reader has not consumed yet) are skipped.
    fn line_at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.data.len());
        while let Some(b'\r' | b'\n') = self.data.get(start) {
            start += 1;
        }
        if start < self.offset {
            // Not expected (records come in order), but stay correct if it happens.
            self.offset = 0;
            self.line = 1;
        }
        let newlines = self.data[self.offset..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.line += newlines as u64;
        self.offset = start;
        self.line
    }
}

fn describe_csv_error(kind: &csv::ErrorKind) -> String {
    match kind {
        csv::ErrorKind::Utf8 { err, .. } => format!("invalid UTF-8 in field {}", err.field() + 1),
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("row has {len} fields, the header has {expected_len}"),
        other => format!("{other:?}"),
    }
}

/// Lets the header be inspected by loaders that accept several layouts.
pub(crate) fn header_has(row: &Row<'_>, column: &str) -> bool {
    row.header.has(column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::feature_range;
    use crate::AudioFeature;

    fn load(text: &[u8], strictness: Strictness) -> Result<Loaded<f64>, DatasetError> {
        let path = Path::new("fixture.csv");
        let spec = TableSpec {
            path,
            delimiter: b',',
            required: &["id", "energy"],
            strictness,
        };
        read_table(text, &spec, |row| {
            row.spotify_id("id")?;
            row.number("energy", feature_range(AudioFeature::Energy))
        })
    }

    const ID: &str = "5aAx2yezTd8zXrkmtKl66Z";

    #[test]
    fn crlf_and_multi_line_fields_keep_true_line_numbers() {
        let text = format!("id,energy,note\r\n{ID},0.5,\"two\r\nlines\"\r\n{ID},x,ok\r\n");
        match load(text.as_bytes(), Strictness::Strict) {
            Err(DatasetError::BadValue {
                line,
                column,
                value,
                ..
            }) => {
                assert_eq!((line, column.as_str(), value.as_str()), (4, "energy", "x"));
            }
            other => panic!("expected BadValue, got {other:?}"),
        }
    }

    #[test]
    fn empty_cell_is_reported_with_line_and_column() {
        let text = format!("id,energy\n{ID},0.5\n{ID},\n");
        match load(text.as_bytes(), Strictness::Strict) {
            Err(DatasetError::EmptyValue { line, column, .. }) => {
                assert_eq!((line, column.as_str()), (3, "energy"));
            }
            other => panic!("expected EmptyValue, got {other:?}"),
        }
    }

    #[test]
    fn nan_is_not_a_finite_number() {
        let text = format!("id,energy\n{ID},NaN\n");
        match load(text.as_bytes(), Strictness::Strict) {
            Err(DatasetError::BadValue {
                line,
                column,
                value,
                expected,
                ..
            }) => {
                assert_eq!(
                    (line, column.as_str(), value.as_str()),
                    (2, "energy", "NaN")
                );
                assert_eq!(expected, "a finite number");
            }
            other => panic!("expected BadValue, got {other:?}"),
        }
    }

    #[test]
    fn wrong_field_count_is_a_csv_error_on_its_line() {
        let text = format!("id,energy\n{ID},0.5\n{ID},0.5,extra\n");
        match load(text.as_bytes(), Strictness::Strict) {
            Err(DatasetError::Csv { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected Csv, got {other:?}"),
        }
    }

    #[test]
    fn non_utf8_bytes_are_a_csv_error_on_their_line() {
        let mut text = format!("id,energy\n{ID},0.5\n").into_bytes();
        text.extend_from_slice(b"\xff\xfe,0.5\n");
        match load(&text, Strictness::Strict) {
            Err(DatasetError::Csv { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected Csv, got {other:?}"),
        }
    }

    #[test]
    fn missing_header_and_missing_column_are_errors() {
        assert!(matches!(
            load(b"", Strictness::Strict),
            Err(DatasetError::Csv { line: 1, .. })
        ));
        match load(
            format!("id,valence\n{ID},0.5\n").as_bytes(),
            Strictness::Strict,
        ) {
            Err(DatasetError::MissingColumn { column, .. }) => assert_eq!(column, "energy"),
            other => panic!("expected MissingColumn, got {other:?}"),
        }
    }

    #[test]
    fn lenient_mode_skips_bad_rows_and_counts_them_by_kind() {
        let text = format!("id,energy\n{ID},0.5\n{ID},\n{ID},2\nshort,0.1\n{ID},0.7,x\n{ID},0.9\n");
        let loaded = load(text.as_bytes(), Strictness::Lenient).expect("lenient load");
        assert_eq!(loaded.rows, vec![0.5, 0.9]);
        let lines: Vec<u64> = loaded.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6]);
        let counts = loaded.skip_counts();
        assert_eq!(counts.get(&ErrorKind::EmptyValue), Some(&1));
        assert_eq!(counts.get(&ErrorKind::OutOfRange), Some(&1));
        assert_eq!(counts.get(&ErrorKind::BadValue), Some(&1));
        assert_eq!(counts.get(&ErrorKind::Csv), Some(&1));
    }
}
