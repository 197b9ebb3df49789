//! The input of the charts → dataset pipeline: the distinct track ids of the weekly charts.

use dataset::load::charts::{self, ChartFilter};
use dataset::load::valence;
use dataset::{DataDir, Strictness};

use crate::error::ClientError;

/// The distinct track ids of the weekly charts that pass `filter`, in order of first appearance
/// in the archive. With `exclude_eval`, the ids of `valence/spotify_ids.txt` are left out, as
/// the shared training files leave them out.
pub fn chart_track_ids(
    dir: &DataDir,
    filter: &ChartFilter,
    exclude_eval: bool,
) -> Result<Vec<String>, ClientError> {
    let mut tracks = charts::load(dir, filter, Strictness::Strict)?.rows;
    if exclude_eval {
        tracks = dataset::exclude_ids(tracks, &valence::eval_ids(dir)?);
    }
    Ok(tracks.into_iter().map(|track| track.id).collect())
}
