//! Reading a [`SongInput`] from a form or a JSON object, naming the field at fault.

use std::collections::HashMap;

use serde_json::Value;

use crate::error::RequestError;
use crate::fields::{set_field, FIELDS};
use spotify_ml::popularity::{QuartileModel, SongInput};

/// The song of a form's `name=value` pairs. Pairs other than the song's fields (a submit
/// button's name, say) are ignored; a song field given twice is an error.
pub fn song_from_form(
    pairs: &[(String, String)],
    model: &dyn QuartileModel,
) -> Result<SongInput, RequestError> {
    let mut values: HashMap<&str, &str> = HashMap::new();
    for (name, value) in pairs {
        let known = FIELDS.iter().any(|f| f.name == name) || name == "genre";
        if known && values.insert(name.as_str(), value.trim()).is_some() {
            return Err(RequestError::Repeated(name.clone()));
        }
    }
    let mut song = SongInput {
        genre: String::new(),
        ..crate::fields::default_song("")
    };
    for field in &FIELDS {
        let text = match values.get(field.name) {
            Some(text) if !text.is_empty() => *text,
            _ => return Err(RequestError::Missing(field.name)),
        };
        let value = match text.parse::<f64>() {
            Ok(value) if value.is_finite() => value,
            _ => {
                return Err(RequestError::NotANumber {
                    field: field.name,
                    value: format!("{text:?}"),
                })
            }
        };
        set_field(&mut song, field.name, value);
    }
    song.genre = match values.get("genre") {
        Some(genre) if !genre.is_empty() => genre.to_string(),
        _ => return Err(RequestError::Missing("genre")),
    };
    check(&song, model)?;
    Ok(song)
}

/// The other members of the Web API's audio-features object: a song may carry them (so that
/// the object the API returns can be posted as it is, with `artist_popularity` and `genre`
/// added), and they are ignored.
pub const IGNORED_API_FIELDS: [&str; 6] = [
    "time_signature",
    "id",
    "uri",
    "track_href",
    "analysis_url",
    "type",
];

/// The names of a JSON object's members, in order, duplicates kept: `serde_json::Value` keeps
/// only the last of a repeated name, which would let `{"valence": 0.1, "valence": 0.9}` through.
struct MemberNames(Vec<String>);

impl<'de> serde::Deserialize<'de> for MemberNames {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Names;
        impl<'de> serde::de::Visitor<'de> for Names {
            type Value = MemberNames;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<MemberNames, A::Error> {
                let mut names = Vec::new();
                while let Some(name) = map.next_key::<String>()? {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    names.push(name);
                }
                Ok(MemberNames(names))
            }
        }
        deserializer.deserialize_map(Names)
    }
}

/// The song of a JSON object holding every field of [`SongInput`]: numbers, and `genre` a
/// string. The Web API's other audio-feature members ([`IGNORED_API_FIELDS`]) are ignored;
/// any other member is an error, so a misspelt name is caught rather than ignored, and so is a
/// member given twice.
pub fn song_from_json(body: &[u8], model: &dyn QuartileModel) -> Result<SongInput, RequestError> {
    let value: Value = serde_json::from_slice(body).map_err(RequestError::Json)?;
    let Value::Object(object) = value else {
        return Err(RequestError::NotAnObject(kind(&value)));
    };
    let MemberNames(names) = serde_json::from_slice(body).map_err(RequestError::Json)?;
    let mut seen = std::collections::HashSet::new();
    if let Some(name) = names.iter().find(|name| !seen.insert(name.as_str())) {
        return Err(RequestError::Repeated(name.clone()));
    }
    if let Some(name) = object.keys().find(|name| {
        name.as_str() != "genre"
            && !FIELDS.iter().any(|f| f.name == *name)
            && !IGNORED_API_FIELDS.contains(&name.as_str())
    }) {
        return Err(RequestError::UnknownField(name.clone()));
    }
    let mut song = crate::fields::default_song("");
    for field in &FIELDS {
        let value = match object.get(field.name) {
            None | Some(Value::Null) => return Err(RequestError::Missing(field.name)),
            Some(value) => value,
        };
        match value.as_f64() {
            Some(number) if number.is_finite() => set_field(&mut song, field.name, number),
            _ => {
                return Err(RequestError::NotANumber {
                    field: field.name,
                    value: value.to_string(),
                })
            }
        }
    }
    song.genre = match object.get("genre") {
        None | Some(Value::Null) => return Err(RequestError::Missing("genre")),
        Some(Value::String(genre)) => genre.clone(),
        Some(other) => return Err(RequestError::GenreNotAString(other.to_string())),
    };
    check(&song, model)?;
    Ok(song)
}

/// Whole-number fields, ranges and the genre, in field order.
fn check(song: &SongInput, model: &dyn QuartileModel) -> Result<(), RequestError> {
    for ((name, value, _), field) in song.numeric_fields().into_iter().zip(&FIELDS) {
        if field.whole && value.fract() != 0.0 {
            return Err(RequestError::NotWhole { field: name, value });
        }
    }
    song.validate()?;
    if !model.genres().contains(&song.genre) {
        return Err(RequestError::UnknownGenre {
            value: song.genre.clone(),
            known: model.genres().join(", "),
        });
    }
    Ok(())
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
