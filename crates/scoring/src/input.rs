//! Input files: Parquet or CSV, checked against what the bundles need when opened, and read in
//! record batches of the needed columns only, from any row on.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::arrow::ProjectionMask;

use crate::error::ScoreError;

/// A file format, from the path's extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `.parquet`
    Parquet,
    /// `.csv`, with a header line.
    Csv,
}

impl Format {
    /// The format of `path`, by its extension.
    pub fn of(path: &Path) -> Result<Format, ScoreError> {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("parquet") => Ok(Format::Parquet),
            Some(e) if e.eq_ignore_ascii_case("csv") => Ok(Format::Csv),
            _ => Err(ScoreError::Format {
                path: path.to_path_buf(),
            }),
        }
    }

    /// The extension of its files.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
        }
    }
}

/// One column the job reads: its name, whether some bundle cannot do without it, the first
/// bundle that needs it, and whether that bundle reads it as text (a category) or a number.
#[derive(Clone, Debug)]
pub(crate) struct Needed {
    pub name: String,
    pub required: bool,
    pub bundle: String,
    pub text: bool,
}

/// What the job reads from every file: the id column and the bundles' input columns.
#[derive(Clone, Debug)]
pub(crate) struct Needs {
    pub id: String,
    pub columns: Vec<Needed>,
}

/// An input file, opened and checked against the job's needs.
pub(crate) struct InputFile {
    pub path: PathBuf,
    /// Its data rows, when the format says so without reading them (Parquet).
    pub rows: Option<u64>,
    kind: Kind,
}

enum Kind {
    Parquet {
        metadata: ArrowReaderMetadata,
        projection: ProjectionMask,
    },
    Csv {
        schema: SchemaRef,
        projection: Vec<usize>,
    },
}

/// Whether a type is read as a number.
fn numeric(dtype: &DataType) -> bool {
    matches!(
        dtype,
        DataType::Float64
            | DataType::Float32
            | DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
}

/// The indices of the columns to read from a file with `schema`: the id column, then each
/// needed column the file has. A missing required column, a missing id column, or a needed
/// column that is not numeric (not text, for a category) is an error naming the file and column.
fn projection(path: &Path, schema: &Schema, needs: &Needs) -> Result<Vec<usize>, ScoreError> {
    let id = schema
        .index_of(&needs.id)
        .map_err(|_| ScoreError::MissingColumn {
            path: path.to_path_buf(),
            column: needs.id.clone(),
            needed_by: "--id-column".into(),
        })?;
    let mut indices = vec![id];
    for column in &needs.columns {
        match schema.index_of(&column.name) {
            Ok(i) => {
                let dtype = schema.field(i).data_type();
                let readable = if column.text {
                    spotify_ml::bundle::schema::is_text_type(dtype)
                } else {
                    numeric(dtype)
                };
                if !readable {
                    return Err(ScoreError::WrongType {
                        path: path.to_path_buf(),
                        column: column.name.clone(),
                        found: dtype.to_string(),
                        bundle: column.bundle.clone(),
                    });
                }
                if !indices.contains(&i) {
                    indices.push(i);
                }
            }
            Err(_) if column.required => {
                return Err(ScoreError::MissingColumn {
                    path: path.to_path_buf(),
                    column: column.name.clone(),
                    needed_by: format!("the bundle {:?}", column.bundle),
                })
            }
            Err(_) => {}
        }
    }
    indices.sort_unstable();
    Ok(indices)
}

impl InputFile {
    /// Opens `path` and checks its columns against `needs`.
    pub fn open(path: &Path, needs: &Needs) -> Result<InputFile, ScoreError> {
        match Format::of(path)? {
            Format::Parquet => {
                let file = File::open(path).map_err(ScoreError::read(path))?;
                let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::new())
                    .map_err(|source| ScoreError::Parquet {
                        path: path.to_path_buf(),
                        row_group: None,
                        source,
                    })?;
                let indices = projection(path, metadata.schema(), needs)?;
                let rows = metadata
                    .metadata()
                    .row_groups()
                    .iter()
                    .map(|g| g.num_rows().max(0) as u64)
                    .sum();
                let projection = ProjectionMask::roots(metadata.parquet_schema(), indices);
                Ok(InputFile {
                    path: path.to_path_buf(),
                    rows: Some(rows),
                    kind: Kind::Parquet {
                        metadata,
                        projection,
                    },
                })
            }
            Format::Csv => {
                let mut reader = csv::ReaderBuilder::new()
                    .has_headers(true)
                    .from_path(path)
                    .map_err(|e| ScoreError::Csv {
                        path: path.to_path_buf(),
                        source: Box::new(e),
                    })?;
                let headers = reader.headers().map_err(|e| ScoreError::Csv {
                    path: path.to_path_buf(),
                    source: Box::new(e),
                })?;
                // Needed columns are numbers unless they are categories, the others text (read
                // only if projected).
                let fields: Vec<Field> = headers
                    .iter()
                    .map(|name| {
                        let number = needs.columns.iter().any(|c| c.name == name && !c.text);
                        let dtype = if number && name != needs.id {
                            DataType::Float64
                        } else {
                            DataType::Utf8
                        };
                        Field::new(name, dtype, true)
                    })
                    .collect();
                let schema = Arc::new(Schema::new(fields));
                let projection = projection(path, &schema, needs)?;
                Ok(InputFile {
                    path: path.to_path_buf(),
                    rows: None,
                    kind: Kind::Csv { schema, projection },
                })
            }
        }
    }

    /// The type of a column, if the file says (a CSV file's columns are text or numbers as
    /// read).
    pub fn schema_type(&self, name: &str) -> Option<DataType> {
        let schema = match &self.kind {
            Kind::Parquet { metadata, .. } => metadata.schema().clone(),
            Kind::Csv { schema, .. } => schema.clone(),
        };
        schema
            .field_with_name(name)
            .ok()
            .map(|f| f.data_type().clone())
    }

    /// The file's batches of at most `batch_rows` rows, from data row `skip` (from 0) on.
    pub fn batches(
        &self,
        skip: u64,
        batch_rows: usize,
    ) -> Result<Box<dyn Iterator<Item = Result<RecordBatch, ScoreError>> + Send + '_>, ScoreError>
    {
        let path = &self.path;
        match &self.kind {
            Kind::Parquet {
                metadata,
                projection,
            } => {
                let mut first_row = 0u64;
                let mut groups = Vec::new();
                for (g, group) in metadata.metadata().row_groups().iter().enumerate() {
                    let rows = group.num_rows().max(0) as u64;
                    if first_row + rows > skip {
                        groups.push((g, skip.saturating_sub(first_row) as usize));
                    }
                    first_row += rows;
                }
                let iter = groups.into_iter().flat_map(move |(g, skip_in_group)| {
                    let parquet_error = move |source| ScoreError::Parquet {
                        path: path.clone(),
                        row_group: Some(g),
                        source,
                    };
                    let reader =
                        File::open(path)
                            .map_err(ScoreError::read(path))
                            .and_then(|file| {
                                let mut builder =
                                    ParquetRecordBatchReaderBuilder::new_with_metadata(
                                        file,
                                        metadata.clone(),
                                    )
                                    .with_row_groups(vec![g])
                                    .with_projection(projection.clone())
                                    .with_batch_size(batch_rows);
                                if skip_in_group > 0 {
                                    let rows = metadata.metadata().row_group(g).num_rows() as usize;
                                    builder = builder.with_row_selection(RowSelection::from(vec![
                                        RowSelector::skip(skip_in_group),
                                        RowSelector::select(rows - skip_in_group),
                                    ]));
                                }
                                builder.build().map_err(parquet_error)
                            });
                    let batches: Box<dyn Iterator<Item = Result<RecordBatch, ScoreError>> + Send> =
                        match reader {
                            Ok(reader) => Box::new(
                                reader.map(move |batch| batch.map_err(|e| parquet_error(e.into()))),
                            ),
                            Err(e) => Box::new(std::iter::once(Err(e))),
                        };
                    batches
                });
                Ok(Box::new(iter))
            }
            Kind::Csv { schema, projection } => {
                let file = File::open(path).map_err(ScoreError::read(path))?;
                let reader = arrow_csv::ReaderBuilder::new(schema.clone())
                    .with_header(true)
                    .with_batch_size(batch_rows)
                    .with_projection(projection.clone())
                    .with_bounds(skip as usize, usize::MAX - 1)
                    .build(file)
                    .map_err(|e| ScoreError::Csv {
                        path: path.clone(),
                        source: Box::new(e),
                    })?;
                Ok(Box::new(reader.map(move |batch| {
                    batch.map_err(|e| ScoreError::Csv {
                        path: path.clone(),
                        source: Box::new(e),
                    })
                })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    fn needs() -> Needs {
        let column = |name: &str, required, text| Needed {
            name: name.into(),
            required,
            bundle: "popularity".into(),
            text,
        };
        Needs {
            id: "id".into(),
            columns: vec![
                column("energy", true, false),
                column("artist_popularity", false, false),
                column("genre", true, true),
            ],
        }
    }

    /// The batches of a file, concatenated.
    fn read(file: &InputFile) -> RecordBatch {
        let batches: Vec<RecordBatch> = file
            .batches(0, 2)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        arrow_select::concat::concat_batches(&batches[0].schema(), &batches).unwrap()
    }

    #[test]
    fn a_csv_reads_a_category_as_text_and_numbers_as_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("songs.csv");
        std::fs::write(
            &path,
            "id,genre,energy,artist_popularity,notes\na,pop,0.5,70,x\nb,42,0.25,,y\nc,,0.75,10,z\n",
        )
        .unwrap();
        let file = InputFile::open(&path, &needs()).unwrap();
        let batch = read(&file);
        let names: Vec<&str> = batch
            .schema_ref()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect();
        assert_eq!(names, ["id", "genre", "energy", "artist_popularity"]);
        assert_eq!(batch.column(1).data_type(), &DataType::Utf8);
        assert_eq!(batch.column(2).data_type(), &DataType::Float64);
        let genre = batch
            .column(1)
            .as_any()
            .downcast_ref::<arrow_array::StringArray>();
        let genre = genre.unwrap();
        assert_eq!(genre.value(1), "42", "a number in a text column stays text");
        assert!(batch.column(3).is_null(1) && genre.is_null(2));
    }

    #[test]
    fn a_parquet_category_must_be_text_and_an_imputed_column_may_be_absent() {
        use arrow_array::{ArrayRef, Float64Array, Int64Array, StringArray};
        use arrow_schema::Field;
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, genre: ArrayRef| {
            let path = dir.path().join(name);
            let schema = Arc::new(Schema::new(vec![
                Field::new("id", DataType::Utf8, true),
                Field::new("energy", DataType::Float64, true),
                Field::new("genre", genre.data_type().clone(), true),
            ]));
            let batch = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(vec!["a"])),
                    Arc::new(Float64Array::from(vec![0.5])),
                    genre,
                ],
            )
            .unwrap();
            let file = File::create(&path).unwrap();
            let mut writer = parquet::arrow::ArrowWriter::try_new(file, schema, None).unwrap();
            writer.write(&batch).unwrap();
            writer.close().unwrap();
            path
        };
        let text = write("text.parquet", Arc::new(StringArray::from(vec!["pop"])));
        let file = InputFile::open(&text, &needs()).unwrap();
        assert_eq!(
            read(&file).num_columns(),
            3,
            "no artist_popularity column: none read"
        );
        let numbers = write("numbers.parquet", Arc::new(Int64Array::from(vec![1])));
        let error = InputFile::open(&numbers, &needs())
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("numbers.parquet") && error.contains("genre") && error.contains("Int64"),
            "{error}"
        );
    }
}
