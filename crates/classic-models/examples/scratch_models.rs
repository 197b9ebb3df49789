use classic_models::*;
use dataset::{DataDir, FeatureSet};
use evaluation::{cross_validate, Fold};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use std::time::Instant;
fn main() {
    let dir = DataDir::at("/work/shared/data").unwrap();
    let data = dataset::load::valence::load(&dir).unwrap();
    let y = dataset::valence(&data.train).unwrap();
    let n = y.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(0));
    let folds: Vec<Fold> = (0..5)
        .map(|k| {
            let test: Vec<usize> = idx
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 5 == k)
                .map(|(_, &r)| r)
                .collect();
            let train: Vec<usize> = idx
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 5 != k)
                .map(|(_, &r)| r)
                .collect();
            Fold { train, test }
        })
        .collect();
    let which = std::env::args().nth(1).unwrap();
    let x = FeatureSet::audio_with_analysis()
        .matrix(&data.train)
        .unwrap();
    let t = Instant::now();
    let out = match which.as_str() {
        "svr" => cross_validate(&Scaled::new(SvrParams::default()), &x, &y, &folds),
        "gbdt" => cross_validate(
            &BoostingParams::new()
                .n_trees(2000)
                .learning_rate(0.02)
                .row_fraction(0.8)
                .feature_fraction(0.7),
            &x,
            &y,
            &folds,
        ),
        "rf" => cross_validate(&RandomForestParams::default(), &x, &y, &folds),
        "knn" => cross_validate(&Scaled::new(KnnParams::new().k(15)), &x, &y, &folds),
        "en" => cross_validate(&Scaled::new(ElasticNetParams::new()), &x, &y, &folds),
        "tree" => cross_validate(&DecisionTreeParams::default(), &x, &y, &folds),
        _ => panic!(),
    }
    .unwrap();
    std::fs::write(
        format!("/tmp/exp/oof_{which}.txt"),
        out.oof
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    std::fs::write(
        "/tmp/exp/y.txt",
        y.iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("\n"),
    )
    .unwrap();
    println!(
        "{which} mae {:.4} total secs {:.1}",
        out.scores.mae,
        t.elapsed().as_secs_f64()
    );
}
