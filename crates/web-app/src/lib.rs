//! The song-popularity web app: a form, the probability of each popularity quartile as a bar
//! chart, and what would move it.
//!
//! It is a crate of its own so that the server's dependencies (axum, tokio, hyper) reach no user
//! of the pipelines: it depends on `spotify-ml` for the model, and nothing depends on it.
//!
//! The server is generic over any [`QuartileModel`]; this crate's `examples/popularity_app`
//! serves the model the popularity experiment saved. Routes:
//!
//! | route | what it does |
//! |---|---|
//! | `GET /` | the form; `?track_id=…` fills it from the configured [`TrackLookup`] |
//! | `POST /predict` | a form (`application/x-www-form-urlencoded`) → an HTML page: the quartile, a bar chart of the four probabilities, the entered values and what would move it |
//! | `POST /api/predict` | JSON (`application/json`) → [`Prediction`] as JSON |
//! | `GET /healthz` | `ok` when the model answers a known song in time, else 503 saying why |
//!
//! The JSON API takes one object with every field of [`SongInput`](spotify_ml::popularity::SongInput) (numbers, and `genre` a
//! string) and answers
//! `{"quartile":"50-75","probabilities":{"0-25":0.05,"25-50":0.2,"50-75":0.6,"75-100":0.15}}`.
//! Bad input gets a 4xx and `{"error":"…","field":"valence"}` (`field` is `null` when the
//! problem is not one field's); see [`RequestError`] for which status each problem gets.
//!
//! ```
//! use std::sync::Arc;
//! use web_app::App;
//! use spotify_ml::popularity::{QuartileModel, SongError, SongInput};
//!
//! /// Always the same answer: enough to build the router.
//! struct Constant(Vec<String>);
//! impl QuartileModel for Constant {
//!     fn genres(&self) -> &[String] { &self.0 }
//!     fn predict_proba(&self, _: &SongInput) -> Result<[f64; 4], SongError> { Ok([0.25; 4]) }
//! }
//!
//! let router = App::new(Arc::new(Constant(vec!["pop".into()]))).router();
//! # let _ = router;
//! ```
// Functions read in a screen, as in the root package's src/ (clippy.toml sets 80 lines).
#![warn(clippy::too_many_lines)]

mod error;
pub mod explain;
mod fields;
mod guard;
mod handlers;
mod input;
pub mod load;
mod page;
pub mod pool;
pub mod serve;
mod tracks;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use serde::{Deserialize, Serialize};
use spotify_ml::popularity::{QuartileModel, QUARTILES};

pub use error::{predict, ModelError, RequestError};
pub use fields::{FormField, FIELDS};
pub use input::{song_from_form, song_from_json, IGNORED_API_FIELDS};
pub use pool::{PoolError, PredictionPool};
pub use tracks::{FoundTrack, TrackDetails, TrackLookup};

/// The largest request body the app reads: 64 KiB. Larger bodies get 413.
pub const BODY_LIMIT: usize = 64 * 1024;

/// What the server allows each client, so that no client (slow, idle, flooding or hostile)
/// can hold it up. [`Limits::default`] suits a public server; tests shorten the times.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The request head (request line and headers) must arrive whole within this time of the
    /// connection opening or of the previous answer: it bounds slow headers and idle
    /// keep-alive connections alike. Default 10 s.
    pub header_timeout: Duration,
    /// The body must arrive whole within this time of the head (else 408). Default 10 s.
    pub body_timeout: Duration,
    /// The answer must be ready within this time of the body (else 503): a stuck prediction
    /// cannot hold a client for ever. Default 10 s.
    pub request_timeout: Duration,
    /// Open connections at most (lowered to fit the process's file-descriptor limit); at the
    /// cap the longest-idle connection is closed for a new one. Default 4096.
    pub max_connections: usize,
    /// The longest request head read (else 431); at least 8 KiB. Default 16 KiB.
    pub max_header_bytes: usize,
    /// Threads that run predictions. Default: the machine's cores.
    pub prediction_threads: usize,
    /// Predictions waiting for a thread at most; more get 503 at once. Default 256.
    pub prediction_queue: usize,
    /// `/healthz` fails when the model does not answer its probe within this time. Default 2 s.
    pub health_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_header_bytes: 16 * 1024,
            prediction_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            prediction_queue: 256,
            health_timeout: Duration::from_secs(2),
        }
    }
}

/// The web app: a model and, optionally, a source that fills the form from a track id.
#[derive(Clone)]
pub struct App {
    model: Arc<dyn QuartileModel>,
    tracks: Option<Arc<TrackLookup>>,
    limits: Limits,
    torch_threads: usize,
    pool: PredictionPool,
}

impl App {
    /// An app serving this model, without a track-id lookup, with [`Limits::default`] and one
    /// libtorch thread per prediction.
    pub fn new(model: Arc<dyn QuartileModel>) -> App {
        let limits = Limits::default();
        App {
            model,
            tracks: None,
            pool: prediction_pool(&limits, 1),
            limits,
            torch_threads: 1,
        }
    }

    /// Serves with these limits.
    pub fn limits(mut self, limits: Limits) -> App {
        self.pool = prediction_pool(&limits, self.torch_threads);
        self.limits = limits;
        self
    }

    /// libtorch's threads per prediction on the prediction threads (default 1: requests
    /// already run in parallel; docs/WEB_APP.md).
    pub fn torch_threads(mut self, threads: usize) -> App {
        self.torch_threads = threads.max(1);
        self.pool = prediction_pool(&self.limits, self.torch_threads);
        self
    }

    /// Fills the form from track ids with this lookup.
    pub fn tracks(mut self, tracks: TrackLookup) -> App {
        self.tracks = Some(Arc::new(tracks));
        self
    }

    /// The router with every route of the app, behind the layer that bounds bodies and
    /// answer times and adds the security headers.
    pub fn router(self) -> Router {
        let limits = self.limits.clone();
        Router::new()
            .route("/", get(handlers::index))
            .route("/predict", post(handlers::predict_form))
            .route("/api/predict", post(handlers::predict_json))
            .route("/healthz", get(handlers::healthz))
            .fallback(handlers::not_found)
            .layer(DefaultBodyLimit::max(BODY_LIMIT))
            .with_state(self)
            .layer(axum::middleware::from_fn_with_state(limits, guard::guard))
    }

    /// Serves the app on `listener` until `shutdown` completes, with its [`Limits`]
    /// ([`serve`] says how connections are bounded).
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let limits = self.limits.clone();
        serve::serve(self.router(), listener, limits, shutdown).await
    }
}

fn prediction_pool(limits: &Limits, torch_threads: usize) -> PredictionPool {
    let threads = i32::try_from(torch_threads.max(1)).unwrap_or(1);
    PredictionPool::new(
        limits.prediction_threads,
        limits.prediction_queue,
        move || tch::set_num_threads(threads),
    )
}

/// A multi-threaded tokio runtime for serving a model, with libtorch limited to `torch_threads`
/// threads per prediction on every runtime thread (workers and the blocking pool).
///
/// libtorch's thread count is per calling thread, so setting it once in `main` leaves the
/// runtime's threads at the default. One thread suits a server: requests already run in
/// parallel, and a one-row prediction spread over more threads waits on them (on the shared
/// 2-core machine, 1–4 ms instead of 0.13 ms; docs/WEB_APP.md).
pub fn server_runtime(torch_threads: usize) -> std::io::Result<tokio::runtime::Runtime> {
    let threads = i32::try_from(torch_threads.max(1)).unwrap_or(1);
    tch::set_num_threads(threads);
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .on_thread_start(move || tch::set_num_threads(threads))
        .build()
}

/// The JSON answer of `POST /api/predict`: the most likely quartile, all four probabilities,
/// and, for a model calibrated for it, the set of quartiles that holds the true one with a
/// stated probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The most likely quartile, one of [`QUARTILES`].
    pub quartile: String,
    /// The probability of each quartile.
    pub probabilities: Probabilities,
    /// The conformal prediction set ([`QuartileModel::prediction_set`]); absent when the model
    /// has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<PredictionSet>,
}

/// Quartiles that together hold a song's true quartile with probability `coverage` (on songs
/// like the model's calibration rows).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PredictionSet {
    /// The probability, such as 0.9.
    pub coverage: f64,
    /// The quartiles, most likely first (empty when none is likely enough to name).
    pub quartiles: Vec<String>,
    /// The set in words: `"top quartile or third quartile, at 90%"`.
    pub words: String,
}

/// A quartile's name in words.
fn quartile_words(index: usize) -> &'static str {
    [
        "bottom quartile",
        "second quartile",
        "third quartile",
        "top quartile",
    ]
    .get(index)
    .copied()
    .unwrap_or("unknown quartile")
}

impl PredictionSet {
    /// The set of these quartile indices at this coverage.
    pub fn new(coverage: f64, quartiles: &[usize]) -> PredictionSet {
        let names: Vec<&str> = quartiles.iter().map(|&q| quartile_words(q)).collect();
        let percent = format!("{:.0}%", 100.0 * coverage);
        let words = if names.is_empty() {
            format!("no quartile is likely enough to name, at {percent}")
        } else {
            format!("{}, at {percent}", names.join(" or "))
        };
        PredictionSet {
            coverage,
            quartiles: quartiles
                .iter()
                .filter_map(|&q| QUARTILES.get(q).map(|s| s.to_string()))
                .collect(),
            words,
        }
    }
}

/// The probability of each popularity quartile, keyed by the quartile's name in JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probabilities {
    /// Popularity 0 to 25.
    #[serde(rename = "0-25")]
    pub q0_25: f64,
    /// Popularity 25 to 50.
    #[serde(rename = "25-50")]
    pub q25_50: f64,
    /// Popularity 50 to 75.
    #[serde(rename = "50-75")]
    pub q50_75: f64,
    /// Popularity 75 to 100.
    #[serde(rename = "75-100")]
    pub q75_100: f64,
}

impl Prediction {
    /// The prediction of these probabilities (in the order of [`QUARTILES`]).
    pub fn from_probabilities(probabilities: [f64; 4]) -> Prediction {
        let [q0_25, q25_50, q50_75, q75_100] = probabilities;
        Prediction {
            quartile: QUARTILES[most_likely(&probabilities)].to_string(),
            probabilities: Probabilities {
                q0_25,
                q25_50,
                q50_75,
                q75_100,
            },
            set: None,
        }
    }

    /// The prediction of these probabilities by `model`, with its prediction set if it has
    /// one.
    pub fn by_model(model: &dyn QuartileModel, probabilities: [f64; 4]) -> Prediction {
        let mut prediction = Prediction::from_probabilities(probabilities);
        prediction.set = model
            .prediction_set(&probabilities)
            .map(|(coverage, quartiles)| PredictionSet::new(coverage, &quartiles));
        prediction
    }

    /// The four probabilities in the order of [`QUARTILES`].
    pub fn to_array(&self) -> [f64; 4] {
        let p = &self.probabilities;
        [p.q0_25, p.q25_50, p.q50_75, p.q75_100]
    }
}

/// The index of the largest probability; the lower quartile wins a tie.
pub fn most_likely(probabilities: &[f64; 4]) -> usize {
    let mut best = 0;
    for (index, &p) in probabilities.iter().enumerate() {
        if p > probabilities[best] {
            best = index;
        }
    }
    best
}
