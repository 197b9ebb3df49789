//! Hostile data files: a header without rows, bytes that are not UTF-8, and lines far longer than
//! any real row. Each is an error that names the file, the line and (where there is one) the
//! column, and a huge line is never read whole.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dataset::load::{moods, valence};
use dataset::Strictness;

const FEATURES_HEADER: &str = "id,danceability,energy,key,loudness,mode,speechiness,acousticness,\
    instrumentalness,liveness,valence,tempo,duration_ms,time_signature";
const ID: &str = "5aAx2yezTd8zXrkmtKl66Z";

fn features_row(energy: &str) -> String {
    format!("{ID},0.681,{energy},7,-7.028,1,0.282,0.165,3.49e-06,0.134,0.535,186.054,230453,4")
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write fixture");
    path
}

#[test]
fn a_file_with_a_header_and_no_rows_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, text) in [
        ("header_only.csv", format!("{FEATURES_HEADER}\n")),
        ("header_only_crlf.csv", format!("{FEATURES_HEADER}\r\n\r\n")),
    ] {
        let path = write(dir.path(), name, text.as_bytes());
        for strictness in [Strictness::Strict, Strictness::Lenient] {
            let error = valence::read_features(&path, true, strictness)
                .expect_err("a header without rows is not a data set");
            let message = error.to_string();
            assert!(
                message.contains(&path.display().to_string()) && message.contains("no row"),
                "{message}"
            );
        }
    }
    let moods_header = "name,album,artist,id,release_date,popularity,length,danceability,\
        acousticness,energy,instrumentalness,liveness,valence,loudness,speechiness,tempo,key,\
        time_signature,mood\n";
    let path = write(dir.path(), "moods.csv", moods_header.as_bytes());
    let error = moods::load_path(&path, Strictness::Strict).expect_err("no rows");
    assert!(error.to_string().contains("moods.csv"), "{error}");
}

#[test]
fn invalid_utf8_is_reported_by_the_name_of_its_column() {
    let dir = tempfile::tempdir().expect("temp dir");
    // Line 3: the energy cell holds a byte that is not UTF-8 (written as `@`, then replaced).
    let text = format!(
        "{FEATURES_HEADER}\n{}\n{}\n",
        features_row("0.594"),
        features_row("0.5@")
    );
    let bytes: Vec<u8> = text
        .bytes()
        .map(|b| if b == b'@' { 0xff } else { b })
        .collect();
    let path = write(dir.path(), "bad_utf8.csv", &bytes);
    let error = valence::read_features(&path, true, Strictness::Strict).expect_err("not UTF-8");
    let message = error.to_string();
    assert_eq!(error.line(), Some(3), "{message}");
    assert!(
        message.contains("`energy`") && message.contains("UTF-8"),
        "{message}"
    );
    assert!(!message.contains("field"), "{message}");
}

#[test]
fn a_line_longer_than_any_row_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut text = format!("{FEATURES_HEADER}\n{}\n", features_row("0.594"));
    text.push_str(&"y".repeat(3 << 20));
    text.push('\n');
    let path = write(dir.path(), "long_line.csv", text.as_bytes());
    let error = valence::read_features(&path, true, Strictness::Lenient)
        .expect_err("a 3 MiB line is refused even when bad rows are skipped");
    let message = error.to_string();
    assert_eq!(
        error.line(),
        Some(3),
        "{}",
        &message[..message.len().min(300)]
    );
    assert!(
        message.contains("long_line.csv") && message.contains("longer than"),
        "{}",
        &message[..message.len().min(300)]
    );
    assert!(message.len() < 1000, "the message quotes the line whole");
}

#[test]
fn a_long_id_list_line_is_an_error_that_does_not_quote_it_whole() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = format!("{ID}\n{}\n", "z".repeat(3 << 20));
    let path = write(dir.path(), "ids.txt", text.as_bytes());
    let error = valence::read_id_list(&path).expect_err("not an id");
    let message = error.to_string();
    assert_eq!(error.line(), Some(2));
    assert!(
        message.len() < 1000,
        "{}…",
        &message[..message.len().min(300)]
    );
}

#[test]
fn errors_quote_at_most_a_few_hundred_characters_of_a_header_or_a_cell() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A 100 kB header (under the line limit) that lacks the expected columns.
    let header = (0..10_000)
        .map(|i| format!("c{i:04}"))
        .collect::<Vec<_>>()
        .join(",");
    let path = write(dir.path(), "wide.csv", format!("{header}\n1\n").as_bytes());
    let message = valence::read_features(&path, true, Strictness::Strict)
        .expect_err("no such columns")
        .to_string();
    assert!(message.len() < 1000, "{} bytes", message.len());
    // A 100 kB cell.
    let row = features_row(&"9".repeat(100_000));
    let path = write(
        dir.path(),
        "wide_cell.csv",
        format!("{FEATURES_HEADER}\n{row}\n").as_bytes(),
    );
    let error = valence::read_features(&path, true, Strictness::Strict).expect_err("out of range");
    assert_eq!(error.column(), Some("energy"));
    assert!(error.to_string().len() < 1000);
}

/// Feeds a loader from a named pipe: the writer stops when the loader closes its end, so the bytes
/// it managed to write bound what the loader read.
#[cfg(unix)]
#[test]
fn a_huge_line_is_not_read_whole_into_memory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("chart_tracks.csv");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("runs mkfifo");
    assert!(made.success());
    const TOTAL: usize = 64 << 20;
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut pipe = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("open fifo");
            let mut written = 0usize;
            if pipe
                .write_all(format!("{FEATURES_HEADER}\n").as_bytes())
                .is_err()
            {
                return written;
            }
            let chunk = vec![b'y'; 64 << 10];
            while written < TOTAL {
                match pipe.write(&chunk) {
                    Ok(n) => written += n,
                    Err(_) => break,
                }
            }
            written
        })
    };
    let started = Instant::now();
    let error = valence::read_features(&fifo, true, Strictness::Strict)
        .expect_err("a 64 MiB line is refused");
    let written = writer.join().expect("writer");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert!(
        written < 8 << 20,
        "the loader read {written} bytes of one line before giving up"
    );
    assert!(matches!(error.line(), Some(2)), "{:?}", error.line());
}
