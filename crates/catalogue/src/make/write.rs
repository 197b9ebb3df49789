//! Streaming a catalogue into a Parquet or CSV file, batch by batch, through a temporary file
//! that is renamed over the output only once it is complete.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use super::batches::Batches;
use super::error::Error;
use super::schema::schema;
use super::sources::Sources;
use super::{Catalogue, Counts};

/// Rows per Parquet row group. The writer holds a whole row group in memory before it goes to
/// disk, so this, not the catalogue's size, bounds the writer's memory (about 45 MB).
pub const ROW_GROUP_ROWS: usize = 131_072;

/// Rows the Parquet writer encodes at a time, between its checks of the page size (parquet's
/// default, set here so that [`Catalogue::write`] can align its batches to it).
pub const PARQUET_WRITE_BATCH_ROWS: usize = 1_024;

/// Columns with few distinct values, which Parquet stores as dictionaries. The other columns
/// are noisy floats, where a dictionary only costs time before the writer gives up on it.
const DICTIONARY_COLUMNS: [&str; 6] = [
    "key",
    "mode",
    "time_signature",
    "sections",
    "genre",
    "artist_popularity",
];

/// A file format a catalogue can be written in, chosen by the output's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet with Snappy compression (`.parquet`).
    Parquet,
    /// Comma-separated values with a header row (`.csv`); a null is an empty cell.
    Csv,
}

impl Format {
    /// The format named by the extension of `path`, `.parquet` or `.csv` in any case.
    pub fn from_path(path: &Path) -> Result<Format, Error> {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if extension.eq_ignore_ascii_case("parquet") {
            Ok(Format::Parquet)
        } else if extension.eq_ignore_ascii_case("csv") {
            Ok(Format::Csv)
        } else {
            Err(Error::UnknownFormat {
                path: path.to_path_buf(),
            })
        }
    }
}

/// How [`Catalogue::write`] treats an existing output and the terminal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Replace the output if it exists (else an existing output is an error).
    pub overwrite: bool,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

/// What [`Catalogue::write`] wrote.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Written {
    /// Rows of each kind.
    pub counts: Counts,
    /// Wall-clock seconds from the start of the call to the rename of the finished file.
    pub seconds: f64,
    /// Size of the file.
    pub bytes: u64,
}

impl Catalogue {
    /// Writes the catalogue to `path`, as Parquet or CSV by its extension ([`Format`]).
    ///
    /// Batches are made and written one at a time, so memory does not grow with the number of
    /// rows. They hold [`Catalogue::batch_rows`] rounded up to a multiple of
    /// [`PARQUET_WRITE_BATCH_ROWS`]: the Parquet writer cuts pages where its mini-batches end,
    /// which restart with every batch, so aligned batches make the file's bytes depend on the
    /// seed and row count alone, not on the batch size. They go to a temporary file in the output's folder, which is synced and then renamed
    /// over `path`: readers see no file or a whole one, and on any error the temporary file is
    /// removed. Without [`WriteOptions::overwrite`] an existing `path` is refused, also if it
    /// appears while the catalogue is being written.
    pub fn write(
        &self,
        sources: &Sources,
        path: &Path,
        options: &WriteOptions,
    ) -> Result<Written, Error> {
        let start = Instant::now();
        let format = Format::from_path(path)?;
        if !options.overwrite && path.exists() {
            return Err(Error::Exists {
                path: path.to_path_buf(),
            });
        }
        let temporary = temporary_beside(path)?;
        let progress = progress_bar(options.progress, self.rows());
        // Cleared on every return, an error's included, so no half-drawn bar stays on stderr.
        let _clear = ClearOnDrop(progress.clone());
        let batch_rows = self.batch_rows().next_multiple_of(PARQUET_WRITE_BATCH_ROWS);
        let mut batches = self.batches_of(sources, batch_rows);
        let io = |action| {
            let path = path.to_path_buf();
            move |source| Error::Io {
                path,
                action,
                source,
            }
        };
        let file = temporary.as_file();
        match format {
            Format::Parquet => write_parquet(&mut batches, file, path, &progress)?,
            Format::Csv => write_csv(&mut batches, file, path, &progress)?,
        }
        file.sync_all()
            .map_err(io("syncing the temporary file to disk"))?;
        let bytes = file
            .metadata()
            .map_err(io("reading the size of the temporary file"))?
            .len();
        let persisted = if options.overwrite {
            temporary.persist(path)
        } else {
            temporary.persist_noclobber(path)
        };
        // On failure the temporary file is dropped with the error, which removes it.
        persisted.map_err(|failure| match failure.error.kind() {
            std::io::ErrorKind::AlreadyExists if !options.overwrite => Error::Exists {
                path: path.to_path_buf(),
            },
            _ => io("renaming the finished temporary file onto the output")(failure.error),
        })?;
        progress.finish_and_clear();
        Ok(Written {
            counts: batches.counts(),
            seconds: start.elapsed().as_secs_f64(),
            bytes,
        })
    }
}

/// A temporary file in the folder of `path` (so the final rename stays on one file system),
/// named after it and hidden, with the permissions a new file normally gets.
fn temporary_beside(path: &Path) -> Result<tempfile::NamedTempFile, Error> {
    let folder = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".partial");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // tempfile's default is 0600; the umask still applies to this.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder.tempfile_in(&folder).map_err(|source| Error::Io {
        path: folder,
        action: "creating a temporary file in the output's folder",
        source,
    })
}

/// Clears its progress bar when dropped.
struct ClearOnDrop(ProgressBar);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}

fn progress_bar(visible: bool, rows: u64) -> ProgressBar {
    if !visible {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{elapsed_precise} {wide_bar} {human_pos}/{human_len} rows, {per_sec}, {eta} left",
    )
    .expect("the template is a valid indicatif template");
    ProgressBar::new(rows).with_style(style)
}

fn write_parquet(
    batches: &mut Batches<'_>,
    file: &File,
    path: &Path,
    progress: &ProgressBar,
) -> Result<(), Error> {
    let parquet = |source| Error::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let mut properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_write_batch_size(PARQUET_WRITE_BATCH_ROWS)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_dictionary_enabled(false);
    for column in DICTIONARY_COLUMNS {
        properties = properties.set_column_dictionary_enabled(ColumnPath::from(column), true);
    }
    let mut writer = ArrowWriter::try_new(BufWriter::new(file), schema(), Some(properties.build()))
        .map_err(parquet)?;
    for batch in batches {
        writer.write(&batch).map_err(parquet)?;
        progress.inc(batch.num_rows() as u64);
    }
    let buffered = writer.into_inner().map_err(parquet)?;
    finish(buffered, path)
}

fn write_csv(
    batches: &mut Batches<'_>,
    file: &File,
    path: &Path,
    progress: &ProgressBar,
) -> Result<(), Error> {
    let csv = |source| Error::Csv {
        path: path.to_path_buf(),
        source,
    };
    let mut writer = arrow_csv::WriterBuilder::new()
        .with_header(true)
        .build(BufWriter::new(file));
    for batch in batches {
        writer.write(&batch).map_err(csv)?;
        progress.inc(batch.num_rows() as u64);
    }
    finish(writer.into_inner(), path)
}

/// Flushes the last buffered bytes, keeping the cause if that fails.
fn finish(mut buffered: BufWriter<&File>, path: &Path) -> Result<(), Error> {
    buffered.flush().map_err(|source| Error::Io {
        path: path.to_path_buf(),
        action: "writing the temporary file",
        source,
    })
}
