use classic_models::{BoostingParams, Loss};
use dataset::{DataDir, FeatureSet};
use evaluation::{cross_validate, Fold};
use rand::seq::SliceRandom;
use rand::SeedableRng;
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
    let args: Vec<String> = std::env::args().collect();
    let loss = match args.get(1).map(String::as_str) {
        Some("l1") => Loss::Absolute,
        Some("huber") => Loss::Huber(0.1),
        _ => Loss::Squared,
    };
    for fs in [FeatureSet::audio(), FeatureSet::audio_with_analysis()] {
        let mut x = fs.matrix(&data.train).unwrap();
        if fs.len() > 12 && args.get(2).is_some() {
            let rot = ndarray::Array2::from_shape_fn((n, 12), |(r, i)| {
                let t = &data.train[r];
                let key = t.features.key.max(0) as usize;
                t.analysis.as_ref().unwrap().pitch[(key + i) % 12]
            });
            x = ndarray::concatenate![ndarray::Axis(1), x, rot];
        }
        let p = BoostingParams::new()
            .n_trees(2000)
            .learning_rate(0.02)
            .max_leaves(31)
            .row_fraction(0.8)
            .feature_fraction(0.7)
            .loss(loss);
        let out = cross_validate(&p, &x, &y, &folds).unwrap();
        println!(
            "{} {:?} mae {:.4} sd {:.4} secs/fit {:.2}",
            fs.name,
            loss,
            out.scores.mae,
            out.scores.mae_sd,
            out.seconds / 5.0 * 2.0
        );
    }
}
