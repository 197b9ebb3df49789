//! The output: a folder of parts (`part-00000.parquet`, …), each written as `<part>.partial`
//! and renamed when complete, so that a part on disk is always whole.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::ScoreError;
use crate::input::Format;

/// Rows per Parquet row group of the output: what the writer holds in memory at most.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// The file name of part `index`.
pub fn part_name(index: u64, format: Format) -> String {
    format!("part-{index:05}.{}", format.extension())
}

/// The index of a complete part's file name, if it is one.
pub fn part_index(name: &str, format: Format) -> Option<u64> {
    let digits = name
        .strip_prefix("part-")?
        .strip_suffix(&format!(".{}", format.extension()))?;
    if digits.len() < 5 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

enum Sink {
    Parquet(ArrowWriter<BufWriter<File>>),
    Csv(arrow_csv::Writer<BufWriter<File>>),
}

/// One part being written.
pub struct PartWriter {
    partial: PathBuf,
    done: PathBuf,
    sink: Sink,
}

impl PartWriter {
    /// Starts part `index` in `dir`.
    pub fn create(
        dir: &Path,
        index: u64,
        format: Format,
        schema: SchemaRef,
    ) -> Result<PartWriter, ScoreError> {
        let done = dir.join(part_name(index, format));
        let partial = dir.join(format!("{}.partial", part_name(index, format)));
        let file = BufWriter::new(File::create(&partial).map_err(ScoreError::write(&partial))?);
        let sink = match format {
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
                    .build();
                Sink::Parquet(
                    ArrowWriter::try_new(file, schema, Some(props))
                        .map_err(ScoreError::write(&partial))?,
                )
            }
            Format::Csv => Sink::Csv(
                arrow_csv::WriterBuilder::new()
                    .with_header(true)
                    .build(file),
            ),
        };
        Ok(PartWriter {
            partial,
            done,
            sink,
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), ScoreError> {
        match &mut self.sink {
            Sink::Parquet(w) => w.write(batch).map_err(ScoreError::write(&self.partial)),
            Sink::Csv(w) => w.write(batch).map_err(ScoreError::write(&self.partial)),
        }
    }

    /// Finishes the part: flushed, synced to disk, then renamed to its final name.
    pub fn finish(self) -> Result<PathBuf, ScoreError> {
        let partial = self.partial;
        let file = match self.sink {
            Sink::Parquet(w) => w.into_inner().map_err(ScoreError::write(&partial))?,
            Sink::Csv(w) => w.into_inner(),
        };
        let file = file
            .into_inner()
            .map_err(|e| ScoreError::write(&partial)(e.into_error()))?;
        file.sync_all().map_err(ScoreError::write(&partial))?;
        std::fs::rename(&partial, &self.done).map_err(ScoreError::write(&self.done))?;
        Ok(self.done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names_round_trip_and_others_are_not_parts() {
        assert_eq!(part_name(7, Format::Parquet), "part-00007.parquet");
        assert_eq!(part_index("part-00007.parquet", Format::Parquet), Some(7));
        assert_eq!(part_index("part-123456.csv", Format::Csv), Some(123456));
        for name in [
            "part-00007.parquet.partial",
            "part-7.parquet",
            "part-00007.csv",
            "part-0000x.parquet",
            "_job.json",
        ] {
            assert_eq!(part_index(name, Format::Parquet), None, "{name}");
        }
    }
}
