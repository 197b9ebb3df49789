//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong while finding, reading, validating or preparing data.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// The data directory does not exist.
    #[error("data directory {path} not found (looked there because {origin}); pass --data DIR or set SPOTIFY_ML_DATA")]
    MissingDataDir {
        /// Where it looked.
        path: PathBuf,
        /// Why it looked there: the flag, the environment variable or the default.
        origin: String,
    },
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The CSV layer failed (bad quoting, non-UTF-8 bytes, wrong number of fields).
    #[error("{path}:{line}: {message}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line number, 0 when unknown.
        line: u64,
        /// What the CSV reader said.
        message: String,
    },
    /// A required column is absent from the header.
    #[error("{path}: header has no column `{column}` (found: {found})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column that was expected.
        column: String,
        /// The header that was found, comma-separated.
        found: String,
    },
    /// A cell is empty.
    #[error("{path}:{line}: column `{column}` is empty")]
    EmptyValue {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column.
        column: String,
    },
    /// A cell does not parse as the expected type.
    #[error("{path}:{line}: column `{column}` = {value:?} is not {expected}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column.
        column: String,
        /// The raw text of the cell.
        value: String,
        /// What it should have been, e.g. "a finite number".
        expected: &'static str,
    },
    /// A number lies outside the documented range of its column.
    #[error("{path}:{line}: column `{column}` = {value:?} is outside {min}..={max}")]
    OutOfRange {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column.
        column: String,
        /// The raw text of the cell.
        value: String,
        /// Lowest allowed value.
        min: f64,
        /// Highest allowed value.
        max: f64,
    },
    /// Two files that must describe the same tracks do not.
    #[error("{path}: {message}")]
    Mismatch {
        /// The file found inconsistent.
        path: PathBuf,
        /// What disagrees.
        message: String,
    },
    /// A zip archive could not be read.
    #[error("{path}: not a readable zip archive")]
    Zip {
        /// The archive.
        path: PathBuf,
        /// What the zip reader said.
        #[source]
        source: zip::result::ZipError,
    },
    /// A request for a matrix, split or scaler that cannot be met.
    #[error("{0}")]
    Invalid(String),
    /// A file has a header and no rows (or an id list no ids): nothing to learn from, so never
    /// a silent empty set.
    #[error("{path}: the file has no rows of data")]
    NoRows {
        /// The file.
        path: PathBuf,
    },
    /// A cell holds bytes that are not UTF-8.
    #[error("{path}:{line}: column `{column}` is not valid UTF-8")]
    InvalidUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The column, or `header field N` when the header itself is not UTF-8.
        column: String,
    },
    /// A row is longer than any real row: reading stops there rather than hold it in memory.
    #[error(
        "{path}:{line}: row is longer than {limit} bytes (one line, or a quoted field left \
         open); no row of a data file is that long"
    )]
    RowTooLong {
        /// The file.
        path: PathBuf,
        /// 1-based line where the row starts.
        line: u64,
        /// The longest row allowed, in bytes.
        limit: usize,
    },
}

/// The kind of a [`DatasetError`], without its details: what lenient loads count skips by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ErrorKind {
    /// [`DatasetError::MissingDataDir`].
    MissingDataDir,
    /// [`DatasetError::Io`].
    Io,
    /// [`DatasetError::Csv`].
    Csv,
    /// [`DatasetError::MissingColumn`].
    MissingColumn,
    /// [`DatasetError::EmptyValue`].
    EmptyValue,
    /// [`DatasetError::BadValue`].
    BadValue,
    /// [`DatasetError::OutOfRange`].
    OutOfRange,
    /// [`DatasetError::Mismatch`].
    Mismatch,
    /// [`DatasetError::Zip`].
    Zip,
    /// [`DatasetError::Invalid`].
    Invalid,
    /// [`DatasetError::NoRows`].
    NoRows,
    /// [`DatasetError::InvalidUtf8`].
    InvalidUtf8,
    /// [`DatasetError::RowTooLong`].
    RowTooLong,
}

impl DatasetError {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DatasetError::MissingDataDir { .. } => ErrorKind::MissingDataDir,
            DatasetError::Io { .. } => ErrorKind::Io,
            DatasetError::Csv { .. } => ErrorKind::Csv,
            DatasetError::MissingColumn { .. } => ErrorKind::MissingColumn,
            DatasetError::EmptyValue { .. } => ErrorKind::EmptyValue,
            DatasetError::BadValue { .. } => ErrorKind::BadValue,
            DatasetError::OutOfRange { .. } => ErrorKind::OutOfRange,
            DatasetError::Mismatch { .. } => ErrorKind::Mismatch,
            DatasetError::Zip { .. } => ErrorKind::Zip,
            DatasetError::Invalid(_) => ErrorKind::Invalid,
            DatasetError::NoRows { .. } => ErrorKind::NoRows,
            DatasetError::InvalidUtf8 { .. } => ErrorKind::InvalidUtf8,
            DatasetError::RowTooLong { .. } => ErrorKind::RowTooLong,
        }
    }

    /// The column of the offending cell, for errors that have one.
    pub fn column(&self) -> Option<&str> {
        match self {
            DatasetError::MissingColumn { column, .. }
            | DatasetError::EmptyValue { column, .. }
            | DatasetError::BadValue { column, .. }
            | DatasetError::OutOfRange { column, .. }
            | DatasetError::InvalidUtf8 { column, .. } => Some(column),
            _ => None,
        }
    }

    /// The 1-based line of the offending row, for errors that have one.
    pub fn line(&self) -> Option<u64> {
        match self {
            DatasetError::Csv { line, .. }
            | DatasetError::EmptyValue { line, .. }
            | DatasetError::BadValue { line, .. }
            | DatasetError::OutOfRange { line, .. }
            | DatasetError::InvalidUtf8 { line, .. }
            | DatasetError::RowTooLong { line, .. } => Some(*line),
            _ => None,
        }
    }
}
