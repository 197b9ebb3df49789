//! Fetches the audio features and analysis of a list of track ids into the cache, resuming what
//! an earlier run left: `fetch_features --ids FILE --cache FILE [--source spotify|reccobeats]
//! [--api-base URL] [--auth-base URL] [--reccobeats-base URL] [--no-analysis]
//! [--timeout-ms N] [--retry-base-ms N]`. Spotify credentials come from `RSPOTIFY_CLIENT_ID` and
//! `RSPOTIFY_CLIENT_SECRET`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use spotify_client::fetch::{fetch, FetchOptions};
use spotify_client::{
    Cache, ClientError, FeatureSource, ReccoBeatsConfig, ReccoBeatsSource, RetryPolicy,
    SpotifyClient, SpotifyConfig,
};

const USAGE: &str = "usage: fetch_features --ids FILE --cache FILE [--source spotify|reccobeats] \
    [--api-base URL] [--auth-base URL] [--reccobeats-base URL] [--no-analysis] [--timeout-ms N] \
    [--retry-base-ms N]";

struct Args {
    ids: PathBuf,
    cache: PathBuf,
    source: String,
    api_base: Option<String>,
    auth_base: Option<String>,
    reccobeats_base: Option<String>,
    analysis: bool,
    timeout: Duration,
    retry_base: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let (mut ids, mut cache) = (None, None);
    let mut parsed = Args {
        ids: PathBuf::new(),
        cache: PathBuf::new(),
        source: "spotify".into(),
        api_base: None,
        auth_base: None,
        reccobeats_base: None,
        analysis: true,
        timeout: Duration::from_secs(10),
        retry_base: Duration::from_millis(500),
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let millis = |text: String| {
            text.parse::<u64>()
                .map(Duration::from_millis)
                .map_err(|_| format!("{flag}: {text:?} is not a number of milliseconds"))
        };
        match flag.as_str() {
            "--ids" => ids = Some(PathBuf::from(value()?)),
            "--cache" => cache = Some(PathBuf::from(value()?)),
            "--source" => parsed.source = value()?,
            "--api-base" => parsed.api_base = Some(value()?),
            "--auth-base" => parsed.auth_base = Some(value()?),
            "--reccobeats-base" => parsed.reccobeats_base = Some(value()?),
            "--no-analysis" => parsed.analysis = false,
            "--timeout-ms" => parsed.timeout = millis(value()?)?,
            "--retry-base-ms" => parsed.retry_base = millis(value()?)?,
            other => return Err(format!("unknown flag {other}\n{USAGE}")),
        }
    }
    parsed.ids = ids.ok_or(USAGE)?;
    parsed.cache = cache.ok_or(USAGE)?;
    Ok(parsed)
}

fn run(args: &Args) -> Result<(), ClientError> {
    let ids = dataset::load::valence::read_id_list(&args.ids)?;
    let retry = RetryPolicy::new().base_delay(args.retry_base);
    let mut source: Box<dyn FeatureSource> = match args.source.as_str() {
        "spotify" => {
            let mut config = SpotifyConfig::new().timeout(args.timeout).retry(retry);
            if let Some(url) = &args.api_base {
                config = config.api_base_url(url);
            }
            if let Some(url) = &args.auth_base {
                config = config.auth_base_url(url);
            }
            Box::new(SpotifyClient::new(config)?)
        }
        "reccobeats" => {
            let mut config = ReccoBeatsConfig::new().timeout(args.timeout).retry(retry);
            if let Some(url) = &args.reccobeats_base {
                config = config.base_url(url);
            }
            Box::new(ReccoBeatsSource::new(config)?)
        }
        other => {
            return Err(ClientError::Config(format!(
                "--source {other}: expected spotify or reccobeats"
            )))
        }
    };
    let mut cache = Cache::open(&args.cache)?;
    let options = FetchOptions::new().analysis(args.analysis).progress(true);
    let fetched = fetch(&mut source, Some(&mut cache), &ids, &options)?;
    println!("{}", fetched.summary);
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            let mut cause = std::error::Error::source(&error);
            while let Some(inner) = cause {
                eprintln!("  caused by: {inner}");
                cause = inner.source();
            }
            ExitCode::FAILURE
        }
    }
}
