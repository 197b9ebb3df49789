//! Typed Spotify tracks and everything needed to learn from them: loaders for every shared data
//! set, validation against the Web API's documented ranges, splits, encoders, scalers and
//! matrices.
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
//!
//! Splits are row indices, so they apply to any matrix or slice:
//!
//! ```
//! use dataset::split::stratified_k_fold;
//! use dataset::LabelEncoder;
//!
//! # fn main() -> Result<(), dataset::DatasetError> {
//! let moods = ["Happy", "Sad", "Happy", "Calm", "Sad", "Happy", "Calm", "Sad"];
//! let encoder = LabelEncoder::fit(&moods);
//! let y = encoder.encode(&moods)?;
//! let folds = stratified_k_fold(&y, 2, 42)?;
//! assert_eq!(folds.len(), 2);
//! assert_eq!(folds[0].test.len() + folds[1].test.len(), moods.len());
//! # Ok(())
//! # }
//! ```
//!
//! Modules: [`load`] (one loader per shared file, each taking a [`DataDir`] and a
//! [`Strictness`]), [`validate`] (ranges), [`read`] (the table reader and [`Loaded`]),
//! [`prepare`] (selection by id), [`split`], [`encode`], [`scale`], [`matrix`], [`summary`].

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
