//! Typed Spotify tracks and everything needed to learn from them: loaders for every shared data
//! set, validation against the Web API's documented ranges, splits, scalers and matrices.
//!
//! ```no_run
//! use dataset::{load::valence, DataDir, FeatureSet};
//!
//! # fn main() -> Result<(), dataset::DatasetError> {
//! let dir = DataDir::resolve(None)?; // --data, else $SPOTIFY_ML_DATA, else ../shared/data
//! let data = valence::load(&dir)?;
//! let features = FeatureSet::audio_with_analysis();
//! let x = features.matrix(&data.train)?;
//! let y = dataset::valence(&data.train)?;
//! assert_eq!(x.nrows(), y.len());
//! # Ok(())
//! # }
//! ```

pub mod data_dir;
pub mod encode;
pub mod error;
pub mod features;
pub mod load;
pub mod matrix;
pub mod prepare;
pub mod read;
pub mod scale;
pub mod split;
pub mod summary;
pub mod validate;

pub use data_dir::DataDir;
pub use encode::{LabelEncoder, OneHotEncoder};
pub use error::{DatasetError, ErrorKind};
pub use features::{AnalysisSummary, AudioFeature, AudioFeatures, Labels, Track, ANALYSIS_DIM};
pub use matrix::{valence, Column, FeatureSet};
pub use prepare::{dedup_by_id, drop_repeated_ids, exclude_ids, Identified};
pub use read::{Loaded, SkippedRow, Strictness};
pub use scale::{MinMaxScaler, StandardScaler};
pub use split::{TrainTest, TrainValidationTest};
