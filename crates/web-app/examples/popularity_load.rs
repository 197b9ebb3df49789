//! The web app's bounded load test: 20,000 `POST /api/predict` requests over 32 keep-alive
//! connections against the app on a loopback port, every answer checked. Prints requests per
//! second and latency percentiles; exits non-zero on any error.
//!
//! With `--slow N`, N slowloris connections (a request head that never ends, one header line a
//! second, reopened when the server closes them) are opened first and held through the run,
//! and `/healthz` is probed on a new connection every 20 ms: it prints the probes' latencies
//! too, and exits non-zero if a probe failed.
//!
//! ```sh
//! cargo run --release -p web-app --example popularity_load                # the model in out/popularity/model
//! cargo run --release -p web-app --example popularity_load -- --linear   # the tests' fixed linear model
//! cargo run --release -p web-app --example popularity_load -- --slow 1000
//! ```

#[path = "../tests/linear_model/mod.rs"]
mod linear_model;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use spotify_ml::popularity::{QuartileModel, DEFAULT_MODEL_DIR};
use web_app::load::{self, LoadPlan};
use web_app::App;

/// Load-test the popularity web app.
#[derive(Parser)]
struct Args {
    /// Directory of the saved popularity classifier to serve.
    #[arg(long, default_value = DEFAULT_MODEL_DIR)]
    model: PathBuf,
    /// Serve the tests' fixed linear model instead of a trained one.
    #[arg(long)]
    linear: bool,
    /// Load an app already running at this address instead of starting one.
    #[arg(long)]
    addr: Option<SocketAddr>,
    /// libtorch's threads per prediction (one suits a server, as in `popularity_app`).
    #[arg(long, default_value_t = 1)]
    torch_threads: usize,
    /// Total requests.
    #[arg(long, default_value_t = 20_000)]
    requests: usize,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// The run stops after this many seconds; unsent requests are errors.
    #[arg(long, default_value_t = 600)]
    deadline_secs: u64,
    /// Distinct random songs the requests cycle through.
    #[arg(long, default_value_t = 1000)]
    songs: usize,
    /// Seed of the songs.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Slowloris connections held open through the run (0: none, and no health probes).
    #[arg(long, default_value_t = 0)]
    slow: usize,
    /// Milliseconds between the header lines of a slow connection.
    #[arg(long, default_value_t = 1000)]
    drip_ms: u64,
    /// Milliseconds between `/healthz` probes while slow connections are held.
    #[arg(long, default_value_t = 20)]
    health_every_ms: u64,
    /// Also write the report as JSON here.
    #[arg(long)]
    report: Option<PathBuf>,
}

fn load_model(args: &Args) -> anyhow::Result<(Arc<dyn QuartileModel>, String)> {
    if args.linear {
        return Ok((
            Arc::new(linear_model::LinearQuartileModel::new()),
            "the tests' fixed linear model".into(),
        ));
    }
    let model = spotify_ml::bundle::PopularityBundle::load(&args.model)?.into_predictor();
    let description = format!("the popularity model in {}", args.model.display());
    Ok((Arc::new(model), description))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    web_app::server_runtime(args.torch_threads)?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let (model, description) = load_model(&args)?;
    let songs = load::random_songs(args.songs, model.genres(), args.seed);
    let addr = match args.addr {
        Some(addr) => addr,
        None => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            let app = App::new(model);
            tokio::spawn(app.serve(listener, std::future::pending()));
            addr
        }
    };
    let plan = LoadPlan {
        addr,
        requests: args.requests,
        connections: args.connections,
        deadline: Duration::from_secs(args.deadline_secs),
        timeout: Duration::from_secs(30),
    };
    eprintln!(
        "{} requests over {} connections to http://{addr}/api/predict ({description})",
        plan.requests, plan.connections
    );
    // Slow connections and health probes, held until the load run ends.
    let (finished, stop) = tokio::sync::watch::channel(false);
    let slow = if args.slow > 0 {
        let drip = Duration::from_millis(args.drip_ms);
        let holders = load::hold_slow_connections(addr, args.slow, drip, stop.clone()).await;
        let every = Duration::from_millis(args.health_every_ms);
        let probes = tokio::spawn(load::probe_health(
            addr,
            every,
            Duration::from_secs(5),
            stop,
        ));
        Some((holders, probes))
    } else {
        None
    };
    let report = load::run(&plan, &songs).await;
    let mut health_failed = false;
    let _ = finished.send(true);
    if let Some((holders, probes)) = slow {
        let health = probes.await?;
        let held = holders.await?;
        println!(
            "\n{} slow connections held ({} opened in all, {} closed by the server); /healthz \
             probed every {} ms on a new connection:\n",
            held.connections, held.opened, held.closed_by_server, args.health_every_ms
        );
        println!("| probes | ok | p50 ms | p99 ms | max ms | first error |");
        println!("|---:|---:|---:|---:|---:|---|");
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {} |\n",
            health.probes,
            health.ok,
            health.p50_ms,
            health.p99_ms,
            health.max_ms,
            health.first_error.as_deref().unwrap_or("none")
        );
        health_failed = health.ok < health.probes;
    }
    println!(
        "| requests | connections | errors | seconds | req/s | p50 ms | p90 ms | p99 ms | max ms |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {} | {} | {} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} |",
        report.requests,
        report.connections,
        report.errors,
        report.seconds,
        report.requests_per_second,
        report.p50_ms,
        report.p90_ms,
        report.p99_ms,
        report.max_ms
    );
    if let Some(path) = &args.report {
        spotify_ml::evaluation::report::write_json(path, &report)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if health_failed {
        anyhow::bail!("a /healthz probe failed while slow connections were held");
    }
    if report.errors > 0 {
        anyhow::bail!(
            "{} of {} requests failed; first: {}",
            report.errors,
            report.requests,
            report.first_error.unwrap_or_default()
        );
    }
    Ok(())
}
