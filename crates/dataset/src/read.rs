//! Reading a delimited table row by row, with errors that name file, line, column and value.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::DatasetError;
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
}

impl<T> Loaded<T> {
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
    /// The 1-based line of this row.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// The raw text of a cell, which must not be empty.
    pub(crate) fn text(&self, column: &str) -> Result<&str, DatasetError> {
        let index = self.header.position(column)?;
        let value = self.record.get(index).unwrap_or("").trim();
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
    input: R,
    spec: &TableSpec<'_>,
    mut parse: impl FnMut(&Row<'_>) -> Result<T, DatasetError>,
) -> Result<Loaded<T>, DatasetError> {
    let path = spec.path.to_path_buf();
    let csv_error = |error: csv::Error| {
        let line = error.position().map(|p| p.line()).unwrap_or(0);
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
        .from_reader(input);
    let names: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
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
    let mut loaded = Loaded {
        rows: Vec::new(),
        skipped: Vec::new(),
    };
    let mut record = csv::StringRecord::new();
    loop {
        let outcome = match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map(|p| p.line()).unwrap_or(0);
                parse(&Row {
                    header: &header,
                    record: &record,
                    line,
                })
            }
            Err(error) if matches!(error.kind(), csv::ErrorKind::Io(_)) => {
                return Err(csv_error(error))
            }
            Err(error) => Err(csv_error(error)),
        };
        match (outcome, spec.strictness) {
            (Ok(row), _) => loaded.rows.push(row),
            (Err(error), Strictness::Strict) => return Err(error),
            (Err(error), Strictness::Lenient) => loaded.skipped.push(SkippedRow {
                path: path.clone(),
                line: error.line().unwrap_or(0),
                reason: error.to_string(),
            }),
        }
    }
    Ok(loaded)
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
