//! The out-of-fold table: Task 1 writes every model's out-of-fold predictions to `oof.csv`, so
//! that Task 2 can score and blend with them on the same folds.
//!
//! The file is `id,fold,<column>…`, one row per chart track in training order, one column per
//! Task 1 model and feature set, named `<model>@<feature set>` (e.g. `knn@audio+analysis`,
//! `blend@audio`) and sorted by name.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use ndarray::Array1;

use super::{FeatureSetId, PipelineError, Task1Model, UnknownName, ValenceInputs};

/// A column of the out-of-fold table: one Task 1 model on one feature set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OofColumn {
    /// The model.
    pub model: Task1Model,
    /// The feature set it was trained on.
    pub features: FeatureSetId,
}

impl OofColumn {
    /// Every column Task 1 can write.
    pub fn all() -> impl Iterator<Item = OofColumn> {
        FeatureSetId::ALL
            .into_iter()
            .flat_map(|features| Task1Model::all().map(move |model| OofColumn { model, features }))
    }
}

impl fmt::Display for OofColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.model, self.features)
    }
}

impl FromStr for OofColumn {
    type Err = UnknownName;

    fn from_str(name: &str) -> Result<Self, UnknownName> {
        OofColumn::all()
            .find(|column| column.to_string() == name)
            .ok_or_else(|| UnknownName {
                what: "out-of-fold column",
                name: name.into(),
                known: OofColumn::all().map(|column| column.to_string()).collect(),
            })
    }
}

/// Out-of-fold predictions of a run: one row per training track with its fold, and one column
/// per model.
pub struct OofTable {
    /// Track ids, in training order.
    pub ids: Vec<String>,
    /// Fold of each track.
    pub fold: Vec<usize>,
    /// The prediction columns, in the order of the file (sorted by name).
    pub columns: Vec<(OofColumn, Array1<f64>)>,
}

impl OofTable {
    /// An empty table of the inputs' tracks and folds.
    pub fn new(inputs: &ValenceInputs) -> OofTable {
        OofTable {
            ids: inputs.train.iter().map(|t| t.id.clone()).collect(),
            fold: inputs.fold_of_rows(),
            columns: Vec::new(),
        }
    }

    /// Adds a column, keeping the columns sorted by name.
    pub fn insert(&mut self, column: OofColumn, values: Array1<f64>) {
        let name = column.to_string();
        match self
            .columns
            .binary_search_by(|(other, _)| other.to_string().cmp(&name))
        {
            Ok(at) => self.columns[at].1 = values,
            Err(at) => self.columns.insert(at, (column, values)),
        }
    }

    /// The columns of one feature set, in file order.
    pub fn of_set(
        &self,
        features: FeatureSetId,
    ) -> impl Iterator<Item = (Task1Model, &Array1<f64>)> {
        self.columns
            .iter()
            .filter(move |(column, _)| column.features == features)
            .map(|(column, values)| (column.model, values))
    }

    /// Writes `id,fold,<columns…>` atomically.
    pub fn write(&self, path: &Path) -> Result<(), PipelineError> {
        use std::fmt::Write as _;
        let mut text = String::from("id,fold");
        for (column, _) in &self.columns {
            write!(text, ",{column}").expect("writing to a String cannot fail");
        }
        text.push('\n');
        for (row, id) in self.ids.iter().enumerate() {
            write!(text, "{id},{}", self.fold[row]).expect("writing to a String cannot fail");
            for (_, values) in &self.columns {
                write!(text, ",{:?}", values[row]).expect("writing to a String cannot fail");
            }
            text.push('\n');
        }
        evaluation::report::write_atomic(path, text.as_bytes())?;
        Ok(())
    }

    /// Reads a table written by [`OofTable::write`] and checks it matches `inputs` (same tracks
    /// in the same order, same folds). A column that names no known model or feature set is an
    /// error.
    pub fn read(path: &Path, inputs: &ValenceInputs) -> Result<OofTable, PipelineError> {
        let text = std::fs::read_to_string(path).map_err(|source| PipelineError::Read {
            path: path.into(),
            producer: "task1_valence",
            source,
        })?;
        let mut lines = text.lines();
        let columns = parse_header(path, lines.next().unwrap_or(""))?;
        let expected = OofTable::new(inputs);
        let mut values: Vec<Vec<f64>> = vec![Vec::with_capacity(expected.ids.len()); columns.len()];
        let mut rows = 0;
        for (index, line) in lines.enumerate() {
            rows += 1;
            let row = Row {
                path,
                line: index + 2,
                columns: &columns,
            };
            let parsed = row.parse(line, expected.ids.get(index), expected.fold.get(index))?;
            for (column, value) in values.iter_mut().zip(parsed) {
                column.push(value);
            }
        }
        if rows != expected.ids.len() {
            return Err(PipelineError::OofTable {
                path: path.into(),
                line: rows + 2,
                problem: format!("{rows} rows, expected {}", expected.ids.len()),
            });
        }
        Ok(OofTable {
            ids: expected.ids,
            fold: expected.fold,
            columns: columns
                .into_iter()
                .zip(values.into_iter().map(Array1::from))
                .collect(),
        })
    }
}

/// The prediction columns named by a header line `id,fold,<column>…`.
fn parse_header(path: &Path, header: &str) -> Result<Vec<OofColumn>, PipelineError> {
    let cells: Vec<&str> = header.split(',').collect();
    if cells.len() < 2 || cells[0] != "id" || cells[1] != "fold" {
        return Err(PipelineError::OofTable {
            path: path.into(),
            line: 1,
            problem: format!("not an out-of-fold table (header {cells:?})"),
        });
    }
    cells[2..]
        .iter()
        .map(|cell| {
            cell.parse().map_err(|source| PipelineError::OofColumn {
                path: path.into(),
                column: (*cell).into(),
                source,
            })
        })
        .collect()
}

/// Where a data line of the table is, to read it.
struct Row<'a> {
    path: &'a Path,
    line: usize,
    columns: &'a [OofColumn],
}

impl Row<'_> {
    fn error(&self, problem: String) -> PipelineError {
        PipelineError::OofTable {
            path: self.path.into(),
            line: self.line,
            problem,
        }
    }

    /// The values of `text`, checked against the track and fold this run expects on its row.
    fn parse(
        &self,
        text: &str,
        id: Option<&String>,
        fold: Option<&usize>,
    ) -> Result<Vec<f64>, PipelineError> {
        let cells: Vec<&str> = text.split(',').collect();
        if cells.len() != self.columns.len() + 2 {
            return Err(self.error(format!(
                "{} fields, expected {}",
                cells.len(),
                self.columns.len() + 2
            )));
        }
        let read_fold: usize = cells[1]
            .parse()
            .map_err(|_| self.error(format!("bad fold {:?}", cells[1])))?;
        if id.map(String::as_str) != Some(cells[0]) || fold != Some(&read_fold) {
            return Err(self.error(format!(
                "track {} in fold {read_fold} does not match this run's tracks and folds (same data, seed and fold count are needed)",
                cells[0]
            )));
        }
        cells[2..]
            .iter()
            .zip(self.columns)
            .map(|(cell, column)| {
                cell.parse().map_err(|_| {
                    self.error(format!("column `{column}` = {cell:?} is not a number"))
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::valence::twins::tests::track;
    use crate::valence::{Grouping, Method};
    use evaluation::Fold;

    fn inputs() -> ValenceInputs {
        ValenceInputs {
            train: vec![track("a", 0.1, Some(0.1)), track("b", 0.2, Some(0.2))],
            eval: Vec::new(),
            y: Array1::from(vec![0.1, 0.2]),
            folds: vec![
                Fold {
                    train: vec![1],
                    test: vec![0],
                },
                Fold {
                    train: vec![0],
                    test: vec![1],
                },
            ],
            recordings: 2,
            grouping: Grouping::Plain,
        }
    }

    #[test]
    fn a_table_writes_sorted_columns_and_reads_back_the_same_values() {
        let inputs = inputs();
        let mut table = OofTable::new(&inputs);
        let svr = OofColumn {
            model: Task1Model::Method(Method::Svr),
            features: FeatureSetId::Audio,
        };
        let blend = OofColumn {
            model: Task1Model::Blend,
            features: FeatureSetId::AudioAnalysis,
        };
        table.insert(svr, Array1::from(vec![0.1 + 0.2, 1.0 / 3.0]));
        table.insert(blend, Array1::from(vec![0.5, 0.25]));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oof.csv");
        table.write(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text.lines().next(),
            Some("id,fold,blend@audio+analysis,svr@audio")
        );
        let read = OofTable::read(&path, &inputs).unwrap();
        assert_eq!(read.columns, table.columns);
        let audio: Vec<Task1Model> = read.of_set(FeatureSetId::Audio).map(|(m, _)| m).collect();
        assert_eq!(audio, [Task1Model::Method(Method::Svr)]);
    }

    #[test]
    fn an_unknown_column_is_an_error_that_lists_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oof.csv");
        std::fs::write(&path, "id,fold,knn@audio+lyrics\na,0,0.5\nb,1,0.5\n").unwrap();
        let error = OofTable::read(&path, &inputs()).err().unwrap();
        let PipelineError::OofColumn { column, source, .. } = error else {
            panic!("expected an unknown column, got {error}");
        };
        assert_eq!(column, "knn@audio+lyrics");
        assert!(source.known.contains(&"knn@audio+analysis".to_string()));
    }

    #[test]
    fn a_table_from_other_folds_is_refused_at_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oof.csv");
        std::fs::write(&path, "id,fold,knn@audio\na,1,0.5\nb,0,0.5\n").unwrap();
        let error = OofTable::read(&path, &inputs()).err().unwrap();
        assert!(
            error.to_string().contains("oof.csv:2: track a in fold 1"),
            "{error}"
        );
    }
}
