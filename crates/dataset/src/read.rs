//! Reading a delimited table row by row, with errors that name file, line, column and value.

use std::collections::{BTreeMap, HashMap, VecDeque};
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
                found: quoted(&self.names.join(",")),
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
            value: quoted(value),
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
                value: quoted(text),
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

/// The longest row a data file may have, in bytes. Real rows are a few hundred bytes; a longer
/// one is a broken file (a quote left open, a missing line end), and reading stops there.
pub const MAX_ROW_BYTES: usize = 1 << 20;

/// At most this many characters of a cell or a header are quoted in an error.
const QUOTED_CHARS: usize = 200;

/// `text` as errors quote it: whole when short, else its start and how long it was.
pub(crate) fn quoted(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        None => text.to_string(),
        Some((end, _)) => format!("{}… ({} bytes)", &text[..end], text.len()),
    }
}

/// Reads every row of a table, one row at a time, turning each into a `T` with `parse`.
///
/// A file with a header and no rows is [`DatasetError::NoRows`]; a row longer than
/// [`MAX_ROW_BYTES`] ends the read with [`DatasetError::RowTooLong`] in either strictness, as the
/// rows after it cannot be told apart.
pub(crate) fn read_table<R: Read, T>(
    input: R,
    spec: &TableSpec<'_>,
    mut parse: impl FnMut(&Row<'_>) -> Result<T, DatasetError>,
) -> Result<Loaded<T>, DatasetError> {
    let path = spec.path.to_path_buf();
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .has_headers(true)
        .flexible(false)
        .from_reader(LineCounter::new(input, MAX_ROW_BYTES));
    let names: Vec<String> = match reader.headers() {
        Ok(names) => names
            .iter()
            .map(|name| name.trim().trim_start_matches('\u{feff}').to_string())
            .collect(),
        Err(error) => return Err(csv_error(&path, error, &mut reader, None)),
    };
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
    let mut rows = 0u64;
    loop {
        let read = reader.read_record(&mut record);
        let next_row = reader.position().byte();
        reader.get_mut().start_row(next_row);
        let outcome = match read {
            Ok(false) => break,
            Ok(true) => {
                let line = record
                    .position()
                    .map(|p| reader.get_mut().line_at(p.byte()))
                    .unwrap_or(0);
                parse(&Row {
                    header: &header,
                    record: &record,
                    line,
                })
            }
            Err(error) if matches!(error.kind(), csv::ErrorKind::Io(_)) => {
                return Err(csv_error(&path, error, &mut reader, Some(&header)))
            }
            Err(error) => Err(csv_error(&path, error, &mut reader, Some(&header))),
        };
        rows += 1;
        match (outcome, spec.strictness) {
            (Ok(row), _) => loaded.rows.push(row),
            (Err(error), Strictness::Strict) => return Err(error),
            (Err(error), Strictness::Lenient) => {
                loaded.skipped.push(SkippedRow::from_error(&path, &error))
            }
        }
    }
    if rows == 0 {
        return Err(DatasetError::NoRows { path });
    }
    Ok(loaded)
}

/// The error of the CSV layer, with the line counted from the bytes and the column named from
/// the header (`None` while the header itself is read).
fn csv_error<R: Read>(
    path: &Path,
    error: csv::Error,
    reader: &mut csv::Reader<LineCounter<R>>,
    header: Option<&Header>,
) -> DatasetError {
    let counter = reader.get_mut();
    let line = error
        .position()
        .map(|p| counter.line_at(p.byte()))
        .unwrap_or(0);
    if let Some(line) = counter.too_long {
        return DatasetError::RowTooLong {
            path: path.to_path_buf(),
            line,
            limit: counter.limit,
        };
    }
    match error.into_kind() {
        csv::ErrorKind::Io(source) => DatasetError::Io {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::Utf8 { err, .. } => DatasetError::InvalidUtf8 {
            path: path.to_path_buf(),
            line,
            column: match header.and_then(|header| header.names.get(err.field())) {
                Some(name) => name.clone(),
                None => format!("header field {}", err.field() + 1),
            },
        },
        kind => DatasetError::Csv {
            path: path.to_path_buf(),
            line,
            message: describe_csv_error(&kind),
        },
    }
}

/// The reader under the CSV reader: it notes where lines end as the bytes pass, so that record
/// starts can be turned into 1-based line numbers (the csv reader's own count lags one line
/// behind in files with CRLF line ends), and it refuses a row longer than `limit`, so that a
/// broken file is never read whole into memory.
struct LineCounter<R> {
    inner: R,
    /// Bytes passed on so far.
    consumed: u64,
    /// Offsets of the `\r` and `\n` bytes passed on and not yet behind a record start, with
    /// whether each is a `\n`.
    line_ends: VecDeque<(u64, bool)>,
    /// Line of the first byte after the line ends dropped from `line_ends`.
    line: u64,
    /// `\n` bytes passed on so far.
    newlines: u64,
    /// Offset just after the last line end passed on.
    line_start: u64,
    /// Offset where the row being read starts.
    row_start: u64,
    limit: usize,
    /// The line of the row found too long, once it is.
    too_long: Option<u64>,
}

impl<R: Read> LineCounter<R> {
    fn new(inner: R, limit: usize) -> Self {
        LineCounter {
            inner,
            consumed: 0,
            line_ends: VecDeque::new(),
            line: 1,
            newlines: 0,
            line_start: 0,
            row_start: 0,
            limit,
            too_long: None,
        }
    }

    /// Says where the next row starts, for the bound on a row's length.
    fn start_row(&mut self, byte: u64) {
        self.row_start = byte;
    }

    /// The line of the record that starts at `byte`. A record never starts with a line end,
    /// so line ends at `byte` (the `\n` of a CRLF the reader has not consumed yet, blank lines)
    /// are skipped. Records come in order, so what lies before `byte` is forgotten.
    fn line_at(&mut self, byte: u64) -> u64 {
        while let Some(&(offset, newline)) = self.line_ends.front() {
            if offset >= byte {
                break;
            }
            self.line += u64::from(newline);
            self.line_ends.pop_front();
        }
        let mut at = byte;
        while let Some(&(offset, newline)) = self.line_ends.front() {
            if offset != at {
                break;
            }
            self.line += u64::from(newline);
            self.line_ends.pop_front();
            at += 1;
        }
        self.line
    }
}

impl<R: Read> Read for LineCounter<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.too_long.is_some() {
            return Err(too_long_error(self.limit));
        }
        let read = self.inner.read(buffer)?;
        for (index, &byte) in buffer[..read].iter().enumerate() {
            if byte == b'\n' || byte == b'\r' {
                let offset = self.consumed + index as u64;
                self.line_ends.push_back((offset, byte == b'\n'));
                self.newlines += u64::from(byte == b'\n');
                self.line_start = offset + 1;
            }
        }
        self.consumed += read as u64;
        let limit = self.limit as u64;
        if self.consumed - self.line_start > limit {
            // One line too long: the line being read.
            self.too_long = Some(self.newlines + 1);
        } else if self.consumed - self.row_start.min(self.consumed) > 2 * limit {
            // A row of many lines (a quote left open), with room for the csv reader's buffer.
            let start = self.row_start;
            self.too_long = Some(self.line_at(start));
        }
        match self.too_long {
            Some(_) => Err(too_long_error(self.limit)),
            None => Ok(read),
        }
    }
}

fn too_long_error(limit: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("a row is longer than {limit} bytes"),
    )
}

fn describe_csv_error(kind: &csv::ErrorKind) -> String {
    match kind {
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
    fn non_utf8_bytes_are_an_error_naming_line_and_column() {
        let mut text = format!("id,energy\n{ID},0.5\n").into_bytes();
        text.extend_from_slice(b"\xff\xfe,0.5\n");
        match load(&text, Strictness::Strict) {
            Err(DatasetError::InvalidUtf8 { line, column, .. }) => {
                assert_eq!((line, column.as_str()), (3, "id"))
            }
            other => panic!("expected InvalidUtf8, got {other:?}"),
        }
    }

    #[test]
    fn blank_lines_and_crlf_between_rows_keep_true_line_numbers() {
        let text = format!("id,energy\r\n\r\n{ID},0.5\r\n\n\n{ID},x\r\n");
        match load(text.as_bytes(), Strictness::Strict) {
            Err(DatasetError::BadValue { line, .. }) => assert_eq!(line, 6),
            other => panic!("expected BadValue, got {other:?}"),
        }
    }

    #[test]
    fn an_open_quote_spanning_many_lines_is_a_row_too_long() {
        let mut text = format!("id,energy\n{ID},0.5\n{ID},\"").into_bytes();
        for _ in 0..(3 * MAX_ROW_BYTES / 10) {
            text.extend_from_slice(b"0.5\n0.5\n");
        }
        match load(&text, Strictness::Lenient) {
            Err(DatasetError::RowTooLong { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected RowTooLong, got {:?}", other.map(|l| l.len())),
        }
    }

    #[test]
    fn a_header_without_rows_is_no_rows_in_either_strictness() {
        for strictness in [Strictness::Strict, Strictness::Lenient] {
            assert!(matches!(
                load(b"id,energy\n", strictness),
                Err(DatasetError::NoRows { .. })
            ));
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
