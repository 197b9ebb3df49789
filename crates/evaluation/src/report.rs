//! Writing reports: atomic files, `metrics.json`, Markdown, and prediction CSVs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::error::EvalError;

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`, so
/// readers see the old file or the new one, never a half-written one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), EvalError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| EvalError::write(path, e))?;
    }
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".partial");
    let temporary = std::path::PathBuf::from(temporary);
    let mut file =
        std::fs::File::create(&temporary).map_err(|e| EvalError::write(&temporary, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| EvalError::write(&temporary, e))?;
    std::fs::rename(&temporary, path).map_err(|e| EvalError::write(path, e))
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), EvalError> {
    let text = serde_json::to_string_pretty(value).map_err(|source| EvalError::Encode {
        path: path.to_path_buf(),
        source,
    })?;
    write_atomic(path, text.as_bytes())
}

/// Writes `id,<column>` rows, atomically.
pub fn write_predictions(
    path: &Path,
    column: &str,
    ids: &[String],
    values: &[f64],
) -> Result<(), EvalError> {
    if ids.len() != values.len() {
        return Err(EvalError::Invalid(format!(
            "{} ids but {} predictions",
            ids.len(),
            values.len()
        )));
    }
    let mut text = format!("id,{column}\n");
    for (id, value) in ids.iter().zip(values) {
        writeln!(text, "{id},{value:.6}").expect("writing to a String cannot fail");
    }
    write_atomic(path, text.as_bytes())
}

/// Writes `id,COLUMN,COLUMN_low,COLUMN_high` (six decimals): each id's prediction and interval.
pub fn write_predictions_with_intervals(
    path: &Path,
    column: &str,
    ids: &[String],
    values: &[f64],
    intervals: &[(f64, f64)],
) -> Result<(), EvalError> {
    if ids.len() != values.len() || ids.len() != intervals.len() {
        return Err(EvalError::Invalid(format!(
            "{} ids, {} predictions and {} intervals",
            ids.len(),
            values.len(),
            intervals.len()
        )));
    }
    let mut text = format!("id,{column},{column}_low,{column}_high\n");
    for ((id, value), (low, high)) in ids.iter().zip(values).zip(intervals) {
        writeln!(text, "{id},{value:.6},{low:.6},{high:.6}")
            .expect("writing to a String cannot fail");
    }
    write_atomic(path, text.as_bytes())
}

/// A Markdown document built piece by piece.
#[derive(Clone, Debug, Default)]
pub struct Markdown {
    text: String,
}

impl Markdown {
    /// An empty document.
    pub fn new() -> Markdown {
        Markdown::default()
    }

    /// A heading of `level` (1 = `#`).
    pub fn heading(&mut self, level: usize, title: &str) -> &mut Self {
        let _ = writeln!(self.text, "{} {title}\n", "#".repeat(level.clamp(1, 6)));
        self
    }

    /// A paragraph.
    pub fn paragraph(&mut self, text: &str) -> &mut Self {
        let _ = writeln!(self.text, "{text}\n");
        self
    }

    /// A bulleted list.
    pub fn bullets<S: AsRef<str>>(&mut self, items: &[S]) -> &mut Self {
        for item in items {
            let _ = writeln!(self.text, "- {}", item.as_ref());
        }
        self.text.push('\n');
        self
    }

    /// A table with a header row.
    pub fn table<S: AsRef<str>>(&mut self, header: &[&str], rows: &[Vec<S>]) -> &mut Self {
        let _ = writeln!(self.text, "| {} |", header.join(" | "));
        let _ = writeln!(self.text, "|{}", "---|".repeat(header.len()));
        for row in rows {
            let cells: Vec<&str> = row.iter().map(|c| c.as_ref()).collect();
            let _ = writeln!(self.text, "| {} |", cells.join(" | "));
        }
        self.text.push('\n');
        self
    }

    /// An image, by path relative to the document.
    pub fn image(&mut self, alt: &str, relative_path: &str) -> &mut Self {
        let _ = writeln!(self.text, "![{alt}]({relative_path})\n");
        self
    }

    /// The document so far.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Writes the document, atomically.
    pub fn write(&self, path: &Path) -> Result<(), EvalError> {
        write_atomic(path, self.text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/metrics.json");
        write_json(&path, &serde_json::json!({"a": 1})).unwrap();
        write_json(&path, &serde_json::json!({"a": 2})).unwrap();
        let back: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(back["a"], 2);
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
    }

    #[test]
    fn predictions_need_one_value_per_id() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.csv");
        assert!(write_predictions(&path, "valence", &["a".into()], &[0.1, 0.2]).is_err());
        write_predictions(&path, "valence", &["a".into()], &[0.25]).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "id,valence\na,0.250000\n"
        );
    }
}
