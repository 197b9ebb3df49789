//! What can go wrong scoring a catalogue: every variant names the file, and where it can the
//! row group, row, column and bundle.

use std::path::PathBuf;

use spotify_ml::bundle::{BundleError, Problem};

/// An error of [`crate::score`].
#[derive(Debug, thiserror::Error)]
pub enum ScoreError {
    /// A path's extension is neither `.parquet` nor `.csv`.
    #[error("{path}: the extension is neither .parquet nor .csv, so the format is unknown")]
    Format {
        /// The path.
        path: PathBuf,
    },
    /// A file could not be opened or read.
    #[error("{path}: cannot be read")]
    Read {
        /// The file.
        path: PathBuf,
        /// The system's error.
        #[source]
        source: std::io::Error,
    },
    /// A Parquet file is corrupt or not Parquet.
    #[error("{path}: not a readable Parquet file{}", at_row_group(*row_group))]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The row group being read (`None`: the footer).
        row_group: Option<usize>,
        /// The reader's error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A CSV file could not be parsed (the reader's message gives the line and column).
    #[error("{path}: not a readable CSV file")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The reader's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An input lacks a column a bundle needs, or the id column.
    #[error("{path}: no column {column:?}, which {needed_by} needs")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// `the bundle "valence"`, or `--id-column`.
        needed_by: String,
    },
    /// An input column a bundle needs is not numeric.
    #[error(
        "{path}: the column {column:?} is {found}, not a number as the bundle {bundle:?} needs"
    )]
    WrongType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its type.
        found: String,
        /// The bundle.
        bundle: String,
    },
    /// Two bundles would write the same output column.
    #[error("the bundles {first:?} and {second:?} both write the column {column:?}")]
    DuplicateOutput {
        /// The column.
        column: String,
        /// The first bundle.
        first: String,
        /// The second bundle.
        second: String,
    },
    /// The output exists and neither `overwrite` nor `resume` was asked for.
    #[error(
        "{path}: the output exists; pass --overwrite to replace it or --resume to continue it"
    )]
    OutputExists {
        /// The output.
        path: PathBuf,
    },
    /// The output cannot be resumed by this job.
    #[error("{path}: cannot resume: {problem}")]
    Resume {
        /// The output.
        path: PathBuf,
        /// Why.
        problem: String,
    },
    /// The output could not be written.
    #[error("{path}: cannot be written")]
    Write {
        /// The file.
        path: PathBuf,
        /// The writer's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// In strict mode, the first row a bundle refused.
    #[error("{path}: data row {row}: column {column:?} is {} ({value}), so the bundle {bundle:?} refuses it (strict mode)", problem.name().replace('_', " "))]
    BadRow {
        /// The file.
        path: PathBuf,
        /// The data row, from 1 (the header of a CSV file is not counted).
        row: u64,
        /// The column.
        column: String,
        /// What is wrong.
        problem: Problem,
        /// The value (NaN when missing).
        value: f64,
        /// The bundle.
        bundle: String,
    },
    /// A bundle failed on accepted rows.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// The job's settings are unusable.
    #[error("{0}")]
    Settings(String),
}

fn at_row_group(row_group: Option<usize>) -> String {
    match row_group {
        Some(g) => format!(" (row group {g})"),
        None => " (its footer)".into(),
    }
}

impl ScoreError {
    pub(crate) fn read(path: &std::path::Path) -> impl Fn(std::io::Error) -> ScoreError + '_ {
        move |source| ScoreError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn write<E: std::error::Error + Send + Sync + 'static>(
        path: &std::path::Path,
    ) -> impl Fn(E) -> ScoreError + '_ {
        move |source| ScoreError::Write {
            path: path.to_path_buf(),
            source: Box::new(source),
        }
    }
}
