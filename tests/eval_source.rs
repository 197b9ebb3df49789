//! The valence tasks take the evaluation tracks' features through a `FeatureSource`: a feature
//! cache filled from any source gives exactly the tracks the shared files give, and a cache that
//! lacks an id names it.

use std::path::PathBuf;

use spotify_client::fetch::{fetch, FetchOptions};
use spotify_client::{Cache, LocalSource};
use spotify_ml::dataset::DataDir;
use spotify_ml::valence::{prepare, Budget, Grouping, PipelineError, RunConfig};

mod common;
use common::data_dir;

fn config(data: DataDir, eval_cache: Option<PathBuf>) -> RunConfig {
    RunConfig {
        data,
        out: PathBuf::from("unused"),
        budget: Budget::Quick,
        seed: 42,
        folds: 5,
        grouping: Grouping::Recordings,
        coverage: 0.9,
        progress: false,
        eval_cache,
    }
}

#[test]
fn eval_tracks_from_a_feature_cache_equal_the_shared_files() {
    let Some(dir) = data_dir() else { return };
    let shared = prepare(&config(dir.clone(), None)).expect("prepare from the shared files");
    let temp = tempfile::tempdir().expect("temp dir");
    let path = temp.path().join("features.sqlite");
    let ids: Vec<String> = shared.eval.iter().map(|t| t.id.clone()).collect();
    {
        let mut cache = Cache::open(&path).expect("cache");
        let mut source = LocalSource::new(&shared.eval);
        // Evaluation tracks carry no valence: the fill must not require it.
        let options = FetchOptions::new().require(&[]);
        let fetched = fetch(&mut source, Some(&mut cache), &ids, &options).expect("fill the cache");
        assert_eq!(fetched.summary.features.fetched, ids.len());
    }
    let cached = prepare(&config(dir, Some(path))).expect("prepare from the cache");
    assert_eq!(cached.eval.len(), 1162);
    assert_eq!(cached.eval, shared.eval);
    assert_eq!(
        cached.eval.iter().filter(|t| t.analysis.is_none()).count(),
        1,
        "one evaluation track has no analysis"
    );
}

#[test]
fn a_cache_without_an_evaluation_id_is_an_error_naming_it() {
    let Some(dir) = data_dir() else { return };
    let shared = prepare(&config(dir.clone(), None)).expect("prepare from the shared files");
    let temp = tempfile::tempdir().expect("temp dir");
    let path = temp.path().join("features.sqlite");
    let missing = shared.eval[7].id.clone();
    let ids: Vec<String> = shared
        .eval
        .iter()
        .map(|t| t.id.clone())
        .filter(|id| *id != missing)
        .collect();
    {
        let mut cache = Cache::open(&path).expect("cache");
        let mut source = LocalSource::new(&shared.eval);
        let options = FetchOptions::new().require(&[]);
        fetch(&mut source, Some(&mut cache), &ids, &options).expect("fill");
    }
    match prepare(&config(dir, Some(path))) {
        Err(PipelineError::Inconsistent(message)) => {
            assert!(message.contains(&missing), "{message}")
        }
        Err(other) => panic!("unexpected error: {other}"),
        Ok(_) => panic!("a cache without {missing} must not give every evaluation track"),
    }
}
