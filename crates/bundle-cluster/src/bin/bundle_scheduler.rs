//! Ballista's scheduler, with spotify-ml's bundles as SQL functions.
//!
//! Every flag of Ballista's own `ballista-scheduler` is here (`--bind-port`, `--task-distribution`
//! …), plus `--model DIR…`: the bundles whose functions the plans of clients may call. The
//! scheduler loads them to decode and plan those calls; it never runs them.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::{Config, SchedulerConfig};
use ballista_scheduler::scheduler_process::start_server;
use clap::Parser;
use tracing_subscriber::EnvFilter;

#[derive(Parser, Debug)]
#[command(about = "Ballista scheduler with spotify-ml's bundles as SQL functions")]
struct Args {
    /// Bundle folders, the same as the executors'.
    #[arg(long = "model", num_args = 1..)]
    models: Vec<PathBuf>,
    /// Ballista's scheduler settings.
    #[command(flatten)]
    ballista: Config,
}

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_io()
        .enable_time()
        // Ballista's own scheduler binary runs its planner on 32 MB stacks: deep plans recurse.
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .context("starting the runtime")?;
    runtime.block_on(run(Args::parse()))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let filter = std::env::var(EnvFilter::DEFAULT_ENV)
        .unwrap_or_else(|_| args.ballista.log_level_setting.clone());
    tracing_subscriber::fmt()
        .with_ansi(false)
        .with_env_filter(EnvFilter::new(filter))
        .init();
    let bundles = bundle_sql::load_bundles(&args.models)?;
    let session_builder = bundle_cluster::session_builder(&bundles)?;
    let address = format!("{}:{}", args.ballista.bind_host, args.ballista.bind_port)
        .parse()
        .context("--bind-host and --bind-port")?;
    let config: SchedulerConfig = args
        .ballista
        .try_into()
        .context("Ballista's scheduler settings")?;
    let config = config.with_override_session_builder(session_builder);
    let cluster = BallistaCluster::new_from_config(&config).await?;
    start_server(cluster, address, Arc::new(config)).await?;
    Ok(())
}
