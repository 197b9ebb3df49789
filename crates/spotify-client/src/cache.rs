//! The durable cache: every answer a source gave (features, analysis summary, or "unknown id"),
//! with the source's name and the fetch time, in one SQLite file.
//!
//! Each batch is written in one transaction, so a process killed at any moment leaves the cache
//! as it was after the last whole batch: nothing fetched before is lost, nothing is half written.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dataset::validate::InvalidValue;
use dataset::{AnalysisSummary, AudioFeatures};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::ClientError;
use crate::spotify::BatchAccess;
use crate::FeatureSource;

/// What a cache entry holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Audio features.
    Features,
    /// Audio-analysis summary.
    Analysis,
}

impl Kind {
    fn column(self) -> &'static str {
        match self {
            Kind::Features => "features",
            Kind::Analysis => "analysis",
        }
    }
}

/// One cached answer.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheEntry<T> {
    /// The value; `None` when the source said it does not know the id.
    pub value: Option<T>,
    /// The name of the source that answered ([`FeatureSource::name`]).
    pub source: String,
    /// When it answered.
    pub fetched_at: SystemTime,
}

/// A SQLite cache of feature-source answers.
#[derive(Debug)]
pub struct Cache {
    connection: Connection,
    path: PathBuf,
}

impl Cache {
    /// Opens (or creates) the cache at `path`.
    pub fn open(path: &Path) -> Result<Cache, ClientError> {
        let fail = |source: rusqlite::Error| ClientError::Cache {
            path: path.to_path_buf(),
            source,
        };
        let connection = Connection::open(path).map_err(fail)?;
        // WAL: a killed writer never damages committed data, and readers never block it.
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        connection
            .pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(fail)?;
        connection
            .execute_batch(
                "CREATE TABLE IF NOT EXISTS entries (
                     kind TEXT NOT NULL,
                     id TEXT NOT NULL,
                     value TEXT,
                     source TEXT NOT NULL,
                     fetched_at INTEGER NOT NULL,
                     PRIMARY KEY (kind, id)
                 ) WITHOUT ROWID;
                 CREATE TABLE IF NOT EXISTS decisions (
                     name TEXT PRIMARY KEY,
                     value TEXT NOT NULL,
                     decided_at INTEGER NOT NULL
                 ) WITHOUT ROWID;",
            )
            .map_err(fail)?;
        Ok(Cache {
            connection,
            path: path.to_path_buf(),
        })
    }

    /// The file of the cache.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, source: rusqlite::Error) -> ClientError {
        ClientError::Cache {
            path: self.path.clone(),
            source,
        }
    }

    /// The entry of `id`, checked by `check`: a readable but wrong entry is
    /// [`ClientError::InvalidValue`] naming the cache file, the id, the field and the value.
    fn get<T: DeserializeOwned>(
        &self,
        kind: Kind,
        id: &str,
        check: fn(&T) -> Result<(), InvalidValue>,
    ) -> Result<Option<CacheEntry<T>>, ClientError> {
        let row: Option<(Option<String>, String, i64)> = self
            .connection
            .query_row(
                "SELECT value, source, fetched_at FROM entries WHERE kind = ?1 AND id = ?2",
                params![kind.column(), id],
                |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
            )
            .optional()
            .map_err(|error| self.error(error))?;
        let Some((value, source, fetched_at)) = row else {
            return Ok(None);
        };
        let value = match value {
            Some(json) => {
                Some(
                    serde_json::from_str(&json).map_err(|source| ClientError::CacheEntry {
                        path: self.path.clone(),
                        problem: format!("the {} entry of {id} is unreadable", kind.column()),
                        source,
                    })?,
                )
            }
            None => None,
        };
        if let Some(value) = &value {
            check(value).map_err(|source| self.invalid(kind, id, source))?;
        }
        Ok(Some(CacheEntry {
            value,
            source,
            fetched_at: UNIX_EPOCH + Duration::from_millis(fetched_at.max(0) as u64),
        }))
    }

    fn invalid(&self, kind: Kind, id: &str, source: InvalidValue) -> ClientError {
        ClientError::InvalidValue {
            origin: format!("cache {}", self.path.display()),
            id: id.to_string(),
            what: kind.column(),
            source,
        }
    }

    /// The cached features of `id`, if any source answered for it. An entry outside the
    /// dataset's ranges is [`ClientError::InvalidValue`]. An entry may lack valence (a source
    /// of evaluation tracks holds it out); [`crate::fetch::fetch`] checks the fields its
    /// options require.
    pub fn features(&self, id: &str) -> Result<Option<CacheEntry<AudioFeatures>>, ClientError> {
        self.get(Kind::Features, id, check_features)
    }

    /// The cached analysis summary of `id`, if any source answered for it. An entry outside the
    /// dataset's ranges is [`ClientError::InvalidValue`].
    pub fn analysis(&self, id: &str) -> Result<Option<CacheEntry<AnalysisSummary>>, ClientError> {
        self.get(Kind::Analysis, id, check_analysis)
    }

    /// Writes a batch in one transaction, after checking every value with `check`: a batch with
    /// a wrong value is refused whole, so the cache never holds one.
    fn put<T: Serialize>(
        &mut self,
        kind: Kind,
        source: &str,
        entries: &[(&str, Option<&T>)],
        check: fn(&T) -> Result<(), InvalidValue>,
    ) -> Result<(), ClientError> {
        for (id, value) in entries {
            if let Some(value) = value {
                check(value).map_err(|source| self.invalid(kind, id, source))?;
            }
        }
        let now = now_millis();
        let path = self.path.clone();
        let fail = |source: rusqlite::Error| ClientError::Cache {
            path: path.clone(),
            source,
        };
        let transaction = self.connection.transaction().map_err(fail)?;
        {
            let mut insert = transaction
                .prepare(
                    "INSERT OR REPLACE INTO entries (kind, id, value, source, fetched_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(fail)?;
            for (id, value) in entries {
                let json = match value {
                    Some(value) => Some(serde_json::to_string(value).map_err(|source| {
                        ClientError::CacheEntry {
                            path: path.clone(),
                            problem: format!("cannot encode the entry of {id}"),
                            source,
                        }
                    })?),
                    None => None,
                };
                insert
                    .execute(params![kind.column(), id, json, source, now])
                    .map_err(fail)?;
            }
        }
        transaction.commit().map_err(fail)
    }

    /// Records a batch of feature answers of `source` in one transaction.
    pub fn put_features(
        &mut self,
        source: &str,
        entries: &[(&str, Option<&AudioFeatures>)],
    ) -> Result<(), ClientError> {
        self.put(Kind::Features, source, entries, check_features)
    }

    /// Records analysis answers of `source` in one transaction.
    pub fn put_analysis(
        &mut self,
        source: &str,
        entries: &[(&str, Option<&AnalysisSummary>)],
    ) -> Result<(), ClientError> {
        self.put(Kind::Analysis, source, entries, check_analysis)
    }

    /// How this app may ask for several tracks or artists, as decided in an earlier session,
    /// and when it was decided.
    pub fn batch_access(&self) -> Result<Option<(BatchAccess, SystemTime)>, ClientError> {
        let row: Option<(String, i64)> = self
            .connection
            .query_row(
                "SELECT value, decided_at FROM decisions WHERE name = ?1",
                params![BATCH_ACCESS],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()
            .map_err(|error| self.error(error))?;
        let Some((value, decided_at)) = row else {
            return Ok(None);
        };
        let access = BatchAccess::from_name(&value).ok_or_else(|| ClientError::CacheDecision {
            path: self.path.clone(),
            name: BATCH_ACCESS,
            value: value.clone(),
            known: BatchAccess::ALL.map(BatchAccess::name).join(", "),
        })?;
        Ok(Some((
            access,
            UNIX_EPOCH + Duration::from_millis(decided_at.max(0) as u64),
        )))
    }

    /// Records how this app may ask for several tracks or artists, for later sessions.
    pub fn set_batch_access(&mut self, access: BatchAccess) -> Result<(), ClientError> {
        self.connection
            .execute(
                "INSERT OR REPLACE INTO decisions (name, value, decided_at) VALUES (?1, ?2, ?3)",
                params![BATCH_ACCESS, access.name(), now_millis()],
            )
            .map(|_| ())
            .map_err(|error| self.error(error))
    }

    /// Number of entries of a kind (answers "unknown id" included).
    pub fn len(&self, kind: Kind) -> Result<usize, ClientError> {
        self.connection
            .query_row(
                "SELECT COUNT(*) FROM entries WHERE kind = ?1",
                params![kind.column()],
                |row| row.get::<_, i64>(0),
            )
            .map(|count| count as usize)
            .map_err(|error| self.error(error))
    }

    /// Whether the cache holds no entry of a kind.
    pub fn is_empty(&self, kind: Kind) -> Result<bool, ClientError> {
        Ok(self.len(kind)? == 0)
    }
}

/// The name under which the [`BatchAccess`] decision is kept.
const BATCH_ACCESS: &str = "batch_access";

fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_millis() as i64)
}

/// What a features entry must satisfy: the dataset's ranges. Which optional fields a use needs
/// is the caller's to say ([`crate::fetch::FetchOptions::require`]).
fn check_features(features: &AudioFeatures) -> Result<(), InvalidValue> {
    dataset::validate::check_features(features, &[])
}

fn check_analysis(summary: &AnalysisSummary) -> Result<(), InvalidValue> {
    dataset::validate::check_analysis(summary)
}

/// The cache as a read-only source: what it holds, `None` for everything else. A wrong entry
/// fails its own id only (one id a batch).
impl FeatureSource for Cache {
    fn name(&self) -> &'static str {
        "cache"
    }

    fn batch_size(&self) -> usize {
        1
    }

    fn audio_features(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<Option<AudioFeatures>>, ClientError> {
        ids.iter()
            .map(|id| Ok(self.features(id)?.and_then(|entry| entry.value)))
            .collect()
    }

    fn analysis_summary(&mut self, id: &str) -> Result<Option<AnalysisSummary>, ClientError> {
        Ok(self.analysis(id)?.and_then(|entry| entry.value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(valence: f64) -> AudioFeatures {
        AudioFeatures {
            danceability: 0.681,
            energy: 0.594,
            key: 7,
            loudness: -7.028,
            mode: Some(1),
            speechiness: 0.282,
            acousticness: 0.165,
            instrumentalness: 3.49e-06,
            liveness: 0.134,
            valence: Some(valence),
            tempo: 186.054,
            duration_ms: Some(230_453),
            time_signature: Some(4),
        }
    }

    #[test]
    fn entries_survive_reopening_with_their_source_and_fetch_time_and_exact_values() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("cache.sqlite");
        let before = SystemTime::now() - Duration::from_secs(1);
        {
            let mut cache = Cache::open(&path).expect("opens");
            let value = features(0.535);
            cache
                .put_features("spotify", &[("a", Some(&value)), ("b", None)])
                .expect("writes");
        }
        let cache = Cache::open(&path).expect("reopens");
        let a = cache.features("a").expect("reads").expect("cached");
        assert_eq!(a.value, Some(features(0.535)));
        assert_eq!(a.source, "spotify");
        assert!(a.fetched_at >= before && a.fetched_at <= SystemTime::now());
        let b = cache
            .features("b")
            .expect("reads")
            .expect("cached as unknown");
        assert_eq!(b.value, None);
        assert!(cache.features("c").expect("reads").is_none());
        assert_eq!(cache.len(Kind::Features).expect("counts"), 2);
        assert!(cache.is_empty(Kind::Analysis).expect("counts"));
    }
}
