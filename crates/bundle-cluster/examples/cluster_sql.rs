//! Submits one SQL query to a Ballista cluster whose executors have the bundles' functions.
//!
//! `cargo run --release -p bundle-cluster --example cluster_sql -- --scheduler df://host:50050
//!  --model out/moods/models/moods --table tracks=/data/catalogue/ --query "SELECT …"`
//!
//! The bundles are loaded here too, to plan the query; the table paths are read by the
//! executors, so they must exist at the same path on every executor's machine. Results print
//! as a table, or go to `--output FILE.parquet|FILE.csv`: the write is the plan's last stage,
//! so one executor writes the file, at that path on its machine (on one machine or a shared
//! file system, that is where this process can read it).

use std::path::PathBuf;

use anyhow::Context;
use bundle_sql::{Destination, SessionOptions, TableSource};
use clap::Parser;

#[derive(Parser, Debug)]
#[command(about = "Run SQL with spotify-ml's bundles as functions on a Ballista cluster")]
struct Args {
    /// The scheduler, `df://HOST:PORT`.
    #[arg(long, default_value = "df://localhost:50050")]
    scheduler: String,
    /// Bundle folders, the same as the scheduler's and executors'.
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
    /// Partitions of the plan, so tasks (default: the number of this machine's cores).
    #[arg(long)]
    partitions: Option<usize>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bundles = bundle_sql::load_bundles(&args.models)?;
    let options = SessionOptions::default().target_partitions(args.partitions);
    let ctx = bundle_cluster::client(&args.scheduler, &bundles, &options)
        .await
        .with_context(|| format!("connecting to {}", args.scheduler))?;
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
