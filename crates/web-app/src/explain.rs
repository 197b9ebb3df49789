//! "What would move it": each audio feature swept across its range, the others held, and the
//! changes that raise the probability of the top quartile (75-100) most.
//!
//! The sweep covers the range real songs use rather than the API's full range where the two
//! differ: loudness -30..0 dB (the API allows -60..5, but a -55 dB master is no advice), tempo
//! 60..200 BPM and duration 2 to 6 minutes. The artist's popularity and the genre are held: they
//! are not properties of the recording.

use spotify_ml::popularity::{QuartileModel, SongInput, QUARTILES};

use crate::error::{predict, ModelError};
use crate::fields::set_field;
use crate::most_likely;

/// Index of the top quartile, 75-100, in [`QUARTILES`].
pub const TOP: usize = 3;

/// One feature swept across its range.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The feature's API name.
    pub field: &'static str,
    /// The song's value.
    pub current: f64,
    /// The value, among those tried, with the highest top-quartile probability.
    pub best: f64,
    /// The top-quartile probability at `best`.
    pub best_probability: f64,
    /// The most likely quartile at `best`.
    pub best_quartile: &'static str,
    /// Every value tried with its top-quartile probability, in increasing value.
    pub curve: Vec<(f64, f64)>,
}

impl Sweep {
    /// How much moving to `best` raises the top-quartile probability over the song's.
    pub fn gain(&self, baseline: f64) -> f64 {
        self.best_probability - baseline
    }
}

/// The song's top-quartile probability and every feature's sweep, largest gain first.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// The song's probability of the top quartile.
    pub baseline: f64,
    /// One sweep per audio feature, sorted by gain, largest first.
    pub sweeps: Vec<Sweep>,
}

/// The values tried for each audio feature.
pub fn sweep_values(field: &str) -> Vec<f64> {
    let linear = |from: f64, to: f64, steps: usize| -> Vec<f64> {
        (0..=steps)
            .map(|i| from + (to - from) * i as f64 / steps as f64)
            .collect()
    };
    match field {
        "key" => (-1..=11).map(f64::from).collect(),
        "mode" => vec![0.0, 1.0],
        "loudness" => linear(-30.0, 0.0, 20),
        "tempo" => linear(60.0, 200.0, 20),
        "duration_ms" => linear(120_000.0, 360_000.0, 20),
        _ => linear(0.0, 1.0, 20),
    }
}

/// Sweeps every audio feature of `song` (all numeric fields but `artist_popularity`).
///
/// Fails when the model cannot score the song or one of its variants.
pub fn explain(model: &dyn QuartileModel, song: &SongInput) -> Result<Explanation, ModelError> {
    let baseline = predict(model, song)?[TOP];
    let mut sweeps = Vec::new();
    for (field, current, _) in song.numeric_fields() {
        if field == "artist_popularity" {
            continue;
        }
        let mut values = sweep_values(field);
        // The song's own value is on the curve, so the chart marks where the song stands.
        if !values.contains(&current) {
            values.push(current);
            values.sort_by(f64::total_cmp);
        }
        let mut variant = song.clone();
        let mut curve = Vec::with_capacity(values.len());
        let (mut best, mut best_probabilities) = (current, [0.0; 4]);
        for value in values {
            set_field(&mut variant, field, value);
            let probabilities = predict(model, &variant)?;
            curve.push((value, probabilities[TOP]));
            // Ties keep the value nearest the song's: the smallest change that does as well.
            let better = probabilities[TOP] > best_probabilities[TOP]
                || (probabilities[TOP] == best_probabilities[TOP]
                    && (value - current).abs() < (best - current).abs());
            if better {
                best = value;
                best_probabilities = probabilities;
            }
        }
        sweeps.push(Sweep {
            field,
            current,
            best,
            best_probability: best_probabilities[TOP],
            best_quartile: QUARTILES[most_likely(&best_probabilities)],
            curve,
        });
    }
    sweeps.sort_by(|a, b| b.gain(baseline).total_cmp(&a.gain(baseline)));
    Ok(Explanation { baseline, sweeps })
}

/// The change in words: "more instrumental", "slower", "in D".
pub fn describe(field: &str, from: f64, to: f64) -> String {
    let up = to > from;
    let pick = |more: &str, less: &str| if up { more } else { less }.to_string();
    match field {
        "danceability" => pick("more danceable", "less danceable"),
        "energy" => pick("more energetic", "calmer"),
        "key" => format!("in {}", crate::fields::display_value("key", to)),
        "loudness" => pick("louder", "quieter"),
        "mode" => pick("in major", "in minor"),
        "speechiness" => pick("more spoken words", "fewer spoken words"),
        "acousticness" => pick("more acoustic", "less acoustic"),
        "instrumentalness" => pick("more instrumental", "more vocal"),
        "liveness" => pick("more live-sounding", "more studio-sounding"),
        "valence" => pick("happier", "sadder"),
        "tempo" => pick("faster", "slower"),
        "duration_ms" => pick("longer", "shorter"),
        _ => format!("{field} {}", if up { "higher" } else { "lower" }),
    }
}
