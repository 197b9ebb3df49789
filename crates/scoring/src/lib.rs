//! Streaming scoring of a track catalogue with spotify-ml's model bundles.
//!
//! [`score`] reads Parquet or CSV files (chosen by extension) in record batches of the columns
//! the bundles need, matched by name, runs every bundle over each batch in one pass, and writes
//! the id column with each bundle's outputs (and why a row got none) to a folder of parts, in
//! the input's order. Memory stays flat whatever the input's size: a batch in flight on each
//! side and one output row group.
//!
//! A row whose feature is missing, not a number or out of the bundle's range gets null outputs
//! and a reason in `<bundle>_rejected`; the run goes on and counts rows by reason (or, with
//! [`ScoreJob::strict`], stops at the first such row, naming file, row and column).
//!
//! A crash loses little: every part is written as `.partial` and renamed when whole, beside a
//! file of its counts; [`ScoreJob::resume`] continues after the last whole part, and the
//! resumed output equals an uninterrupted run's, byte for byte. The run ends by writing
//! `_SUCCESS.json`, the [`Summary`].
//!
//! ```no_run
//! use std::path::PathBuf;
//! # fn main() -> Result<(), scoring::ScoreError> {
//! let job = scoring::ScoreJob::new(
//!     vec![PathBuf::from("catalogue.parquet")],
//!     vec![PathBuf::from("out/valence/bundle"), PathBuf::from("out/moods/models/moods")],
//!     PathBuf::from("scores.parquet"),
//! );
//! let summary = scoring::score(&job)?;
//! println!("{} rows at {:.0} rows/s", summary.rows_total, summary.rows_per_second);
//! # Ok(()) }
//! ```

mod error;
mod input;
mod output;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

use arrow_array::{ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use spotify_ml::bundle::{self, Bundle, Rejection};

pub use error::ScoreError;
pub use input::Format;
use input::{InputFile, Needed, Needs};
use output::{part_index, part_name, PartWriter};

/// The file that marks a finished output, holding its [`Summary`].
pub const SUCCESS: &str = "_SUCCESS.json";
/// The file that records which job wrote an output, so that only the same job resumes it.
pub const JOB: &str = "_job.json";

/// A scoring job: what to read, which bundles, where to write and how.
#[derive(Clone, Debug)]
pub struct ScoreJob {
    /// Input files, read in order as one catalogue.
    pub inputs: Vec<PathBuf>,
    /// Bundle folders.
    pub bundles: Vec<PathBuf>,
    /// The output folder; its extension (`.parquet` or `.csv`) gives the parts' format.
    pub output: PathBuf,
    /// The column copied to the output to identify each row.
    pub id_column: String,
    /// Rows per record batch read.
    pub batch_rows: usize,
    /// Input rows per output part: what a crash can lose at most.
    pub part_rows: u64,
    /// Stop at the first row a bundle refuses.
    pub strict: bool,
    /// Continue an unfinished output of the same job.
    pub resume: bool,
    /// Replace an existing output.
    pub overwrite: bool,
    /// Show a progress bar.
    pub progress: bool,
}

impl ScoreJob {
    /// A job with the defaults: id column `id`, batches of 64k rows, parts of 4M rows, lenient,
    /// no resume, no overwrite, no progress bar.
    pub fn new(inputs: Vec<PathBuf>, bundles: Vec<PathBuf>, output: PathBuf) -> ScoreJob {
        ScoreJob {
            inputs,
            bundles,
            output,
            id_column: "id".into(),
            batch_rows: 64 * 1024,
            part_rows: 4 * 1024 * 1024,
            strict: false,
            resume: false,
            overwrite: false,
            progress: false,
        }
    }
}

/// What one bundle did over the whole output.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct BundleCounts {
    /// The bundle's name.
    pub name: String,
    /// Rows it predicted.
    pub scored: u64,
    /// Rows it refused, by reason (`out_of_range: loudness`).
    pub rejected: BTreeMap<String, u64>,
}

/// What a run did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Rows in the output.
    pub rows_total: u64,
    /// Rows this run read (the others were in parts a resumed run kept).
    pub rows_read: u64,
    /// Rows of the parts a resumed run kept.
    pub resumed_rows: u64,
    /// Parts written, in all.
    pub parts: u64,
    /// Each bundle's counts over the whole output.
    pub bundles: Vec<BundleCounts>,
    /// Seconds this run took.
    pub seconds: f64,
    /// Rows this run read per second.
    pub rows_per_second: f64,
    /// Peak resident memory of the process (VmHWM), where the system tells it.
    pub peak_memory_bytes: Option<u64>,
}

/// The identity of a job, kept in the output as [`JOB`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct JobRecord {
    inputs: Vec<InputRecord>,
    bundles: Vec<BundleRecord>,
    id_column: String,
    part_rows: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct InputRecord {
    path: PathBuf,
    bytes: u64,
    modified_unix_nanos: u128,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BundleRecord {
    path: PathBuf,
    name: String,
    manifest_sha256: String,
}

/// Scores the job's inputs with its bundles, writing the output's parts and `_SUCCESS.json`.
pub fn score(job: &ScoreJob) -> Result<Summary, ScoreError> {
    let start = Instant::now();
    if job.inputs.is_empty() || job.bundles.is_empty() {
        return Err(ScoreError::Settings(
            "a job needs at least one input file and one bundle".into(),
        ));
    }
    if job.batch_rows == 0 || job.part_rows == 0 {
        return Err(ScoreError::Settings(
            "batch rows and part rows must be positive".into(),
        ));
    }
    let format = Format::of(&job.output)?;
    let bundles = job
        .bundles
        .iter()
        .map(|dir| bundle::load(dir))
        .collect::<Result<Vec<_>, _>>()?;
    let needs = needs(&job.id_column, &bundles);
    let files = job
        .inputs
        .iter()
        .map(|path| InputFile::open(path, &needs))
        .collect::<Result<Vec<_>, _>>()?;
    let record = job_record(job, &bundles)?;
    let kept = prepare_output(job, format, &record)?;
    let skip = kept.parts * job.part_rows;

    let schema = output_schema(&files, &job.id_column, &bundles)?;
    let mut counts = kept.counts;
    let known_rows: Option<u64> = files.iter().map(|f| f.rows).sum();
    let bar = progress_bar(job.progress, known_rows, skip);

    // Where reading starts in each file: rows before `skip` are in kept parts.
    let mut starts = Vec::new();
    let mut before = 0u64;
    for file in &files {
        if before >= skip {
            starts.push(0);
            continue;
        }
        let rows = match file.rows {
            Some(rows) => rows,
            None => count_csv_rows(&file.path)?,
        };
        starts.push((skip - before).min(rows));
        before += rows;
    }

    let mut state = Writing {
        job,
        format,
        schema: schema.clone(),
        dir: &job.output,
        next_row: skip,
        writer: None,
        part_counts: empty_counts(&bundles),
        counts: &mut counts,
        parts: kept.parts,
    };
    let mut rows_read = 0u64;
    let mut next_row = skip;
    std::thread::scope(|scope| -> Result<(), ScoreError> {
        let (sender, receiver) = sync_channel::<Result<(usize, u64, RecordBatch), ScoreError>>(2);
        let files = &files;
        let starts = &starts;
        scope.spawn(move || {
            for (index, file) in files.iter().enumerate() {
                let mut row = starts[index];
                let batches = match file.batches(row, job.batch_rows) {
                    Ok(batches) => batches,
                    Err(e) => {
                        let _ = sender.send(Err(e));
                        return;
                    }
                };
                for batch in batches {
                    let failed = batch.is_err();
                    let message = batch.map(|b| {
                        let first = row;
                        row += b.num_rows() as u64;
                        (index, first, b)
                    });
                    if sender.send(message).is_err() || failed {
                        return;
                    }
                }
            }
        });
        // Scoring here, encoding and writing the parts on a thread of their own.
        let (to_writer, scored_batches) = sync_channel::<Scored>(2);
        let (state, bundles) = (&mut state, &bundles);
        let writer = scope.spawn(move || -> Result<(), ScoreError> {
            for scored in scored_batches {
                state.write(&scored, bundles)?;
            }
            Ok(())
        });
        let scoring = (|| -> Result<(), ScoreError> {
            for message in receiver {
                let (file, first_row, batch) = message?;
                let n = batch.num_rows();
                let mut offset = 0;
                while offset < n {
                    let room = job.part_rows - next_row % job.part_rows;
                    let take = room.min((n - offset) as u64) as usize;
                    let slice = batch.slice(offset, take);
                    let scored = score_slice(bundles, &slice, &job.id_column, &schema)?;
                    if job.strict {
                        if let Some((b, r, rejection)) = first_rejection(&scored.rejected) {
                            let column =
                                bundles[b].manifest().inputs[rejection.column].name.clone();
                            return Err(ScoreError::BadRow {
                                path: files[file].path.clone(),
                                row: first_row + (offset + r) as u64 + 1,
                                column,
                                problem: rejection.problem,
                                value: rejection.value,
                                bundle: bundles[b].manifest().name.clone(),
                            });
                        }
                    }
                    if to_writer.send(scored).is_err() {
                        return Ok(()); // the writer stopped: its error is returned below
                    }
                    next_row += take as u64;
                    offset += take;
                }
                rows_read += n as u64;
                bar.inc(n as u64);
            }
            Ok(())
        })();
        drop(to_writer);
        writer
            .join()
            .map_err(|_| ScoreError::Settings("the thread writing the output panicked".into()))??;
        scoring
    })?;
    state.finish_part()?;
    let parts = state.parts;
    drop(state);
    bar.finish_and_clear();
    let seconds = start.elapsed().as_secs_f64();
    let summary = Summary {
        rows_total: skip + rows_read,
        rows_read,
        resumed_rows: skip,
        parts,
        bundles: counts,
        seconds,
        rows_per_second: rows_read as f64 / seconds.max(1e-9),
        peak_memory_bytes: peak_memory(),
    };
    write_json(&job.output.join(SUCCESS), &summary)?;
    Ok(summary)
}

/// The columns to read: the id, then every bundle's inputs (required if any bundle requires
/// it: a column that is optional, or imputed where missing, may be absent from a file).
fn needs(id: &str, bundles: &[Box<dyn Bundle>]) -> Needs {
    let mut columns: Vec<Needed> = Vec::new();
    for bundle in bundles {
        let manifest = bundle.manifest();
        for input in &manifest.inputs {
            let required = !input.optional && input.imputed.is_none();
            match columns.iter_mut().find(|c| c.name == input.name) {
                Some(known) if required && !known.required => {
                    known.required = true;
                    known.bundle = manifest.name.clone();
                }
                Some(_) => {}
                None => columns.push(Needed {
                    name: input.name.clone(),
                    required,
                    bundle: manifest.name.clone(),
                    text: input.dtype == spotify_ml::bundle::InputType::Utf8,
                }),
            }
        }
    }
    Needs {
        id: id.to_string(),
        columns,
    }
}

/// The output's schema: the id column as the first file has it, then each bundle's outputs and
/// its `<bundle>_rejected` reason.
fn output_schema(
    files: &[InputFile],
    id: &str,
    bundles: &[Box<dyn Bundle>],
) -> Result<SchemaRef, ScoreError> {
    let id_type = match files.first().map(|f| f.id_type(id)) {
        Some(t) => t,
        None => DataType::Utf8,
    };
    let mut fields = vec![Field::new(id, id_type, true)];
    let mut owners: BTreeMap<String, String> = BTreeMap::new();
    owners.insert(id.to_string(), "--id-column".into());
    for bundle in bundles {
        let manifest = bundle.manifest();
        let mut own: Vec<Field> = manifest.outputs.iter().map(bundle::output_field).collect();
        own.push(Field::new(
            format!("{}_rejected", manifest.name),
            DataType::Utf8,
            true,
        ));
        for field in own {
            if let Some(first) = owners.insert(field.name().clone(), manifest.name.clone()) {
                return Err(ScoreError::DuplicateOutput {
                    column: field.name().clone(),
                    first,
                    second: manifest.name.clone(),
                });
            }
            fields.push(field);
        }
    }
    Ok(Arc::new(Schema::new(fields)))
}

/// A slice's output batch and each bundle's rejections.
struct Scored {
    batch: RecordBatch,
    rejected: Vec<Vec<Option<Rejection>>>,
}

/// Rows below which a slice is scored in one piece.
const PIECE_ROWS: usize = 8192;

/// Scores `slice` in pieces of at least [`PIECE_ROWS`] rows on rayon's threads (one piece per
/// thread, so the input checks and the conversion to rows run in parallel too, not only the
/// models), and joins them in order: every row's outputs depend on that row alone.
fn score_slice(
    bundles: &[Box<dyn Bundle>],
    slice: &RecordBatch,
    id: &str,
    schema: &SchemaRef,
) -> Result<Scored, ScoreError> {
    let n = slice.num_rows();
    let pieces = rayon::current_num_threads().min(n / PIECE_ROWS).max(1);
    if pieces == 1 {
        return score_piece(bundles, slice, id, schema);
    }
    let size = n.div_ceil(pieces);
    let scored = (0..pieces)
        .into_par_iter()
        .map(|i| {
            let start = i * size;
            score_piece(
                bundles,
                &slice.slice(start, size.min(n - start)),
                id,
                schema,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = arrow_select::concat::concat_batches(schema, scored.iter().map(|s| &s.batch))
        .map_err(|e| ScoreError::Settings(format!("joining the scored pieces of a batch: {e}")))?;
    let mut rejected = vec![Vec::with_capacity(n); bundles.len()];
    for piece in scored {
        for (all, part) in rejected.iter_mut().zip(piece.rejected) {
            all.extend(part);
        }
    }
    Ok(Scored { batch, rejected })
}

fn score_piece(
    bundles: &[Box<dyn Bundle>],
    slice: &RecordBatch,
    id: &str,
    schema: &SchemaRef,
) -> Result<Scored, ScoreError> {
    let id_column = slice
        .column_by_name(id)
        .ok_or_else(|| ScoreError::Settings(format!("the batch lost the id column {id:?}")))?;
    let mut columns: Vec<ArrayRef> = vec![id_column.clone()];
    let mut rejected = Vec::with_capacity(bundles.len());
    for bundle in bundles {
        let output = bundle.predict_batch(slice)?;
        columns.extend(output.columns.into_iter().map(|(_, array)| array));
        let inputs = &bundle.manifest().inputs;
        let reasons: StringArray = output
            .rejected
            .iter()
            .map(|r| r.map(|r| reason_text(&inputs[r.column].name, &r)))
            .collect();
        columns.push(Arc::new(reasons));
        rejected.push(output.rejected);
    }
    let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|e| {
        ScoreError::Settings(format!(
            "the outputs do not fit the output schema (an id column of another type in a later file?): {e}"
        ))
    })?;
    Ok(Scored { batch, rejected })
}

/// `out_of_range: loudness = 7.5`, `missing: energy`, `unknown_category: genre`.
fn reason_text(column: &str, rejection: &Rejection) -> String {
    use spotify_ml::bundle::Problem;
    if rejection.value.is_nan()
        && matches!(
            rejection.problem,
            Problem::Missing | Problem::UnknownCategory
        )
    {
        format!("{}: {column}", rejection.problem.name())
    } else {
        format!(
            "{}: {column} = {}",
            rejection.problem.name(),
            rejection.value
        )
    }
}

/// The key of a reason in the counts: `out_of_range: loudness`.
fn reason_key(column: &str, rejection: &Rejection) -> String {
    format!("{}: {column}", rejection.problem.name())
}

/// The first refused row of a slice: (bundle, row, why).
fn first_rejection(rejected: &[Vec<Option<Rejection>>]) -> Option<(usize, usize, Rejection)> {
    let rows = rejected.first().map_or(0, Vec::len);
    (0..rows).find_map(|r| {
        rejected
            .iter()
            .enumerate()
            .find_map(|(b, per_row)| per_row[r].map(|why| (b, r, why)))
    })
}

fn empty_counts(bundles: &[Box<dyn Bundle>]) -> Vec<BundleCounts> {
    bundles
        .iter()
        .map(|b| BundleCounts {
            name: b.manifest().name.clone(),
            ..BundleCounts::default()
        })
        .collect()
}

fn add_counts(total: &mut [BundleCounts], part: &[BundleCounts]) {
    for (t, p) in total.iter_mut().zip(part) {
        t.scored += p.scored;
        for (reason, n) in &p.rejected {
            *t.rejected.entry(reason.clone()).or_default() += n;
        }
    }
}

/// The output being written: the open part, its counts, and where the next row goes.
struct Writing<'a> {
    job: &'a ScoreJob,
    format: Format,
    schema: SchemaRef,
    dir: &'a Path,
    next_row: u64,
    writer: Option<PartWriter>,
    part_counts: Vec<BundleCounts>,
    counts: &'a mut Vec<BundleCounts>,
    parts: u64,
}

impl Writing<'_> {
    /// Writes a scored slice, which lies within one part, and finishes the part when full.
    fn write(&mut self, scored: &Scored, bundles: &[Box<dyn Bundle>]) -> Result<(), ScoreError> {
        if self.writer.is_none() {
            let index = self.next_row / self.job.part_rows;
            self.writer = Some(PartWriter::create(
                self.dir,
                index,
                self.format,
                self.schema.clone(),
            )?);
            self.part_counts = empty_counts(bundles);
        }
        if let Some(writer) = &mut self.writer {
            writer.write(&scored.batch)?;
        }
        for ((counts, rejected), bundle) in self
            .part_counts
            .iter_mut()
            .zip(&scored.rejected)
            .zip(bundles)
        {
            let inputs = &bundle.manifest().inputs;
            for why in rejected {
                match why {
                    None => counts.scored += 1,
                    Some(r) => {
                        *counts
                            .rejected
                            .entry(reason_key(&inputs[r.column].name, r))
                            .or_default() += 1
                    }
                }
            }
        }
        self.next_row += scored.batch.num_rows() as u64;
        if self.next_row.is_multiple_of(self.job.part_rows) {
            self.finish_part()?;
        }
        Ok(())
    }

    /// Finishes the open part, if any: its counts first, then the part itself.
    fn finish_part(&mut self) -> Result<(), ScoreError> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let index = (self.next_row - 1) / self.job.part_rows;
        write_json(
            &self.dir.join(counts_name(index, self.format)),
            &self.part_counts,
        )?;
        writer.finish()?;
        add_counts(self.counts, &self.part_counts);
        self.parts += 1;
        Ok(())
    }
}

fn counts_name(index: u64, format: Format) -> String {
    format!("{}.counts.json", part_name(index, format))
}

/// What an output folder keeps for this run: whole parts (from part 0, contiguous) and their
/// counts.
struct Kept {
    parts: u64,
    counts: Vec<BundleCounts>,
}

/// Makes the output folder ready: refused if it exists without `overwrite` or `resume`;
/// replaced with `overwrite`; with `resume`, checked to be this job's, cleared of unfinished
/// files, and its whole parts kept.
fn prepare_output(job: &ScoreJob, format: Format, record: &JobRecord) -> Result<Kept, ScoreError> {
    let dir = &job.output;
    let fresh_counts = || {
        record
            .bundles
            .iter()
            .map(|b| BundleCounts {
                name: b.name.clone(),
                ..BundleCounts::default()
            })
            .collect::<Vec<_>>()
    };
    let exists = dir.exists();
    if exists && job.resume {
        let found: JobRecord = read_json(&dir.join(JOB)).map_err(|problem| ScoreError::Resume {
            path: dir.clone(),
            problem: format!("its {JOB} cannot be read ({problem})"),
        })?;
        if found != *record {
            return Err(ScoreError::Resume {
                path: dir.clone(),
                problem: format!(
                    "another job wrote it (inputs, their sizes or times, bundles, id column or part rows differ from its {JOB})"
                ),
            });
        }
        let _ = std::fs::remove_file(dir.join(SUCCESS));
        let mut complete = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(ScoreError::read(dir))? {
            let entry = entry.map_err(ScoreError::read(dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".partial") {
                std::fs::remove_file(entry.path()).map_err(ScoreError::write(&entry.path()))?;
            } else if let Some(index) = part_index(&name, format) {
                complete.push(index);
            }
        }
        complete.sort_unstable();
        let mut counts = fresh_counts();
        let mut parts = 0;
        for index in complete {
            let counts_path = dir.join(counts_name(index, format));
            let part_counts: Option<Vec<BundleCounts>> = read_json(&counts_path).ok();
            match part_counts {
                Some(c) if index == parts && c.len() == counts.len() => {
                    add_counts(&mut counts, &c);
                    parts += 1;
                }
                // A gap, or a part without its counts: it and what follows are redone.
                _ => {
                    let path = dir.join(part_name(index, format));
                    std::fs::remove_file(&path).map_err(ScoreError::write(&path))?;
                }
            }
        }
        return Ok(Kept { parts, counts });
    }
    if exists {
        if !job.overwrite {
            return Err(ScoreError::OutputExists { path: dir.clone() });
        }
        let remove = if dir.is_dir() {
            std::fs::remove_dir_all(dir)
        } else {
            std::fs::remove_file(dir)
        };
        remove.map_err(ScoreError::write(dir))?;
    }
    std::fs::create_dir_all(dir).map_err(ScoreError::write(dir))?;
    write_json(&dir.join(JOB), record)?;
    Ok(Kept {
        parts: 0,
        counts: fresh_counts(),
    })
}

fn job_record(job: &ScoreJob, bundles: &[Box<dyn Bundle>]) -> Result<JobRecord, ScoreError> {
    let inputs = job
        .inputs
        .iter()
        .map(|path| {
            let meta = std::fs::metadata(path).map_err(ScoreError::read(path))?;
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            Ok(InputRecord {
                path: std::fs::canonicalize(path).map_err(ScoreError::read(path))?,
                bytes: meta.len(),
                modified_unix_nanos: modified,
            })
        })
        .collect::<Result<Vec<_>, ScoreError>>()?;
    let bundles = job
        .bundles
        .iter()
        .zip(bundles)
        .map(|(dir, bundle)| {
            let path = dir.join(bundle::MANIFEST);
            let bytes = std::fs::read(&path).map_err(ScoreError::read(&path))?;
            Ok(BundleRecord {
                path: std::fs::canonicalize(dir).map_err(ScoreError::read(dir))?,
                name: bundle.manifest().name.clone(),
                manifest_sha256: format!("{:x}", Sha256::digest(&bytes)),
            })
        })
        .collect::<Result<Vec<_>, ScoreError>>()?;
    Ok(JobRecord {
        inputs,
        bundles,
        id_column: job.id_column.clone(),
        part_rows: job.part_rows,
    })
}

/// Data rows of a CSV file (records after the header), counted without parsing fields.
fn count_csv_rows(path: &Path) -> Result<u64, ScoreError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| ScoreError::Csv {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while reader
        .read_byte_record(&mut record)
        .map_err(|e| ScoreError::Csv {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?
    {
        rows += 1;
    }
    Ok(rows)
}

fn progress_bar(show: bool, total: Option<u64>, done: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(total) => ProgressBar::new(total).with_style(
            ProgressStyle::with_template(
                "{bar:40} {human_pos}/{human_len} rows, {per_sec}, ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {human_pos} rows, {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_position(done);
    bar.reset_eta();
    bar
}

/// The process's peak resident memory (VmHWM of /proc/self/status), in bytes.
pub fn peak_memory() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ScoreError> {
    let bytes = serde_json::to_vec_pretty(value).map_err(ScoreError::write(path))?;
    let partial = path.with_file_name(format!(
        "{}.partial",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    std::fs::write(&partial, bytes).map_err(ScoreError::write(&partial))?;
    std::fs::rename(&partial, path).map_err(ScoreError::write(path))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes.len() > 16 << 20 {
        return Err("larger than 16 MiB".into());
    }
    serde_json::from_slice(&bytes).map_err(|e| e.to_string())
}

/// Reads a finished output's summary.
pub fn read_summary(output: &Path) -> Result<Summary, ScoreError> {
    let path = output.join(SUCCESS);
    read_json(&path).map_err(|problem| ScoreError::Resume {
        path,
        problem: format!("no finished output here ({problem})"),
    })
}

impl InputFile {
    /// The type of the id column (text when the file does not say).
    fn id_type(&self, id: &str) -> DataType {
        self.schema_type(id).unwrap_or(DataType::Utf8)
    }
}
