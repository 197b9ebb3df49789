//! The form's numeric fields: API names, what they mean, units, defaults and input steps.
//!
//! Ranges are not repeated here: they come from [`SongInput::numeric_fields`], the one place the
//! model's input ranges are declared.

use spotify_ml::popularity::SongInput;

/// One numeric input of the form.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FormField {
    /// The field's name in the Web API and in [`SongInput`].
    pub name: &'static str,
    /// What it measures, for the label.
    pub label: &'static str,
    /// The unit shown next to the range, empty for a plain score.
    pub unit: &'static str,
    /// The value the form starts with: about the median song of the popularity data.
    pub default: f64,
    /// The step of the number input.
    pub step: f64,
    /// Whether the API gives the field as a whole number.
    pub whole: bool,
}

const fn field(
    name: &'static str,
    label: &'static str,
    unit: &'static str,
    default: f64,
    step: f64,
    whole: bool,
) -> FormField {
    FormField {
        name,
        label,
        unit,
        default,
        step,
        whole,
    }
}

/// Every numeric input of the form, in the order of [`SongInput::numeric_fields`].
pub const FIELDS: [FormField; 13] = [
    field(
        "danceability",
        "How suitable for dancing",
        "",
        0.67,
        0.001,
        false,
    ),
    field("energy", "Perceived intensity", "", 0.72, 0.001, false),
    field("key", "Pitch class (−1: none)", "", 6.0, 1.0, true),
    field("loudness", "Overall loudness", "dB", -6.2, 0.1, false),
    field("mode", "Major or minor", "", 1.0, 1.0, true),
    field("speechiness", "Spoken words", "", 0.06, 0.001, false),
    field(
        "acousticness",
        "Acoustic, not electric",
        "",
        0.08,
        0.001,
        false,
    ),
    field("instrumentalness", "No vocals", "", 0.0, 0.001, false),
    field("liveness", "An audience present", "", 0.13, 0.001, false),
    field("valence", "Musical positiveness", "", 0.51, 0.001, false),
    field("tempo", "Tempo", "BPM", 122.0, 0.1, false),
    field("duration_ms", "Duration", "ms", 216_000.0, 1.0, true),
    field(
        "artist_popularity",
        "The artist's popularity",
        "",
        50.0,
        1.0,
        false,
    ),
];

/// Pitch-class names of `key` 0..=11.
pub(crate) const PITCHES: [&str; 12] = [
    "C",
    "C♯/D♭",
    "D",
    "D♯/E♭",
    "E",
    "F",
    "F♯/G♭",
    "G",
    "G♯/A♭",
    "A",
    "A♯/B♭",
    "B",
];

/// The form's starting song, with this genre.
pub(crate) fn default_song(genre: &str) -> SongInput {
    let value = |name: &str| {
        FIELDS
            .iter()
            .find(|f| f.name == name)
            .map_or(0.0, |f| f.default)
    };
    SongInput {
        danceability: value("danceability"),
        energy: value("energy"),
        key: value("key"),
        loudness: value("loudness"),
        mode: value("mode"),
        speechiness: value("speechiness"),
        acousticness: value("acousticness"),
        instrumentalness: value("instrumentalness"),
        liveness: value("liveness"),
        valence: value("valence"),
        tempo: value("tempo"),
        duration_ms: value("duration_ms"),
        artist_popularity: value("artist_popularity"),
        genre: genre.to_string(),
    }
}

/// Sets the numeric field `name` of `song`; unknown names are ignored.
pub(crate) fn set_field(song: &mut SongInput, name: &str, value: f64) {
    let slot = match name {
        "danceability" => &mut song.danceability,
        "energy" => &mut song.energy,
        "key" => &mut song.key,
        "loudness" => &mut song.loudness,
        "mode" => &mut song.mode,
        "speechiness" => &mut song.speechiness,
        "acousticness" => &mut song.acousticness,
        "instrumentalness" => &mut song.instrumentalness,
        "liveness" => &mut song.liveness,
        "valence" => &mut song.valence,
        "tempo" => &mut song.tempo,
        "duration_ms" => &mut song.duration_ms,
        "artist_popularity" => &mut song.artist_popularity,
        _ => return,
    };
    *slot = value;
}

/// A value of `name` as people read it: `-6.2 dB`, `3:36`, `D major`-style names for key and
/// mode, two decimals for scores.
pub(crate) fn display_value(name: &str, value: f64) -> String {
    match name {
        "key" if value < 0.0 => "none".to_string(),
        "key" => PITCHES
            .get(value as usize)
            .map_or_else(|| format!("{value}"), |p| p.to_string()),
        "mode" if value == 1.0 => "major".to_string(),
        "mode" => "minor".to_string(),
        "loudness" => format!("{value:.1} dB"),
        "tempo" => format!("{value:.0} BPM"),
        "duration_ms" => {
            let seconds = (value / 1000.0).round() as u64;
            format!("{}:{:02}", seconds / 60, seconds % 60)
        }
        "artist_popularity" => format!("{value:.0}"),
        _ => format!("{value:.2}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_follow_the_song_input_order_and_defaults_are_in_range() {
        let song = default_song("pop");
        let names: Vec<_> = FIELDS.iter().map(|f| f.name).collect();
        let input_names: Vec<_> = song.numeric_fields().iter().map(|f| f.0).collect();
        assert_eq!(names, input_names);
        assert_eq!(song.validate(), Ok(()));
    }

    #[test]
    fn values_read_as_people_write_them() {
        assert_eq!(display_value("duration_ms", 216_000.0), "3:36");
        assert_eq!(display_value("key", -1.0), "none");
        assert_eq!(display_value("key", 2.0), "D");
        assert_eq!(display_value("mode", 0.0), "minor");
        assert_eq!(display_value("loudness", -6.25), "-6.2 dB");
    }
}
