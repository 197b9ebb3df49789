//! `bundle.json`: what a bundle predicts, from which columns, how it was trained and scored, and
//! the SHA-256 of every member file. Read with every field checked ([`Manifest::read`]).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::BundleError;

/// The tag of `bundle.json`.
pub const FORMAT: &str = "spotify-ml/bundle";
/// The layout this build writes and reads.
pub const VERSION: u32 = 1;
/// The manifest's file name inside a bundle folder.
pub const MANIFEST: &str = "bundle.json";
/// The largest `bundle.json` read (a manifest is a few kB; anything larger is not one).
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// What a bundle is for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Task {
    /// Valence from audio features (Task 1's chosen model, with its audio-only fallback, near
    /// twins and intervals).
    Valence,
    /// One of the classification experiments (`moods`, `genre5`, `activity4`, `hits`, …).
    Classifier {
        /// The experiment's name, as `metrics.json` spells it.
        experiment: String,
    },
    /// A song's popularity quartile from its audio features, its artist's popularity and its
    /// genre (the popularity experiment's predictor, which the web app serves).
    Popularity,
}

/// What a bundle outputs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum OutputKind {
    /// A value in `min..=max`, with an interval at `coverage` when the bundle has one.
    Value {
        /// Lowest value predicted.
        min: f64,
        /// Highest value predicted.
        max: f64,
        /// The nominal coverage of the `_low`/`_high` interval (`None`: no interval).
        coverage: Option<f64>,
    },
    /// One of several classes, with a probability for each.
    Classes {
        /// Class names, in probability-column order.
        names: Vec<String>,
        /// How sure the probabilities are, when the bundle knows: their temperature and a
        /// conformal prediction set (absent from bundles written before it existed, whose
        /// probabilities are the model's as fitted and which have no set column).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        calibration: Option<ClassCalibration>,
    },
}

/// A classifier's calibration, fitted on its cross-validation's out-of-fold probabilities and
/// applied to every prediction of the bundle.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassCalibration {
    /// The temperature the probabilities are scaled by (each row's `p^(1/t)`, normalised;
    /// 1 leaves them as fitted).
    pub temperature: f64,
    /// The nominal coverage of the prediction sets: the share of tracks whose set holds their
    /// true class.
    pub set_coverage: f64,
    /// The least-ambiguous sets' threshold: a set holds the classes whose (tempered)
    /// probability is at least `1 - set_threshold` (`evaluation::conformal::lac_set`); 1 or
    /// more puts every class in every set.
    pub set_threshold: f64,
}

impl ClassCalibration {
    /// Whether the numbers are usable: a positive, finite temperature, a coverage strictly
    /// between 0 and 1 and a threshold in 0..=1.
    pub fn check(&self) -> Result<(), String> {
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(format!(
                "temperature {} is not a positive number",
                self.temperature
            ));
        }
        if !(self.set_coverage > 0.0 && self.set_coverage < 1.0) {
            return Err(format!(
                "set coverage {} is not between 0 and 1",
                self.set_coverage
            ));
        }
        if !(0.0..=1.0).contains(&self.set_threshold) {
            return Err(format!(
                "set threshold {} is not in 0..=1",
                self.set_threshold
            ));
        }
        Ok(())
    }
}

/// The separator of the classes in a prediction-set column (`Happy|Sad`); no class name may
/// hold it.
pub const SET_SEPARATOR: char = '|';

/// The type of an input column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InputType {
    /// A number; integer columns of a file are read as numbers too.
    Float64,
    /// Text, one of the column's `categories` (a genre). In an `ndarray` row it is the index of
    /// the category, `0..categories.len()`.
    Utf8,
}

/// One input column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputColumn {
    /// Its name, as the Web API and the shared files spell it (`danceability`, `pitch_3`).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub dtype: InputType,
    /// Its unit or scale, in words.
    pub unit: String,
    /// Lowest valid value.
    pub min: f64,
    /// Highest valid value.
    pub max: f64,
    /// Whether a row may lack it. Optional columns are missing together (a track without
    /// analysis means lacks all 24); the bundle then predicts from the others.
    pub optional: bool,
    /// The values a text column takes, in index order (empty for a number column).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub categories: Vec<String>,
    /// What replaces the value when a row lacks it (the model was trained so, and is told that
    /// it was replaced); such a row is not rejected. `None`: a row must have it, unless it is
    /// optional.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imputed: Option<f64>,
}

impl InputColumn {
    /// Whether the column's type, categories, range and imputed value agree: a text column has
    /// distinct, non-empty categories and the range of their indices, a number column none; an
    /// imputed value is in range, on a column that is not optional.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if !(self.min.is_finite() && self.max.is_finite() && self.min <= self.max) {
            return Err(format!(
                "input column {name:?} has the range {}..{}",
                self.min, self.max
            ));
        }
        match self.dtype {
            InputType::Float64 if !self.categories.is_empty() => {
                return Err(format!("the number column {name:?} lists categories"))
            }
            InputType::Float64 => {}
            InputType::Utf8 => {
                let distinct: std::collections::HashSet<&String> = self.categories.iter().collect();
                if self.categories.is_empty()
                    || distinct.len() != self.categories.len()
                    || self.categories.iter().any(String::is_empty)
                {
                    return Err(format!(
                        "the text column {name:?} needs distinct, non-empty categories"
                    ));
                }
                if self.min != 0.0 || self.max != (self.categories.len() - 1) as f64 {
                    return Err(format!(
                        "the text column {name:?} has the range {}..{}, not its categories' indices 0..{}",
                        self.min,
                        self.max,
                        self.categories.len() - 1
                    ));
                }
            }
        }
        if let Some(value) = self.imputed {
            if self.optional || !(self.min..=self.max).contains(&value) {
                return Err(format!(
                    "input column {name:?}: the imputed value {value} is outside {}..{}, or the column is optional",
                    self.min, self.max
                ));
            }
        }
        Ok(())
    }

    /// The index of a text column's category, if it is one.
    pub fn category(&self, value: &str) -> Option<usize> {
        self.categories.iter().position(|c| c == value)
    }
}

/// The type of an output column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputType {
    /// A number.
    Float64,
    /// Text (a class label).
    Utf8,
}

/// One output column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputColumn {
    /// Its name (`valence`, `valence_low`, `moods`, `moods_p_happy`).
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub dtype: OutputType,
    /// What it holds.
    pub description: String,
}

/// How the bundle's model was trained.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// The data it learnt from (files under the data directory).
    pub data_set: String,
    /// Rows it learnt from.
    pub rows: usize,
    /// When (UTC date, `YYYY-MM-DD`).
    pub date: String,
    /// The `spotify-ml` version that trained it.
    pub crate_version: String,
    /// The seed of the run.
    pub seed: u64,
    /// The model, in words (`boosting on audio+analysis`, `blend of boosting and network`).
    pub model: String,
}

/// One member file and its checksum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Its file name inside the bundle folder (no directories).
    pub file: String,
    /// What it holds.
    pub role: String,
    /// SHA-256 of its bytes, lower-case hex.
    pub sha256: String,
}

/// `bundle.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u32,
    /// The bundle's name: the prefix of its output columns and its SQL function's name.
    pub name: String,
    /// What it is for.
    pub task: Task,
    /// What it outputs.
    pub output: OutputKind,
    /// Its input columns, in the order [`super::Bundle::predict`] takes them.
    pub inputs: Vec<InputColumn>,
    /// Its output columns, in order.
    pub outputs: Vec<OutputColumn>,
    /// How it was trained.
    pub training: Training,
    /// Its cross-validated scores (`cv_mae`, `accuracy`, `interval_coverage`, …).
    pub scores: BTreeMap<String, f64>,
    /// Its member files.
    pub members: Vec<Member>,
}

/// The regular files of a folder, but `bundle.json` and unfinished `.partial` files.
/// Every file of a bundle folder (`bundle.json` aside) as a member, its role given by `role`
/// from its name; checksums are filled in by [`Manifest::write`].
pub(crate) fn folder_members(
    dir: &Path,
    role: impl Fn(&str) -> &'static str,
) -> Result<Vec<Member>, BundleError> {
    Ok(folder_files(dir)?
        .into_iter()
        .map(|file| Member {
            role: role(&file).into(),
            file,
            sha256: String::new(),
        })
        .collect())
}

pub(crate) fn folder_files(dir: &Path) -> Result<Vec<String>, BundleError> {
    let read = |source| BundleError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read)? {
        let entry = entry.map_err(read)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().map_err(read)?.is_file()
            && name != MANIFEST
            && !name.ends_with(".partial")
        {
            files.push(name);
        }
    }
    files.sort();
    Ok(files)
}

impl Manifest {
    /// Reads `dir/bundle.json` and checks it: format and version, the schema (names, ranges and
    /// outputs consistent with the output kind), that every member exists with its checksum,
    /// and that the folder holds no other file (a stale or foreign file is refused, not
    /// ignored).
    pub fn read(dir: &Path) -> Result<Manifest, BundleError> {
        let path = dir.join(MANIFEST);
        let file = std::fs::File::open(&path).map_err(|source| BundleError::Read {
            path: path.clone(),
            source,
        })?;
        let mut bytes = Vec::new();
        file.take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|source| BundleError::Read {
                path: path.clone(),
                source,
            })?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(BundleError::invalid(
                &path,
                "larger than 1 MiB: not a bundle manifest",
            ));
        }
        let manifest: Manifest =
            serde_json::from_slice(&bytes).map_err(|source| BundleError::Json {
                path: path.clone(),
                source,
            })?;
        if manifest.format != FORMAT || manifest.version != VERSION {
            return Err(BundleError::Foreign {
                path,
                format: manifest.format,
                version: manifest.version,
            });
        }
        manifest
            .check()
            .map_err(|problem| BundleError::invalid(&path, problem))?;
        for file in folder_files(dir)? {
            if !manifest.members.iter().any(|m| m.file == file) {
                return Err(BundleError::invalid(
                    &dir.join(&file),
                    "this file is in the bundle folder but not among bundle.json's members",
                ));
            }
        }
        for member in &manifest.members {
            let member_path = dir.join(&member.file);
            let found = sha256_file(&member_path)?;
            if found != member.sha256 {
                return Err(BundleError::Checksum {
                    path: member_path,
                    expected: member.sha256.clone(),
                    found,
                });
            }
        }
        Ok(manifest)
    }

    /// Writes `dir/bundle.json` atomically, after hashing every member already written there.
    pub fn write(mut self, dir: &Path) -> Result<Manifest, BundleError> {
        for member in &mut self.members {
            member.sha256 = sha256_file(&dir.join(&member.file))?;
        }
        self.check()
            .map_err(|problem| BundleError::invalid(&dir.join(MANIFEST), problem))?;
        let path = dir.join(MANIFEST);
        let text =
            serde_json::to_vec_pretty(&self).expect("a manifest of names and numbers serialises");
        evaluation::report::write_atomic(&path, &text).map_err(|source| BundleError::Write {
            path,
            source: Box::new(source),
        })?;
        Ok(self)
    }

    /// The member with `role`, if any.
    pub fn member(&self, role: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.role == role)
    }

    /// Whether the schema is usable: at least one input, unique names, finite ranges with
    /// `min <= max`, outputs named after the bundle and matching its output kind, member file
    /// names without directories.
    pub fn check(&self) -> Result<(), String> {
        if !is_identifier(&self.name) {
            return Err(format!(
                "name {:?} is not a lower-case identifier (a-z, 0-9, _)",
                self.name
            ));
        }
        if self.inputs.is_empty() {
            return Err("no input columns".into());
        }
        let mut seen = std::collections::HashSet::new();
        for column in &self.inputs {
            if !seen.insert(column.name.as_str()) {
                return Err(format!("input column {:?} is listed twice", column.name));
            }
            column.check()?;
        }
        let expected = expected_outputs(&self.name, &self.output)?;
        let found: Vec<(&str, OutputType)> = self
            .outputs
            .iter()
            .map(|o| (o.name.as_str(), o.dtype))
            .collect();
        let expected_ref: Vec<(&str, OutputType)> =
            expected.iter().map(|(n, t)| (n.as_str(), *t)).collect();
        if found != expected_ref {
            return Err(format!(
                "output columns {:?} do not match the output kind, which gives {:?}",
                found, expected_ref
            ));
        }
        let mut files = std::collections::HashSet::new();
        for member in &self.members {
            if member.file.is_empty()
                || member.file.contains(['/', '\\'])
                || member.file.starts_with('.')
                || member.file == MANIFEST
                || !files.insert(member.file.as_str())
            {
                return Err(format!(
                    "member file name {:?} is not a plain, unique file name",
                    member.file
                ));
            }
        }
        Ok(())
    }
}

/// The output columns (name, type) an output kind gives under a bundle name.
pub fn expected_outputs(
    name: &str,
    output: &OutputKind,
) -> Result<Vec<(String, OutputType)>, String> {
    match output {
        OutputKind::Value { min, max, coverage } => {
            if !(min.is_finite() && max.is_finite() && min < max) {
                return Err(format!("output range {min}..{max}"));
            }
            let mut columns = vec![(name.to_string(), OutputType::Float64)];
            if let Some(c) = coverage {
                if !(*c > 0.0 && *c < 1.0) {
                    return Err(format!("interval coverage {c} is not between 0 and 1"));
                }
                columns.push((format!("{name}_low"), OutputType::Float64));
                columns.push((format!("{name}_high"), OutputType::Float64));
            }
            Ok(columns)
        }
        OutputKind::Classes { names, calibration } => {
            if names.len() < 2 {
                return Err(format!("{} classes (at least two)", names.len()));
            }
            let mut columns = vec![(name.to_string(), OutputType::Utf8)];
            let mut slugs = std::collections::HashSet::new();
            for class in names {
                let slug = class_slug(class);
                if slug.is_empty() || !slugs.insert(slug.clone()) {
                    return Err(format!("class {class:?} has no distinct column name"));
                }
                columns.push((format!("{name}_p_{slug}"), OutputType::Float64));
            }
            if let Some(calibration) = calibration {
                calibration.check()?;
                if let Some(class) = names.iter().find(|c| c.contains(SET_SEPARATOR)) {
                    return Err(format!(
                        "class {class:?} holds {SET_SEPARATOR:?}, which separates a set's classes"
                    ));
                }
                columns.push((format!("{name}_set"), OutputType::Utf8));
            }
            Ok(columns)
        }
    }
}

/// A class name as part of a column name: lower case, runs of other characters as `_`
/// (`hip-hop` → `hip_hop`, `r&b` → `r_b`).
pub fn class_slug(class: &str) -> String {
    let mut slug = String::new();
    for c in class.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('_') {
            slug.push('_');
        }
    }
    slug.trim_matches('_').to_string()
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// SHA-256 of a file, read in blocks, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String, BundleError> {
    let read = |source| BundleError::Read {
        path: PathBuf::from(path),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(read)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buffer).map_err(read)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

/// Today's UTC date, `YYYY-MM-DD`.
pub fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_become_distinct_column_names() {
        assert_eq!(class_slug("hip-hop"), "hip_hop");
        assert_eq!(class_slug("r&b"), "r_b");
        assert_eq!(class_slug("Happy"), "happy");
        assert_eq!(class_slug("road-trip"), "road_trip");
        let clash = OutputKind::Classes {
            names: vec!["a b".into(), "a-b".into()],
            calibration: None,
        };
        assert!(expected_outputs("x", &clash).is_err());
    }

    #[test]
    fn a_calibrated_classifier_adds_a_set_column_and_checks_its_numbers() {
        let good = ClassCalibration {
            temperature: 1.4,
            set_coverage: 0.9,
            set_threshold: 0.7,
        };
        let kind = |names: &[&str], calibration| OutputKind::Classes {
            names: names.iter().map(|n| n.to_string()).collect(),
            calibration: Some(calibration),
        };
        let columns = expected_outputs("moods", &kind(&["Happy", "Sad"], good)).unwrap();
        assert_eq!(
            columns.last(),
            Some(&("moods_set".to_string(), OutputType::Utf8))
        );
        assert_eq!(columns.len(), 4);
        for bad in [
            ClassCalibration {
                temperature: 0.0,
                ..good
            },
            ClassCalibration {
                temperature: f64::NAN,
                ..good
            },
            ClassCalibration {
                set_coverage: 1.0,
                ..good
            },
            ClassCalibration {
                set_threshold: 1.5,
                ..good
            },
            ClassCalibration {
                set_threshold: -0.1,
                ..good
            },
        ] {
            assert!(
                expected_outputs("moods", &kind(&["Happy", "Sad"], bad)).is_err(),
                "{bad:?}"
            );
        }
        let error = expected_outputs("moods", &kind(&["Happy|Sad", "Calm"], good)).unwrap_err();
        assert!(error.contains("Happy|Sad"), "{error}");
    }

    #[test]
    fn today_is_a_date() {
        let date = today();
        assert_eq!(date.len(), 10, "{date}");
        assert!(date.starts_with("20"), "{date}");
    }
}
