//! What can go wrong setting up SQL over bundles and catalogues.

use std::path::PathBuf;

use datafusion::error::DataFusionError;
use spotify_ml::bundle::BundleError;

/// An error of this crate: each variant names the bundle, function, table or file.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// A bundle does not load.
    #[error("{path}: the bundle does not load")]
    Bundle {
        /// The bundle folder.
        path: PathBuf,
        /// Why.
        #[source]
        source: BundleError,
    },
    /// Two bundles give a function of the same name.
    #[error("two bundles define the SQL function `{name}` ({first:?} and {second:?}); each bundle's outputs must have names of their own")]
    DuplicateFunction {
        /// The function's name.
        name: String,
        /// The first bundle's name.
        first: String,
        /// The second bundle's name.
        second: String,
    },
    /// A bundle's function would replace a function the session already has.
    #[error("the SQL function `{name}` of bundle {bundle:?} would replace the session's function of that name")]
    FunctionExists {
        /// The function's name.
        name: String,
        /// The bundle's name.
        bundle: String,
    },
    /// A table's path has no format this crate reads.
    #[error("table `{name}`: {path} is neither a .parquet nor a .csv file, nor a folder of Parquet files")]
    UnknownFormat {
        /// The table's name.
        name: String,
        /// Its path.
        path: PathBuf,
    },
    /// A table could not be registered.
    #[error("table `{name}` at {path} could not be registered")]
    Table {
        /// The table's name.
        name: String,
        /// Its path.
        path: PathBuf,
        /// DataFusion's error.
        #[source]
        source: DataFusionError,
    },
    /// DataFusion refused something else (a function's signature, a session setting).
    #[error(transparent)]
    DataFusion(#[from] DataFusionError),
}
