//! Ballista's executor, with spotify-ml's bundles as SQL functions.
//!
//! Every flag of Ballista's own `ballista-executor` is here (`--scheduler-host`, `--bind-port`,
//! `--work-dir`, `--concurrent-tasks` …), plus `--model DIR…`: the bundles whose functions its
//! tasks run. Each executor loads them from its own disk.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ballista_executor::config::Config;
use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
use ballista_executor::health::spawn_health_server;
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(about = "Ballista executor with spotify-ml's bundles as SQL functions")]
struct Args {
    /// Bundle folders, the same as the scheduler's.
    #[arg(long = "model", num_args = 1..)]
    models: Vec<PathBuf>,
    /// Ballista's executor settings.
    #[command(flatten)]
    ballista: Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let bundles = bundle_sql::load_bundles(&args.models)?;
    let registry = bundle_cluster::function_registry(&bundles)?;
    let health_address: SocketAddr = format!(
        "{}:{}",
        args.ballista.bind_host, args.ballista.bind_health_port
    )
    .parse()
    .context("--bind-host and --bind-health-port")?;
    let mut config: ExecutorProcessConfig = args
        .ballista
        .try_into()
        .context("Ballista's executor settings")?;
    config.override_function_registry = Some(Arc::new(registry));
    let filter = std::env::var(EnvFilter::DEFAULT_ENV)
        .unwrap_or_else(|_| config.special_mod_log_level.clone());
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(EnvFilter::new(filter))
        .init();
    // `/healthz` and `/readyz`, as Ballista's own executor binary serves them.
    let (stop_health, health_stopped) = tokio::sync::oneshot::channel();
    let health = spawn_health_server(health_address, config.health.clone(), health_stopped);
    let result = start_executor_process(Arc::new(config)).await;
    // The health server ends with the executor; a send error means it had already stopped.
    let _ = stop_health.send(());
    let _ = health.await;
    Ok(result?)
}
