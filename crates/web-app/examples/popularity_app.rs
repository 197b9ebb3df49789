//! The song-popularity web app: serves the popularity classifier the popularity experiment
//! saved, on `http://127.0.0.1:8080` by default.
//!
//! ```sh
//! cargo run --release --example popularity_classifier -- --out out/popularity   # trains, once
//! cargo run --release -p web-app --example popularity_app -- --model out/popularity/model --data ../shared/data
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use spotify_ml::bundle::{BundleError, PopularityBundle};
use spotify_ml::dataset::DataDir;
use spotify_ml::popularity::{PopularityPredictor, DEFAULT_MODEL_DIR};
use web_app::{App, TrackLookup};

/// Serve the popularity web app.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory of the saved popularity classifier (default: out/popularity/model under the
    /// current directory, where `popularity_classifier` saves it).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Data directory whose popularity data fills the form from a track id (default: the
    /// usual data directory, when it exists).
    #[arg(long)]
    data: Option<PathBuf>,
    /// libtorch's threads per prediction. One suits a server: requests already run in parallel,
    /// and a one-row prediction spread over more threads waits on them (docs/WEB_APP.md).
    #[arg(long, default_value_t = 1)]
    torch_threads: usize,
    /// Do not offer the track-id lookup.
    #[arg(long)]
    no_tracks: bool,
}

/// The model in `dir`, or in the default directory when none is given; a missing default says
/// that no `--model` was given, where it looked, and how to get a model.
fn load_model(dir: Option<&std::path::Path>) -> anyhow::Result<PopularityPredictor> {
    let path = dir.unwrap_or(DEFAULT_MODEL_DIR.as_ref());
    let model = match PopularityBundle::load(path) {
        Ok(bundle) => bundle.into_predictor(),
        Err(error @ BundleError::Read { .. }) if dir.is_none() && !path.exists() => {
            let here = std::env::current_dir().unwrap_or_default();
            return Err(anyhow::Error::new(error).context(format!(
                "no --model given, and no model in the default {DEFAULT_MODEL_DIR} under {}: \
                 pass --model DIR (the folder popularity_classifier saved), or train one there \
                 with `cargo run --release --example popularity_classifier`",
                here.display()
            )));
        }
        Err(error) => return Err(error.into()),
    };
    eprintln!("serving the popularity model in {}", path.display());
    Ok(model)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    web_app::server_runtime(args.torch_threads)?.block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let model = load_model(args.model.as_deref())?;
    let mut app = App::new(Arc::new(model)).torch_threads(args.torch_threads);
    if !args.no_tracks {
        match DataDir::resolve(args.data.as_deref()) {
            Ok(dir) => {
                let tracks = TrackLookup::from_popularity_data(&dir)
                    .with_context(|| format!("loading the track lookup from {dir:?}"))?;
                eprintln!("track ids are looked up in {dir:?}");
                app = app.tracks(tracks);
            }
            Err(error) if args.data.is_some() => return Err(error.into()),
            Err(error) => eprintln!("no track-id lookup: {error}"),
        }
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    eprintln!("serving on http://{}", listener.local_addr()?);
    app.serve(listener, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
