//! A bounded load generator for `POST /api/predict`: a fixed number of requests over a fixed
//! number of keep-alive connections, each answer checked, latencies recorded.
//!
//! Bounded in count ([`LoadPlan::requests`]) and in time ([`LoadPlan::deadline`]): requests not
//! sent by the deadline count as errors, so a slow machine gets a report, never a hang.

use std::error::Error;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper::Request;
use hyper_util::rt::TokioIo;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::Prediction;
use spotify_ml::popularity::SongInput;

/// How much load to send, and where.
#[derive(Clone, Debug)]
pub struct LoadPlan {
    /// The server's address.
    pub addr: SocketAddr,
    /// Total requests.
    pub requests: usize,
    /// Concurrent keep-alive connections, each sending its requests one after another.
    pub connections: usize,
    /// The whole run stops here; unsent requests count as errors.
    pub deadline: Duration,
    /// One request's time limit; a slower answer counts as an error.
    pub timeout: Duration,
}

/// What a load run measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoadReport {
    /// Requests planned.
    pub requests: usize,
    /// Connections used.
    pub connections: usize,
    /// Requests answered 200 with a valid prediction.
    pub ok: usize,
    /// Requests that failed: a connection or protocol error, a timeout, a status other than 200,
    /// an answer that is not a valid prediction, or not sent before the deadline.
    pub errors: usize,
    /// The first error seen, if any, with its cause.
    pub first_error: Option<String>,
    /// Wall time of the run, seconds.
    pub seconds: f64,
    /// Successful requests per second of wall time.
    pub requests_per_second: f64,
    /// Median latency of successful requests, milliseconds.
    pub p50_ms: f64,
    /// 90th-percentile latency, milliseconds.
    pub p90_ms: f64,
    /// 99th-percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Slowest request, milliseconds.
    pub max_ms: f64,
}

/// Why one request of a load run failed.
#[derive(Debug, thiserror::Error)]
enum RequestFailure {
    #[error("connect to {addr}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("set TCP_NODELAY")]
    NoDelay(#[source] std::io::Error),
    #[error("HTTP handshake with {addr}")]
    Handshake {
        addr: SocketAddr,
        #[source]
        source: hyper::Error,
    },
    #[error("connection closed")]
    Closed(#[source] hyper::Error),
    #[error("building the request")]
    Build(#[source] hyper::http::Error),
    #[error("sending")]
    Send(#[source] hyper::Error),
    #[error("reading the answer")]
    Read(#[source] hyper::Error),
    #[error("status {status}: {body}")]
    Status {
        status: hyper::StatusCode,
        body: String,
    },
    #[error("answer is not a prediction")]
    NotAPrediction(#[source] serde_json::Error),
    #[error("probabilities sum to {0}")]
    Sum(f64),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl RequestFailure {
    /// The message and its cause, as the report keeps it.
    fn describe(&self) -> String {
        match self.source() {
            Some(cause) => format!("{self}: {cause}"),
            None => self.to_string(),
        }
    }
}

/// `count` valid songs spread over every field's range, seeded; genres drawn from `genres`.
pub fn random_songs(count: usize, genres: &[String], seed: u64) -> Vec<SongInput> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| SongInput {
            danceability: rng.gen_range(0.0..=1.0),
            energy: rng.gen_range(0.0..=1.0),
            key: f64::from(rng.gen_range(-1..=11)),
            loudness: rng.gen_range(-30.0..=0.0),
            mode: f64::from(rng.gen_range(0..=1)),
            speechiness: rng.gen_range(0.0..=1.0),
            acousticness: rng.gen_range(0.0..=1.0),
            instrumentalness: rng.gen_range(0.0..=1.0),
            liveness: rng.gen_range(0.0..=1.0),
            valence: rng.gen_range(0.0..=1.0),
            tempo: rng.gen_range(60.0..=200.0),
            duration_ms: f64::from(rng.gen_range(90_000..=420_000)),
            artist_popularity: f64::from(rng.gen_range(0..=100)),
            genre: genres
                .get(rng.gen_range(0..genres.len().max(1)))
                .cloned()
                .unwrap_or_default(),
        })
        .collect()
}

/// Sends `plan.requests` requests, cycling through `songs`, and checks every answer.
pub async fn run(plan: &LoadPlan, songs: &[SongInput]) -> LoadReport {
    let bodies: Arc<Vec<Bytes>> = Arc::new(
        songs
            .iter()
            .map(|song| {
                Bytes::from(serde_json::to_vec(song).expect("a SongInput is numbers and a string"))
            })
            .collect(),
    );
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let stop_at = started + plan.deadline;
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..plan.connections.max(1) {
        let (bodies, next, plan) = (bodies.clone(), next.clone(), plan.clone());
        workers.spawn(async move { connection(&plan, &bodies, &next, stop_at).await });
    }
    let mut latencies = Vec::with_capacity(plan.requests);
    let mut errors = 0;
    let mut first_error = None;
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(outcome) => {
                latencies.extend(outcome.latencies);
                errors += outcome.errors;
                if first_error.is_none() {
                    first_error = outcome.first_error;
                }
            }
            Err(error) => {
                errors += 1;
                first_error.get_or_insert_with(|| format!("worker failed: {error}"));
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    // Requests never taken by a worker (the deadline passed) are errors too.
    let taken = next.load(Ordering::Relaxed).min(plan.requests);
    let untaken = plan.requests - taken;
    if untaken > 0 {
        errors += untaken;
        first_error.get_or_insert_with(|| format!("{untaken} requests not sent by the deadline"));
    }
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index]
    };
    LoadReport {
        requests: plan.requests,
        connections: plan.connections,
        ok: latencies.len(),
        errors,
        first_error,
        seconds,
        requests_per_second: latencies.len() as f64 / seconds,
        p50_ms: quantile(0.50),
        p90_ms: quantile(0.90),
        p99_ms: quantile(0.99),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
    }
}

#[derive(Default)]
struct ConnectionOutcome {
    latencies: Vec<f64>,
    errors: usize,
    first_error: Option<String>,
}

impl ConnectionOutcome {
    fn fail(&mut self, failure: RequestFailure) {
        self.errors += 1;
        self.first_error.get_or_insert_with(|| failure.describe());
    }
}

/// One keep-alive connection sending requests until the plan's count is taken; a broken
/// connection is replaced.
async fn connection(
    plan: &LoadPlan,
    bodies: &[Bytes],
    next: &AtomicUsize,
    stop_at: Instant,
) -> ConnectionOutcome {
    let mut outcome = ConnectionOutcome::default();
    let mut sender: Option<http1::SendRequest<Full<Bytes>>> = None;
    loop {
        if Instant::now() >= stop_at {
            return outcome;
        }
        let index = next.fetch_add(1, Ordering::Relaxed);
        if index >= plan.requests {
            return outcome;
        }
        if sender.is_none() {
            match connect(plan.addr).await {
                Ok(new) => sender = Some(new),
                Err(failure) => {
                    outcome.fail(failure);
                    continue;
                }
            }
        }
        let Some(send) = sender.as_mut() else {
            continue;
        };
        let body = bodies[index % bodies.len().max(1)].clone();
        let started = Instant::now();
        match tokio::time::timeout(plan.timeout, request(send, plan.addr, body)).await {
            Ok(Ok(())) => outcome
                .latencies
                .push(started.elapsed().as_secs_f64() * 1000.0),
            Ok(Err(failure)) => {
                outcome.fail(failure);
                sender = None;
            }
            Err(_) => {
                outcome.fail(RequestFailure::Timeout(plan.timeout));
                sender = None;
            }
        }
    }
}

async fn connect(addr: SocketAddr) -> Result<http1::SendRequest<Full<Bytes>>, RequestFailure> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|source| RequestFailure::Connect { addr, source })?;
    stream.set_nodelay(true).map_err(RequestFailure::NoDelay)?;
    let (sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|source| RequestFailure::Handshake { addr, source })?;
    tokio::spawn(connection);
    Ok(sender)
}

/// One request; `Ok` only for a 200 whose body is a prediction with probabilities summing to 1.
async fn request(
    sender: &mut http1::SendRequest<Full<Bytes>>,
    addr: SocketAddr,
    body: Bytes,
) -> Result<(), RequestFailure> {
    sender.ready().await.map_err(RequestFailure::Closed)?;
    let request = Request::post("/api/predict")
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(body))
        .map_err(RequestFailure::Build)?;
    let response = sender
        .send_request(request)
        .await
        .map_err(RequestFailure::Send)?;
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(RequestFailure::Read)?
        .to_bytes();
    if status != hyper::StatusCode::OK {
        return Err(RequestFailure::Status {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        });
    }
    let prediction: Prediction =
        serde_json::from_slice(&body).map_err(RequestFailure::NotAPrediction)?;
    let sum: f64 = prediction.to_array().iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(RequestFailure::Sum(sum));
    }
    Ok(())
}

/// What the slow clients of [`hold_slow_connections`] did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SlowReport {
    /// Slow connections kept open at once.
    pub connections: usize,
    /// Connections opened in all (the server closes a head that takes too long; the client
    /// then opens another).
    pub opened: usize,
    /// Connections the server closed.
    pub closed_by_server: usize,
    /// Connection attempts that failed.
    pub failed: usize,
}

/// Whether a stop signal (a `watch` channel turned true, or closed) has come.
fn stopped(stop: &tokio::sync::watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

/// Keeps `count` slowloris connections open until `stop` turns true: each sends the start of
/// a request head, then one header line every `drip`, never finishing it; when the server
/// closes one, it opens another. Returns once every connection is open (the holders keep
/// running until the stop); `.await` the handle for the report.
pub async fn hold_slow_connections(
    addr: SocketAddr,
    count: usize,
    drip: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<SlowReport> {
    let mut holders = tokio::task::JoinSet::new();
    let mut opened = Vec::with_capacity(count);
    for _ in 0..count {
        opened.push(tokio::net::TcpStream::connect(addr).await.ok());
    }
    for stream in opened {
        holders.spawn(hold_one(addr, stream, drip, stop.clone()));
    }
    tokio::spawn(async move {
        let mut report = SlowReport {
            connections: count,
            ..SlowReport::default()
        };
        while let Some(Ok(one)) = holders.join_next().await {
            report.opened += one.opened;
            report.closed_by_server += one.closed_by_server;
            report.failed += one.failed;
        }
        report
    })
}

/// One slow client: see [`hold_slow_connections`].
async fn hold_one(
    addr: SocketAddr,
    mut stream: Option<tokio::net::TcpStream>,
    drip: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> SlowReport {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut report = SlowReport::default();
    while !stopped(&stop) {
        let mut current = match stream.take() {
            Some(current) => current,
            None => match tokio::net::TcpStream::connect(addr).await {
                Ok(current) => current,
                Err(_) => {
                    report.failed += 1;
                    tokio::time::sleep(drip).await;
                    continue;
                }
            },
        };
        report.opened += 1;
        let mut line: &[u8] = b"POST /api/predict HTTP/1.1\r\n";
        let mut buffer = [0u8; 1024];
        loop {
            if current.write_all(line).await.is_err() {
                report.closed_by_server += 1;
                break;
            }
            line = b"X-Slow: 1\r\n";
            match tokio::time::timeout(drip, current.read(&mut buffer)).await {
                // Nothing from the server within the drip: still open.
                Err(_) if !stopped(&stop) => {}
                Err(_) => return report,
                // An answer (431, 408) or the end: the server let go.
                Ok(_) => {
                    report.closed_by_server += 1;
                    break;
                }
            }
        }
    }
    report
}

/// What the `/healthz` probes of [`probe_health`] measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HealthReport {
    /// Probes sent.
    pub probes: usize,
    /// Probes answered 200 `ok` within the timeout.
    pub ok: usize,
    /// The first failure, if any.
    pub first_error: Option<String>,
    /// Median latency of the answered probes (a new connection each), milliseconds.
    pub p50_ms: f64,
    /// 99th-percentile latency, milliseconds.
    pub p99_ms: f64,
    /// Slowest answered probe, milliseconds.
    pub max_ms: f64,
}

/// `GET /healthz` on a new connection every `every` until `stop` turns true, each within
/// `timeout`.
pub async fn probe_health(
    addr: SocketAddr,
    every: Duration,
    timeout: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
) -> HealthReport {
    let mut latencies = Vec::new();
    let (mut probes, mut first_error) = (0, None);
    while !stopped(&stop) {
        probes += 1;
        let started = Instant::now();
        match tokio::time::timeout(timeout, probe_once(addr)).await {
            Ok(Ok(())) => latencies.push(started.elapsed().as_secs_f64() * 1000.0),
            Ok(Err(error)) => {
                first_error.get_or_insert(error);
            }
            Err(_) => {
                first_error.get_or_insert_with(|| format!("no answer within {timeout:?}"));
            }
        }
        tokio::time::sleep(every.saturating_sub(started.elapsed())).await;
    }
    latencies.sort_by(f64::total_cmp);
    let quantile = |q: f64| {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
        latencies[index]
    };
    HealthReport {
        probes,
        ok: latencies.len(),
        first_error,
        p50_ms: quantile(0.5),
        p99_ms: quantile(0.99),
        max_ms: latencies.last().copied().unwrap_or(f64::NAN),
    }
}

async fn probe_once(addr: SocketAddr) -> Result<(), String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|error| format!("connect: {error}"))?;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|error| format!("send: {error}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .await
        .map_err(|error| format!("read: {error}"))?;
    let answer = String::from_utf8_lossy(&answer);
    if answer.starts_with("HTTP/1.1 200") && answer.ends_with("ok") {
        Ok(())
    } else {
        Err(format!(
            "answer {:?}",
            answer.chars().take(200).collect::<String>()
        ))
    }
}
