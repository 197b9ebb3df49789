//! spotify-ml's bundle SQL functions on a Ballista cluster.
//!
//! Ballista ships a scheduler and an executor as libraries whose processes take overrides; this
//! crate fills them with the bundles' functions (those of [`bundle_sql`]) and nothing else:
//!
//! - `bundle_scheduler` (a binary) is Ballista's scheduler with a session builder that knows
//!   the functions, so it can decode the plans clients send;
//! - `bundle_executor` (a binary) is Ballista's executor with a function registry that holds
//!   them, so it can decode and run the tasks it is given;
//! - [`client`] is a DataFusion session connected to a scheduler, with the functions
//!   registered, so that it can plan SQL that calls them.
//!
//! A plan carries a function by its name only; each process loads the same bundles from its
//! own disk (`--model DIR`), and so every machine must hold them (the same files: the function's
//! identity includes the members' checksums, see `docs/ARCHITECTURE.md`).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let bundles = bundle_sql::load_bundles(&["out/moods/models/moods".into()])?;
//! let options = bundle_cluster::SessionOptions::default();
//! let ctx = bundle_cluster::client("df://scheduler-host:50050", &bundles, &options).await?;
//! ctx.register_parquet("tracks", "/data/catalogue/", Default::default()).await?;
//! ctx.sql("SELECT moods(duration_ms, danceability, acousticness, energy, instrumentalness,
//!                       liveness, valence, loudness, speechiness, tempo) AS mood,
//!                 count(*) FROM tracks GROUP BY mood")
//!     .await?
//!     .show()
//!     .await?;
//! # Ok(()) }
//! ```

use std::sync::Arc;

use ballista::prelude::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::utils::default_session_builder;
use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::{SessionConfig, SessionContext};
use spotify_ml::bundle::Bundle;

pub use bundle_sql::{SessionOptions, SqlError};

/// Ballista's default functions and the bundles', as an executor's registry.
pub fn function_registry(
    bundles: &[Arc<dyn Bundle>],
) -> Result<BallistaFunctionRegistry, SqlError> {
    let mut registry = BallistaFunctionRegistry::default();
    for udf in bundle_sql::bundle_functions(bundles)? {
        let name = udf.name().to_string();
        if registry.scalar_functions.contains_key(&name) {
            return Err(SqlError::FunctionExists {
                name,
                bundle: bundle_of(bundles, udf.name()),
            });
        }
        registry.scalar_functions.insert(name, Arc::new(udf));
    }
    Ok(registry)
}

fn bundle_of(bundles: &[Arc<dyn Bundle>], function: &str) -> String {
    bundles
        .iter()
        .map(|b| b.manifest())
        .find(|m| m.outputs.iter().any(|o| o.name == function))
        .map(|m| m.name.clone())
        .unwrap_or_default()
}

/// The scheduler's session builder: Ballista's default session with the bundles' functions.
pub fn session_builder(
    bundles: &[Arc<dyn Bundle>],
) -> Result<ballista_scheduler::scheduler_server::SessionBuilder, SqlError> {
    // Checked once here, so that the builder itself cannot fail on the functions.
    let functions: Vec<ScalarUDF> = bundle_sql::bundle_functions(bundles)?;
    Ok(Arc::new(move |config: SessionConfig| {
        let ctx = SessionContext::new_with_state(default_session_builder(config)?);
        for function in &functions {
            ctx.register_udf(function.clone());
        }
        Ok(ctx.state())
    }))
}

/// A session that runs its queries on the Ballista cluster whose scheduler is at `url`
/// (`df://host:port`), with the bundles' functions registered for planning. The options'
/// partitions and batch size apply to the cluster's plans; its memory limit does not (each
/// executor has its own, `--memory-pool-size`).
pub async fn client(
    url: &str,
    bundles: &[Arc<dyn Bundle>],
    options: &SessionOptions,
) -> Result<SessionContext, SqlError> {
    let local = SessionContext::new_with_config(options.config().upgrade_for_ballista());
    let remote = SessionContext::remote_with_state(url, local.state()).await?;
    // Registered after the upgrade: Ballista's upgrade replaces the session's scalar functions
    // with its default list, which would drop any registered before it.
    bundle_sql::register_bundles(&remote, bundles)?;
    Ok(remote)
}
