//! Every loader turns damaged input into an error (or, for a truncation that happens to end on a
//! row boundary, into fewer rows), and never panics: a panic fails these tests.
//!
//! Damaged copies are written to temporary directories laid out like the data directory; the
//! loader's other files are copied there unchanged.

use std::path::{Path, PathBuf};

use dataset::load::charts::{self, ChartFilter};
use dataset::load::genres::{self, GenreSet};
use dataset::load::{hits, moods, popularity, valence};
use dataset::{DataDir, DatasetError, Strictness};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn real_data() -> Option<PathBuf> {
    let path = std::env::var_os("SPOTIFY_ML_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if path.is_dir() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: shared data not found at {}; set SPOTIFY_ML_DATA",
            path.display()
        );
        None
    }
}

/// Loads a data set and measures what it loaded.
type Measure = Box<dyn Fn(&DataDir, Strictness) -> Result<usize, DatasetError>>;

/// A loader under test: the files it reads and a measure of what it loaded (rows, plus rows
/// enriched from an auxiliary file, so that damage to that file shows too).
struct Loader {
    name: &'static str,
    files: Vec<String>,
    run: Measure,
}

fn loaders() -> Vec<Loader> {
    let mut loaders = vec![
        Loader {
            name: "valence::chart_tracks",
            files: vec![valence::CHART_TRACKS.into(), valence::CHART_ANALYSIS.into()],
            run: Box::new(|dir, strictness| {
                let loaded = valence::chart_tracks(dir, strictness)?;
                Ok(loaded.len() + loaded.rows.iter().filter(|t| t.analysis.is_some()).count())
            }),
        },
        Loader {
            name: "valence::eval_tracks",
            files: vec![
                valence::EVAL_IDS.into(),
                valence::EVAL_FEATURES.into(),
                valence::EVAL_ANALYSIS.into(),
            ],
            run: Box::new(|dir, strictness| {
                let loaded = valence::eval_tracks(dir, strictness)?;
                Ok(loaded.len() + loaded.rows.iter().filter(|t| t.analysis.is_some()).count())
            }),
        },
        Loader {
            name: "moods::load",
            files: vec![moods::FILE.into()],
            run: Box::new(|dir, strictness| Ok(moods::load(dir, strictness)?.len())),
        },
        Loader {
            name: "popularity::load",
            files: vec![popularity::SONGS.into(), popularity::ARTISTS.into()],
            run: Box::new(|dir, strictness| {
                let loaded = popularity::load(dir, strictness)?;
                let joined = loaded
                    .rows
                    .iter()
                    .filter(|s| s.artist_popularity.is_some())
                    .count();
                Ok(loaded.len() + joined)
            }),
        },
        Loader {
            name: "hits::load",
            files: hits::DECADES.iter().map(|&d| hits::file(d)).collect(),
            run: Box::new(|dir, strictness| Ok(hits::load(dir, strictness)?.len())),
        },
        Loader {
            name: "charts::load",
            files: vec![charts::FILE.into()],
            run: Box::new(|dir, strictness| {
                let weeks = charts::load_weeks(dir, &ChartFilter::all(), strictness)?;
                Ok(weeks.rows.iter().map(|w| w.entries.len()).sum())
            }),
        },
    ];
    for set in GenreSet::ALL {
        loaders.push(Loader {
            name: "genres::load",
            files: vec![set.file().into()],
            run: Box::new(move |dir, strictness| Ok(genres::load(dir, set, strictness)?.len())),
        });
    }
    loaders
}

/// A temporary data directory with the loader's files copied from `real`, and `damaged`
/// written in place of one of them.
fn damaged_dir(
    real: &Path,
    loader: &Loader,
    target: &str,
    damaged: &[u8],
) -> (tempfile::TempDir, DataDir) {
    let temp = tempfile::tempdir().expect("temp dir");
    for file in &loader.files {
        let to = temp.path().join(file);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        if file == target {
            std::fs::write(&to, damaged).expect("write damaged copy");
        } else {
            std::fs::copy(real.join(file), &to).expect("copy real file");
        }
    }
    let dir = DataDir::at(temp.path()).expect("data dir");
    (temp, dir)
}

#[test]
fn random_bytes_are_errors_for_every_loader() {
    let Some(real) = real_data() else { return };
    let mut rng = ChaCha8Rng::seed_from_u64(2024);
    for loader in loaders() {
        for target in &loader.files {
            let original = std::fs::read(real.join(target)).expect("real file");
            let header_end = original
                .iter()
                .position(|&b| b == b'\n')
                .map_or(0, |i| i + 1);
            for attempt in 0..3 {
                let mut bytes = vec![0u8; rng.gen_range(1..4096)];
                rng.fill(bytes.as_mut_slice());
                // Every other attempt keeps the real header, so row parsing is exercised too.
                if attempt % 2 == 1 {
                    let mut with_header = original[..header_end].to_vec();
                    with_header.append(&mut bytes);
                    bytes = with_header;
                }
                let (_temp, dir) = damaged_dir(&real, &loader, target, &bytes);
                for strictness in [Strictness::Strict, Strictness::Lenient] {
                    let outcome = (loader.run)(&dir, strictness);
                    if strictness == Strictness::Strict {
                        assert!(
                            outcome.is_err(),
                            "{} accepted random bytes as {target}",
                            loader.name
                        );
                    } else if let Ok(measure) = outcome {
                        // A lenient load may keep going, but must not invent rows.
                        let full = (loader.run)(
                            &DataDir::at(&real).expect("data dir"),
                            Strictness::Strict,
                        )
                        .expect("real data loads");
                        assert!(measure < full, "{} invented rows", loader.name);
                    }
                }
            }
        }
    }
}

#[test]
fn truncated_files_are_errors_or_fewer_rows_for_every_loader() {
    let Some(real) = real_data() else { return };
    let real_dir = DataDir::at(&real).expect("data dir");
    for loader in loaders() {
        let full = (loader.run)(&real_dir, Strictness::Strict).expect("real data loads");
        for target in &loader.files {
            let original = std::fs::read(real.join(target)).expect("real file");
            for fraction in [0.0, 0.002, 0.37, 0.5, 0.97] {
                let length = (original.len() as f64 * fraction) as usize;
                let (_temp, dir) = damaged_dir(&real, &loader, target, &original[..length]);
                match (loader.run)(&dir, Strictness::Strict) {
                    Err(_) => {}
                    Ok(measure) => assert!(
                        measure < full,
                        "{} loaded {measure} (full: {full}) from {target} cut to {length} bytes",
                        loader.name
                    ),
                }
            }
        }
    }
}
