//! Encoding categories: one-hot columns for key, mode, time signature and string labels, and
//! class names to `usize` indices.

use std::collections::{BTreeSet, HashMap};

use ndarray::Array2;

use crate::error::DatasetError;
use crate::features::AudioFeature;
use crate::matrix::Column;

/// The values a categorical audio feature can take: key -1..=11, mode 0..=1, time signature
/// 0..=7 (the validation ranges); `None` for continuous features.
pub fn categories(feature: AudioFeature) -> Option<Vec<i32>> {
    match feature {
        AudioFeature::Key => Some((-1..=11).collect()),
        AudioFeature::Mode => Some((0..=1).collect()),
        AudioFeature::TimeSignature => Some((0..=7).collect()),
        _ => None,
    }
}

/// The one-hot columns of a categorical audio feature, named e.g. `key_-1` … `key_11`.
pub fn one_hot_columns(feature: AudioFeature) -> Result<Vec<Column>, DatasetError> {
    categories(feature)
        .map(|values| {
            values
                .into_iter()
                .map(|value| Column::OneHot(feature, value))
                .collect()
        })
        .ok_or_else(|| {
            DatasetError::Invalid(format!(
                "`{feature}` is continuous; only key, mode and time_signature are one-hot encoded"
            ))
        })
}

/// Class names mapped to indices `0..n`, in a fixed order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelEncoder {
    classes: Vec<String>,
    index: HashMap<String, usize>,
}

impl LabelEncoder {
    /// An encoder of exactly these classes, in this order (e.g. a data set's published label
    /// order). A repeated class is an error.
    pub fn with_classes<S: AsRef<str>>(classes: &[S]) -> Result<LabelEncoder, DatasetError> {
        let classes: Vec<String> = classes.iter().map(|c| c.as_ref().to_string()).collect();
        let mut index = HashMap::with_capacity(classes.len());
        for (i, class) in classes.iter().enumerate() {
            if index.insert(class.clone(), i).is_some() {
                return Err(DatasetError::Invalid(format!(
                    "class `{class}` is listed twice"
                )));
            }
        }
        Ok(LabelEncoder { classes, index })
    }

    /// An encoder of the distinct values seen, in sorted order.
    pub fn fit<S: AsRef<str>>(values: &[S]) -> LabelEncoder {
        let classes: BTreeSet<&str> = values.iter().map(AsRef::as_ref).collect();
        let classes: Vec<String> = classes.into_iter().map(str::to_string).collect();
        let index = classes
            .iter()
            .enumerate()
            .map(|(i, class)| (class.clone(), i))
            .collect();
        LabelEncoder { classes, index }
    }

    /// The classes, indexed by their code.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The code of every value; a value outside the classes is an error naming it.
    pub fn encode<S: AsRef<str>>(&self, values: &[S]) -> Result<Vec<usize>, DatasetError> {
        values
            .iter()
            .map(|value| {
                let value = value.as_ref();
                self.index.get(value).copied().ok_or_else(|| {
                    DatasetError::Invalid(format!(
                        "label `{value}` is not one of the classes {:?}",
                        self.classes
                    ))
                })
            })
            .collect()
    }

    /// The class name of a code.
    pub fn decode(&self, code: usize) -> Option<&str> {
        self.classes.get(code).map(String::as_str)
    }
}

/// One-hot encoding of a string category (e.g. `playlist_genre`), with named columns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneHotEncoder {
    prefix: String,
    labels: LabelEncoder,
}

impl OneHotEncoder {
    /// An encoder of exactly these categories, in this order; columns are named
    /// `<prefix>_<category>`.
    pub fn with_categories<S: AsRef<str>>(
        prefix: &str,
        categories: &[S],
    ) -> Result<OneHotEncoder, DatasetError> {
        Ok(OneHotEncoder {
            prefix: prefix.to_string(),
            labels: LabelEncoder::with_classes(categories)?,
        })
    }

    /// An encoder of the distinct values seen, in sorted order.
    pub fn fit<S: AsRef<str>>(prefix: &str, values: &[S]) -> OneHotEncoder {
        OneHotEncoder {
            prefix: prefix.to_string(),
            labels: LabelEncoder::fit(values),
        }
    }

    /// The names of the produced columns, e.g. `playlist_genre_edm`.
    pub fn names(&self) -> Vec<String> {
        self.labels
            .classes()
            .iter()
            .map(|class| format!("{}_{class}", self.prefix))
            .collect()
    }

    /// The `n_values × n_categories` 0/1 matrix; an unknown category is an error.
    pub fn transform<S: AsRef<str>>(&self, values: &[S]) -> Result<Array2<f64>, DatasetError> {
        let codes = self.labels.encode(values)?;
        let mut matrix = Array2::zeros((codes.len(), self.labels.classes().len()));
        for (mut row, code) in matrix.rows_mut().into_iter().zip(codes) {
            if let Some(cell) = row.get_mut(code) {
                *cell = 1.0;
            }
        }
        Ok(matrix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_encoder_keeps_the_given_class_order() {
        let encoder = LabelEncoder::with_classes(&["classical", "rock", "edm"]).expect("classes");
        assert_eq!(
            encoder.encode(&["edm", "classical"]).expect("codes"),
            vec![2, 0]
        );
        assert_eq!(encoder.decode(1), Some("rock"));
        assert!(encoder.encode(&["jazz"]).is_err());
        assert!(LabelEncoder::with_classes(&["a", "a"]).is_err());
    }

    #[test]
    fn fitted_label_encoder_sorts_classes() {
        let encoder = LabelEncoder::fit(&["Sad", "Happy", "Sad", "Calm"]);
        assert_eq!(encoder.classes(), ["Calm", "Happy", "Sad"]);
    }

    #[test]
    fn one_hot_encoder_names_columns_and_sets_one_cell_per_row() {
        let encoder = OneHotEncoder::fit("playlist_genre", &["rock", "edm", "rock"]);
        assert_eq!(
            encoder.names(),
            ["playlist_genre_edm", "playlist_genre_rock"]
        );
        let matrix = encoder.transform(&["rock", "edm"]).expect("matrix");
        assert_eq!(matrix, ndarray::array![[0.0, 1.0], [1.0, 0.0]]);
        assert!(encoder.transform(&["pop"]).is_err());
    }

    #[test]
    fn audio_categories_cover_the_validation_ranges() {
        let key = one_hot_columns(AudioFeature::Key).expect("key is categorical");
        assert_eq!(key.len(), 13);
        assert_eq!(key[0].name(), "key_-1");
        assert_eq!(
            one_hot_columns(AudioFeature::TimeSignature)
                .expect("ts")
                .len(),
            8
        );
        assert!(one_hot_columns(AudioFeature::Tempo).is_err());
    }
}
