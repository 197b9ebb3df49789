//! Saving and loading: a JSON file (architecture, scaler, names, history, task) beside a
//! safetensors file of weights, both written atomically.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};
use tch::nn::VarStore;
use tch::Device;

use dataset::StandardScaler;

use crate::config::MlpConfig;
use crate::error::NeuralError;
use crate::fitted::{FittedNetwork, Task};
use crate::network::{Initialise, Network};
use crate::training::{DeviceChoice, EpochRecord};

/// Value of the `format` field that marks a file as ours.
const FORMAT: &str = "spotify-ml/neural-models/mlp";
/// Version of the layout below; bumped when it changes incompatibly.
const VERSION: u32 = 1;
/// File names used when saving into a directory.
const DIR_JSON: &str = "model.json";
const WEIGHTS_EXTENSION: &str = "safetensors";

/// Where the weights are and how to recognise them.
#[derive(Serialize, Deserialize)]
struct WeightsFile {
    /// File name, in the directory of the JSON file.
    file: String,
    /// Size in bytes.
    bytes: u64,
    /// FNV-1a 64-bit hash of the bytes, in hex: catches truncated or swapped files.
    fnv1a64: String,
}

/// The JSON file.
#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    task: Task,
    architecture: MlpConfig,
    n_inputs: usize,
    feature_names: Option<Vec<String>>,
    scaler: StandardScaler,
    weights: WeightsFile,
    best_epoch: usize,
    history: Vec<EpochRecord>,
}

fn fnv1a64(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> NeuralError + '_ {
    move |source| NeuralError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn file_error(
    path: &Path,
    problem: &'static str,
    source: impl Into<evaluation::BoxError>,
) -> NeuralError {
    NeuralError::ModelFile {
        path: path.to_path_buf(),
        problem,
        source: source.into(),
    }
}

fn bad_file(path: &Path, message: impl Into<String>) -> NeuralError {
    NeuralError::BadModelFile {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// A fresh name in the directory of `target`, ending in `extension` (tch picks the weight format
/// from the extension).
fn temp_path(target: &Path, extension: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(
        ".{name}.tmp-{}-{unique}.{extension}",
        std::process::id()
    ))
}

/// Moves a finished temporary file over `target`, after flushing it to disk.
fn commit(temp: &Path, target: &Path) -> Result<(), NeuralError> {
    File::open(temp)
        .and_then(|file| file.sync_all())
        .map_err(io_error(temp))?;
    fs::rename(temp, target).map_err(io_error(target))
}

/// Runs `write` on a temporary path and renames the result to `target`; removes the temporary
/// file if anything fails.
fn write_atomically(
    target: &Path,
    extension: &str,
    write: impl FnOnce(&Path) -> Result<(), NeuralError>,
) -> Result<(), NeuralError> {
    let temp = temp_path(target, extension);
    let result = write(&temp).and_then(|()| commit(&temp, target));
    if result.is_err() {
        // Best effort: the temporary file may not exist, and the original error matters more.
        let _ = fs::remove_file(&temp);
    }
    result
}

/// The JSON and weights paths for a save target.
fn save_paths(path: &Path) -> Result<(PathBuf, PathBuf), NeuralError> {
    if path
        .extension()
        .is_some_and(|extension| extension == "json")
    {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(io_error(parent))?;
        }
        Ok((path.to_path_buf(), path.with_extension(WEIGHTS_EXTENSION)))
    } else {
        fs::create_dir_all(path).map_err(io_error(path))?;
        let json = path.join(DIR_JSON);
        let weights = json.with_extension(WEIGHTS_EXTENSION);
        Ok((json, weights))
    }
}

/// Saves `network` (see the `save` methods of the models for the layout).
pub(crate) fn save(network: &FittedNetwork, path: &Path) -> Result<PathBuf, NeuralError> {
    let (json_path, weights_path) = save_paths(path)?;
    // Weights are written from the CPU, whatever device the model lives on.
    let mut cpu_store;
    let store = if network.vs.device() == Device::Cpu {
        &network.vs
    } else {
        cpu_store = VarStore::new(Device::Cpu);
        Network::build(
            &cpu_store,
            &network.config,
            network.n_inputs,
            network.task.n_outputs(),
            Initialise::Zeros,
        )?;
        cpu_store.copy(&network.vs)?;
        &cpu_store
    };
    let mut weights_bytes = Vec::new();
    write_atomically(&weights_path, WEIGHTS_EXTENSION, |temp| {
        store
            .save(temp)
            .map_err(|error| file_error(temp, "cannot write the weights", error))?;
        weights_bytes = fs::read(temp).map_err(io_error(temp))?;
        Ok(())
    })?;
    let file = ModelFile {
        format: FORMAT.into(),
        version: VERSION,
        task: network.task,
        architecture: network.config.clone(),
        n_inputs: network.n_inputs,
        feature_names: network.feature_names.clone(),
        scaler: network.scaler.clone(),
        weights: WeightsFile {
            file: weights_path
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_default(),
            bytes: weights_bytes.len() as u64,
            fnv1a64: fnv1a64(&weights_bytes),
        },
        best_epoch: network.best_epoch,
        history: network.history.clone(),
    };
    let json = serde_json::to_vec_pretty(&file)
        .map_err(|error| file_error(&json_path, "cannot encode the model file", error))?;
    write_atomically(&json_path, "json", |temp| {
        let mut out = File::create(temp).map_err(io_error(temp))?;
        out.write_all(&json).map_err(io_error(temp))
    })?;
    Ok(json_path)
}

/// Loads a network saved by [`save`] from its JSON file or its directory, expecting `expected`'s
/// kind of task.
pub(crate) fn load(
    path: &Path,
    expected: &'static str,
    device: DeviceChoice,
) -> Result<FittedNetwork, NeuralError> {
    let json_path = if path.is_dir() {
        path.join(DIR_JSON)
    } else {
        path.to_path_buf()
    };
    let text = fs::read(&json_path).map_err(io_error(&json_path))?;
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|error| file_error(&json_path, "not a JSON model file", error))?;
    let format = value.get("format").and_then(serde_json::Value::as_str);
    if format != Some(FORMAT) {
        return Err(bad_file(
            &json_path,
            format!("not a model file of this crate (expected \"format\": \"{FORMAT}\")"),
        ));
    }
    let version = value.get("version").and_then(serde_json::Value::as_u64);
    if version != Some(u64::from(VERSION)) {
        return Err(bad_file(
            &json_path,
            format!("file format version {version:?}, this build reads version {VERSION}"),
        ));
    }
    let file: ModelFile = serde_json::from_value(value)
        .map_err(|error| file_error(&json_path, "malformed model file", error))?;
    if file.task.name() != expected {
        return Err(NeuralError::WrongTask {
            path: json_path,
            expected,
            found: file.task.name(),
        });
    }
    check_consistent(&file, &json_path)?;

    let weights_path = weights_path(&json_path, &file.weights.file)?;
    let bytes = fs::read(&weights_path).map_err(io_error(&weights_path))?;
    if bytes.len() as u64 != file.weights.bytes {
        return Err(bad_file(
            &weights_path,
            format!(
                "is {} bytes but {} records {} (truncated or replaced?)",
                bytes.len(),
                json_path.display(),
                file.weights.bytes
            ),
        ));
    }
    if fnv1a64(&bytes) != file.weights.fnv1a64 {
        return Err(bad_file(
            &weights_path,
            format!(
                "content does not match the hash recorded in {} (damaged or replaced?)",
                json_path.display()
            ),
        ));
    }

    let mut vs = VarStore::new(device.device());
    Network::build(
        &vs,
        &file.architecture,
        file.n_inputs,
        file.task.n_outputs(),
        Initialise::Zeros,
    )
    .map_err(|error| file_error(&json_path, "the architecture cannot be built", error))?;
    vs.load(&weights_path)
        .map_err(|error| file_error(&weights_path, "cannot read the weights", error))?;
    check_finite_weights(&vs, &weights_path)?;
    Ok(FittedNetwork {
        vs,
        config: file.architecture,
        task: file.task,
        n_inputs: file.n_inputs,
        scaler: file.scaler,
        feature_names: file.feature_names,
        history: file.history,
        best_epoch: file.best_epoch,
    })
}

/// Checks that every weight of a loaded network is finite: a NaN or infinite weight would make
/// every prediction NaN, which no caller could tell from a fault of its input.
fn check_finite_weights(vs: &VarStore, weights_path: &Path) -> Result<(), NeuralError> {
    let mut variables: Vec<(String, tch::Tensor)> = vs.variables().into_iter().collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, tensor) in variables {
        let finite = tensor
            .f_isfinite()
            .and_then(|flags| flags.f_all())
            .and_then(|all| all.f_int64_value(&[]))
            .map_err(|error| file_error(weights_path, "cannot check the weights", error))?;
        if finite == 0 {
            return Err(bad_file(
                weights_path,
                format!("tensor {name} holds a NaN or infinite weight"),
            ));
        }
    }
    Ok(())
}

/// The weights file named in a JSON file, which must sit beside it.
fn weights_path(json_path: &Path, name: &str) -> Result<PathBuf, NeuralError> {
    let plain = Path::new(name)
        .file_name()
        .is_some_and(|file_name| file_name == name);
    if !plain || !name.ends_with(WEIGHTS_EXTENSION) {
        return Err(bad_file(
            json_path,
            format!("weights file {name:?} must be a .safetensors file name in the same directory"),
        ));
    }
    Ok(json_path.with_file_name(name))
}

/// Checks that the sizes recorded in a model file agree with each other.
fn check_consistent(file: &ModelFile, json_path: &Path) -> Result<(), NeuralError> {
    // The one check of an architecture read from disk; fitted networks come checked.
    file.architecture
        .check()
        .map_err(|error| file_error(json_path, "invalid architecture", error))?;
    let n = file.n_inputs;
    if file.scaler.mean.len() != n || file.scaler.scale.len() != n {
        return Err(bad_file(
            json_path,
            format!(
                "scaler has {} columns, the model {n}",
                file.scaler.mean.len()
            ),
        ));
    }
    let scaler = &file.scaler;
    if let Some(column) = (0..n).find(|&j| {
        !(scaler.mean[j].is_finite() && scaler.scale[j].is_finite() && scaler.scale[j] > 0.0)
    }) {
        return Err(bad_file(
            json_path,
            format!(
                "scaler column {column} has mean {} and scale {}; both must be finite and the \
                 scale positive",
                scaler.mean[column], scaler.scale[column]
            ),
        ));
    }
    if let Some(names) = &file.feature_names {
        if names.len() != n {
            return Err(bad_file(
                json_path,
                format!("{} feature names for {n} input columns", names.len()),
            ));
        }
    }
    if let Task::Classification { n_classes } = file.task {
        if n_classes < 2 {
            return Err(bad_file(json_path, format!("{n_classes} classes")));
        }
    }
    if !file.history.is_empty() && file.best_epoch >= file.history.len() {
        return Err(bad_file(
            json_path,
            format!(
                "best epoch {} is outside the history of {} epochs",
                file.best_epoch,
                file.history.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_reference_values() {
        assert_eq!(fnv1a64(b""), "cbf29ce484222325");
        assert_eq!(fnv1a64(b"a"), "af63dc4c8601ec8c");
    }
}
