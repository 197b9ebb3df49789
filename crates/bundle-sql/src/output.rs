//! Running a query to the screen or to a file.

use std::path::{Path, PathBuf};
use std::time::Instant;

use arrow_array::cast::AsArray;
use arrow_array::types::UInt64Type;
use arrow_array::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;

use crate::{SqlError, TableFormat};

/// Where a query's result goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// Printed as a table (gathered in memory first: for small results).
    Print,
    /// Streamed to one `.parquet` or `.csv` file.
    File(PathBuf),
}

/// What a query did.
#[derive(Clone, Debug, PartialEq)]
pub struct QueryRun {
    /// Rows of the result.
    pub rows: usize,
    /// Seconds from planning to the last row written.
    pub seconds: f64,
    /// The printed table ([`Destination::Print`] only).
    pub table: Option<String>,
}

/// Plans and runs `query`, sending its rows to `destination`.
pub async fn run_query(
    ctx: &SessionContext,
    query: &str,
    destination: &Destination,
) -> Result<QueryRun, SqlError> {
    let start = Instant::now();
    let frame = ctx.sql(query).await?;
    match destination {
        Destination::Print => {
            let batches = frame.collect().await?;
            let rows = batches.iter().map(RecordBatch::num_rows).sum();
            let table = pretty_format_batches(&batches)
                .map_err(DataFusionError::from)?
                .to_string();
            Ok(QueryRun {
                rows,
                seconds: start.elapsed().as_secs_f64(),
                table: Some(table),
            })
        }
        Destination::File(path) => {
            let options = DataFrameWriteOptions::new().with_single_file_output(true);
            let location = output_location(path)?;
            let written = match TableFormat::of(path) {
                Some(TableFormat::Parquet) if !path.is_dir() => {
                    frame.write_parquet(location, options, None).await?
                }
                Some(TableFormat::Csv) => frame.write_csv(location, options, None).await?,
                _ => {
                    return Err(SqlError::UnknownFormat {
                        name: "output".into(),
                        path: path.clone(),
                    })
                }
            };
            Ok(QueryRun {
                rows: count_rows(&written)?,
                seconds: start.elapsed().as_secs_f64(),
                table: None,
            })
        }
    }
}

fn output_location(path: &Path) -> Result<&str, SqlError> {
    path.to_str().ok_or_else(|| SqlError::UnknownFormat {
        name: "output".into(),
        path: path.to_path_buf(),
    })
}

/// The rows a `COPY`, `INSERT` or DataFrame write reports (the sum of its `count` column).
pub fn count_rows(batches: &[RecordBatch]) -> Result<usize, SqlError> {
    let mut rows = 0;
    for batch in batches {
        let column = batch.column_by_name("count").ok_or_else(|| {
            DataFusionError::Plan("the write reported no `count` column".to_string())
        })?;
        let counts = column.as_primitive_opt::<UInt64Type>().ok_or_else(|| {
            DataFusionError::Plan(format!(
                "the write's `count` column is {}, not UInt64",
                column.data_type()
            ))
        })?;
        rows += counts.iter().flatten().sum::<u64>() as usize;
    }
    Ok(rows)
}
