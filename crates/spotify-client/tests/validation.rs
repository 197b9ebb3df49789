//! Every value the cache and the fetch pipeline hand on is checked with the dataset's ranges, on
//! write and on read: a readable but wrong entry (valence 7.0, key 99, tempo −50, pitch 1e300)
//! is rejected with a message naming the id, the field and the value. A missing valence is the
//! fetch's to judge: failed by default, taken when the options hold valence out.

mod fake;

use std::path::Path;
use std::time::Duration;

use dataset::{AnalysisSummary, AudioFeatures, Labels, Track};
use fake::{FakeServer, Script};
use spotify_client::cache::Kind;
use spotify_client::fetch::{fetch, FetchOptions};
use spotify_client::{
    Cache, ClientCredentials, LocalSource, RetryPolicy, SpotifyClient, SpotifyConfig,
};

const GOOD: &str = "5aAx2yezTd8zXrkmtKl66Z";
const SEVEN: &str = "0VjIjW4GlUZAMYd2vXMi3b";
const KEY: &str = "7qiZfU4dY1lWllzX7mPBI3";
const TEMPO: &str = "2Fxmhks0bxGSBdJ92vM42m";
const NO_VALENCE: &str = "6DCZcSspjsKoFjzjrWoCdn";
const PITCH: &str = "3KkXRkHbMCARz0aVfEt68P";

fn features() -> AudioFeatures {
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
        valence: Some(0.535),
        tempo: 186.054,
        duration_ms: Some(230_453),
        time_signature: Some(4),
    }
}

fn analysis() -> AnalysisSummary {
    AnalysisSummary {
        pitch: [0.25; 12],
        timbre: [-1.5; 12],
    }
}

/// Writes an entry as raw JSON, past the cache's own checks, as a hand edit or an older version
/// of the program might have.
fn write_raw(path: &Path, kind: &str, id: &str, json: &str) {
    let connection = rusqlite::Connection::open(path).expect("opens the cache file");
    connection
        .execute(
            "INSERT OR REPLACE INTO entries (kind, id, value, source, fetched_at)
             VALUES (?1, ?2, ?3, 'spotify', 0)",
            rusqlite::params![kind, id, json],
        )
        .expect("writes");
}

/// A cache holding one good entry and one wrong entry of each kind.
fn corrupted_cache(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("cache.sqlite");
    drop(Cache::open(&path).expect("creates"));
    let json = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut value = serde_json::to_value(features()).expect("json");
        change(&mut value);
        value.to_string()
    };
    write_raw(&path, "features", GOOD, &json(&|_| {}));
    write_raw(
        &path,
        "features",
        SEVEN,
        &json(&|v| v["valence"] = 7.0.into()),
    );
    write_raw(&path, "features", KEY, &json(&|v| v["key"] = 99.into()));
    write_raw(
        &path,
        "features",
        TEMPO,
        &json(&|v| v["tempo"] = (-50.0).into()),
    );
    write_raw(
        &path,
        "features",
        NO_VALENCE,
        &json(&|v| {
            v.as_object_mut().expect("object").remove("valence");
        }),
    );
    write_raw(&path, "features", PITCH, &json(&|_| {}));
    let mut wrong = serde_json::to_value(analysis()).expect("json");
    wrong["pitch"][3] = 1e300.into();
    write_raw(&path, "analysis", PITCH, &wrong.to_string());
    write_raw(
        &path,
        "analysis",
        GOOD,
        &serde_json::to_string(&analysis()).expect("json"),
    );
    path
}

#[test]
fn wrong_cache_entries_are_rejected_on_read_naming_id_field_and_value() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cache = Cache::open(&corrupted_cache(dir.path())).expect("opens");
    assert!(cache.features(GOOD).expect("a good entry reads").is_some());
    for (id, field, value) in [
        (SEVEN, "valence", "7"),
        (KEY, "key", "99"),
        (TEMPO, "tempo", "-50"),
    ] {
        match cache.features(id) {
            Err(error) => {
                let message = error.to_string();
                assert!(
                    message.contains(id) && message.contains(field) && message.contains(value),
                    "{message}"
                );
            }
            Ok(entry) => panic!("{id}: the wrong entry was read as {entry:?}"),
        }
    }
    let held_out = cache
        .features(NO_VALENCE)
        .expect("an entry without valence is within the ranges")
        .and_then(|entry| entry.value)
        .expect("it is read");
    assert_eq!(held_out.valence, None);
    match cache.analysis(PITCH) {
        Err(error) => {
            let message = error.to_string();
            assert!(
                message.contains(PITCH) && message.contains("pitch_3") && message.contains("1e300"),
                "{message}"
            );
        }
        Ok(entry) => panic!("the wrong analysis was read as {entry:?}"),
    }
}

#[test]
fn the_cache_refuses_to_store_values_outside_the_ranges() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = Cache::open(&dir.path().join("cache.sqlite")).expect("opens");
    let mut seven = features();
    seven.valence = Some(7.0);
    let good = features();
    assert!(cache
        .put_features("spotify", &[(GOOD, Some(&good)), (SEVEN, Some(&seven))])
        .is_err());
    let mut huge = analysis();
    huge.pitch[3] = 1e300;
    assert!(cache
        .put_analysis("spotify", &[(PITCH, Some(&huge))])
        .is_err());
    assert_eq!(
        cache.len(Kind::Features).expect("counts"),
        0,
        "the batch is refused whole"
    );
    assert_eq!(cache.len(Kind::Analysis).expect("counts"), 0);
}

#[test]
fn the_cache_as_a_source_fails_only_the_wrong_ids_with_a_message_naming_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = Cache::open(&corrupted_cache(dir.path())).expect("opens");
    let ids: Vec<String> = [GOOD, SEVEN, KEY, TEMPO, NO_VALENCE]
        .iter()
        .map(|id| id.to_string())
        .collect();
    let fetched = fetch(&mut cache, None, &ids, &FetchOptions::new()).expect("runs");
    assert_eq!(fetched.tracks[0].features, Some(features()));
    assert!(fetched.tracks[1..].iter().all(|t| t.features.is_none()));
    let failed: Vec<&str> = fetched
        .summary
        .features
        .failed
        .iter()
        .map(|(id, _)| id.as_str())
        .collect();
    assert_eq!(failed, [SEVEN, KEY, TEMPO, NO_VALENCE]);
    for (id, message) in &fetched.summary.features.failed {
        assert!(message.contains(id.as_str()), "{message}");
    }
}

#[test]
fn fetch_asks_the_source_again_for_a_wrong_cache_entry_and_never_returns_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = Cache::open(&corrupted_cache(dir.path())).expect("opens");
    let track = Track {
        id: SEVEN.into(),
        features: features(),
        analysis: Some(analysis()),
        labels: Labels::default(),
    };
    let mut source = LocalSource::new(&[track]);
    let ids = vec![SEVEN.to_string(), PITCH.to_string()];
    let fetched = fetch(&mut source, Some(&mut cache), &ids, &FetchOptions::new()).expect("runs");
    assert_eq!(fetched.tracks[0].features, Some(features()), "asked again");
    assert_eq!(
        fetched.tracks[1].analysis, None,
        "the wrong analysis is not handed on"
    );
    assert_eq!(
        cache
            .features(SEVEN)
            .expect("now valid")
            .and_then(|e| e.value),
        Some(features()),
        "the source's answer replaced the wrong entry"
    );
}

#[test]
fn features_without_valence_from_the_source_are_failed_and_not_cached() {
    let ids = fake::track_ids(4);
    let mut script = Script::default();
    script.without_valence.insert(ids[1].clone());
    let server = FakeServer::start(script);
    let config = SpotifyConfig::new()
        .api_base_url(&server.api_base())
        .auth_base_url(&server.auth_base())
        .credentials(ClientCredentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET))
        .timeout(Duration::from_millis(400))
        .retry(RetryPolicy::new().base_delay(Duration::from_millis(5)));
    let mut spotify = SpotifyClient::new(config).expect("client");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = Cache::open(&dir.path().join("cache.sqlite")).expect("opens");
    let options = FetchOptions::new().analysis(false);
    let fetched = fetch(&mut spotify, Some(&mut cache), &ids, &options).expect("runs");
    assert!(fetched.tracks[1].features.is_none());
    let failed = &fetched.summary.features.failed;
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].0 == ids[1] && failed[0].1.contains("valence"),
        "{failed:?}"
    );
    assert!(
        cache.features(&ids[1]).expect("reads").is_none(),
        "not cached"
    );
    assert_eq!(fetched.summary.features.fetched, 3);
}

#[test]
fn a_cached_entry_without_valence_is_asked_again_unless_valence_is_not_required() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cache = Cache::open(&corrupted_cache(dir.path())).expect("opens");
    let ids = vec![NO_VALENCE.to_string()];
    let mut nothing = LocalSource::new(&[]);
    let options = FetchOptions::new().analysis(false);
    let lenient = fetch(
        &mut nothing,
        Some(&mut cache),
        &ids,
        &options.clone().require(&[]),
    )
    .expect("runs");
    assert_eq!(lenient.summary.features.cached, 1);
    assert!(lenient.summary.features.rejected.is_empty());
    assert_eq!(
        lenient.tracks[0].features.as_ref().map(|f| f.valence),
        Some(None)
    );
    let strict = fetch(&mut nothing, Some(&mut cache), &ids, &options).expect("runs");
    assert_eq!(strict.tracks[0].features, None);
    let rejected = &strict.summary.features.rejected;
    assert!(
        rejected.len() == 1 && rejected[0].0 == NO_VALENCE && rejected[0].1.contains("valence"),
        "{rejected:?}"
    );
}
