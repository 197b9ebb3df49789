//! Runs a list of track ids through a feature source and the cache: features in the source's
//! batches, then the analysis of every track that has features, each answer cached as soon as it
//! arrives. A progress bar shows the work; a summary counts cached, fetched, missing and failed.

use std::collections::HashSet;

use dataset::{AnalysisSummary, AudioFeature, AudioFeatures};
use indicatif::{ProgressBar, ProgressStyle};

use crate::cache::Cache;
use crate::error::ClientError;
use crate::FeatureSource;

/// The fields a fetched features record must have by default, besides those its type requires:
/// valence, the target of the training files. Fields a source does not give (ReccoBeats has no
/// duration or time signature) stay empty. [`FetchOptions::require`] changes the list, e.g. to
/// none for tracks whose valence is held out.
pub const REQUIRED_FEATURES: [AudioFeature; 1] = [AudioFeature::Valence];

/// Checks an answer of `source` for `id` with the dataset's ranges and the `required` fields.
fn check_features(
    source: &str,
    id: &str,
    features: &AudioFeatures,
    required: &[AudioFeature],
) -> Result<(), ClientError> {
    dataset::validate::check_features(features, required).map_err(|error| {
        ClientError::InvalidValue {
            origin: source.to_string(),
            id: id.to_string(),
            what: "features",
            source: error,
        }
    })
}

/// Checks an analysis answer of `source` for `id` with the dataset's ranges.
fn check_analysis(source: &str, id: &str, summary: &AnalysisSummary) -> Result<(), ClientError> {
    dataset::validate::check_analysis(summary).map_err(|error| ClientError::InvalidValue {
        origin: source.to_string(),
        id: id.to_string(),
        what: "analysis",
        source: error,
    })
}

/// What [`fetch`] does besides the features.
#[derive(Clone, Debug)]
pub struct FetchOptions {
    analysis: bool,
    progress: bool,
    required: Vec<AudioFeature>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions::new()
    }
}

impl FetchOptions {
    /// Features and analysis, no progress bar, features required to carry
    /// [`REQUIRED_FEATURES`].
    pub fn new() -> FetchOptions {
        FetchOptions {
            analysis: true,
            progress: false,
            required: REQUIRED_FEATURES.to_vec(),
        }
    }

    /// The optional fields every features record must carry; a record without one is failed
    /// (from the source) or asked again (from the cache). `&[]` takes records whose valence is
    /// held out, such as the evaluation tracks'.
    pub fn require(mut self, required: &[AudioFeature]) -> FetchOptions {
        self.required = required.to_vec();
        self
    }

    /// Whether to fetch the analysis summaries too.
    pub fn analysis(mut self, analysis: bool) -> FetchOptions {
        self.analysis = analysis;
        self
    }

    /// Whether to draw a progress bar on stderr.
    pub fn progress(mut self, progress: bool) -> FetchOptions {
        self.progress = progress;
        self
    }
}

/// How the ids of one kind (features or analysis) were answered. The four counts add up to the
/// ids asked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Counts {
    /// Found in the cache.
    pub cached: usize,
    /// Fetched from the source now.
    pub fetched: usize,
    /// Unknown to the source (now, or as the cache recorded).
    pub missing: usize,
    /// Not answered: the request failed, or the answer broke the dataset's ranges. Each with
    /// the error.
    pub failed: Vec<(String, String)>,
    /// Cache entries found wrong (outside the ranges) and asked from the source again, each with
    /// the error; the id is then counted as the source answered.
    pub rejected: Vec<(String, String)>,
}

impl Counts {
    /// Ids counted.
    pub fn total(&self) -> usize {
        self.cached + self.fetched + self.missing + self.failed.len()
    }
}

/// The summary of a [`fetch`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FetchSummary {
    /// Distinct ids asked.
    pub ids: usize,
    /// Audio features.
    pub features: Counts,
    /// Analysis summaries, asked for every id that has features.
    pub analysis: Counts,
    /// Why analyses were not asked at all, e.g. the source has none.
    pub analysis_skipped: Option<String>,
}

impl std::fmt::Display for FetchSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let line = |counts: &Counts| {
            format!(
                "{} cached, {} fetched, {} missing, {} failed",
                counts.cached,
                counts.fetched,
                counts.missing,
                counts.failed.len()
            )
        };
        let rejected = |counts: &Counts| match counts.rejected.len() {
            0 => String::new(),
            n => format!(" ({n} wrong cache entries asked again)"),
        };
        writeln!(f, "{} distinct ids", self.ids)?;
        writeln!(
            f,
            "features: {}{}",
            line(&self.features),
            rejected(&self.features)
        )?;
        match &self.analysis_skipped {
            Some(reason) => write!(f, "analysis: skipped ({reason})"),
            None => write!(
                f,
                "analysis: {}{}",
                line(&self.analysis),
                rejected(&self.analysis)
            ),
        }
    }
}

/// One fetched track.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchedTrack {
    /// Spotify track id.
    pub id: String,
    /// Its features, when found.
    pub features: Option<AudioFeatures>,
    /// Its analysis summary, when found.
    pub analysis: Option<AnalysisSummary>,
}

/// The tracks fetched, in the order of the distinct ids asked, and the summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Fetched {
    /// One entry per distinct id.
    pub tracks: Vec<FetchedTrack>,
    /// The counts.
    pub summary: FetchSummary,
}

impl Fetched {
    /// How many tracks have features: zero means there is nothing to write.
    pub fn with_features(&self) -> usize {
        self.tracks.iter().filter(|t| t.features.is_some()).count()
    }
}

fn progress_bar(show: bool, length: usize, message: &'static str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(length as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{msg:>9} [{bar:40}] {pos}/{len} ids, {per_sec}, eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(message);
    bar
}

/// Fetches the features (and analysis) of `ids` from `source`, through `cache` when given.
///
/// Ids already cached are not asked again; every answered batch is committed to the cache before
/// the next request, so an interrupted run resumes where it stopped. A request that fails after
/// its retries marks its ids failed and the run goes on; an error that concerns every id
/// ([`ClientError::is_fatal`], such as Spotify's 403 on audio features) ends the run with that
/// error, keeping what was cached.
pub fn fetch<S: FeatureSource + ?Sized>(
    source: &mut S,
    mut cache: Option<&mut Cache>,
    ids: &[String],
    options: &FetchOptions,
) -> Result<Fetched, ClientError> {
    let mut seen = HashSet::with_capacity(ids.len());
    let mut tracks: Vec<FetchedTrack> = ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .map(|id| FetchedTrack {
            id: id.clone(),
            features: None,
            analysis: None,
        })
        .collect();
    let mut summary = FetchSummary {
        ids: tracks.len(),
        ..FetchSummary::default()
    };

    // Features: the cache first, then the source in batches.
    let mut todo = Vec::new();
    for (index, track) in tracks.iter_mut().enumerate() {
        match cached(cache.as_deref(), |cache| cache.features(&track.id)) {
            Err(error @ ClientError::InvalidValue { .. }) => {
                summary
                    .features
                    .rejected
                    .push((track.id.clone(), error.to_string()));
                todo.push(index);
            }
            Err(error) => return Err(error),
            Ok(Some(Some(entry))) => {
                let lacking = entry.value.as_ref().and_then(|features| {
                    check_features("cache", &track.id, features, &options.required).err()
                });
                if let Some(error) = lacking {
                    summary
                        .features
                        .rejected
                        .push((track.id.clone(), error.to_string()));
                    todo.push(index);
                    continue;
                }
                match entry.value {
                    Some(_) => summary.features.cached += 1,
                    None => summary.features.missing += 1,
                }
                track.features = entry.value;
            }
            Ok(_) => todo.push(index),
        }
    }
    let bar = progress_bar(options.progress, todo.len(), "features");
    for batch in todo.chunks(source.batch_size().max(1)) {
        let batch_ids: Vec<String> = batch.iter().map(|&i| tracks[i].id.clone()).collect();
        match source.audio_features(&batch_ids) {
            Ok(mut answers) => {
                // A wrong answer fails its id, and is neither cached nor handed on.
                let mut wrong = vec![false; answers.len()];
                for ((id, answer), wrong) in batch_ids.iter().zip(&mut answers).zip(&mut wrong) {
                    if let Some(Err(error)) = answer.as_ref().map(|features| {
                        check_features(source.name(), id, features, &options.required)
                    }) {
                        summary
                            .features
                            .failed
                            .push((id.clone(), error.to_string()));
                        *answer = None;
                        *wrong = true;
                    }
                }
                if let Some(cache) = cache.as_deref_mut() {
                    let entries: Vec<(&str, Option<&AudioFeatures>)> = batch_ids
                        .iter()
                        .zip(&answers)
                        .zip(&wrong)
                        .filter(|(_, &wrong)| !wrong)
                        .map(|((id, answer), _)| (id.as_str(), answer.as_ref()))
                        .collect();
                    cache.put_features(source.name(), &entries)?;
                }
                for ((&index, answer), wrong) in batch.iter().zip(answers).zip(wrong) {
                    match (&answer, wrong) {
                        (_, true) => {}
                        (Some(_), false) => summary.features.fetched += 1,
                        (None, false) => summary.features.missing += 1,
                    }
                    tracks[index].features = answer;
                }
            }
            Err(error) if error.is_fatal() => {
                bar.abandon();
                return Err(error);
            }
            Err(error) => {
                let message = error.to_string();
                summary
                    .features
                    .failed
                    .extend(batch_ids.into_iter().map(|id| (id, message.clone())));
            }
        }
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();

    if !options.analysis {
        summary.analysis_skipped = Some("not asked".into());
        return Ok(Fetched { tracks, summary });
    }

    // Analysis: every track with features, one at a time (the Web API has no batch endpoint).
    let with_features: Vec<usize> = (0..tracks.len())
        .filter(|&i| tracks[i].features.is_some())
        .collect();
    let mut todo = Vec::new();
    for index in with_features {
        match cached(cache.as_deref(), |cache| cache.analysis(&tracks[index].id)) {
            Err(error @ ClientError::InvalidValue { .. }) => {
                summary
                    .analysis
                    .rejected
                    .push((tracks[index].id.clone(), error.to_string()));
                todo.push(index);
            }
            Err(error) => return Err(error),
            Ok(Some(Some(entry))) => {
                match entry.value {
                    Some(_) => summary.analysis.cached += 1,
                    None => summary.analysis.missing += 1,
                }
                tracks[index].analysis = entry.value;
            }
            Ok(_) => todo.push(index),
        }
    }
    let bar = progress_bar(options.progress, todo.len(), "analysis");
    for &index in &todo {
        let id = tracks[index].id.clone();
        let answer = source.analysis_summary(&id).and_then(|answer| {
            if let Some(summary) = &answer {
                check_analysis(source.name(), &id, summary)?;
            }
            Ok(answer)
        });
        match answer {
            Ok(answer) => {
                if let Some(cache) = cache.as_deref_mut() {
                    cache.put_analysis(source.name(), &[(id.as_str(), answer.as_ref())])?;
                }
                match answer {
                    Some(_) => summary.analysis.fetched += 1,
                    None => summary.analysis.missing += 1,
                }
                tracks[index].analysis = answer;
            }
            Err(error @ ClientError::Unsupported { .. }) => {
                summary.analysis_skipped = Some(error.to_string());
                break;
            }
            Err(error) if error.is_fatal() => {
                bar.abandon();
                return Err(error);
            }
            Err(error) => summary.analysis.failed.push((id, error.to_string())),
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(Fetched { tracks, summary })
}

/// The cache's answer for one id, `None` without a cache.
fn cached<T>(
    cache: Option<&Cache>,
    get: impl FnOnce(&Cache) -> Result<Option<T>, ClientError>,
) -> Result<Option<Option<T>>, ClientError> {
    cache.map(get).transpose()
}
