//! Synthetic track catalogues of any size, for load tests of everything that reads tracks: rows
//! resampled from the shared data sets with small noise kept inside each value's documented
//! range, a share of rows without analysis means and a share of bad rows, deterministic from a
//! seed, made as Arrow record batches or streamed into Parquet or CSV.
//!
//! ```no_run
//! use catalogue::make::{CatalogueParams, Sources, WriteOptions};
//! use dataset::DataDir;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sources = Sources::load(&DataDir::resolve(None)?)?;
//! let catalogue = CatalogueParams::new(1_000_000, 42)
//!     .no_analysis_share(0.05)
//!     .bad_share(0.01)
//!     .check()?;
//! let written = catalogue.write(&sources, "catalogue.parquet".as_ref(), &WriteOptions::default())?;
//! println!("{} good rows in {:.1} s", written.counts.good, written.seconds);
//! # Ok(())
//! # }
//! ```
//!
//! Parameters are checked once, by [`make::CatalogueParams::check`]:
//!
//! ```
//! use catalogue::make::{CatalogueParams, Error};
//!
//! let refused = CatalogueParams::new(100, 7).bad_share(1.5).check();
//! assert!(matches!(refused, Err(Error::InvalidParameter { name: "bad_share", .. })));
//! assert_eq!(catalogue::make::schema().fields().len(), catalogue::make::COLUMNS);
//! assert_eq!(catalogue::make::track_id(7, 0).len(), 22);
//! ```

pub mod make;
