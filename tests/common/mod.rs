//! Helpers shared by the integration tests: where the shared data is, and the example binaries.
// Each test crate uses only some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The shared data directory (`$SPOTIFY_ML_DATA`, else `../shared/data`) when it holds every
/// file of `required`; otherwise `None`, saying on stderr why the test is skipped.
pub fn data_path(required: &[&str]) -> Option<PathBuf> {
    let dir = std::env::var_os("SPOTIFY_ML_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data"));
    if required.iter().all(|file| dir.join(file).is_file()) {
        Some(dir)
    } else {
        eprintln!(
            "skipping: no shared data at {} (set SPOTIFY_ML_DATA)",
            dir.display()
        );
        None
    }
}

/// The shared data directory, opened.
pub fn data_dir() -> Option<dataset::DataDir> {
    data_path(&["valence/chart_tracks.csv"]).and_then(|path| dataset::DataDir::at(&path).ok())
}

/// The example binary built next to this test's binary (target/<profile>/examples/NAME).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.is_file(),
        "{} is missing: cargo test builds the examples",
        path.display()
    );
    path
}
