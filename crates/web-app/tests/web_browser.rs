//! The popularity web app end to end in a real browser: headless Chromium (Debian's `chromium`
//! and `chromium-driver`, installed by the test when missing) driven over WebDriver. It fills
//! the form, submits it, checks the quartile and the four bars, and saves a screenshot under the
//! target directory.

mod linear_model;
mod serving;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};
use spotify_ml::dataset::DataDir;
use spotify_ml::popularity::{
    Members, PopularityData, PopularityPredictor, PredictorConfig, QuartileModel, SongInput,
    QUARTILES,
};
use web_app::{most_likely, App, TrackLookup, FIELDS};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Installs Debian's chromium and chromium-driver when missing; `Err` says why it could not.
fn ensure_chromium() -> Result<(), String> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    eprintln!("installing chromium and chromium-driver with apt-get");
    let run = |args: &[&str]| -> Result<(), String> {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|error| format!("apt-get {}: {error}", args.join(" ")))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("apt-get {} failed: {status}", args.join(" ")))
        }
    };
    run(&["update", "-qq"])?;
    run(&["install", "-y", "-qq", "chromium", "chromium-driver"])?;
    if Path::new(CHROMEDRIVER).exists() {
        Ok(())
    } else {
        Err(format!("{CHROMEDRIVER} is still missing after the install"))
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// The app on an ephemeral loopback port, served from a background thread.
fn start_app(app: App) -> SocketAddr {
    serving::start(app)
}

/// A chromedriver process and one browser session; both end on drop.
struct Browser {
    driver: Child,
    base: String,
    session: String,
    agent: ureq::Agent,
    _profile: tempfile::TempDir,
}

impl Browser {
    fn start() -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let base = format!("http://127.0.0.1:{port}");
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let started = Instant::now();
        loop {
            let ready = agent
                .get(&format!("{base}/status"))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|status| status["value"]["ready"] == json!(true));
            if ready {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "chromedriver did not get ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let profile = tempfile::tempdir().expect("a fresh profile directory");
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--window-size=1280,1560", "--hide-scrollbars",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        }}});
        let mut browser = Browser {
            driver,
            base,
            session: String::new(),
            agent,
            _profile: profile,
        };
        let answer = browser.call("POST", "/session", Some(capabilities));
        browser.session = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        browser
    }

    /// One WebDriver command; panics with the driver's message on an error.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = if path == "/session" {
            format!("{}{path}", self.base)
        } else {
            format!("{}/session/{}{path}", self.base, self.session)
        };
        let response = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .send_json(body.unwrap_or_else(|| json!({}))),
        };
        let mut response = response.unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        let status = response.status();
        let value: Value = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_json()
            .unwrap_or_else(|error| panic!("{method} {path}: answer is not JSON: {error}"));
        assert!(status.is_success(), "{method} {path}: {status} {value}");
        value
    }

    fn open(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let answer = self.call(
            "POST",
            "/elements",
            Some(json!({"using": "css selector", "value": css})),
        );
        answer["value"]
            .as_array()
            .map(|elements| {
                elements
                    .iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The first element matching `css`, waiting up to ten seconds for it to appear.
    fn find(&self, css: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some(element) = self.find_all(css).into_iter().next() {
                return element;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no element {css} in {}",
                self.call("GET", "/source", None)["value"]
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/clear"), None);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({ "text": text })),
        );
    }

    fn click(&self, css: &str) {
        let element = self.find(css);
        self.call("POST", &format!("/element/{element}/click"), None);
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.call("GET", &format!("/element/{element}/text"), None)["value"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn property(&self, css: &str, name: &str) -> String {
        let element = self.find(css);
        let value =
            &self.call("GET", &format!("/element/{element}/property/{name}"), None)["value"];
        value
            .as_str()
            .map_or_else(|| value.to_string(), String::from)
    }

    /// Runs `code` in the page and returns its value.
    fn script(&self, code: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": code, "args": []})),
        )["value"]
            .clone()
    }

    fn screenshot(&self, path: &Path) {
        let encoded = self.call("GET", "/screenshot", None)["value"]
            .as_str()
            .expect("base64 PNG")
            .to_string();
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("valid base64");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG");
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("screenshot dir");
        std::fs::write(path, png).expect("write screenshot");
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let url = format!("{}/session/{}", self.base, self.session);
            let _ = self.agent.delete(&url).call();
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The served model: the popularity classifier, trained quickly (`quick`, as
/// `popularity_classifier --quick`) on the shared data; the tests' fixed linear model only when
/// the data is absent.
fn served_model(data: Option<&DataDir>) -> Arc<dyn QuartileModel> {
    let Some(dir) = data else {
        eprintln!("../shared/data is absent: serving the tests' fixed linear model");
        return Arc::new(linear_model::LinearQuartileModel::new());
    };
    let data = PopularityData::load(dir).expect("popularity data loads");
    let rows: Vec<usize> = (0..data.y.len()).collect();
    let config = PredictorConfig {
        members: Members::Blend,
        seed: 7,
        quick: true,
    };
    let trained = PopularityPredictor::train(&data, &rows, &config).expect("quick training");
    Arc::new(trained.predictor)
}

/// The shared data: `$SPOTIFY_ML_DATA`, else `../shared/data` beside the workspace (tests run in
/// this crate's directory, two levels below it).
fn shared_data() -> PathBuf {
    std::env::var_os("SPOTIFY_ML_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

/// Where screenshots go: `<target dir>/web_app/`.
fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("the target directory")
        .join("web_app")
}

#[test]
fn browser_fills_the_form_submits_and_sees_the_quartile_and_four_bars() {
    if let Err(why) = ensure_chromium() {
        eprintln!("SKIPPED: headless Chromium is not available: {why}");
        return;
    }
    let data = DataDir::resolve(Some(&shared_data())).ok();
    let model = served_model(data.as_ref());
    let mut app = App::new(model.clone());
    if let Some(dir) = &data {
        app = app.tracks(TrackLookup::from_popularity_data(dir).expect("popularity data loads"));
    } else {
        eprintln!("../shared/data is absent: the track-id fill is not exercised");
    }
    let addr = start_app(app);
    let browser = Browser::start();
    browser.open(&format!("http://{addr}/"));
    browser.find("#song-form");
    assert_eq!(
        browser
            .find_all("#song-form input, #song-form select")
            .len(),
        14,
        "13 numeric fields and the genre"
    );

    if data.is_some() {
        // The first song of the popularity data, by its open.spotify.com link.
        browser.type_into(
            "#track_id",
            "https://open.spotify.com/track/6f807x0ima9a1j3VPbc7VN?si=test",
        );
        browser.click(".track button");
        browser.find("#notice");
        assert_eq!(browser.property("#f-danceability", "value"), "0.748");
        assert_eq!(browser.property("#f-genre", "value"), "pop");
        browser.screenshot(&screenshot_dir().join("popularity_app_track.png"));
        browser.click("a.reset");
        browser.find("#song-form");
    }

    let entered = [
        ("danceability", "0.81"),
        ("energy", "0.66"),
        ("acousticness", "0.35"),
        ("instrumentalness", "0.42"),
        ("tempo", "104"),
        ("artist_popularity", "74"),
    ];
    for (name, value) in entered {
        browser.type_into(&format!("#f-{name}"), value);
    }
    browser.click("#f-genre option[value='rock']");
    browser.click("#f-key option[value='9']");
    browser.click("#predict");

    let quartile = browser.text("#quartile");
    let mut song = SongInput {
        danceability: 0.0,
        energy: 0.0,
        key: 9.0,
        loudness: 0.0,
        mode: 0.0,
        speechiness: 0.0,
        acousticness: 0.0,
        instrumentalness: 0.0,
        liveness: 0.0,
        valence: 0.0,
        tempo: 0.0,
        duration_ms: 0.0,
        artist_popularity: 0.0,
        genre: "rock".into(),
    };
    for field in FIELDS {
        let typed = entered.iter().find(|(name, _)| *name == field.name);
        let value = typed.map_or(field.default, |(_, v)| v.parse().expect("a number"));
        match field.name {
            "key" => {}
            name => set(&mut song, name, value),
        }
    }
    let probabilities = model.predict_proba(&song).expect("a valid song");
    assert_eq!(quartile, QUARTILES[most_likely(&probabilities)]);
    let bars = browser.find_all("svg#chart rect.bar");
    assert_eq!(bars.len(), 4, "four bars");
    let highlighted = browser.find_all("svg#chart rect.bar.best");
    assert_eq!(highlighted.len(), 1, "one highlighted bar");
    // The form kept the song.
    assert_eq!(browser.property("#f-tempo", "value"), "104");
    assert_eq!(browser.property("#f-genre", "value"), "rock");
    assert!(browser.text("#explanation").contains("What would move it"));

    let path = screenshot_dir().join("popularity_app.png");
    browser.screenshot(&path);
    eprintln!("screenshot: {}", path.display());

    // Out of range: the browser's own check stops the form...
    browser.type_into("#f-valence", "1.7");
    browser.click("#predict");
    assert_eq!(
        browser.script("return document.getElementById('f-valence').validity.rangeOverflow"),
        json!(true)
    );
    // ...and with that check off, the server answers 422 and keeps what was entered.
    browser.script("document.getElementById('song-form').noValidate = true; return null");
    browser.click("#predict");
    assert!(browser.text("#error").contains("`valence`"));
    assert_eq!(browser.property("#f-valence", "value"), "1.7");
    assert_eq!(browser.property("#f-tempo", "value"), "104");
    browser.screenshot(&screenshot_dir().join("popularity_app_error.png"));
}

fn set(song: &mut SongInput, name: &str, value: f64) {
    let slot = match name {
        "danceability" => &mut song.danceability,
        "energy" => &mut song.energy,
        "loudness" => &mut song.loudness,
        "mode" => &mut song.mode,
        "speechiness" => &mut song.speechiness,
        "acousticness" => &mut song.acousticness,
        "instrumentalness" => &mut song.instrumentalness,
        "liveness" => &mut song.liveness,
        "valence" => &mut song.valence,
        "tempo" => &mut song.tempo,
        "duration_ms" => &mut song.duration_ms,
        "artist_popularity" => &mut song.artist_popularity,
        other => panic!("no field {other}"),
    };
    *slot = value;
}
