//! Rows gathered into Arrow record batches.

use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;

use super::rows::{Kind, RowMaker, ID_LENGTH};
use super::schema::{schema, COLUMNS};
use super::sources::{ANALYSIS, FEATURES};
use super::Counts;

/// The record batches of a catalogue, in row order: made by
/// [`Catalogue::batches`](super::Catalogue::batches).
#[derive(Debug)]
pub struct Batches<'a> {
    maker: RowMaker<'a>,
    schema: SchemaRef,
    next_row: u64,
    rows: u64,
    batch_rows: usize,
    counts: Counts,
}

impl<'a> Batches<'a> {
    pub(crate) fn new(maker: RowMaker<'a>, rows: u64, batch_rows: usize) -> Self {
        Batches {
            maker,
            schema: schema(),
            next_row: 0,
            rows,
            batch_rows,
            counts: Counts::default(),
        }
    }

    /// How many rows of each kind the batches returned so far hold.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    fn batch(&mut self, start: u64, len: usize) -> RecordBatch {
        let mut ids = StringBuilder::with_capacity(len, len * ID_LENGTH);
        let numbers = || Float64Builder::with_capacity(len);
        let mut features: Vec<Float64Builder> = (0..FEATURES).map(|_| numbers()).collect();
        let mut analysis: Vec<Float64Builder> = (0..ANALYSIS).map(|_| numbers()).collect();
        let mut chorus_hit = numbers();
        let mut sections = numbers();
        let mut genres = StringBuilder::with_capacity(len, len * 8);
        let mut artist_popularity = numbers();
        let genre_names = &self.maker.sources().genres;

        for index in start..start + len as u64 {
            let row = self.maker.row(index);
            match row.kind {
                Kind::Good => self.counts.good += 1,
                Kind::NoAnalysis => self.counts.no_analysis += 1,
                Kind::Bad => self.counts.bad += 1,
            }
            ids.append_value(std::str::from_utf8(&row.id).expect("ids are base-62 ASCII"));
            for (builder, value) in features.iter_mut().zip(row.features) {
                builder.append_option(value);
            }
            match row.analysis {
                Some(means) => {
                    for (builder, value) in analysis.iter_mut().zip(means) {
                        builder.append_value(value);
                    }
                }
                None => analysis.iter_mut().for_each(Float64Builder::append_null),
            }
            chorus_hit.append_value(row.chorus_hit);
            sections.append_value(row.sections);
            genres.append_value(&genre_names[row.genre]);
            artist_popularity.append_value(row.artist_popularity);
        }

        let mut columns: Vec<ArrayRef> = Vec::with_capacity(COLUMNS);
        columns.push(Arc::new(ids.finish()));
        columns.extend(
            features
                .iter_mut()
                .chain(analysis.iter_mut())
                .map(|builder| Arc::new(builder.finish()) as ArrayRef),
        );
        columns.push(Arc::new(chorus_hit.finish()));
        columns.push(Arc::new(sections.finish()));
        columns.push(Arc::new(genres.finish()));
        columns.push(Arc::new(artist_popularity.finish()));
        RecordBatch::try_new(self.schema.clone(), columns)
            .expect("the columns are built in the order and types of schema()")
    }
}

impl Iterator for Batches<'_> {
    type Item = RecordBatch;

    fn next(&mut self) -> Option<RecordBatch> {
        if self.next_row >= self.rows {
            return None;
        }
        let start = self.next_row;
        // The remaining count fits usize here: it is below batch_rows.
        let len = (self.rows - start).min(self.batch_rows as u64) as usize;
        self.next_row += len as u64;
        Some(self.batch(start, len))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let remaining = (self.rows - self.next_row).div_ceil(self.batch_rows as u64);
        match usize::try_from(remaining) {
            Ok(remaining) => (remaining, Some(remaining)),
            Err(_) => (usize::MAX, None),
        }
    }
}
