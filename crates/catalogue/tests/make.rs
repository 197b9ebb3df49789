//! Catalogues made from the shared data: determinism, schema, ranges, shares, defects, both file
//! formats, and the write's refusals. Skipped, with a message, when the shared data is absent.

use std::fs::File;
use std::path::Path;
use std::sync::OnceLock;

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{Array, RecordBatch};
use catalogue::make::{schema, CatalogueParams, Counts, Error, Sources, WriteOptions, COLUMNS};
use dataset::read::is_spotify_id;
use dataset::validate::{check_analysis, check_features, CHORUS_HIT, POPULARITY, SECTIONS};
use dataset::{AnalysisSummary, AudioFeature, AudioFeatures, DataDir, ANALYSIS_DIM};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The sources, loaded once for every test, or `None` when the shared data is absent.
fn sources() -> Option<&'static Sources> {
    static SOURCES: OnceLock<Option<Sources>> = OnceLock::new();
    SOURCES
        .get_or_init(|| {
            let explicit = std::env::var_os("SPOTIFY_ML_DATA")
                .is_none()
                .then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
            match DataDir::resolve(explicit.as_deref()) {
                Ok(dir) => Some(Sources::load(&dir).expect("the shared data loads")),
                Err(error) => {
                    eprintln!("skipping: the shared data is absent ({error})");
                    None
                }
            }
        })
        .as_ref()
}

fn collect(params: CatalogueParams, sources: &Sources) -> (Vec<RecordBatch>, Counts) {
    let catalogue = params.check().expect("valid parameters");
    let mut batches = catalogue.batches(sources);
    let collected: Vec<RecordBatch> = batches.by_ref().collect();
    (collected, batches.counts())
}

/// Every value of every batch, floats by their bits so that NaN equals NaN.
fn cells(batches: &[RecordBatch]) -> Vec<Vec<Option<String>>> {
    let mut rows = Vec::new();
    for batch in batches {
        for row in 0..batch.num_rows() {
            let cells = batch
                .columns()
                .iter()
                .map(|column| {
                    if column.is_null(row) {
                        None
                    } else if let Some(numbers) = column.as_primitive_opt::<Float64Type>() {
                        Some(format!("{:016x}", numbers.value(row).to_bits()))
                    } else {
                        Some(column.as_string::<i32>().value(row).to_string())
                    }
                })
                .collect();
            rows.push(cells);
        }
    }
    rows
}

fn number(batch: &RecordBatch, column: &str, row: usize) -> Option<f64> {
    let column = batch.column_by_name(column).expect("a schema column");
    let numbers = column.as_primitive::<Float64Type>();
    (!numbers.is_null(row)).then(|| numbers.value(row))
}

fn features_of(batch: &RecordBatch, row: usize) -> Option<AudioFeatures> {
    let value = |feature: AudioFeature| number(batch, feature.name(), row);
    let whole = |feature: AudioFeature| value(feature).map(|v| v as i64);
    let features = AudioFeatures {
        danceability: value(AudioFeature::Danceability)?,
        energy: value(AudioFeature::Energy)?,
        key: i32::try_from(whole(AudioFeature::Key)?).ok()?,
        loudness: value(AudioFeature::Loudness)?,
        mode: Some(i32::try_from(whole(AudioFeature::Mode)?).ok()?),
        speechiness: value(AudioFeature::Speechiness)?,
        acousticness: value(AudioFeature::Acousticness)?,
        instrumentalness: value(AudioFeature::Instrumentalness)?,
        liveness: value(AudioFeature::Liveness)?,
        valence: Some(value(AudioFeature::Valence)?),
        tempo: value(AudioFeature::Tempo)?,
        duration_ms: Some(whole(AudioFeature::DurationMs)?),
        time_signature: Some(i32::try_from(whole(AudioFeature::TimeSignature)?).ok()?),
    };
    // Integer fields must be whole numbers and inside their range before the cast above.
    let integers_whole = AudioFeature::ALL
        .into_iter()
        .filter(|f| f.is_integer())
        .all(|f| value(f).is_some_and(|v| v.fract() == 0.0 && v.is_finite()));
    (integers_whole && check_features(&features, &AudioFeature::ALL).is_ok()).then_some(features)
}

/// Counts the rows of each kind from the values alone: bad if an audio feature is null, NaN,
/// fractional where the API gives integers, or out of range; without analysis if `pitch_0` is
/// null. Checks everything a good row must satisfy on the way.
fn classify(batches: &[RecordBatch]) -> Counts {
    let mut counts = Counts::default();
    let analysis_columns = AnalysisSummary::column_names();
    for batch in batches {
        let ids = batch.column_by_name("id").expect("id").as_string::<i32>();
        for row in 0..batch.num_rows() {
            assert!(is_spotify_id(ids.value(row)), "id {:?}", ids.value(row));
            let chorus_hit = number(batch, "chorus_hit", row).expect("chorus_hit");
            assert!(CHORUS_HIT.contains(chorus_hit), "chorus_hit {chorus_hit}");
            let sections = number(batch, "sections", row).expect("sections");
            assert!(SECTIONS.contains(sections) && sections.fract() == 0.0);
            let popularity = number(batch, "artist_popularity", row).expect("popularity");
            assert!(POPULARITY.contains(popularity) && popularity.fract() == 0.0);
            let analysis: Vec<Option<f64>> = analysis_columns
                .iter()
                .map(|column| number(batch, column, row))
                .collect();
            let has_analysis = analysis[0].is_some();
            assert!(
                analysis.iter().all(|value| value.is_some() == has_analysis),
                "pitch and timbre are null together"
            );
            if has_analysis {
                let mut summary = AnalysisSummary {
                    pitch: [0.0; ANALYSIS_DIM],
                    timbre: [0.0; ANALYSIS_DIM],
                };
                for i in 0..ANALYSIS_DIM {
                    summary.pitch[i] = analysis[i].expect("present");
                    summary.timbre[i] = analysis[ANALYSIS_DIM + i].expect("present");
                }
                assert_eq!(check_analysis(&summary), Ok(()));
            }
            match (features_of(batch, row), has_analysis) {
                (None, _) => counts.bad += 1,
                (Some(_), false) => counts.no_analysis += 1,
                (Some(_), true) => counts.good += 1,
            }
        }
    }
    counts
}

fn write(
    sources: &Sources,
    params: CatalogueParams,
    path: &Path,
) -> Result<catalogue::make::Written, Error> {
    let options = WriteOptions {
        overwrite: false,
        progress: false,
    };
    params
        .check()
        .expect("valid")
        .write(sources, path, &options)
}

fn read_parquet(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).expect("open parquet");
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .expect("a parquet file")
        .build()
        .expect("a reader");
    reader.map(|batch| batch.expect("a batch")).collect()
}

fn read_csv(path: &Path) -> Vec<RecordBatch> {
    let file = File::open(path).expect("open csv");
    let reader = arrow_csv::ReaderBuilder::new(schema())
        .with_header(true)
        .build(file)
        .expect("a reader");
    reader.map(|batch| batch.expect("a batch")).collect()
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into())
        .collect();
    names.sort();
    names
}

#[test]
fn same_seed_gives_the_same_rows_and_bytes_whatever_the_batch_size() {
    let Some(sources) = sources() else { return };
    let temp = tempfile::tempdir().expect("temp dir");
    let params = |rows, batch_rows| CatalogueParams::new(rows, 11).batch_rows(batch_rows);
    let (batches, _) = collect(params(3_000, 1_000), sources);
    let (again, _) = collect(params(3_000, 1_000), sources);
    let (rebatched, _) = collect(params(3_000, 777), sources);
    assert_eq!(cells(&batches), cells(&again));
    assert_eq!(cells(&batches), cells(&rebatched));
    assert_eq!(rebatched.len(), 4);

    // CSV has no layout of its own; Parquet gets enough rows for several pages a column and two
    // row groups, where the writer's page boundaries would follow unaligned batches.
    for (extension, rows) in [("csv", 3_000), ("parquet", 150_000)] {
        let first = temp.path().join(format!("first.{extension}"));
        let second = temp.path().join(format!("second.{extension}"));
        let other_batches = temp.path().join(format!("other_batches.{extension}"));
        write(sources, params(rows, 5_000), &first).expect("writes");
        write(sources, params(rows, 5_000), &second).expect("writes");
        write(sources, params(rows, 777), &other_batches).expect("writes");
        let bytes = std::fs::read(&first).expect("read");
        // Not assert_eq: a failure would print megabytes.
        assert!(
            bytes == std::fs::read(&second).expect("read"),
            "{extension}: same batches"
        );
        assert!(
            bytes == std::fs::read(&other_batches).expect("read"),
            "{extension}: batches of 777 rows"
        );
    }
}

#[test]
fn different_seeds_give_different_rows() {
    let Some(sources) = sources() else { return };
    let (one, _) = collect(CatalogueParams::new(500, 1), sources);
    let (two, _) = collect(CatalogueParams::new(500, 2), sources);
    let (one, two) = (cells(&one), cells(&two));
    let same_ids = one.iter().zip(&two).filter(|(a, b)| a[0] == b[0]).count();
    let same_rows = one
        .iter()
        .zip(&two)
        .filter(|(a, b)| a[1..] == b[1..])
        .count();
    assert_eq!(same_ids, 0);
    assert!(same_rows < 5, "{same_rows} of 500 rows equal across seeds");
}

#[test]
fn batches_follow_the_schema() {
    let Some(sources) = sources() else { return };
    let (batches, counts) = collect(CatalogueParams::new(2_500, 3).batch_rows(1_000), sources);
    assert_eq!(
        batches
            .iter()
            .map(RecordBatch::num_rows)
            .collect::<Vec<_>>(),
        [1_000, 1_000, 500]
    );
    assert_eq!(counts.total(), 2_500);
    let schema = schema();
    assert_eq!(schema.fields().len(), COLUMNS);
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let mut expected = vec!["id"];
    expected.extend(AudioFeature::ALL.map(AudioFeature::name));
    let analysis = AnalysisSummary::column_names();
    expected.extend(analysis.iter().map(String::as_str));
    expected.extend(["chorus_hit", "sections", "genre", "artist_popularity"]);
    assert_eq!(names, expected);
    assert_eq!(
        &names[1..14],
        [
            "danceability",
            "energy",
            "key",
            "loudness",
            "mode",
            "speechiness",
            "acousticness",
            "instrumentalness",
            "liveness",
            "valence",
            "tempo",
            "duration_ms",
            "time_signature",
        ]
    );
    for batch in &batches {
        assert_eq!(batch.schema(), schema);
    }
}

#[test]
fn good_rows_stay_inside_the_api_ranges_and_bad_rows_are_really_bad() {
    let Some(sources) = sources() else { return };
    let params = CatalogueParams::new(6_000, 5)
        .no_analysis_share(0.1)
        .bad_share(0.1)
        .batch_rows(2_048);
    let (batches, counts) = collect(params, sources);
    // The values alone tell the kinds apart exactly as the generator counted them.
    assert_eq!(classify(&batches), counts);
}

#[test]
fn shares_come_out_roughly_as_requested() {
    let Some(sources) = sources() else { return };
    let rows = 20_000;
    let (_, counts) = collect(
        CatalogueParams::new(rows, 8)
            .no_analysis_share(0.2)
            .bad_share(0.05),
        sources,
    );
    let share = |count: u64| count as f64 / rows as f64;
    // Five standard deviations of a binomial share at 20,000 rows is at most 0.018.
    assert!(
        (share(counts.no_analysis) - 0.2).abs() < 0.015,
        "{counts:?}"
    );
    assert!((share(counts.bad) - 0.05).abs() < 0.01, "{counts:?}");

    let (batches, none) = collect(
        CatalogueParams::new(1_000, 8)
            .no_analysis_share(0.0)
            .bad_share(0.0),
        sources,
    );
    assert_eq!((none.no_analysis, none.bad), (0, 0));
    assert_eq!(classify(&batches), none);
}

#[test]
fn bad_rows_have_one_feature_null_nan_or_out_of_range() {
    let Some(sources) = sources() else { return };
    let (batches, counts) = collect(
        CatalogueParams::new(3_000, 13)
            .bad_share(1.0)
            .no_analysis_share(0.0),
        sources,
    );
    assert_eq!(counts.bad, 3_000);
    let (mut nulls, mut nans, mut out_of_range) = (0, 0, 0);
    let mut defective_features = std::collections::BTreeSet::new();
    for batch in &batches {
        for row in 0..batch.num_rows() {
            let mut defects = 0;
            for feature in AudioFeature::ALL {
                let range = dataset::validate::feature_range(feature);
                match number(batch, feature.name(), row) {
                    None => nulls += 1,
                    Some(value) if value.is_nan() => nans += 1,
                    Some(value) if !range.contains(value) => out_of_range += 1,
                    Some(_) => continue,
                }
                defects += 1;
                defective_features.insert(feature);
            }
            assert_eq!(defects, 1, "row {row} has exactly one defect");
        }
    }
    assert_eq!(nulls + nans + out_of_range, 3_000);
    for kind in [nulls, nans, out_of_range] {
        assert!(
            kind > 800,
            "{nulls} nulls, {nans} NaNs, {out_of_range} out of range"
        );
    }
    assert_eq!(defective_features.len(), AudioFeature::ALL.len());
}

#[test]
fn csv_and_parquet_read_back_to_the_rows_made_in_memory() {
    let Some(sources) = sources() else { return };
    let temp = tempfile::tempdir().expect("temp dir");
    let params = || {
        CatalogueParams::new(4_000, 21)
            .bad_share(0.2)
            .batch_rows(1_500)
    };
    let (batches, counts) = collect(params(), sources);
    let expected = cells(&batches);
    for extension in ["csv", "parquet"] {
        let path = temp.path().join(format!("catalogue.{extension}"));
        let written = write(sources, params(), &path).expect("writes");
        assert_eq!(written.counts, counts);
        assert_eq!(
            written.bytes,
            std::fs::metadata(&path).expect("exists").len()
        );
        let read = match extension {
            "csv" => read_csv(&path),
            _ => read_parquet(&path),
        };
        assert!(read.iter().all(|batch| batch.schema() == schema()));
        assert_eq!(cells(&read), expected, "{extension} round trip");
    }
    assert_eq!(
        file_names(temp.path()),
        ["catalogue.csv", "catalogue.parquet"]
    );
}

#[test]
fn an_existing_output_is_refused_without_overwrite() {
    let Some(sources) = sources() else { return };
    let temp = tempfile::tempdir().expect("temp dir");
    let path = temp.path().join("catalogue.csv");
    std::fs::write(&path, "keep me").expect("write");
    match write(sources, CatalogueParams::new(10, 1), &path) {
        Err(Error::Exists { path: refused }) => assert_eq!(refused, path),
        other => panic!("expected Exists, got {other:?}"),
    }
    assert_eq!(std::fs::read_to_string(&path).expect("read"), "keep me");

    let options = WriteOptions {
        overwrite: true,
        progress: false,
    };
    let catalogue = CatalogueParams::new(10, 1).check().expect("valid");
    catalogue
        .write(sources, &path, &options)
        .expect("overwrites");
    assert_eq!(
        read_csv(&path)
            .iter()
            .map(RecordBatch::num_rows)
            .sum::<usize>(),
        10
    );
    assert_eq!(file_names(temp.path()), ["catalogue.csv"]);
}

#[test]
fn a_failed_write_leaves_no_temporary_file() {
    let Some(sources) = sources() else { return };
    let temp = tempfile::tempdir().expect("temp dir");
    // A directory in the way: the whole file is written, and the final rename fails.
    let path = temp.path().join("in_the_way.parquet");
    std::fs::create_dir(&path).expect("mkdir");
    std::fs::write(path.join("inside"), "x").expect("write");
    let options = WriteOptions {
        overwrite: true,
        progress: false,
    };
    let catalogue = CatalogueParams::new(100, 1).check().expect("valid");
    match catalogue.write(sources, &path, &options) {
        Err(error @ Error::Io { .. }) => {
            assert!(
                std::error::Error::source(&error).is_some(),
                "keeps its cause"
            )
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert_eq!(file_names(temp.path()), ["in_the_way.parquet"]);

    let unknown = temp.path().join("catalogue.json");
    assert!(matches!(
        write(sources, CatalogueParams::new(10, 1), &unknown),
        Err(Error::UnknownFormat { .. })
    ));
    let missing_folder = temp.path().join("no/such/folder/catalogue.csv");
    assert!(matches!(
        write(sources, CatalogueParams::new(10, 1), &missing_folder),
        Err(Error::Io { .. })
    ));
    assert_eq!(file_names(temp.path()), ["in_the_way.parquet"]);
}
