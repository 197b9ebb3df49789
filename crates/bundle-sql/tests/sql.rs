//! The bundles as SQL functions: the same predictions as the streaming scorer, row for row and
//! bit for bit, and planning errors that name a missing or mistyped argument.

mod common;

use std::path::PathBuf;
use std::process::Command;

use bundle_sql::{register_bundles, register_table, SessionOptions, SqlError, TableSource};
use common::{
    assert_same_rows, catalogue, chain, data_dir, moods_bundle, output_columns, rows_by_id, scored,
    select_list, valence_bundle,
};
use datafusion::prelude::SessionContext;

/// A session with the bundles and the table `tracks`, in two partitions of small batches so
/// that the functions see many batches and both partitions work.
async fn session(bundles: &[PathBuf], table: &std::path::Path) -> SessionContext {
    let ctx = SessionOptions::default()
        .target_partitions(Some(2))
        .batch_rows(Some(1000))
        .memory_limit(Some(256 << 20))
        .context()
        .unwrap();
    register_bundles(&ctx, &bundle_sql::load_bundles(bundles).unwrap()).unwrap();
    let source = TableSource {
        name: "tracks".into(),
        path: table.to_path_buf(),
    };
    register_table(&ctx, &source).await.unwrap();
    ctx
}

#[tokio::test]
async fn sql_predictions_equal_the_streaming_scorers_row_for_row() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("catalogue.parquet");
    catalogue(&data, &table, 5_000, 7);
    let bundles = vec![valence_bundle(dir.path()), moods_bundle(dir.path())];
    let expected = scored(std::slice::from_ref(&table), &bundles, dir.path());

    let ctx = session(&bundles, &table).await;
    let outputs = output_columns(&bundles);
    let names: Vec<&str> = outputs.iter().map(String::as_str).collect();
    for named in [false, true] {
        let query = format!("SELECT id, {} FROM tracks", select_list(&bundles, named));
        let batches = ctx.sql(&query).await.unwrap().collect().await.unwrap();
        let (nulls, values) = assert_same_rows(
            &rows_by_id(std::slice::from_ref(&expected), &names),
            &rows_by_id(&batches, &names),
            &names,
        );
        // The catalogue's bad rows (1%) get nulls, the others values: both paths were compared.
        assert!(
            nulls > 0 && values > nulls * 10,
            "{nulls} nulls, {values} values"
        );
    }
}

#[tokio::test]
async fn optional_inputs_may_be_left_out_and_predict_as_without_analysis() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("catalogue.parquet");
    catalogue(&data, &table, 2_000, 11);
    let bundle = valence_bundle(dir.path());
    let ctx = session(std::slice::from_ref(&bundle), &table).await;
    let loaded = spotify_ml::bundle::load(&bundle).unwrap();
    let required: Vec<&str> = loaded
        .manifest()
        .inputs
        .iter()
        .filter(|c| !c.optional)
        .map(|c| c.name.as_str())
        .collect();
    assert!(required.len() < loaded.manifest().inputs.len());
    let nulls: Vec<&str> = loaded
        .manifest()
        .inputs
        .iter()
        .map(|c| if c.optional { "NULL" } else { c.name.as_str() })
        .collect();
    let query = format!(
        "SELECT id, valence({}) AS short, valence({}) AS with_nulls FROM tracks",
        required.join(", "),
        nulls.join(", ")
    );
    let batches = ctx.sql(&query).await.unwrap().collect().await.unwrap();
    let rows = rows_by_id(&batches, &["short", "with_nulls"]);
    let mut values = 0;
    for (id, cells) in &rows {
        assert_eq!(cells[0], cells[1], "id {id}");
        values += usize::from(cells[0] != common::Cell::Null);
    }
    assert!(
        values > rows.len() / 2,
        "{values} of {} rows predicted",
        rows.len()
    );
}

/// The planning error of a query, with its causes.
async fn planning_error(ctx: &SessionContext, query: &str) -> String {
    let result = match ctx.sql(query).await {
        Ok(frame) => frame.collect().await.map(|_| ()),
        Err(error) => Err(error),
    };
    let error = result.expect_err(query);
    chain(&error)
}

#[tokio::test]
async fn a_missing_or_mistyped_argument_is_an_error_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let bundles = vec![moods_bundle(dir.path())];
    let table = dir.path().join("tracks.csv");
    // A header and one row: the catalogue's audio columns, with `energy` as text.
    let loaded = spotify_ml::bundle::load(&bundles[0]).unwrap();
    let inputs: Vec<String> = loaded
        .manifest()
        .inputs
        .iter()
        .map(|c| c.name.clone())
        .collect();
    let values: Vec<&str> = inputs
        .iter()
        .map(|name| if name == "energy" { "loud" } else { "0.5" })
        .collect();
    std::fs::write(
        &table,
        format!("id,{}\nx,{}\n", inputs.join(","), values.join(",")),
    )
    .unwrap();
    let ctx = session(&bundles, &table).await;
    let without_last = inputs[..inputs.len() - 1].join(", ");
    let last = inputs.last().unwrap();

    let error = planning_error(&ctx, &format!("SELECT moods({without_last}) FROM tracks")).await;
    assert!(
        error.contains(&format!("missing its argument `{last}`")),
        "{error}"
    );

    let named: Vec<String> = inputs[1..].iter().map(|n| format!("{n} => {n}")).collect();
    let error = planning_error(
        &ctx,
        &format!("SELECT moods({}) FROM tracks", named.join(", ")),
    )
    .await;
    assert!(error.contains(&inputs[0]), "{error}");

    let error = planning_error(
        &ctx,
        &format!("SELECT moods({}) FROM tracks", inputs.join(", ")),
    )
    .await;
    assert!(
        error.contains("argument `energy` is Utf8")
            || error.contains("argument `energy` is Utf8View"),
        "{error}"
    );

    let misspelt = inputs.join(", ").replace("danceability", "danceabilty");
    let error = planning_error(&ctx, &format!("SELECT moods({misspelt}) FROM tracks")).await;
    assert!(error.contains("danceabilty"), "{error}");
}

#[test]
fn two_bundles_of_one_name_and_a_built_in_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let first = moods_bundle(&dir.path().join("a"));
    let second = moods_bundle(&dir.path().join("b"));
    let bundles = bundle_sql::load_bundles(&[first, second]).unwrap();
    let error = bundle_sql::bundle_functions(&bundles).unwrap_err();
    assert!(
        matches!(&error, SqlError::DuplicateFunction { name, .. } if name == "moods"),
        "{error}"
    );
    let ctx = SessionContext::new();
    register_bundles(&ctx, &bundles[..1]).unwrap();
    let error = register_bundles(&ctx, &bundles[..1]).unwrap_err();
    assert!(
        matches!(&error, SqlError::FunctionExists { name, .. } if name == "moods"),
        "{error}"
    );
}

/// The example binary built next to this test's binary.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(std::path::Path::parent).unwrap();
    let path = dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: cargo test builds the examples",
        path.display()
    );
    path
}

#[test]
fn the_example_writes_a_query_to_parquet_and_fails_clearly_past_its_memory_limit() {
    let Some(data) = data_dir() else { return };
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("catalogue.parquet");
    catalogue(&data, &table, 20_000, 5);
    let bundle = moods_bundle(dir.path());
    let output = dir.path().join("calm.parquet");
    let query = format!(
        "SELECT id, {} FROM tracks WHERE moods_p_calm({}) > 0.2",
        select_list(std::slice::from_ref(&bundle), false),
        common::arguments(&bundle)
    );
    let run = |extra: &[&str], output: Option<&std::path::Path>| {
        let mut command = Command::new(example("sql"));
        command
            .arg("--model")
            .arg(&bundle)
            .arg("--table")
            .arg(format!("tracks={}", table.display()))
            .args(extra);
        if let Some(output) = output {
            command.arg("--output").arg(output);
        }
        command.output().unwrap()
    };
    let written = run(&["--query", &query], Some(&output));
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let file = std::fs::File::open(&output).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert!(rows > 0 && rows < 20_000, "{rows} rows");

    // A sort of every row: in 1 MB it fails, naming the pool and its consumers, instead of
    // taking the machine's memory; in 100 MB it runs.
    let sort = "SELECT * FROM tracks ORDER BY genre, id";
    let sorted = dir.path().join("sorted.parquet");
    let refused = run(
        &[
            "--query",
            sort,
            "--memory-limit",
            "1000000",
            "--partitions",
            "1",
        ],
        Some(&sorted),
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "{stderr}");
    assert!(
        stderr.contains("Resources exhausted") && stderr.contains("pool_size"),
        "{stderr}"
    );
    let allowed = run(
        &[
            "--query",
            sort,
            "--memory-limit",
            "100000000",
            "--partitions",
            "1",
        ],
        Some(&sorted),
    );
    let stderr = String::from_utf8_lossy(&allowed.stderr);
    assert!(allowed.status.success(), "{stderr}");
    assert!(stderr.contains("20000 result rows"), "{stderr}");
}
