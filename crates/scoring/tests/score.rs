//! The streaming scorer on small catalogues written here: its output against the bundle's own
//! predictions, parts, resume after a kill, strict mode, and clear errors on bad input.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use scoring::{score, ScoreError, ScoreJob};
use spotify_ml::bundle;

fn job(input: &Path, bundle: &Path, output: &Path) -> ScoreJob {
    ScoreJob {
        batch_rows: 700,
        part_rows: 2_000,
        ..ScoreJob::new(vec![input.into()], vec![bundle.into()], output.into())
    }
}

#[test]
fn the_output_is_the_bundles_predictions_in_input_order_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let model = valence_bundle(dir.path());
    let input = dir.path().join("catalogue.parquet");
    write_parquet(&input, 3, 5_000, 1_500);
    let output = dir.path().join("scores.parquet");
    let summary = score(&job(&input, &model, &output)).unwrap();
    assert_eq!(summary.rows_total, 5_000);
    assert_eq!(summary.parts, 3);
    assert_eq!(scoring::read_summary(&output).unwrap(), summary);

    let scored = read_output(&output);
    let expected = bundle::load(&model)
        .unwrap()
        .predict_batch(&catalogue_batch(3, 0, 5_000))
        .unwrap();
    let ids = texts(&scored, "id");
    assert_eq!(ids.len(), 5_000);
    assert!(ids
        .iter()
        .enumerate()
        .all(|(r, id)| id.as_deref() == Some(format!("track{r:08}").as_str())));
    for (i, name) in ["valence", "valence_low", "valence_high"]
        .iter()
        .enumerate()
    {
        let column = expected.columns[i]
            .1
            .as_any()
            .downcast_ref::<arrow_array::Float64Array>()
            .unwrap();
        let want: Vec<Option<f64>> = column.iter().collect();
        assert_eq!(floats(&scored, name), want, "{name}");
    }
    // Every 50th row is bad: null outputs, a reason, and counted by reason.
    let reasons = texts(&scored, "valence_rejected");
    let bad: Vec<usize> = (0..5_000).filter(|r| reasons[*r].is_some()).collect();
    assert_eq!(bad, (0..5_000).filter(|r| r % 50 == 7).collect::<Vec<_>>());
    assert!(
        reasons[7].as_deref().unwrap().starts_with("missing: "),
        "{:?}",
        reasons[7]
    );
    assert!(
        reasons[57]
            .as_deref()
            .unwrap()
            .starts_with("not_a_number: "),
        "{:?}",
        reasons[57]
    );
    assert!(
        reasons[107]
            .as_deref()
            .unwrap()
            .starts_with("out_of_range: "),
        "{:?}",
        reasons[107]
    );
    let counts = &summary.bundles[0];
    assert_eq!(counts.scored, 5_000 - 100);
    assert_eq!(counts.rejected.values().sum::<u64>(), 100);
    assert!(floats(&scored, "valence")[7].is_none());
}

#[test]
fn csv_and_parquet_inputs_and_outputs_give_the_same_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let model = valence_bundle(dir.path());
    let (parquet, csv) = (dir.path().join("in.parquet"), dir.path().join("in.csv"));
    write_parquet(&parquet, 5, 3_000, 1_000);
    write_csv(&csv, 5, 3_000);
    let from_parquet = dir.path().join("a.parquet");
    let from_csv = dir.path().join("b.csv");
    score(&job(&parquet, &model, &from_parquet)).unwrap();
    score(&job(&csv, &model, &from_csv)).unwrap();
    let (a, b) = (read_output(&from_parquet), read_output(&from_csv));
    let close = |x: &[Option<f64>], y: &[Option<f64>]| {
        x.len() == y.len()
            && x.iter().zip(y).all(|(p, q)| match (p, q) {
                (Some(p), Some(q)) => (p - q).abs() < 1e-12,
                (None, None) => true,
                _ => false,
            })
    };
    // CSV carries the features as decimal text, which round-trips f64 exactly.
    assert!(close(&floats(&a, "valence"), &floats(&b, "valence")));
    assert_eq!(texts(&a, "id"), texts(&b, "id"));
}

#[test]
fn several_files_are_one_catalogue_and_strict_mode_names_the_first_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let model = valence_bundle(dir.path());
    let (first, second) = (dir.path().join("1.parquet"), dir.path().join("2.csv"));
    write_parquet(&first, 8, 1_000, 400);
    write_csv(&second, 9, 500);
    let output = dir.path().join("scores.parquet");
    let mut both = job(&first, &model, &output);
    both.inputs.push(second.clone());
    assert_eq!(score(&both).unwrap().rows_total, 1_500);

    let strict = ScoreJob {
        strict: true,
        overwrite: true,
        inputs: vec![second.clone()],
        ..both.clone()
    };
    let error = score(&strict).unwrap_err();
    let message = chain(&error);
    assert!(
        matches!(error, ScoreError::BadRow { row: 8, .. }),
        "{message}"
    );
    assert!(
        message.contains("2.csv") && message.contains("data row 8"),
        "{message}"
    );
    assert!(
        !output.join(scoring::SUCCESS).exists(),
        "a failed run is not reported done"
    );
}

#[test]
fn bad_inputs_bundles_and_outputs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = valence_bundle(dir.path());
    let input = dir.path().join("in.parquet");
    write_parquet(&input, 2, 3_000, 1_000);
    let output = dir.path().join("out.parquet");

    // A required column missing, and one of the wrong type.
    let no_energy = dir.path().join("no_energy.csv");
    let text = std::fs::read_to_string({
        let csv = dir.path().join("in.csv");
        write_csv(&csv, 2, 20);
        csv
    })
    .unwrap();
    std::fs::write(&no_energy, text.replacen("energy", "energy_db", 1)).unwrap();
    let message = chain(&score(&job(&no_energy, &model, &output)).unwrap_err());
    assert!(
        message.contains("no_energy.csv")
            && message.contains("\"energy\"")
            && message.contains("valence"),
        "{message}"
    );
    let text_energy = dir.path().join("text_energy.parquet");
    {
        let batch = catalogue_batch(1, 0, 10);
        let schema = batch.schema();
        let i = schema.index_of("energy").unwrap();
        let mut fields: Vec<arrow_schema::Field> =
            schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields[i] = arrow_schema::Field::new("energy", arrow_schema::DataType::Utf8, true);
        let mut columns = batch.columns().to_vec();
        columns[i] = std::sync::Arc::new(arrow_array::StringArray::from(vec![Some("loud"); 10]));
        let batch = arrow_array::RecordBatch::try_new(
            std::sync::Arc::new(arrow_schema::Schema::new(fields)),
            columns,
        )
        .unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&text_energy).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    let message = chain(&score(&job(&text_energy, &model, &output)).unwrap_err());
    assert!(
        message.contains("text_energy.parquet")
            && message.contains("\"energy\"")
            && message.contains("Utf8"),
        "{message}"
    );

    // A corrupt Parquet file: bytes of the second row group overwritten.
    let corrupt = dir.path().join("corrupt.parquet");
    let mut bytes = std::fs::read(&input).unwrap();
    let file = std::fs::File::open(&input).unwrap();
    let meta = parquet::file::reader::SerializedFileReader::new(file).unwrap();
    let group = parquet::file::reader::FileReader::metadata(&meta)
        .row_group(1)
        .clone();
    let start = group.column(3).data_page_offset() as usize;
    for b in &mut bytes[start..start + 64] {
        *b = 0xA5;
    }
    std::fs::write(&corrupt, &bytes).unwrap();
    let message = chain(&score(&job(&corrupt, &model, &output)).unwrap_err());
    assert!(
        message.contains("corrupt.parquet") && message.contains("row group 1"),
        "{message}"
    );
    assert!(!output.join(scoring::SUCCESS).exists());
    let truncated = dir.path().join("truncated.parquet");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let message =
        chain(&score(&job(&truncated, &model, &dir.path().join("t.parquet"))).unwrap_err());
    assert!(
        message.contains("truncated.parquet") && message.contains("footer"),
        "{message}"
    );

    // The output exists: refused without --overwrite.
    let done = dir.path().join("done.parquet");
    score(&job(&input, &model, &done)).unwrap();
    let message = chain(&score(&job(&input, &model, &done)).unwrap_err());
    assert!(
        message.contains("done.parquet") && message.contains("--overwrite"),
        "{message}"
    );
    // Resuming with another job's settings is refused.
    let other = ScoreJob {
        resume: true,
        part_rows: 999,
        ..job(&input, &model, &done)
    };
    let message = chain(&score(&other).unwrap_err());
    assert!(message.contains("cannot resume"), "{message}");

    // A bundle whose member changed after it was written.
    let intervals = model.join("best_intervals.json");
    let text = std::fs::read_to_string(&intervals).unwrap();
    std::fs::write(&intervals, text.replacen("0.9", "0.8", 1)).unwrap();
    let message = chain(&score(&job(&input, &model, &dir.path().join("x.parquet"))).unwrap_err());
    assert!(
        message.contains("best_intervals.json") && message.contains("SHA-256"),
        "{message}"
    );
    assert!(
        !dir.path().join("x.parquet").exists(),
        "nothing is written before the bundles load"
    );
}

/// The files of an output folder with their bytes, but the summary (it holds timings).
fn output_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap() != scoring::SUCCESS)
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_killed_run_resumes_to_the_same_bytes_as_an_uninterrupted_one() {
    let dir = tempfile::tempdir().unwrap();
    let model = valence_bundle(dir.path());
    let input = dir.path().join("catalogue.parquet");
    write_parquet(&input, 11, 400_000, 50_000);
    let run = |output: &PathBuf, resume: bool| {
        let mut command = Command::new(example("score_catalogue"));
        command
            .arg("--input")
            .arg(&input)
            .arg("--model")
            .arg(&model)
            .arg("--output")
            .arg(output)
            .args([
                "--batch-rows",
                "4096",
                "--part-rows",
                "20000",
                "--quiet",
                "--threads",
                "1",
            ]);
        if resume {
            command.arg("--resume");
        }
        command
    };
    let whole = dir.path().join("whole.parquet");
    let output = run(&whole, false).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let killed = dir.path().join("killed.parquet");
    let mut child = run(&killed, false).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !killed.join("part-00002.parquet").exists() {
        assert!(
            Instant::now() < deadline,
            "no part was written in two minutes"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join(scoring::SUCCESS).exists(),
        "the run finished before the kill: use a larger input"
    );
    let kept = std::fs::read_dir(&killed).unwrap().count();
    let output = run(&killed, true).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = scoring::read_summary(&killed).unwrap();
    assert!(
        summary.resumed_rows >= 60_000 && summary.rows_read < 400_000,
        "{summary:?} ({kept} files kept)"
    );
    assert_eq!(summary.rows_total, 400_000);
    assert_eq!(
        summary.bundles,
        scoring::read_summary(&whole).unwrap().bundles
    );
    assert!(
        output_files(&killed) == output_files(&whole),
        "the resumed output differs"
    );
}

#[test]
fn batches_scored_in_parallel_pieces_equal_a_single_thread_run_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let model = valence_bundle(dir.path());
    let input = dir.path().join("catalogue.parquet");
    write_parquet(&input, 5, 50_000, 50_000);
    let run = |threads: usize| {
        let output = dir.path().join(format!("threads{threads}.parquet"));
        let job = ScoreJob {
            batch_rows: 30_000,
            part_rows: 40_000,
            ..ScoreJob::new(vec![input.clone()], vec![model.clone()], output.clone())
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let summary = pool.install(|| score(&job)).unwrap();
        (output, summary)
    };
    // 30,000-row batches on 3 threads are scored in three pieces of 10,000 rows; the part
    // boundary at 40,000 rows cuts the second batch into 10,000 (two pieces) and 20,000 rows.
    let (single, one) = run(1);
    let (pieces, three) = run(3);
    assert_eq!(one.bundles, three.bundles);
    assert_eq!(one.parts, 2);
    assert!(
        output_files(&pieces) == output_files(&single),
        "the outputs differ"
    );
}
