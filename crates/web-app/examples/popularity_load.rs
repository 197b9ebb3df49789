//! The web app's bounded load test: 20,000 `POST /api/predict` requests over 32 keep-alive
//! connections against the app on a loopback port, every answer checked. Prints requests per
//! second and latency percentiles; exits non-zero on any error.
//!
//! ```sh
//! cargo run --release -p web-app --example popularity_load                # the model in out/popularity/model
//! cargo run --release -p web-app --example popularity_load -- --linear   # the tests' fixed linear model
//! ```

#[path = "../tests/linear_model/mod.rs"]
mod linear_model;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use spotify_ml::popularity::{PopularityPredictor, QuartileModel, DEFAULT_MODEL_DIR};
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
    let model = PopularityPredictor::load(&args.model)?;
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
    let report = load::run(&plan, &songs).await;
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
