//! The popularity web app on an ephemeral loopback port: every route, every bad input, the JSON
//! schema, the track-id fill and a small bounded load run.

mod linear_model;
mod serving;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use linear_model::LinearQuartileModel;
use serde_json::{json, Value};
use spotify_ml::dataset::{AudioFeatures, Labels, Track};
use spotify_ml::popularity::{QuartileModel, SongInput, QUARTILES};
use spotify_ml::spotify_client::LocalSource;
use web_app::explain::explain;
use web_app::load::{self, LoadPlan};
use web_app::{most_likely, App, TrackDetails, TrackLookup, BODY_LIMIT};

const KNOWN_TRACK: &str = "6f807x0ima9a1j3VPbc7VN";

/// A running server; it stops when the test's process ends.
struct Server {
    addr: SocketAddr,
    agent: ureq::Agent,
}

impl Server {
    fn start(app: App) -> Server {
        let addr = serving::start(app);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Server { addr, agent }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut response = self.agent.get(&self.url(path)).call().expect("GET");
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().expect("body"))
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let mut response = self
            .agent
            .post(&self.url(path))
            .header("Content-Type", content_type)
            .send(body)
            .expect("POST");
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(10 * 1024 * 1024)
            .read_to_string()
            .expect("body");
        (status, body)
    }

    fn post_json(&self, body: &Value) -> (u16, Value) {
        let (status, text) = self.post(
            "/api/predict",
            "application/json",
            body.to_string().as_bytes(),
        );
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("answer {text:?} is not JSON: {error}"));
        (status, value)
    }

    fn post_form(&self, pairs: &[(String, String)]) -> (u16, String) {
        let body = serde_urlencoded::to_string(pairs).expect("encode form");
        self.post(
            "/predict",
            "application/x-www-form-urlencoded",
            body.as_bytes(),
        )
    }
}

fn model() -> Arc<LinearQuartileModel> {
    Arc::new(LinearQuartileModel::new())
}

fn server() -> Server {
    Server::start(App::new(model()))
}

fn song() -> SongInput {
    SongInput {
        danceability: 0.74,
        energy: 0.81,
        key: 2.0,
        loudness: -5.1,
        mode: 1.0,
        speechiness: 0.05,
        acousticness: 0.12,
        instrumentalness: 0.0,
        liveness: 0.09,
        valence: 0.63,
        tempo: 118.0,
        duration_ms: 201_000.0,
        artist_popularity: 71.0,
        genre: "pop".into(),
    }
}

fn song_json() -> Value {
    serde_json::to_value(song()).expect("song as JSON")
}

fn song_form() -> Vec<(String, String)> {
    let song = song();
    let mut pairs: Vec<(String, String)> = song
        .numeric_fields()
        .into_iter()
        .map(|(name, value, _)| (name.to_string(), value.to_string()))
        .collect();
    pairs.push(("genre".into(), song.genre));
    pairs
}

fn with_form_value(name: &str, value: &str) -> Vec<(String, String)> {
    song_form()
        .into_iter()
        .map(|(n, v)| {
            let v = if n == name { value.to_string() } else { v };
            (n, v)
        })
        .collect()
}

fn without_form_field(name: &str) -> Vec<(String, String)> {
    song_form().into_iter().filter(|(n, _)| n != name).collect()
}

/// The `value` attribute of the input named `name` in a page.
fn input_value(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("name=\"{name}\""))?;
    let tag_end = start + html[start..].find('>')?;
    let tag = &html[start..tag_end];
    let value_at = tag.find("value=\"")? + "value=\"".len();
    let value_len = tag[value_at..].find('"')?;
    Some(tag[value_at..value_at + value_len].to_string())
}

/// The value of the selected option of the select named `name`.
fn selected_option(html: &str, name: &str) -> Option<String> {
    let start = html.find(&format!("<select id=\"f-{name}\""))?;
    let end = start + html[start..].find("</select>")?;
    let select = &html[start..end];
    let selected = select.find(" selected>")?;
    let option_start = select[..selected].rfind("value=\"")? + "value=\"".len();
    let option_end = option_start + select[option_start..].find('"')?;
    Some(select[option_start..option_end].to_string())
}

#[test]
fn healthz_answers_ok() {
    let server = server();
    assert_eq!(server.get("/healthz"), (200, "ok".to_string()));
}

#[test]
fn index_has_one_input_per_field_with_defaults_ranges_and_the_model_genres() {
    let server = server();
    let (status, html) = server.get("/");
    assert_eq!(status, 200);
    for (name, _, range) in song().numeric_fields() {
        if name == "key" || name == "mode" {
            assert!(
                selected_option(&html, name).is_some(),
                "{name} select has a default"
            );
            continue;
        }
        let value: f64 = input_value(&html, name)
            .unwrap_or_else(|| panic!("input {name}"))
            .parse()
            .unwrap_or_else(|_| panic!("default of {name} is a number"));
        assert!(
            range.contains(value),
            "default {name} = {value} in its range"
        );
        assert!(
            html.contains(&format!("min=\"{}\" max=\"{}\"", range.min, range.max)),
            "{name} has its range as min/max"
        );
    }
    for genre in model().genres() {
        assert!(
            html.contains(&format!(
                "<option value=\"{}\"",
                genre.replace('&', "&amp;")
            )),
            "genre {genre}"
        );
    }
    assert_eq!(selected_option(&html, "genre").as_deref(), Some("pop"));
    assert!(html.contains("action=\"/predict\""));
    assert!(!html.contains("<script"), "the page works without scripts");
}

#[test]
fn predict_form_shows_the_quartile_four_bars_the_values_and_what_would_move_it() {
    let server = server();
    let (status, html) = server.post_form(&song_form());
    assert_eq!(status, 200, "{html}");
    let probabilities = model().predict_proba(&song()).expect("valid song");
    let quartile = QUARTILES[most_likely(&probabilities)];
    assert!(
        html.contains(&format!("<span id=\"quartile\">{quartile}</span>")),
        "page names the quartile {quartile}"
    );
    assert_eq!(html.matches("<rect class=\"bar").count(), 4);
    for (name, p) in QUARTILES.iter().zip(probabilities) {
        assert!(
            html.contains(&format!(
                "data-quartile=\"{name}\" data-probability=\"{p:.6}\""
            )),
            "bar {name} carries p = {p:.6}"
        );
    }
    assert!(html.contains("id=\"explanation\""));
    assert!(html.contains("id=\"entered\""));
    // The form keeps the song for the next try.
    assert_eq!(input_value(&html, "tempo").as_deref(), Some("118"));
    assert_eq!(
        input_value(&html, "artist_popularity").as_deref(),
        Some("71")
    );
    assert_eq!(selected_option(&html, "key").as_deref(), Some("2"));
}

#[test]
fn api_predict_answers_the_documented_schema_with_the_model_probabilities() {
    let server = server();
    let (status, answer) = server.post_json(&song_json());
    assert_eq!(status, 200, "{answer}");
    let object = answer.as_object().expect("an object");
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["probabilities", "quartile"]);
    let probabilities = object["probabilities"]
        .as_object()
        .expect("probabilities object");
    let mut names: Vec<&str> = probabilities.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, QUARTILES);
    let expected = model().predict_proba(&song()).expect("valid song");
    for (name, p) in QUARTILES.iter().zip(expected) {
        let got = probabilities[*name].as_f64().expect("a number");
        assert!((got - p).abs() < 1e-12, "{name}: {got} vs {p}");
    }
    assert_eq!(
        object["quartile"].as_str(),
        Some(QUARTILES[most_likely(&expected)])
    );
}

/// Bad JSON bodies: (what is wrong, body, status, field named).
fn bad_json_cases() -> Vec<(&'static str, Value, u16, Option<&'static str>)> {
    let mut cases = Vec::new();
    let mut missing = song_json();
    missing.as_object_mut().unwrap().remove("valence");
    cases.push(("missing field", missing, 400, Some("valence")));
    let mut missing_genre = song_json();
    missing_genre.as_object_mut().unwrap().remove("genre");
    cases.push(("missing genre", missing_genre, 400, Some("genre")));
    for (name, value, status) in [
        ("energy", json!("high"), 400),
        ("tempo", json!(null), 400),
        ("loudness", json!([1]), 400),
        ("valence", json!(1.7), 422),
        ("key", json!(13), 422),
        ("key", json!(2.5), 422),
        ("mode", json!(2), 422),
        ("danceability", json!(-0.1), 422),
        ("artist_popularity", json!(101), 422),
        ("duration_ms", json!(-5), 422),
        ("genre", json!("polka"), 422),
        ("genre", json!(3), 400),
    ] {
        let mut body = song_json();
        body[name] = value.clone();
        let what = Box::leak(format!("{name} = {value}").into_boxed_str());
        cases.push((what, body, status, Some(name)));
    }
    let mut unknown = song_json();
    unknown["valance"] = json!(0.5);
    cases.push(("misspelt field", unknown, 400, Some("valance")));
    cases.push(("an array", json!([1, 2]), 400, None));
    cases
}

#[test]
fn api_predict_answers_4xx_naming_the_field_for_every_bad_value() {
    let server = server();
    for (what, body, status, field) in bad_json_cases() {
        let (got, answer) = server.post_json(&body);
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["field"].as_str(), field, "{what}: {answer}");
        let message = answer["error"].as_str().expect("an error message");
        if let Some(field) = field {
            assert!(
                message.contains(&format!("`{field}`")),
                "{what}: message {message:?} names `{field}`"
            );
        }
    }
}

#[test]
fn api_predict_rejects_broken_json_wrong_content_type_and_oversized_bodies() {
    let server = server();
    let (status, answer) = server.post("/api/predict", "application/json", b"{\"valence\": ");
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("not a JSON object"), "{answer}");

    let body = song_json().to_string();
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let (status, answer) = server.post("/api/predict", content_type, body.as_bytes());
        assert_eq!(status, 415, "{content_type}: {answer}");
        assert!(answer.contains("application/json"), "{answer}");
    }
    // A charset parameter is fine.
    let (status, _) = server.post(
        "/api/predict",
        "application/json; charset=utf-8",
        body.as_bytes(),
    );
    assert_eq!(status, 200);

    // Padding with spaces keeps the JSON valid: only the size is wrong.
    let oversized = format!("{body}{}", " ".repeat(BODY_LIMIT));
    let (status, answer) = server.post("/api/predict", "application/json", oversized.as_bytes());
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("64 KiB"), "{answer}");
    let just_fits = format!("{body}{}", " ".repeat(BODY_LIMIT - body.len()));
    let (status, _) = server.post("/api/predict", "application/json", just_fits.as_bytes());
    assert_eq!(status, 200, "a body of exactly 64 KiB is read");
}

#[test]
fn predict_form_answers_4xx_naming_the_field_and_keeps_the_entered_values() {
    let server = server();
    type Form = Vec<(String, String)>;
    let cases: Vec<(&str, Form, u16, &str)> = vec![
        ("missing", without_form_field("valence"), 400, "valence"),
        ("empty", with_form_value("energy", ""), 400, "energy"),
        (
            "not a number",
            with_form_value("tempo", "fast"),
            400,
            "tempo",
        ),
        ("infinite", with_form_value("tempo", "inf"), 400, "tempo"),
        (
            "valence 1.7",
            with_form_value("valence", "1.7"),
            422,
            "valence",
        ),
        ("key 13", with_form_value("key", "13"), 422, "key"),
        ("key 2.5", with_form_value("key", "2.5"), 422, "key"),
        (
            "unknown genre",
            with_form_value("genre", "polka"),
            422,
            "genre",
        ),
        ("missing genre", without_form_field("genre"), 400, "genre"),
    ];
    for (what, pairs, status, field) in cases {
        let (got, html) = server.post_form(&pairs);
        assert_eq!(got, status, "{what}");
        let banner_start = html.find("id=\"error\"").expect("an error banner");
        let banner = &html[banner_start..banner_start + html[banner_start..].find("</p>").unwrap()];
        assert!(banner.contains(&format!("`{field}`")), "{what}: {banner}");
        assert!(
            html.contains(&format!(
                "<div class=\"field invalid\"><label for=\"f-{field}\">"
            )),
            "{what}: the field {field} is marked"
        );
        // Every value sent is still in the form.
        for (name, value) in &pairs {
            let shown = if name == "key" || name == "mode" || name == "genre" {
                selected_option(&html, name)
            } else {
                input_value(&html, name)
            };
            assert_eq!(shown.as_deref(), Some(value.as_str()), "{what}: {name}");
        }
    }
}

#[test]
fn predict_form_rejects_wrong_content_type_oversized_bodies_and_repeated_fields() {
    let server = server();
    let json = song_json().to_string();
    let (status, html) = server.post("/predict", "application/json", json.as_bytes());
    assert_eq!(status, 415);
    assert!(html.contains("application/x-www-form-urlencoded"));
    let (status, html) = server.post("/predict", "multipart/form-data; boundary=x", b"--x--");
    assert_eq!(status, 415, "{html}");

    let form = serde_urlencoded::to_string(song_form()).unwrap();
    let oversized = format!("{form}&padding={}", "x".repeat(BODY_LIMIT));
    let (status, html) = server.post(
        "/predict",
        "application/x-www-form-urlencoded",
        oversized.as_bytes(),
    );
    assert_eq!(status, 413);
    assert!(html.contains("64 KiB"));

    let mut repeated = song_form();
    repeated.push(("valence".into(), "0.2".into()));
    let (status, html) = server.post_form(&repeated);
    assert_eq!(status, 400);
    assert!(html.contains("`valence`"));
}

#[test]
fn form_values_are_escaped_in_the_page() {
    let server = server();
    let (status, html) = server.post_form(&with_form_value("genre", "<script>alert(1)</script>"));
    assert_eq!(status, 422);
    assert!(!html.contains("<script>alert"), "raw markup echoed");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

#[test]
fn unknown_paths_get_404_and_wrong_methods_405() {
    let server = server();
    let (status, body) = server.get("/nowhere");
    assert_eq!(status, 404);
    assert!(body.contains("/nowhere"));
    assert_eq!(server.get("/predict").0, 405);
    assert_eq!(server.get("/api/predict").0, 405);
}

#[test]
fn garbage_bodies_never_get_a_5xx() {
    let server = server();
    let garbage: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xff, 0xfe, 0x00],
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"text\"".to_vec(),
        b"{\"danceability\": 1e400}".to_vec(),
        b"%%%=&&==".to_vec(),
        b"valence=%ZZ".to_vec(),
        "danceability=0.5&ünïcode=✓".as_bytes().to_vec(),
        b"{\"genre\": {\"nested\": [1, {\"deeper\": null}]}}".to_vec(),
    ];
    for body in &garbage {
        for (path, content_type) in [
            ("/api/predict", "application/json"),
            ("/predict", "application/x-www-form-urlencoded"),
        ] {
            let (status, answer) = server.post(path, content_type, body);
            assert!(
                (400..500).contains(&status),
                "{path} with {:?}: {status} {answer}",
                String::from_utf8_lossy(body)
            );
        }
    }
}

fn lookup() -> TrackLookup {
    let features = AudioFeatures {
        danceability: 0.748,
        energy: 0.916,
        key: 6,
        loudness: -2.634,
        mode: Some(1),
        speechiness: 0.0583,
        acousticness: 0.102,
        instrumentalness: 0.0,
        liveness: 0.0653,
        valence: Some(0.518),
        tempo: 122.036,
        duration_ms: Some(194_754),
        time_signature: None,
    };
    let track = Track {
        id: KNOWN_TRACK.into(),
        features,
        analysis: None,
        labels: Labels::default(),
    };
    let details = TrackDetails {
        name: "I Don't Care".into(),
        artist: "Ed Sheeran".into(),
        artist_popularity: Some(92.0),
        genre: Some("edm".into()),
        popularity: Some(66.0),
    };
    TrackLookup::new(Box::new(LocalSource::new(&[track])))
        .details(HashMap::from([(KNOWN_TRACK.to_string(), details)]))
}

#[test]
fn track_id_fills_the_form_from_the_feature_source() {
    let server = Server::start(App::new(model()).tracks(lookup()));
    for given in [
        KNOWN_TRACK.to_string(),
        format!("https%3A%2F%2Fopen.spotify.com%2Ftrack%2F{KNOWN_TRACK}%3Fsi%3Dx"),
    ] {
        let (status, html) = server.get(&format!("/?track_id={given}"));
        assert_eq!(status, 200, "{given}");
        assert_eq!(input_value(&html, "danceability").as_deref(), Some("0.748"));
        assert_eq!(input_value(&html, "loudness").as_deref(), Some("-2.634"));
        assert_eq!(input_value(&html, "duration_ms").as_deref(), Some("194754"));
        assert_eq!(
            input_value(&html, "artist_popularity").as_deref(),
            Some("92")
        );
        assert_eq!(selected_option(&html, "key").as_deref(), Some("6"));
        assert_eq!(selected_option(&html, "genre").as_deref(), Some("edm"));
        assert!(html.contains("Ed Sheeran"));
    }
    let (status, html) = server.get("/?track_id=0000000000000000000000");
    assert_eq!(status, 404);
    assert!(html.contains("`track_id`"));
    let (status, html) = server.get("/?track_id=not-an-id");
    assert_eq!(status, 400);
    assert!(html.contains("`track_id`"));
}

#[test]
fn track_id_without_a_feature_source_gets_404_saying_how_to_configure_one() {
    let server = server();
    let (status, html) = server.get(&format!("/?track_id={KNOWN_TRACK}"));
    assert_eq!(status, 404);
    assert!(html.contains("--data"));
}

#[test]
fn explanation_puts_the_largest_gain_first_and_its_numbers_are_the_model_s() {
    let model = model();
    let mut instrumental = song();
    instrumental.instrumentalness = 0.8;
    let explanation = explain(model.as_ref(), &instrumental).expect("explains");
    let baseline = model.predict_proba(&instrumental).unwrap()[3];
    assert_eq!(explanation.baseline, baseline);
    assert_eq!(explanation.sweeps.len(), 12, "every audio feature");
    let first = &explanation.sweeps[0];
    // The linear model's largest weight is instrumentalness, against the top quartile.
    assert_eq!(first.field, "instrumentalness");
    assert_eq!(first.best, 0.0);
    let mut moved = instrumental.clone();
    moved.instrumentalness = first.best;
    assert_eq!(
        first.best_probability,
        model.predict_proba(&moved).unwrap()[3]
    );
    let gains: Vec<f64> = explanation
        .sweeps
        .iter()
        .map(|s| s.gain(baseline))
        .collect();
    assert!(gains.windows(2).all(|pair| pair[0] >= pair[1]), "{gains:?}");
    assert!(
        gains.iter().all(|&gain| gain >= 0.0),
        "the song's own value is tried"
    );
}

#[test]
fn load_run_sends_every_request_and_checks_every_answer() {
    let server = server();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let songs = load::random_songs(50, model().genres(), 7);
    assert!(songs.iter().all(|song| song.validate().is_ok()));
    let plan = LoadPlan {
        addr: server.addr,
        requests: 400,
        connections: 8,
        deadline: Duration::from_secs(120),
        timeout: Duration::from_secs(30),
    };
    let report = runtime.block_on(load::run(&plan, &songs));
    assert_eq!((report.ok, report.errors), (400, 0), "{report:?}");
    assert!(report.p50_ms <= report.p99_ms && report.p99_ms <= report.max_ms);

    // Against a port nothing listens on, every request is an error, and the run still ends.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let report = runtime.block_on(load::run(
        &LoadPlan {
            addr,
            requests: 20,
            ..plan
        },
        &songs,
    ));
    assert_eq!((report.ok, report.errors), (0, 20), "{report:?}");
    let first = report.first_error.expect("the first error is kept");
    assert!(
        first.starts_with(&format!("connect to {addr}: ")),
        "the error names the address and its cause: {first}"
    );
}

/// The linear model with least-ambiguous sets at 90% of threshold 0.7: the quartiles at least
/// 30% likely.
struct WithSets(LinearQuartileModel);

impl QuartileModel for WithSets {
    fn genres(&self) -> &[String] {
        self.0.genres()
    }

    fn predict_proba(
        &self,
        song: &SongInput,
    ) -> Result<[f64; 4], spotify_ml::popularity::SongError> {
        self.0.predict_proba(song)
    }

    fn prediction_set(&self, probabilities: &[f64; 4]) -> Option<(f64, Vec<usize>)> {
        let mut set: Vec<usize> = (0..4).filter(|&q| probabilities[q] >= 0.3).collect();
        set.sort_by(|&a, &b| probabilities[b].total_cmp(&probabilities[a]));
        Some((0.9, set))
    }
}

/// Issue 22: a model with prediction sets answers the set in JSON and in words on the page.
#[test]
fn a_model_with_prediction_sets_answers_them_in_json_and_in_words() {
    let model = WithSets(LinearQuartileModel::new());
    let probabilities = model.predict_proba(&song()).expect("predicts");
    let (_, expected) = model.prediction_set(&probabilities).expect("a set");
    let server = Server::start(App::new(Arc::new(model)));
    let (status, answer) = server.post_json(&song_json());
    assert_eq!(status, 200, "{answer}");
    let set = &answer["set"];
    assert_eq!(set["coverage"].as_f64(), Some(0.9));
    let quartiles: Vec<&str> = set["quartiles"]
        .as_array()
        .expect("quartiles")
        .iter()
        .map(|q| q.as_str().expect("a name"))
        .collect();
    let names: Vec<&str> = expected.iter().map(|&q| QUARTILES[q]).collect();
    assert_eq!(quartiles, names);
    let words = set["words"].as_str().expect("words");
    assert!(words.ends_with("at 90%"), "{words}");
    let (status, page) = server.post_form(&song_form());
    assert_eq!(status, 200);
    assert!(
        page.contains(&format!("How sure: <strong>{words}</strong>")),
        "{page}"
    );
}
