//! spotify-ml's model bundles as SQL functions on Apache DataFusion.
//!
//! Every output column of a bundle becomes a scalar function of the same name: the value bundle
//! `valence` gives `valence(…)`, `valence_low(…)` and `valence_high(…)` (`Float64`), a classifier
//! such as `moods` gives its label `moods(…)` (`Utf8`) and one probability per class,
//! `moods_p_happy(…)`, `moods_p_sad(…)`… (`Float64`). These are the column names
//! `score_catalogue` writes, so a query and a scored file speak the same names. Arguments are
//! the bundle's inputs, by position in the manifest's order or by name (`energy => energy`); a
//! text input (the popularity bundle's `genre`) takes a string. A missing argument, or one of
//! the wrong kind (text for a number, a number for text), is a planning error that names it.
//! Rows with an unknown category, or a missing, non-finite or out-of-range value, get null, as
//! in the streaming scorer: rows go through [`spotify_ml::bundle::Bundle::predict_batch`]
//! itself, so the predictions are its own, bit for bit.
//!
//! ```no_run
//! use std::path::PathBuf;
//! use bundle_sql::{register_bundles, register_table, SessionOptions, TableSource};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let ctx = SessionOptions::default().memory_limit(Some(2 << 30)).context()?;
//! let bundles = bundle_sql::load_bundles(&[PathBuf::from("out/moods/models/moods")])?;
//! register_bundles(&ctx, &bundles)?;
//! register_table(&ctx, &"tracks=catalogue.parquet".parse::<TableSource>()?).await?;
//! ctx.sql(
//!     "SELECT id, moods_p_calm(duration_ms, danceability, acousticness, energy,
//!                              instrumentalness, liveness, valence, loudness, speechiness,
//!                              tempo) AS calm
//!      FROM tracks ORDER BY calm DESC LIMIT 10",
//! )
//! .await?
//! .show()
//! .await?;
//! # Ok(()) }
//! ```

mod error;
mod function;
mod output;
mod session;
mod table;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use spotify_ml::bundle::{self, Bundle};

pub use error::SqlError;
pub use function::BundleFunction;
pub use output::{count_rows, run_query, Destination, QueryRun};
pub use session::SessionOptions;
pub use table::{register_table, TableFormat, TableSource};

/// Loads bundle folders (each checked completely by [`spotify_ml::bundle::load`]).
pub fn load_bundles(paths: &[PathBuf]) -> Result<Vec<Arc<dyn Bundle>>, SqlError> {
    paths
        .iter()
        .map(|path| {
            bundle::load(path)
                .map(Arc::from)
                .map_err(|source| SqlError::Bundle {
                    path: path.clone(),
                    source,
                })
        })
        .collect()
}

/// The SQL functions of the bundles, one per output column; two outputs of one name are an
/// error naming both bundles.
pub fn bundle_functions(bundles: &[Arc<dyn Bundle>]) -> Result<Vec<ScalarUDF>, SqlError> {
    let mut owners: HashMap<String, String> = HashMap::new();
    let mut functions = Vec::new();
    for bundle in bundles {
        let bundle_name = bundle.manifest().name.clone();
        for function in BundleFunction::all(Arc::clone(bundle))? {
            let udf = function.into_udf();
            if let Some(first) = owners.insert(udf.name().to_string(), bundle_name.clone()) {
                return Err(SqlError::DuplicateFunction {
                    name: udf.name().to_string(),
                    first,
                    second: bundle_name,
                });
            }
            functions.push(udf);
        }
    }
    Ok(functions)
}

/// Registers the bundles' functions with a session and returns their names. A function that
/// would replace one the session has (a built-in such as `abs`, or another bundle's) is an
/// error: a query must never silently call something else than it did before.
pub fn register_bundles(
    ctx: &SessionContext,
    bundles: &[Arc<dyn Bundle>],
) -> Result<Vec<String>, SqlError> {
    let functions = bundle_functions(bundles)?;
    let state = ctx.state();
    for (udf, bundle) in functions.iter().zip(owners_of(bundles)) {
        if state.scalar_functions().contains_key(udf.name()) {
            return Err(SqlError::FunctionExists {
                name: udf.name().to_string(),
                bundle,
            });
        }
    }
    Ok(functions
        .into_iter()
        .map(|udf| {
            let name = udf.name().to_string();
            ctx.register_udf(udf);
            name
        })
        .collect())
}

/// The bundle name of each function of [`bundle_functions`], in its order.
fn owners_of(bundles: &[Arc<dyn Bundle>]) -> impl Iterator<Item = String> + '_ {
    bundles.iter().flat_map(|bundle| {
        let manifest = bundle.manifest();
        std::iter::repeat_n(manifest.name.clone(), manifest.outputs.len())
    })
}
