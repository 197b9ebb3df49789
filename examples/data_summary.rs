//! Prints, for every shared data set, its rows, unique ids and the range of each audio feature.
//!
//! `cargo run --example data_summary -- [--data DIR]`

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use dataset::load::charts::{self, ChartFilter};
use dataset::load::genres::{self, GenreSet};
use dataset::load::{hits, moods, popularity, valence};
use dataset::{summary, DataDir, Strictness, Track};

/// Summarise the shared data sets.
#[derive(Parser)]
struct Args {
    /// The data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
}

fn print(name: &str, tracks: &[Track]) {
    println!("== {name}: {}", summary::describe(tracks));
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = DataDir::resolve(args.data.as_deref())?;
    let strict = Strictness::Strict;
    print(
        valence::CHART_TRACKS,
        &valence::chart_tracks(&dir, strict)?.rows,
    );
    print(
        valence::EVAL_FEATURES,
        &valence::eval_tracks(&dir, strict)?.rows,
    );
    print(moods::FILE, &moods::load(&dir, strict)?.rows);
    for set in GenreSet::ALL {
        print(set.file(), &genres::load(&dir, set, strict)?.rows);
    }
    let songs = popularity::load(&dir, strict)?;
    let joined = songs
        .rows
        .iter()
        .filter(|s| s.artist_popularity.is_some())
        .count();
    let tracks: Vec<Track> = songs.rows.into_iter().map(|s| s.track).collect();
    print(popularity::SONGS, &tracks);
    println!("   rows with artist popularity: {joined}");
    let hits: Vec<Track> = hits::load(&dir, strict)?
        .rows
        .into_iter()
        .map(|h| h.track)
        .collect();
    print("hits/dataset-of-*.csv", &hits);
    let charted = charts::load(&dir, &ChartFilter::all(), strict)
        .with_context(|| format!("reading {}", charts::FILE))?;
    println!(
        "== {}: {} weekly files, {} unique tracks",
        charts::FILE,
        charts::weekly_charts(&dir)?.len(),
        dataset::prepare::unique_ids(&charted.rows)
    );
    Ok(())
}
