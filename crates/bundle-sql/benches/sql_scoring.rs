//! Scoring one catalogue file with the same bundles, two ways, in one run: the streaming scorer
//! (`scoring::score`, Parquet parts) and DataFusion with the bundles as SQL functions
//! (`COPY`-like: the query's result written to one Parquet file). Throughput is rows of the
//! catalogue per second; the ratio DataFusion / streaming scorer is the target (≥ 0.8×).
//!
//! - `BENCH_ROWS`: catalogue rows (default 200,000), made by `catalogue::make` from the shared
//!   data (`../shared/data` or `SPOTIFY_ML_DATA`); without the data it measures nothing.
//! - `BENCH_MODELS`: bundle folders, comma-separated (for example the examples' moods and
//!   genre5 bundles). Without it, the tests' small fixtures (a k-NN valence bundle with intervals
//!   and its audio-only fallback, a boosting mood classifier) are fitted here.
//!
//! `cargo bench -p bundle-sql --bench sql_scoring`

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::Duration;

use bundle_sql::{Destination, SessionOptions, TableSource};
use criterion::{criterion_main, Criterion, SamplingMode, Throughput};

fn bench(c: &mut Criterion) {
    let Some(data) = common::data_dir() else {
        return;
    };
    let rows: u64 = std::env::var("BENCH_ROWS")
        .ok()
        .map(|v| v.parse().expect("BENCH_ROWS: a number of rows"))
        .unwrap_or(200_000);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let table = dir.path().join("catalogue.parquet");
    common::catalogue(&data, &table, rows, 11);
    let bundles: Vec<PathBuf> = match std::env::var("BENCH_MODELS") {
        Ok(list) => list.split(',').map(PathBuf::from).collect(),
        Err(_) => vec![
            common::valence_bundle(dir.path()),
            common::moods_bundle(dir.path()),
        ],
    };
    let query = format!(
        "SELECT id, {} FROM tracks",
        common::select_list(&bundles, false)
    );
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    let loaded = bundle_sql::load_bundles(&bundles).expect("the bundles");

    let mut group = c.benchmark_group("score_catalogue_file");
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(rows));
    let scored = dir.path().join("scored.parquet");
    group.bench_function("streaming_scorer", |b| {
        b.iter(|| {
            let mut job =
                scoring::ScoreJob::new(vec![table.clone()], bundles.clone(), scored.clone());
            job.overwrite = true;
            let summary = scoring::score(&job).expect("the streaming scorer");
            assert_eq!(summary.rows_total, rows);
        })
    });
    let written = dir.path().join("sql.parquet");
    group.bench_function("datafusion_sql", |b| {
        b.iter(|| {
            runtime.block_on(async {
                let ctx = SessionOptions::default().context().expect("a session");
                bundle_sql::register_bundles(&ctx, &loaded).expect("the functions");
                let source = TableSource {
                    name: "tracks".into(),
                    path: table.clone(),
                };
                bundle_sql::register_table(&ctx, &source)
                    .await
                    .expect("the table");
                let _ = std::fs::remove_file(&written);
                let run = bundle_sql::run_query(&ctx, &query, &Destination::File(written.clone()))
                    .await
                    .expect("the query");
                assert_eq!(run.rows as u64, rows);
            })
        })
    });
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(group::benches);
