//! One request to the popularity web app, end to end in process: the JSON API through the whole
//! router (`oneshot`), the same over a loopback keep-alive connection, and the HTML result page
//! with its "what would move it" sweep. Served model: the tests' fixed linear model, so the
//! numbers are the app's own cost; then the same in-process requests with the trained popularity
//! model (from `$SPOTIFY_ML_POPULARITY_MODEL`, else the workspace's `out/popularity/model`) when
//! one is saved.

#[path = "../tests/linear_model/mod.rs"]
mod linear_model;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::Router;
use criterion::{criterion_main, Criterion, Throughput};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use spotify_ml::popularity::{QuartileModel, DEFAULT_MODEL_DIR};
use tower::ServiceExt;
use web_app::load::random_songs;
use web_app::App;

/// One request through the whole router, in process; the response body, after checking for 200.
fn in_process(
    runtime: &tokio::runtime::Runtime,
    router: &Router,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> Bytes {
    runtime.block_on(async {
        let request = Request::post(path)
            .header("content-type", content_type)
            .body(Body::from(body.to_vec()))
            .expect("request");
        ok_body(router.clone().oneshot(request).await.expect("response")).await
    })
}

/// The body of a response, after checking for 200.
async fn ok_body<B>(response: hyper::Response<B>) -> Bytes
where
    B: hyper::body::Body,
    B::Error: std::fmt::Debug,
{
    assert_eq!(response.status(), 200);
    response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
}

const JSON: &str = "application/json";
const FORM: &str = "application/x-www-form-urlencoded";

fn web_app(c: &mut Criterion) {
    let model: Arc<dyn QuartileModel> = Arc::new(linear_model::LinearQuartileModel::new());
    let song = random_songs(1, model.genres(), 1).remove(0);
    let json = serde_json::to_vec(&song).expect("song as JSON");
    let mut pairs: Vec<(String, String)> = song
        .numeric_fields()
        .into_iter()
        .map(|(name, value, _)| (name.to_string(), value.to_string()))
        .collect();
    pairs.push(("genre".into(), song.genre.clone()));
    let form = serde_urlencoded::to_string(&pairs).expect("form");
    // As the app runs: one libtorch thread per prediction on every runtime thread
    // (SPOTIFY_ML_TORCH_THREADS to compare).
    let threads = std::env::var("SPOTIFY_ML_TORCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1);
    let runtime = web_app::server_runtime(threads).expect("runtime");

    let mut group = c.benchmark_group("web_app");
    // One request an iteration: criterion prints requests per second.
    group.throughput(Throughput::Elements(1));
    let router = App::new(model.clone()).router();
    group.bench_function("api_predict_in_process", |b| {
        b.iter(|| in_process(&runtime, &router, "/api/predict", JSON, &json))
    });
    group.bench_function("predict_form_page_in_process", |b| {
        b.iter(|| in_process(&runtime, &router, "/predict", FORM, form.as_bytes()))
    });

    // Over loopback TCP: server and client on the same runtime, one keep-alive connection.
    let (addr, mut sender) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("address");
        tokio::spawn(App::new(model.clone()).serve(listener, std::future::pending()));
        let stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("handshake");
        tokio::spawn(connection);
        (addr, sender)
    });
    let body = Bytes::from(json.clone());
    group.bench_function("api_predict_loopback", |b| {
        b.iter(|| {
            runtime.block_on(async {
                sender.ready().await.expect("ready");
                let request = Request::post("/api/predict")
                    .header("host", addr.to_string())
                    .header("content-type", "application/json")
                    .body(Full::new(body.clone()))
                    .expect("request");
                ok_body(sender.send_request(request).await.expect("response")).await
            })
        })
    });

    // Cargo runs a bench in its package's directory; the default model lives at the workspace's root.
    let dir = std::env::var_os("SPOTIFY_ML_POPULARITY_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(DEFAULT_MODEL_DIR)
        });
    match spotify_ml::bundle::PopularityBundle::load(&dir) {
        Ok(trained) => {
            let trained = trained.into_predictor();
            let router = App::new(Arc::new(trained)).router();
            group.bench_function("api_predict_in_process_trained_model", |b| {
                b.iter(|| in_process(&runtime, &router, "/api/predict", JSON, &json))
            });
            group.bench_function("predict_form_page_in_process_trained_model", |b| {
                b.iter(|| in_process(&runtime, &router, "/predict", FORM, form.as_bytes()))
            });
        }
        Err(error) => eprintln!("no trained-model benches: {error}"),
    }
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    criterion::criterion_group!(benches, super::web_app);
}
criterion_main!(group::benches);
