//! Exhaustive neighbour scans: k-NN prediction and the near-twin lookup of the valence bundles,
//! which scan every chart track for every row. Each against a row-by-row scan (the loop they
//! used until 2026-12-06, kept here as the reference) in the same run, on 13,749 training rows
//! of 36 columns (the chart tracks' audio+analysis width) and 2,000 query rows, all in parallel
//! over the queries as the models run. Synthetic uniform rows: a scan's cost does not depend on
//! the values, only the twins' early exit does, and that on the radius.
//!
//! `cargo bench -p classic-models --bench neighbours`

use criterion::{Criterion, Throughput};
use linfa::traits::{Fit, Predict};
use linfa::DatasetBase;
use ndarray::{Array1, Array2, ArrayView1, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use classic_models::{KnnParams, TwinLookup, Weighting};

const TRAIN: usize = 13_749;
const COLUMNS: usize = 36;
const QUERIES: usize = 2_000;
/// Task 1's chosen k-NN (quick run) and near-twin radius.
const K: usize = 23;
const RADIUS: f64 = 2.5;

fn uniform(rows: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array2::from_shape_fn((rows, COLUMNS), |_| rng.gen_range(-2.0..2.0))
}

/// The row-by-row k-NN prediction of one query (distance-weighted).
fn knn_row_by_row(x: &Array2<f64>, y: &Array1<f64>, query: ArrayView1<'_, f64>) -> f64 {
    let mut nearest: Vec<(f64, usize)> = x
        .axis_iter(Axis(0))
        .enumerate()
        .map(|(i, train)| {
            let d: f64 = train
                .iter()
                .zip(query)
                .map(|(a, b)| (a - b) * (a - b))
                .sum();
            (d, i)
        })
        .collect();
    nearest.select_nth_unstable_by(K - 1, |a, b| a.0.total_cmp(&b.0));
    let (sum, weight) = nearest[..K].iter().fold((0.0, 0.0), |(s, w), &(d, i)| {
        let weight = 1.0 / d.sqrt();
        (s + weight * y[i], w + weight)
    });
    sum / weight
}

/// The row-by-row twin scan of one (standardised) query: the nearest squared distance within
/// `bound`, each row's sum left as soon as it passes the best so far.
fn twin_row_by_row(x: &Array2<f64>, query: ArrayView1<'_, f64>, bound: f64) -> f64 {
    let mut best = bound;
    for row in x.axis_iter(Axis(0)) {
        let mut distance = 0.0;
        for (a, b) in row.iter().zip(query) {
            distance += (a - b) * (a - b);
            if distance > best {
                break;
            }
        }
        if distance < best {
            best = distance;
        }
    }
    best
}

fn main() {
    let mut criterion = Criterion::default().sample_size(10).configure_from_args();
    let x = uniform(TRAIN, 1);
    let y = x.column(0).to_owned();
    let queries = uniform(QUERIES, 2);
    let knn = KnnParams::new()
        .k(K)
        .weighting(Weighting::Distance)
        .fit(&DatasetBase::new(x.clone(), y.clone()))
        .expect("k-NN fits");
    let twins = TwinLookup::fit(x.view(), y.view()).expect("lookup fits");
    // The lookup standardises; the reference scans the same standardised rows.
    let mean = x.mean_axis(Axis(0)).expect("rows");
    let sd = x.std_axis(Axis(0), 0.0);
    let standard = (&x - &mean) / &sd;
    let standard_queries = (&queries - &mean) / &sd;
    let bound = RADIUS * RADIUS;

    let mut group = criterion.benchmark_group("neighbours");
    group.throughput(Throughput::Elements(QUERIES as u64));
    group.bench_function("knn_blocked", |b| b.iter(|| knn.predict(&queries)));
    group.bench_function("knn_row_by_row", |b| {
        b.iter(|| {
            queries
                .axis_iter(Axis(0))
                .into_par_iter()
                .map(|q| knn_row_by_row(&x, &y, q))
                .sum::<f64>()
        })
    });
    group.bench_function("twins_blocked", |b| {
        b.iter(|| twins.nearest_within(queries.view(), RADIUS).expect("scans"))
    });
    group.bench_function("twins_row_by_row", |b| {
        b.iter(|| {
            standard_queries
                .axis_iter(Axis(0))
                .into_par_iter()
                .map(|q| twin_row_by_row(&standard, q, bound))
                .sum::<f64>()
        })
    });
    group.finish();
    criterion.final_summary();
}
