//! One output column of a bundle as a DataFusion scalar function.

use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

use arrow_array::{ArrayRef, RecordBatch, RecordBatchOptions};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use datafusion::common::{plan_err, DataFusionError, Result};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use spotify_ml::bundle::{output_field, Bundle, InputType};

/// A bundle's output column as a SQL function: `moods(danceability, energy, …)` is the
/// bundle `moods`'s label, `moods_p_happy(…)` its probability of `happy`, `valence_high(…)` the
/// upper end of a valence bundle's interval. Arguments are the bundle's inputs, by position in
/// the manifest's order or by name (`energy => energy`); a bundle whose optional inputs (the
/// analysis means) come last also takes its required inputs alone, and then predicts as for a
/// track without them. A row with a missing, non-finite or out-of-range value gets null, as in
/// the streaming scorer: the rows go through [`Bundle::predict_batch`] itself.
pub struct BundleFunction {
    /// The function's name: the output column's.
    name: String,
    /// The bundle.
    bundle: Arc<dyn Bundle>,
    /// Which of the bundle's output columns it returns.
    output: usize,
    /// The output's type.
    return_type: DataType,
    /// Named parameters, a user-defined arity and numeric arguments.
    signature: Signature,
    /// The inputs as the batch handed to the bundle names them (`Float64`, or `Utf8` for a
    /// category; nullable).
    input_schema: SchemaRef,
    /// How many leading inputs every call must give (the rest are optional, given all or none).
    required: usize,
    /// What identifies the bundle's contents: its name and members' checksums.
    identity: Vec<String>,
    /// The bundle's latest outputs, shared by its functions.
    recent: Arc<RecentOutputs>,
}

/// A bundle's outputs for the batch each thread scored last, so that `moods(…)` and
/// `moods_p_calm(…)` in one query run the model once per batch, not once per function: a
/// projection evaluates its expressions on one batch in one synchronous call, so on one thread.
/// A batch is recognised by its argument arrays themselves (the same `Arc`s: DataFusion hands a
/// column to every expression that reads it without copying it); the entry holds them, so their
/// memory cannot be reused for another batch while the entry lives, and a match is the same
/// data. Memory: one batch's arguments and outputs per thread.
#[derive(Default)]
struct RecentOutputs {
    entries: Mutex<Vec<(ThreadId, Recent)>>,
}

struct Recent {
    arguments: Vec<ArrayRef>,
    rows: usize,
    columns: Vec<ArrayRef>,
}

impl RecentOutputs {
    fn find(&self, arguments: &[ArrayRef], rows: usize) -> Option<Vec<ArrayRef>> {
        let entries = self.entries.lock().ok()?;
        let thread = std::thread::current().id();
        let (_, entry) = entries.iter().find(|(t, _)| *t == thread)?;
        let same = entry.rows == rows
            && entry.arguments.len() == arguments.len()
            && entry
                .arguments
                .iter()
                .zip(arguments)
                .all(|(a, b)| Arc::ptr_eq(a, b));
        same.then(|| entry.columns.clone())
    }

    fn insert(&self, arguments: Vec<ArrayRef>, rows: usize, columns: Vec<ArrayRef>) {
        let recent = Recent {
            arguments,
            rows,
            columns,
        };
        let thread = std::thread::current().id();
        // A poisoned lock only loses the reuse, never a result.
        if let Ok(mut entries) = self.entries.lock() {
            match entries.iter_mut().find(|(t, _)| *t == thread) {
                Some((_, entry)) => *entry = recent,
                None => entries.push((thread, recent)),
            }
        }
    }
}

impl BundleFunction {
    /// The functions of a bundle, one per output column, in the manifest's order.
    pub fn all(bundle: Arc<dyn Bundle>) -> Result<Vec<BundleFunction>> {
        let manifest = bundle.manifest();
        let names: Vec<String> = manifest.inputs.iter().map(|c| c.name.clone()).collect();
        let fields: Vec<Field> = manifest
            .inputs
            .iter()
            .map(|c| Field::new(&c.name, argument_type(c), true))
            .collect();
        let input_schema = Arc::new(Schema::new(fields));
        // Optional inputs may be left out only when they are the trailing ones, all together.
        let last_required = manifest.inputs.iter().rposition(|c| !c.optional);
        let required = last_required.map_or(0, |i| i + 1);
        let recent = Arc::new(RecentOutputs::default());
        let mut identity = vec![manifest.name.clone()];
        identity.extend(manifest.members.iter().map(|m| m.sha256.clone()));
        manifest
            .outputs
            .iter()
            .enumerate()
            .map(|(output, column)| {
                let signature = Signature::new(TypeSignature::UserDefined, Volatility::Immutable)
                    .with_parameter_names(names.clone())?;
                Ok(BundleFunction {
                    name: column.name.clone(),
                    bundle: Arc::clone(&bundle),
                    output,
                    return_type: output_field(column).data_type().clone(),
                    signature,
                    input_schema: Arc::clone(&input_schema),
                    required,
                    identity: identity.clone(),
                    recent: Arc::clone(&recent),
                })
            })
            .collect()
    }

    /// The function as DataFusion registers it.
    pub fn into_udf(self) -> ScalarUDF {
        ScalarUDF::new_from_impl(self)
    }

    fn inputs(&self) -> &[spotify_ml::bundle::InputColumn] {
        &self.bundle.manifest().inputs
    }

    /// Checks the number of arguments: all inputs, or the required ones alone. The error names
    /// the first input that is missing.
    fn check_arity(&self, given: usize) -> Result<()> {
        let inputs = self.inputs();
        if given == inputs.len() || (given == self.required && self.required < inputs.len()) {
            return Ok(());
        }
        if given > inputs.len() {
            return plan_err!(
                "{}() takes {} arguments ({}), not {given}",
                self.name,
                inputs.len(),
                self.parameter_list()
            );
        }
        let missing = &inputs[given].name;
        let optional_note = if self.required < inputs.len() {
            format!(
                "; give all {} inputs, or the first {} alone to predict without the optional ones",
                inputs.len(),
                self.required
            )
        } else {
            String::new()
        };
        plan_err!(
            "{}() is missing its argument `{missing}` (argument {} of {}: {}){optional_note}",
            self.name,
            given + 1,
            inputs.len(),
            self.parameter_list()
        )
    }

    fn parameter_list(&self) -> String {
        let names: Vec<&str> = self.inputs().iter().map(|c| c.name.as_str()).collect();
        names.join(", ")
    }
}

/// The type an input's argument is coerced to: `Utf8` for a category, else `Float64`.
fn argument_type(column: &spotify_ml::bundle::InputColumn) -> DataType {
    match column.dtype {
        InputType::Float64 => DataType::Float64,
        InputType::Utf8 => DataType::Utf8,
    }
}

/// Whether the bundles read a column of this type as text (a category): strings, dictionaries of
/// strings, NULL literals.
fn is_text(data_type: &DataType) -> bool {
    *data_type == DataType::Null || spotify_ml::bundle::schema::is_text_type(data_type)
}

/// Whether the bundles read a column of this type as numbers, exactly as
/// `spotify_ml::bundle::schema::rows_of_batch` does (integers and floats; NULL literals).
fn is_number(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Null
            | DataType::Float64
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

impl std::fmt::Debug for BundleFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleFunction")
            .field("name", &self.name)
            .field("bundle", &self.bundle.manifest().name)
            .field("output", &self.output)
            .finish()
    }
}

impl PartialEq for BundleFunction {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.output == other.output && self.identity == other.identity
    }
}

impl Eq for BundleFunction {}

impl Hash for BundleFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.output.hash(state);
        self.identity.hash(state);
    }
}

impl ScalarUDFImpl for BundleFunction {
    fn name(&self) -> &str {
        &self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.return_type.clone())
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.check_arity(arg_types.len())?;
        for (column, data_type) in self.inputs().iter().zip(arg_types) {
            match column.dtype {
                InputType::Float64 if !is_number(data_type) => {
                    return plan_err!(
                        "{}(): argument `{}` is {data_type}, not a number (integer or float)",
                        self.name,
                        column.name
                    );
                }
                InputType::Utf8 if !is_text(data_type) => {
                    return plan_err!(
                        "{}(): argument `{}` is {data_type}, not text (one of: {})",
                        self.name,
                        column.name,
                        column.categories.join(", ")
                    );
                }
                _ => {}
            }
        }
        Ok(self
            .inputs()
            .iter()
            .take(arg_types.len())
            .map(argument_type)
            .collect())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays: Vec<ArrayRef> = ColumnarValue::values_to_arrays(&args.args)?;
        self.check_arity(arrays.len())?;
        let columns = match self.recent.find(&arrays, args.number_rows) {
            Some(columns) => columns,
            None => {
                let columns = self.predict(&arrays, args.number_rows)?;
                self.recent
                    .insert(arrays, args.number_rows, columns.clone());
                columns
            }
        };
        let column = columns.get(self.output).ok_or_else(|| {
            DataFusionError::Internal(format!(
                "bundle {:?} gave {} output columns, fewer than its manifest's",
                self.bundle.manifest().name,
                columns.len()
            ))
        })?;
        Ok(ColumnarValue::Array(Arc::clone(column)))
    }
}

impl BundleFunction {
    /// Every output column of the bundle for these arguments.
    fn predict(&self, arrays: &[ArrayRef], rows: usize) -> Result<Vec<ArrayRef>> {
        // Inputs left out (the optional ones) are absent columns: the bundle predicts as for a
        // track without them.
        let schema = if arrays.len() == self.input_schema.fields().len() {
            Arc::clone(&self.input_schema)
        } else {
            Arc::new(
                self.input_schema
                    .project(&(0..arrays.len()).collect::<Vec<_>>())?,
            )
        };
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        let batch = RecordBatch::try_new_with_options(schema, arrays.to_vec(), &options)?;
        let output = self
            .bundle
            .predict_batch(&batch)
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(output
            .columns
            .into_iter()
            .map(|(_, column)| column)
            .collect())
    }
}
