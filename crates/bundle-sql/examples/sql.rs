//! Runs one SQL query over catalogue files, with model bundles as functions.
//!
//! `cargo run --release -p bundle-sql --example sql -- --model out/moods/models/moods
//!  --table tracks=catalogue.parquet --query "SELECT id, moods(danceability, …) FROM tracks"`
//!
//! Without `--output` the result is printed as a table (gathered first: use `LIMIT`, or
//! `--output`, for large results); with `--output FILE.parquet|FILE.csv` it is streamed to that
//! file. `COPY (SELECT …) TO 'FILE'` in the query works too. `--memory-limit` bounds the memory of
//! sorts, joins and aggregations: past it they spill to disk, or the query fails naming the
//! largest consumers.

use std::path::PathBuf;

use anyhow::Context;
use bundle_sql::{Destination, SessionOptions, TableSource};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Query catalogue files with SQL, spotify-ml's model bundles as functions")]
struct Args {
    /// Bundle folders; each output column becomes a function of its name.
    #[arg(long = "model", num_args = 1..)]
    models: Vec<PathBuf>,
    /// Tables, `NAME=PATH`: a `.parquet` or `.csv` file, or a folder of Parquet files.
    #[arg(long = "table", num_args = 1..)]
    tables: Vec<TableSource>,
    /// The SQL query.
    #[arg(long)]
    query: String,
    /// Write the result to this `.parquet` or `.csv` file instead of printing it.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Bytes that sorts, joins and aggregations may hold before they spill (default: no bound).
    #[arg(long)]
    memory_limit: Option<usize>,
    /// Partitions scored in parallel (default: the number of cores).
    #[arg(long)]
    partitions: Option<usize>,
    /// Rows per record batch (default: DataFusion's 8,192).
    #[arg(long)]
    batch_rows: Option<usize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let ctx = SessionOptions::default()
        .memory_limit(args.memory_limit)
        .target_partitions(args.partitions)
        .batch_rows(args.batch_rows)
        .context()?;
    let bundles = bundle_sql::load_bundles(&args.models)?;
    let functions = bundle_sql::register_bundles(&ctx, &bundles)?;
    eprintln!("functions: {}", functions.join(", "));
    for table in &args.tables {
        bundle_sql::register_table(&ctx, table).await?;
    }
    let destination = args.output.map_or(Destination::Print, Destination::File);
    let run = bundle_sql::run_query(&ctx, &args.query, &destination)
        .await
        .context("running the query")?;
    if let Some(table) = &run.table {
        println!("{table}");
    }
    eprintln!(
        "{} result rows in {:.2} s ({:.0} rows/s)",
        run.rows,
        run.seconds,
        run.rows as f64 / run.seconds
    );
    Ok(())
}
