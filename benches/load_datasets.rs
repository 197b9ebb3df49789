//! Loading and validating every shared data set, strictly, with rows per second.
//!
//! Needs the shared data (`../shared/data` or `SPOTIFY_ML_DATA`); prints a message and measures
//! nothing without it.

use std::time::Duration;

use criterion::{criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use dataset::load::charts::{self, ChartFilter};
use dataset::load::genres::{self, GenreSet};
use dataset::load::{hits, moods, popularity, valence};
use dataset::{DataDir, DatasetError, Strictness};

const STRICT: Strictness = Strictness::Strict;

/// A loader that returns the number of rows it read.
type Loader = Box<dyn Fn(&DataDir) -> Result<usize, DatasetError>>;

/// Every data set: its name and its loader.
fn data_sets() -> Vec<(&'static str, Loader)> {
    vec![
        (
            "valence_train",
            Box::new(|dir| Ok(valence::chart_tracks(dir, STRICT)?.len())),
        ),
        (
            "valence_eval",
            Box::new(|dir| Ok(valence::eval_tracks(dir, STRICT)?.len())),
        ),
        ("moods", Box::new(|dir| Ok(moods::load(dir, STRICT)?.len()))),
        (
            "genres_all4",
            Box::new(|dir| {
                let mut rows = 0;
                for set in GenreSet::ALL {
                    rows += genres::load(dir, set, STRICT)?.len();
                }
                Ok(rows)
            }),
        ),
        (
            "popularity",
            Box::new(|dir| Ok(popularity::load(dir, STRICT)?.len())),
        ),
        ("hits", Box::new(|dir| Ok(hits::load(dir, STRICT)?.len()))),
        (
            "charts_zip",
            Box::new(|dir| {
                let weeks = charts::load_weeks(dir, &ChartFilter::all(), STRICT)?;
                Ok(weeks.rows.iter().map(|w| w.entries.len()).sum())
            }),
        ),
    ]
}

fn configure(group: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    // Few samples and flat sampling keep the whole bench under a minute; the slowest set
    // (charts.zip) takes about 0.6 s per load.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
}

fn load_datasets(c: &mut Criterion) {
    let dir = match DataDir::resolve(None) {
        Ok(dir) => dir,
        Err(error) => {
            eprintln!("load_datasets: nothing measured: {error}");
            return;
        }
    };
    let sets = data_sets();
    let mut group = c.benchmark_group("load");
    configure(&mut group);
    let mut total_rows = 0;
    for (name, load) in &sets {
        let rows = match load(&dir) {
            Ok(rows) => rows,
            Err(error) => {
                eprintln!("load_datasets: {name} does not load: {error}");
                continue;
            }
        };
        total_rows += rows;
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(*name, |b| b.iter(|| load(&dir)));
    }
    group.throughput(Throughput::Elements(total_rows as u64));
    group.bench_function("all", |b| {
        b.iter(|| sets.iter().map(|(_, load)| load(&dir)).collect::<Vec<_>>())
    });
    group.finish();
}

// In a private module, since the public function criterion's macro generates cannot carry docs.
mod group {
    use criterion::Criterion;
    criterion::criterion_group! {
        name = benches;
        // Plots take longer to draw than the loads take to measure.
        config = Criterion::default().without_plots();
        targets = super::load_datasets
    }
}
criterion_main!(group::benches);
