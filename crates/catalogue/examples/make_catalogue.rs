//! Writes a synthetic catalogue of tracks to Parquet or CSV and says how fast it went.
//!
//! ```sh
//! cargo run --release -p catalogue --example make_catalogue -- --rows 1000000 --seed 42 \
//!     --out out/catalogue.parquet
//! ```

use std::path::PathBuf;

use catalogue::make::{
    CatalogueParams, Sources, WriteOptions, DEFAULT_BAD_SHARE, DEFAULT_BATCH_ROWS,
    DEFAULT_NO_ANALYSIS_SHARE,
};
use clap::Parser;
use dataset::DataDir;

/// Writes a synthetic catalogue resampled from the shared data.
#[derive(Parser)]
struct Args {
    /// Number of rows.
    #[arg(long)]
    rows: u64,
    /// Seed every row is drawn from.
    #[arg(long)]
    seed: u64,
    /// Output file, .parquet or .csv.
    #[arg(long)]
    out: PathBuf,
    /// Share of rows without analysis means, 0..=1.
    #[arg(long, default_value_t = DEFAULT_NO_ANALYSIS_SHARE)]
    no_analysis_share: f64,
    /// Share of bad rows, 0..=1.
    #[arg(long, default_value_t = DEFAULT_BAD_SHARE)]
    bad_share: f64,
    /// Rows per record batch.
    #[arg(long, default_value_t = DEFAULT_BATCH_ROWS)]
    batch_rows: usize,
    /// Replace the output if it exists.
    #[arg(long)]
    overwrite: bool,
    /// Data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let catalogue = CatalogueParams::new(args.rows, args.seed)
        .no_analysis_share(args.no_analysis_share)
        .bad_share(args.bad_share)
        .batch_rows(args.batch_rows)
        .check()?;
    let dir = DataDir::resolve(args.data.as_deref())?;
    let sources = Sources::load(&dir)?;
    let options = WriteOptions {
        overwrite: args.overwrite,
        progress: true,
    };
    // The errors name the output path themselves.
    let written = catalogue.write(&sources, &args.out, &options)?;
    let counts = written.counts;
    println!(
        "{}: {} rows ({} good, {} without analysis, {} bad), {} bytes, {:.2} s, {:.0} rows/s",
        args.out.display(),
        counts.total(),
        counts.good,
        counts.no_analysis,
        counts.bad,
        written.bytes,
        written.seconds,
        counts.total() as f64 / written.seconds,
    );
    Ok(())
}
