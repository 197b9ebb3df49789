//! Making a catalogue: parameters checked once, then rows resampled from [`Sources`] into Arrow
//! record batches, or streamed into a Parquet or CSV file.
//!
//! Row `i` of the catalogue made with seed `s` depends on `(s, i)` alone: its random stream is
//! ChaCha8 keyed by `s` on stream `i`. The same seed gives the same rows whatever the batch size,
//! and the shares only decide which rows are bad or lack analysis.

mod batches;
mod error;
mod rows;
mod schema;
mod sources;
mod write;

pub use batches::Batches;
pub use error::Error;
pub use rows::{track_id, ID_LENGTH};
pub use schema::{schema, COLUMNS};
pub use sources::Sources;
pub use write::{Format, WriteOptions, Written, PARQUET_WRITE_BATCH_ROWS, ROW_GROUP_ROWS};

use rows::RowMaker;

/// Share of rows without analysis means unless set otherwise: about what a track catalogue of
/// the Web API lacks (the Audio Analysis endpoint fails more often than Audio Features).
pub const DEFAULT_NO_ANALYSIS_SHARE: f64 = 0.05;

/// Share of bad rows unless set otherwise: enough to exercise a loader's error paths.
pub const DEFAULT_BAD_SHARE: f64 = 0.01;

/// Rows per record batch unless set otherwise: large enough to amortise the per-batch work,
/// small enough (about 25 MB a batch) to keep memory flat.
pub const DEFAULT_BATCH_ROWS: usize = 65_536;

/// What a catalogue should be: its size, seed and shares of rows without analysis and of bad
/// rows. [`CatalogueParams::check`] turns it into a [`Catalogue`].
#[derive(Clone, Debug, PartialEq)]
pub struct CatalogueParams {
    rows: u64,
    seed: u64,
    no_analysis_share: f64,
    bad_share: f64,
    batch_rows: usize,
}

impl CatalogueParams {
    /// A catalogue of `rows` rows drawn with `seed`, with the default shares and batch size.
    pub fn new(rows: u64, seed: u64) -> Self {
        CatalogueParams {
            rows,
            seed,
            no_analysis_share: DEFAULT_NO_ANALYSIS_SHARE,
            bad_share: DEFAULT_BAD_SHARE,
            batch_rows: DEFAULT_BATCH_ROWS,
        }
    }

    /// Sets the share of rows, 0..=1, whose `pitch_*` and `timbre_*` are all null.
    pub fn no_analysis_share(mut self, share: f64) -> Self {
        self.no_analysis_share = share;
        self
    }

    /// Sets the share of rows, 0..=1, with one audio feature null, NaN or out of its range.
    pub fn bad_share(mut self, share: f64) -> Self {
        self.bad_share = share;
        self
    }

    /// Sets how many rows a record batch of [`Catalogue::batches`] holds (the last one may hold
    /// fewer); [`Catalogue::write`] rounds it up to a multiple of [`PARQUET_WRITE_BATCH_ROWS`].
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows;
        self
    }

    /// Checks every parameter: at least one row and one row a batch, each share in 0..=1 and
    /// the two shares together at most 1 (a row is good, without analysis, or bad).
    pub fn check(&self) -> Result<Catalogue, Error> {
        if self.rows == 0 {
            return Err(invalid("rows", self.rows, "at least 1"));
        }
        if self.batch_rows == 0 {
            return Err(invalid("batch_rows", self.batch_rows, "at least 1"));
        }
        let share = "a number in 0..=1";
        if !(0.0..=1.0).contains(&self.no_analysis_share) {
            return Err(invalid("no_analysis_share", self.no_analysis_share, share));
        }
        if !(0.0..=1.0).contains(&self.bad_share) {
            return Err(invalid("bad_share", self.bad_share, share));
        }
        if self.no_analysis_share + self.bad_share > 1.0 {
            return Err(invalid(
                "no_analysis_share + bad_share",
                self.no_analysis_share + self.bad_share,
                "at most 1, since a row is either without analysis or bad",
            ));
        }
        Ok(Catalogue {
            params: self.clone(),
        })
    }
}

fn invalid(name: &'static str, value: impl std::fmt::Display, expected: &'static str) -> Error {
    Error::InvalidParameter {
        name,
        value: value.to_string(),
        expected,
    }
}

/// A catalogue with checked parameters: it makes record batches or writes a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Catalogue {
    params: CatalogueParams,
}

impl Catalogue {
    /// Number of rows.
    pub fn rows(&self) -> u64 {
        self.params.rows
    }

    /// The seed every row is drawn from.
    pub fn seed(&self) -> u64 {
        self.params.seed
    }

    /// Share of rows without analysis means.
    pub fn no_analysis_share(&self) -> f64 {
        self.params.no_analysis_share
    }

    /// Share of bad rows.
    pub fn bad_share(&self) -> f64 {
        self.params.bad_share
    }

    /// Rows per record batch.
    pub fn batch_rows(&self) -> usize {
        self.params.batch_rows
    }

    /// The catalogue's rows as record batches of [`schema`], made one at a time as the iterator
    /// advances.
    pub fn batches<'a>(&self, sources: &'a Sources) -> Batches<'a> {
        self.batches_of(sources, self.params.batch_rows)
    }

    fn batches_of<'a>(&self, sources: &'a Sources, batch_rows: usize) -> Batches<'a> {
        let maker = RowMaker::new(
            self.params.seed,
            sources,
            self.params.bad_share,
            self.params.no_analysis_share,
        );
        Batches::new(maker, self.params.rows, batch_rows)
    }
}

/// How many rows of each kind a catalogue holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Rows with every value present and inside its range.
    pub good: u64,
    /// Good rows but for their analysis means, all null.
    pub no_analysis: u64,
    /// Rows with one audio feature null, NaN or out of its range.
    pub bad: u64,
}

impl Counts {
    /// All rows.
    pub fn total(&self) -> u64 {
        self.good + self.no_analysis + self.bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(params: CatalogueParams) -> &'static str {
        match params.check() {
            Err(Error::InvalidParameter { name, .. }) => name,
            other => panic!("expected InvalidParameter, got {other:?}"),
        }
    }

    #[test]
    fn check_refuses_each_invalid_parameter_by_name() {
        let params = || CatalogueParams::new(10, 0);
        assert_eq!(refused(CatalogueParams::new(0, 0)), "rows");
        assert_eq!(refused(params().batch_rows(0)), "batch_rows");
        assert_eq!(refused(params().bad_share(-0.1)), "bad_share");
        assert_eq!(refused(params().bad_share(f64::NAN)), "bad_share");
        assert_eq!(
            refused(params().no_analysis_share(1.01)),
            "no_analysis_share"
        );
        assert_eq!(
            refused(params().no_analysis_share(0.6).bad_share(0.5)),
            "no_analysis_share + bad_share"
        );
        let catalogue = params()
            .no_analysis_share(0.0)
            .bad_share(1.0)
            .batch_rows(3)
            .check()
            .expect("edges are allowed");
        assert_eq!(
            (
                catalogue.rows(),
                catalogue.bad_share(),
                catalogue.batch_rows()
            ),
            (10, 1.0, 3)
        );
    }

    #[test]
    fn track_ids_are_base62_and_depend_on_seed_and_row() {
        let id = track_id(42, 7);
        assert_eq!(id.len(), ID_LENGTH);
        assert!(id.bytes().all(|byte| byte.is_ascii_alphanumeric()));
        assert_eq!(id, track_id(42, 7));
        assert_ne!(id, track_id(42, 8));
        assert_ne!(id, track_id(43, 7));
    }

    #[test]
    fn an_error_names_the_parameter_value_and_what_is_allowed() {
        let message = CatalogueParams::new(5, 0)
            .bad_share(2.0)
            .check()
            .expect_err("out of range")
            .to_string();
        assert_eq!(
            message,
            "parameter `bad_share` = 2 is invalid: it must be a number in 0..=1"
        );
    }
}
