//! Finding the shared data directory: `--data DIR`, else `SPOTIFY_ML_DATA`, else `../shared/data`.

use std::path::{Path, PathBuf};

use crate::error::DatasetError;

/// Name of the environment variable that points at the data directory.
pub const ENV_VAR: &str = "SPOTIFY_ML_DATA";

/// The directory used when neither a flag nor the environment variable names one, relative to
/// the working directory (the repository root when run through cargo).
pub const DEFAULT: &str = "../shared/data";

/// A data directory that exists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Resolves the directory: `explicit` (from `--data`), else `$SPOTIFY_ML_DATA`, else
    /// [`DEFAULT`]. Fails with an error saying where it looked and how to point elsewhere.
    pub fn resolve(explicit: Option<&Path>) -> Result<DataDir, DatasetError> {
        let env = std::env::var_os(ENV_VAR).filter(|value| !value.is_empty());
        let (path, origin) = match (explicit, env) {
            (Some(path), _) => (path.to_path_buf(), "--data was given".to_string()),
            (None, Some(value)) => (PathBuf::from(value), format!("{ENV_VAR} is set")),
            (None, None) => (
                PathBuf::from(DEFAULT),
                format!("it is the default, relative to {}", current_dir_display()),
            ),
        };
        DataDir::open(path, origin)
    }

    /// Uses exactly this directory.
    pub fn at(path: impl Into<PathBuf>) -> Result<DataDir, DatasetError> {
        DataDir::open(path.into(), "it was named explicitly".into())
    }

    fn open(path: PathBuf, origin: String) -> Result<DataDir, DatasetError> {
        if path.is_dir() {
            Ok(DataDir { root: path })
        } else {
            Err(DatasetError::MissingDataDir { path, origin })
        }
    }

    /// The directory itself.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A path inside the directory.
    pub fn join(&self, relative: impl AsRef<Path>) -> PathBuf {
        self.root.join(relative)
    }
}

fn current_dir_display() -> String {
    std::env::current_dir()
        .map(|dir| dir.display().to_string())
        .unwrap_or_else(|_| "the working directory".into())
}
