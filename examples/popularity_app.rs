//! The song-popularity web app: serves the popularity classifier the popularity experiment
//! saved, on `http://127.0.0.1:8080` by default.
//!
//! ```sh
//! cargo run --release --example popularity_app -- --model out/popularity/model --data ../shared/data
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use spotify_ml::app::{App, TrackLookup};
use spotify_ml::dataset::DataDir;
use spotify_ml::popularity::QuartileModel;

/// Serve the popularity web app.
#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Directory of the saved popularity classifier.
    #[arg(long, default_value = "out/popularity/model")]
    model: PathBuf,
    /// Data directory whose popularity data fills the form from a track id (default: the
    /// usual data directory, when it exists).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Do not offer the track-id lookup.
    #[arg(long)]
    no_tracks: bool,
}

/// The command that trains and saves a model into `dir`.
fn train_command(dir: &std::path::Path) -> String {
    format!(
        "cargo run --release --example popularity_classifier -- --model-out {}",
        dir.display()
    )
}

fn load_model(dir: &std::path::Path) -> anyhow::Result<Arc<dyn QuartileModel>> {
    anyhow::bail!(
        "no popularity model saved in {}; train one with\n    {}",
        dir.display(),
        train_command(dir)
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let model = load_model(&args.model)?;
    let mut app = App::new(model);
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
