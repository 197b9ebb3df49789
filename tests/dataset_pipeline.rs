//! The dataset crate's pieces fit together through the facade package: load, de-duplicate,
//! encode labels, split stratified, build one-hot matrices.

use dataset::load::genres::{self, GenreSet};
use dataset::split::stratified_train_validation_test;
use dataset::{FeatureSet, LabelEncoder, Strictness};
use ndarray::Axis;

mod common;
use common::data_dir;

#[test]
fn genre_protocol_yields_disjoint_stratified_matrices() {
    let Some(dir) = data_dir() else { return };
    let set = GenreSet::Three;
    let tracks = genres::load_published(&dir, set, Strictness::Strict)
        .expect("genres load")
        .rows;
    let encoder = LabelEncoder::with_classes(set.label_names()).expect("classes");
    let y = encoder
        .encode(&dataset::matrix::genres(&tracks).expect("labels"))
        .expect("codes");
    let split = stratified_train_validation_test(&y, 0.2, 0.2, 7).expect("split");
    let features = FeatureSet::of(
        "genre",
        &[
            dataset::AudioFeature::Danceability,
            dataset::AudioFeature::Energy,
            dataset::AudioFeature::Key,
            dataset::AudioFeature::Mode,
            dataset::AudioFeature::Tempo,
        ],
    )
    .one_hot(&[dataset::AudioFeature::Key, dataset::AudioFeature::Mode]);
    let x = features.matrix(&tracks).expect("matrix");
    assert_eq!(x.ncols(), 3 + 13 + 2);
    let train = x.select(Axis(0), &split.train);
    let test = x.select(Axis(0), &split.test);
    assert_eq!(
        train.nrows() + test.nrows() + split.validation.len(),
        tracks.len()
    );
    for class in 0..encoder.classes().len() {
        let share = |rows: &[usize]| {
            rows.iter().filter(|&&i| y[i] == class).count() as f64 / rows.len() as f64
        };
        assert!((share(&split.train) - share(&split.test)).abs() < 0.02);
    }
}
