//! The fetch pipeline with the durable cache: each id fetched once, re-runs read the cache,
//! failures are per batch, and a process killed mid-fetch resumes with nothing lost or repeated.

mod fake;

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use dataset::AudioFeatures;
use fake::{FakeServer, Fault, Script};
use spotify_client::cache::Kind;
use spotify_client::fetch::{fetch, FetchOptions};
use spotify_client::{
    Cache, ClientCredentials, ClientError, RetryPolicy, SpotifyClient, SpotifyConfig,
};

fn client(server: &FakeServer) -> SpotifyClient {
    let config = SpotifyConfig::new()
        .api_base_url(&server.api_base())
        .auth_base_url(&server.auth_base())
        .credentials(ClientCredentials::new(fake::CLIENT_ID, fake::CLIENT_SECRET))
        .timeout(Duration::from_millis(400))
        .retry(
            RetryPolicy::new()
                .base_delay(Duration::from_millis(5))
                .max_delay(Duration::from_millis(20)),
        );
    SpotifyClient::new(config).expect("client")
}

fn expected(id: &str) -> AudioFeatures {
    serde_json::from_value(fake::features_json(id)).expect("features")
}

/// How many 200 answers each id got from an endpoint.
fn answers_per_id(server: &FakeServer, prefix: &str) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for seen in server
        .seen_on(prefix)
        .into_iter()
        .filter(|seen| seen.status == 200)
    {
        let ids = if seen.ids.is_empty() {
            vec![seen.path.rsplit('/').next().unwrap_or_default().to_string()]
        } else {
            seen.ids
        };
        for id in ids {
            *counts.entry(id).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn each_id_is_fetched_once_and_a_rerun_reads_the_cache() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ids = fake::track_ids(250);
    let mut script = Script::default();
    script.unknown.insert(ids[10].clone());
    script.unknown.insert(ids[200].clone());
    let server = FakeServer::start(script);
    let mut cache = Cache::open(&dir.path().join("cache.sqlite")).expect("cache");

    let first = fetch(
        &mut client(&server),
        Some(&mut cache),
        &ids,
        &FetchOptions::new(),
    )
    .expect("fetches");
    assert_eq!(
        (
            first.summary.features.fetched,
            first.summary.features.missing
        ),
        (248, 2)
    );
    assert_eq!(
        (
            first.summary.analysis.fetched,
            first.summary.analysis.missing
        ),
        (248, 0)
    );
    let requests = server.seen().len();

    let mut ids_twice = ids.clone();
    ids_twice.extend(ids.iter().take(30).cloned());
    let second = fetch(
        &mut client(&server),
        Some(&mut cache),
        &ids_twice,
        &FetchOptions::new(),
    )
    .expect("rerun");
    assert_eq!(server.seen().len(), requests, "the rerun made no request");
    assert_eq!(
        (
            second.summary.ids,
            second.summary.features.cached,
            second.summary.features.missing
        ),
        (250, 248, 2)
    );
    assert_eq!(second.summary.analysis.cached, 248);
    assert_eq!(second.tracks, first.tracks);
    assert_eq!(second.tracks[0].features, Some(expected(&ids[0])));

    let entry = cache.features(&ids[0]).expect("reads").expect("cached");
    assert_eq!(entry.source, "spotify");
    assert!(entry.fetched_at.elapsed().expect("in the past") < Duration::from_secs(600));
    assert!(cache
        .features(&ids[10])
        .expect("reads")
        .expect("cached as unknown")
        .value
        .is_none());
}

#[test]
fn a_failed_batch_marks_its_ids_failed_the_run_goes_on_and_the_next_run_fetches_only_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ids = fake::track_ids(250);
    let mut script = Script::default();
    // The second batch fails on all five attempts of the default policy.
    for request in 2..=6 {
        script
            .features_faults
            .insert(request, Fault::Status(500, None));
    }
    let server = FakeServer::start(script);
    let mut cache = Cache::open(&dir.path().join("cache.sqlite")).expect("cache");
    let options = FetchOptions::new().analysis(false);
    let first = fetch(&mut client(&server), Some(&mut cache), &ids, &options).expect("runs");
    assert_eq!(first.summary.features.fetched, 150);
    let failed: Vec<&String> = first
        .summary
        .features
        .failed
        .iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(failed, ids[100..200].iter().collect::<Vec<_>>());
    assert!(first.summary.features.failed[0].1.contains("HTTP 500"));

    let before = server.seen_on("/v1/audio-features").len();
    let second = fetch(&mut client(&server), Some(&mut cache), &ids, &options).expect("reruns");
    assert_eq!(
        (
            second.summary.features.cached,
            second.summary.features.fetched
        ),
        (150, 100)
    );
    let asked: Vec<String> = server.seen_on("/v1/audio-features")[before..]
        .iter()
        .flat_map(|s| s.ids.clone())
        .collect();
    assert_eq!(asked, ids[100..200].to_vec());
}

#[test]
fn a_403_stops_the_run_with_the_deprecation_error_and_keeps_what_was_cached() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ids = fake::track_ids(250);
    let mut script = Script::default();
    script.features_faults.insert(2, Fault::Status(403, None));
    let server = FakeServer::start(script);
    let mut cache = Cache::open(&dir.path().join("cache.sqlite")).expect("cache");
    let result = fetch(
        &mut client(&server),
        Some(&mut cache),
        &ids,
        &FetchOptions::new(),
    );
    assert!(
        matches!(result, Err(ClientError::Deprecated { .. })),
        "{result:?}"
    );
    assert_eq!(cache.len(Kind::Features).expect("counts"), 100);
    assert_eq!(server.seen_on("/v1/audio-features").len(), 2);
}

fn spawn_fetch(server: &FakeServer, ids: &Path, cache: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fetch_features"))
        .args([
            "--ids",
            &ids.to_string_lossy(),
            "--cache",
            &cache.to_string_lossy(),
        ])
        .args([
            "--api-base",
            &server.api_base(),
            "--auth-base",
            &server.auth_base(),
        ])
        .args(["--timeout-ms", "2000", "--retry-base-ms", "5"])
        .env("RSPOTIFY_CLIENT_ID", fake::CLIENT_ID)
        .env("RSPOTIFY_CLIENT_SECRET", fake::CLIENT_SECRET)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawns fetch_features")
}

/// Waits until the server has seen `count` requests under `prefix`, then kills the child.
fn kill_when(server: &FakeServer, child: &mut Child, prefix: &str, count: usize) {
    let start = Instant::now();
    while server.seen_on(prefix).len() < count {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the child never reached request {count}"
        );
        assert!(
            child.try_wait().expect("polls").is_none(),
            "the child ended before being killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kills");
    child.wait().expect("reaps");
}

#[test]
fn a_process_killed_mid_fetch_resumes_with_no_id_lost_or_fetched_twice() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ids = fake::track_ids(250);
    let ids_path = dir.path().join("ids.txt");
    std::fs::write(&ids_path, ids.join("\n")).expect("writes ids");
    let cache_path = dir.path().join("cache.sqlite");
    let mut script = Script::default();
    script.unknown.insert(ids[5].clone());
    // The first run hangs on its third features batch, the second on its 40th analysis.
    script.features_faults.insert(3, Fault::Hang);
    script.analysis_faults.insert(40, Fault::Hang);
    let server = FakeServer::start(script);

    let mut child = spawn_fetch(&server, &ids_path, &cache_path);
    kill_when(&server, &mut child, "/v1/audio-features", 3);
    {
        let cache = Cache::open(&cache_path).expect("the killed run left a readable cache");
        assert_eq!(
            cache.len(Kind::Features).expect("counts"),
            200,
            "two whole batches"
        );
    }

    let mut child = spawn_fetch(&server, &ids_path, &cache_path);
    kill_when(&server, &mut child, "/v1/audio-analysis/", 40);
    {
        let cache = Cache::open(&cache_path).expect("readable");
        assert_eq!(cache.len(Kind::Features).expect("counts"), 250);
        assert_eq!(cache.len(Kind::Analysis).expect("counts"), 39);
    }

    let status = spawn_fetch(&server, &ids_path, &cache_path)
        .wait()
        .expect("runs");
    assert!(status.success());

    let features = answers_per_id(&server, "/v1/audio-features");
    let analyses = answers_per_id(&server, "/v1/audio-analysis/");
    for (index, id) in ids.iter().enumerate() {
        assert_eq!(features.get(id), Some(&1), "features of {id} answered once");
        let expected_analyses = if index == 5 { None } else { Some(&1) };
        assert_eq!(analyses.get(id), expected_analyses, "analysis of {id}");
    }
    let cache = Cache::open(&cache_path).expect("readable");
    assert_eq!(cache.len(Kind::Features).expect("counts"), 250);
    assert_eq!(cache.len(Kind::Analysis).expect("counts"), 249);
    for (index, id) in ids.iter().enumerate() {
        let entry = cache.features(id).expect("reads").expect("cached");
        let wanted = (index != 5).then(|| expected(id));
        assert_eq!(entry.value, wanted, "{id}");
    }
}
