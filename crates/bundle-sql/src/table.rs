//! Catalogue files as SQL tables.

use std::path::{Path, PathBuf};

use datafusion::prelude::{CsvReadOptions, ParquetReadOptions, SessionContext};

use crate::SqlError;

/// The formats a table may be read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableFormat {
    /// A `.parquet` file, or a folder of them (a partitioned data set).
    Parquet,
    /// A `.csv` file with a header row.
    Csv,
}

impl TableFormat {
    /// The format of a path: by extension, and a folder is a Parquet data set.
    pub fn of(path: &Path) -> Option<TableFormat> {
        if path.is_dir() {
            return Some(TableFormat::Parquet);
        }
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "parquet" => Some(TableFormat::Parquet),
            "csv" => Some(TableFormat::Csv),
            _ => None,
        }
    }
}

/// A table to register: its SQL name and where its rows are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableSource {
    /// The name queries use.
    pub name: String,
    /// A file or a folder of Parquet files.
    pub path: PathBuf,
}

impl std::str::FromStr for TableSource {
    type Err = String;

    /// Parses `NAME=PATH`.
    fn from_str(text: &str) -> Result<TableSource, String> {
        let (name, path) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?} is not NAME=PATH"))?;
        if name.is_empty() || path.is_empty() {
            return Err(format!("{text:?} is not NAME=PATH"));
        }
        Ok(TableSource {
            name: name.to_string(),
            path: PathBuf::from(path),
        })
    }
}

/// Registers a Parquet file, a folder of Parquet files or a CSV file (with a header) as the
/// table `source.name`.
pub async fn register_table(ctx: &SessionContext, source: &TableSource) -> Result<(), SqlError> {
    let TableSource { name, path } = source;
    let format = TableFormat::of(path).ok_or_else(|| SqlError::UnknownFormat {
        name: name.clone(),
        path: path.clone(),
    })?;
    let table_error = |source| SqlError::Table {
        name: name.clone(),
        path: path.clone(),
        source,
    };
    let location = path.to_str().ok_or_else(|| SqlError::UnknownFormat {
        name: name.clone(),
        path: path.clone(),
    })?;
    match format {
        TableFormat::Parquet => ctx
            .register_parquet(name, location, ParquetReadOptions::default())
            .await
            .map_err(table_error),
        TableFormat::Csv => ctx
            .register_csv(name, location, CsvReadOptions::new().has_header(true))
            .await
            .map_err(table_error),
    }
}
