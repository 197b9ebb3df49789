//! One catalogue row from its seed and index: which kind it is, what it is resampled from, its
//! noise and its defect.

use dataset::validate::{feature_range, Range, CHORUS_HIT, PITCH, TIMBRE};
use dataset::{AudioFeature, ANALYSIS_DIM};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::sources::{Sources, ANALYSIS, FEATURES};

/// Length of a Spotify track id.
pub const ID_LENGTH: usize = 22;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether a row is whole, lacks its analysis means, or has a defective audio feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Every value present and inside its range.
    Good,
    /// Like a good row, with `pitch_*` and `timbre_*` all null.
    NoAnalysis,
    /// One audio feature null, NaN or outside its range.
    Bad,
}

/// One generated row, before it goes into a batch.
#[derive(Clone, Debug)]
pub(crate) struct Row {
    pub id: [u8; ID_LENGTH],
    pub kind: Kind,
    pub features: [Option<f64>; FEATURES],
    pub analysis: Option<[f64; ANALYSIS]>,
    pub chorus_hit: f64,
    pub sections: f64,
    /// Index into [`Sources::genres`].
    pub genre: usize,
    pub artist_popularity: f64,
}

/// The random stream of one row: ChaCha8 keyed by the seed, on the stream numbered by the row.
/// Rows are thereby independent of each other and of how they are batched.
fn row_rng(template: &ChaCha8Rng, row: u64) -> ChaCha8Rng {
    let mut rng = template.clone();
    rng.set_stream(row);
    rng
}

fn draw_id(rng: &mut ChaCha8Rng) -> [u8; ID_LENGTH] {
    let mut id = [0u8; ID_LENGTH];
    for byte in &mut id {
        *byte = BASE62[rng.gen_range(0..BASE62.len())];
    }
    id
}

/// The id of row `row` of the catalogue made with `seed`: 22 base-62 characters, like a Spotify
/// track id, drawn from the row's own random stream (so ids repeat across rows only by chance,
/// one in 62^22).
pub fn track_id(seed: u64, row: u64) -> String {
    let mut rng = row_rng(&ChaCha8Rng::seed_from_u64(seed), row);
    draw_id(&mut rng)
        .iter()
        .map(|&byte| char::from(byte))
        .collect()
}

/// How much noise a value gets: the half-width of a triangular distribution around it.
#[derive(Clone, Copy)]
enum Noise {
    /// Categorical or counted values keep their value.
    None,
    /// Plus or minus up to this much.
    Absolute(f64),
    /// Plus or minus up to this fraction of the value, then rounded to a whole number.
    RelativeWhole(f64),
}

fn feature_noise(feature: AudioFeature) -> Noise {
    match feature {
        AudioFeature::Key | AudioFeature::Mode | AudioFeature::TimeSignature => Noise::None,
        AudioFeature::Loudness => Noise::Absolute(0.5),
        AudioFeature::Tempo => Noise::Absolute(1.0),
        AudioFeature::DurationMs => Noise::RelativeWhole(0.01),
        AudioFeature::Danceability
        | AudioFeature::Energy
        | AudioFeature::Speechiness
        | AudioFeature::Acousticness
        | AudioFeature::Instrumentalness
        | AudioFeature::Liveness
        | AudioFeature::Valence => Noise::Absolute(0.02),
    }
}

/// Half-width of the noise on a pitch-class mean (0..1) and on a timbre mean (tens).
const PITCH_NOISE: f64 = 0.01;
const TIMBRE_NOISE: f64 = 0.5;
/// Half-width of the noise on the chorus start, in seconds.
const CHORUS_NOISE: f64 = 0.5;

/// `value` moved by triangular noise and clamped into `range`. Both uniforms are always drawn so
/// that every row takes the same number of draws.
fn noisy(rng: &mut ChaCha8Rng, value: f64, noise: Noise, range: Range) -> f64 {
    let triangular = rng.gen::<f64>() - rng.gen::<f64>();
    let moved = match noise {
        Noise::None => value,
        Noise::Absolute(width) => value + width * triangular,
        Noise::RelativeWhole(fraction) => (value * (1.0 + fraction * triangular)).round(),
    };
    moved.clamp(range.min, range.max)
}

/// What is wrong with a bad row's defective feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Defect {
    Missing,
    NotANumber,
    OutOfRange,
}

/// Makes rows of one catalogue.
#[derive(Clone, Debug)]
pub(crate) struct RowMaker<'a> {
    template: ChaCha8Rng,
    sources: &'a Sources,
    bad_share: f64,
    no_analysis_share: f64,
}

impl<'a> RowMaker<'a> {
    pub fn new(seed: u64, sources: &'a Sources, bad_share: f64, no_analysis_share: f64) -> Self {
        RowMaker {
            template: ChaCha8Rng::seed_from_u64(seed),
            sources,
            bad_share,
            no_analysis_share,
        }
    }

    /// The sources rows are drawn from.
    pub fn sources(&self) -> &'a Sources {
        self.sources
    }

    /// Row number `index`. Every row draws the same values in the same order whatever its kind,
    /// so the shares decide only which rows are bad or lack analysis, not the values of others.
    pub fn row(&self, index: u64) -> Row {
        let sources = self.sources;
        let mut rng = row_rng(&self.template, index);
        let id = draw_id(&mut rng);
        let kind_draw = rng.gen::<f64>();
        let kind = if kind_draw < self.bad_share {
            Kind::Bad
        } else if kind_draw < self.bad_share + self.no_analysis_share {
            Kind::NoAnalysis
        } else {
            Kind::Good
        };
        let base = &sources.base[rng.gen_range(0..sources.base.len())];
        let analysis_donor = rng.gen_range(0..sources.analyses.len());
        let structure_donor = rng.gen_range(0..sources.structures.len());
        let artist = sources.artists[rng.gen_range(0..sources.artists.len())];

        let mut features = [None; FEATURES];
        for ((slot, &value), feature) in features
            .iter_mut()
            .zip(&base.features)
            .zip(AudioFeature::ALL)
        {
            let range = feature_range(feature);
            *slot = Some(noisy(&mut rng, value, feature_noise(feature), range));
        }

        let source_analysis = &sources.analyses[base.analysis.unwrap_or(analysis_donor)];
        let mut analysis = [0.0; ANALYSIS];
        for (index, (slot, &value)) in analysis.iter_mut().zip(source_analysis).enumerate() {
            *slot = if index < ANALYSIS_DIM {
                noisy(&mut rng, value, Noise::Absolute(PITCH_NOISE), PITCH)
            } else {
                noisy(&mut rng, value, Noise::Absolute(TIMBRE_NOISE), TIMBRE)
            };
        }

        let structure = sources.structures[base.structure.unwrap_or(structure_donor)];
        let chorus_hit = noisy(
            &mut rng,
            structure.chorus_hit,
            Noise::Absolute(CHORUS_NOISE),
            CHORUS_HIT,
        );

        let defective = rng.gen_range(0..FEATURES);
        let defect = match rng.gen_range(0..3) {
            0 => Defect::Missing,
            1 => Defect::NotANumber,
            _ => Defect::OutOfRange,
        };
        let above = rng.gen::<bool>();
        // At least 1% of the range beyond it, so the value is clearly out.
        let excess = 0.01 + rng.gen::<f64>();
        if kind == Kind::Bad {
            let range = feature_range(AudioFeature::ALL[defective]);
            let width = range.max - range.min;
            features[defective] = match defect {
                Defect::Missing => None,
                Defect::NotANumber => Some(f64::NAN),
                Defect::OutOfRange if above => Some(range.max + width * excess),
                Defect::OutOfRange => Some(range.min - width * excess),
            };
        }

        Row {
            id,
            kind,
            features,
            analysis: (kind != Kind::NoAnalysis).then_some(analysis),
            chorus_hit,
            sections: structure.sections,
            genre: artist.genre,
            artist_popularity: artist.popularity,
        }
    }
}
