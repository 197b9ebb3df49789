//! The charts → dataset pipeline: reads `charts/charts.zip`, selects the distinct track ids
//! (optionally by market and years), fetches their audio features and analysis through a feature
//! source and the durable cache, and writes `chart_tracks.csv` and `chart_tracks_analysis.csv`
//! in the shared data's format, with a progress bar and a summary.
//!
//! `cargo run --example build_dataset -- --source local|reccobeats|spotify|cache [--market us]
//! [--from-year 2018 --to-year 2019] [--limit N] [--cache FILE | --no-cache] [--out DIR]`
//!
//! `--source spotify` reads `RSPOTIFY_CLIENT_ID` / `RSPOTIFY_CLIENT_SECRET`; apps created after
//! 2024-11-27 get 403 on audio features, and the error names the other sources.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, ValueEnum};
use dataset::load::charts::ChartFilter;
use dataset::DataDir;
use spotify_client::charts::chart_track_ids;
use spotify_client::fetch::{fetch, FetchOptions, FetchSummary};
use spotify_client::{
    training_csv, Cache, FeatureSource, LocalSource, ReccoBeatsConfig, ReccoBeatsSource,
    SpotifyClient, SpotifyConfig,
};

/// Where features come from.
#[derive(Clone, Copy, Debug, ValueEnum)]
enum Source {
    /// The shared valence training files (`valence/chart_tracks*.csv`), offline.
    Local,
    /// ReccoBeats (keyless; audio features only, no analysis).
    Reccobeats,
    /// The Spotify Web API (client credentials from the environment).
    Spotify,
    /// Only what the cache already holds, offline.
    Cache,
}

/// Build a training data set from the weekly charts.
#[derive(Parser)]
struct Args {
    /// The data directory (default: $SPOTIFY_ML_DATA, else ../shared/data).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The feature source.
    #[arg(long, value_enum, default_value = "local")]
    source: Source,
    /// Only these markets (repeat the flag), e.g. `--market us --market gb`.
    #[arg(long = "market")]
    markets: Vec<String>,
    /// First chart year.
    #[arg(long)]
    from_year: Option<u16>,
    /// Last chart year.
    #[arg(long)]
    to_year: Option<u16>,
    /// Keep the 1,162 evaluation ids of the valence task (left out by default, as in the shared files).
    #[arg(long)]
    keep_eval_ids: bool,
    /// Only the first N ids.
    #[arg(long)]
    limit: Option<usize>,
    /// The cache file.
    #[arg(long, default_value = "out/dataset/cache.sqlite")]
    cache: PathBuf,
    /// Fetch without the cache.
    #[arg(long)]
    no_cache: bool,
    /// Skip the audio analysis.
    #[arg(long)]
    no_analysis: bool,
    /// Where to write the two CSV files.
    #[arg(long, default_value = "out/dataset")]
    out: PathBuf,
    /// Spotify API base URL.
    #[arg(long)]
    spotify_api_base: Option<String>,
    /// Spotify accounts base URL (token endpoint `{base}/api/token`).
    #[arg(long)]
    spotify_auth_base: Option<String>,
    /// ReccoBeats base URL.
    #[arg(long)]
    reccobeats_base: Option<String>,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
}

fn source(args: &Args, dir: &DataDir) -> anyhow::Result<Box<dyn FeatureSource>> {
    let timeout = Duration::from_secs_f64(args.timeout);
    Ok(match args.source {
        Source::Local => Box::new(LocalSource::chart_tracks(dir)?),
        Source::Reccobeats => {
            let mut config = ReccoBeatsConfig::new().timeout(timeout);
            if let Some(url) = &args.reccobeats_base {
                config = config.base_url(url);
            }
            Box::new(ReccoBeatsSource::new(config)?)
        }
        Source::Spotify => {
            let mut config = SpotifyConfig::new().timeout(timeout);
            if let Some(url) = &args.spotify_api_base {
                config = config.api_base_url(url);
            }
            if let Some(url) = &args.spotify_auth_base {
                config = config.auth_base_url(url);
            }
            Box::new(SpotifyClient::new(config)?)
        }
        Source::Cache => Box::new(Cache::open(&args.cache)?),
    })
}

/// Prints the counts, and the first few ids of each kind of trouble with their reasons.
fn report(summary: &FetchSummary) {
    println!("{summary}");
    let lists = [
        ("failed", &summary.features.failed),
        ("wrong cache entry", &summary.features.rejected),
        ("analysis failed", &summary.analysis.failed),
        ("wrong cached analysis", &summary.analysis.rejected),
    ];
    for (what, list) in lists {
        for (id, error) in list.iter().take(5) {
            println!("  {what}: {id}: {error}");
        }
        if list.len() > 5 {
            println!("  … and {} more", list.len() - 5);
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = DataDir::resolve(args.data.as_deref())?;
    let mut filter = ChartFilter::all();
    if !args.markets.is_empty() {
        filter = filter.markets(&args.markets);
    }
    if args.from_year.is_some() || args.to_year.is_some() {
        filter = filter.years(args.from_year.unwrap_or(0)..=args.to_year.unwrap_or(u16::MAX));
    }
    let mut ids = chart_track_ids(&dir, &filter, !args.keep_eval_ids)?;
    if let Some(limit) = args.limit {
        ids.truncate(limit);
    }

    let mut source = source(&args, &dir)?;
    let mut cache = match (args.no_cache, args.source) {
        // The cache source reads the cache itself; it never writes back what it read.
        (true, _) | (false, Source::Cache) => None,
        (false, _) => {
            if let Some(parent) = args.cache.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            Some(Cache::open(&args.cache)?)
        }
    };
    let options = FetchOptions::new()
        .analysis(!args.no_analysis)
        .progress(true);
    let fetched = fetch(&mut source, cache.as_mut(), &ids, &options)?;
    report(&fetched.summary);
    if fetched.with_features() == 0 {
        anyhow::bail!(
            "nothing to write: none of the {} ids has features (counts above); {} is left as it was",
            fetched.summary.ids,
            args.out.display()
        );
    }

    let features = args.out.join("chart_tracks.csv");
    let analysis = args.out.join("chart_tracks_analysis.csv");
    evaluation::report::write_atomic(
        &features,
        training_csv::features_csv(&fetched.tracks).as_bytes(),
    )?;
    println!("wrote {}", features.display());
    let analyses = fetched
        .tracks
        .iter()
        .filter(|track| track.features.is_some() && track.analysis.is_some())
        .count();
    if analyses == 0 {
        // A header without rows is no data set (the loaders refuse one), and an older file
        // would not match the features just written.
        if analysis.exists() {
            std::fs::remove_file(&analysis)
                .with_context(|| format!("removing the stale {}", analysis.display()))?;
        }
        println!("no analyses: {} not written", analysis.display());
    } else {
        evaluation::report::write_atomic(
            &analysis,
            training_csv::analysis_csv(&fetched.tracks).as_bytes(),
        )?;
        println!("wrote {}", analysis.display());
    }
    Ok(())
}
