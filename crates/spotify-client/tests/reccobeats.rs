//! The ReccoBeats source against a fake ReccoBeats served on 127.0.0.1.

mod fake;

use std::time::Duration;

use fake::{FakeServer, Fault, Script};
use spotify_client::{ClientError, FeatureSource, ReccoBeatsConfig, ReccoBeatsSource, RetryPolicy};

fn source(server: &FakeServer) -> ReccoBeatsSource {
    ReccoBeatsSource::new(
        ReccoBeatsConfig::new()
            .base_url(&server.reccobeats_base())
            .timeout(Duration::from_millis(400))
            .retry(
                RetryPolicy::new()
                    .base_delay(Duration::from_millis(10))
                    .max_delay(Duration::from_millis(40)),
            ),
    )
    .expect("a loopback URL")
}

#[test]
fn features_come_back_by_spotify_id_in_batches_of_40_with_unknown_ids_as_none() {
    let ids = fake::track_ids(81);
    let mut script = Script::default();
    script.unknown.insert(ids[45].clone());
    let server = FakeServer::start(script);
    let answers = source(&server).audio_features(&ids).expect("fetches");
    let sizes: Vec<usize> = server
        .seen_on("/reccobeats/v1/audio-features")
        .iter()
        .map(|s| s.ids.len())
        .collect();
    assert_eq!(sizes, [40, 40, 1]);
    assert_eq!(answers[45], None);
    let first = answers[0].as_ref().expect("known");
    let json = fake::features_json(&ids[0]);
    assert_eq!(first.danceability, json["danceability"].as_f64().unwrap());
    assert_eq!(first.valence, json["valence"].as_f64());
    assert_eq!(
        (first.duration_ms, first.time_signature),
        (None, None),
        "ReccoBeats has neither"
    );
    assert!(
        server
            .seen_on("/reccobeats/")
            .iter()
            .all(|s| s.authorization.is_none()),
        "keyless"
    );
}

#[test]
fn reccobeats_retries_a_server_error_and_has_no_analysis() {
    let mut script = Script::default();
    script.faults.push_back(Fault::Status(500, None));
    let server = FakeServer::start(script);
    let mut source = source(&server);
    let answers = source
        .audio_features(&fake::track_ids(2))
        .expect("fetches after a retry");
    assert!(answers.iter().all(Option::is_some));
    assert!(matches!(
        source.analysis_summary(&fake::track_id(1)),
        Err(ClientError::Unsupported {
            source_name: "reccobeats",
            ..
        })
    ));
}
