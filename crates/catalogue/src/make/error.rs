//! The one error type of catalogue making.

use std::path::PathBuf;

/// Everything that can go wrong while checking parameters, loading the sources or writing a
/// catalogue.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter of [`CatalogueParams`](super::CatalogueParams) is outside what it allows.
    #[error("parameter `{name}` = {value} is invalid: it must be {expected}")]
    InvalidParameter {
        /// The parameter, as its builder method is named.
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// What it must be.
        expected: &'static str,
    },
    /// The shared data could not be loaded.
    #[error("loading the source tracks")]
    Load(#[source] dataset::DatasetError),
    /// A data set the catalogue draws from has no usable rows.
    #[error("no source rows {what}: the catalogue has nothing to resample")]
    EmptySource {
        /// Which rows are missing, e.g. "with all 13 audio features".
        what: &'static str,
    },
    /// The output path has an extension the writer does not know.
    #[error("{path}: unknown output format; the file name must end in .parquet or .csv")]
    UnknownFormat {
        /// The output path.
        path: PathBuf,
    },
    /// The output exists and overwriting was not asked for.
    #[error("{path} already exists; pass --overwrite (WriteOptions::overwrite) to replace it")]
    Exists {
        /// The output path.
        path: PathBuf,
    },
    /// Creating, writing, syncing or renaming a file failed.
    #[error("{path}: {action}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done, e.g. "creating a temporary file beside the output".
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet writer failed.
    #[error("{path}: writing Parquet")]
    Parquet {
        /// The temporary file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// The CSV writer failed.
    #[error("{path}: writing CSV")]
    Csv {
        /// The temporary file being written.
        path: PathBuf,
        /// The cause.
        #[source]
        source: arrow_schema::ArrowError,
    },
}
