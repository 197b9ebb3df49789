//! Property tests of the request parser (issue 23): random bytes and mutated songs, as JSON
//! and as forms, never make it panic or take long; whatever it accepts is a song within every
//! range, of a genre the model knows; everything else is a typed 4xx error naming what is wrong.

mod linear_model;

use std::time::{Duration, Instant};

use linear_model::LinearQuartileModel;
use proptest::prelude::*;
use spotify_ml::popularity::QuartileModel;
use web_app::{song_from_form, song_from_json, RequestError};

const TIME_LIMIT: Duration = Duration::from_secs(1);

const SONG: &str = r#"{"danceability":0.74,"energy":0.81,"key":2,"loudness":-5.1,"mode":1,"speechiness":0.05,"acousticness":0.12,"instrumentalness":0.0,"liveness":0.09,"valence":0.63,"tempo":118.0,"duration_ms":201000,"artist_popularity":71,"genre":"pop","time_signature":4,"type":"audio_features"}"#;

/// The parser's verdict on `body` holds the properties above.
fn holds(
    result: Result<spotify_ml::popularity::SongInput, RequestError>,
    model: &dyn QuartileModel,
) {
    match result {
        Ok(song) => {
            assert!(song.validate().is_ok(), "accepted an invalid song {song:?}");
            assert!(
                model.genres().contains(&song.genre),
                "accepted genre {:?}",
                song.genre
            );
        }
        Err(error) => {
            assert!(error.status().is_client_error(), "{error:?} is not a 4xx");
            assert!(!error.message().is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_are_parsed_or_refused_quickly(body in prop::collection::vec(any::<u8>(), 0..600)) {
        let model = LinearQuartileModel::new();
        let started = Instant::now();
        holds(song_from_json(&body, &model), &model);
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        holds(song_from_form(&pairs, &model), &model);
        prop_assert!(started.elapsed() < TIME_LIMIT);
    }

    #[test]
    fn a_mutated_song_is_parsed_or_refused_quickly(
        at in any::<prop::sample::Index>(),
        insert in "[-0-9.eE\":,{}\\[\\]a-z ]{0,12}",
        cut in 0usize..8,
    ) {
        let model = LinearQuartileModel::new();
        let mut body = SONG.to_string();
        let mut at = at.index(body.len());
        while !body.is_char_boundary(at) {
            at -= 1;
        }
        let end = (at + cut).min(body.len());
        body.replace_range(at..end, &insert);
        let started = Instant::now();
        holds(song_from_json(body.as_bytes(), &model), &model);
        // The same values as a form: every `"name":value` pair becomes `name=value`.
        let form = body
            .trim_matches(|c| c == '{' || c == '}')
            .replace('"', "")
            .replace(':', "=")
            .replace(',', "&");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&form).unwrap_or_default();
        holds(song_from_form(&pairs, &model), &model);
        prop_assert!(started.elapsed() < TIME_LIMIT);
    }
}

#[test]
fn the_unmutated_song_is_accepted() {
    let model = LinearQuartileModel::new();
    assert!(song_from_json(SONG.as_bytes(), &model).is_ok());
}
