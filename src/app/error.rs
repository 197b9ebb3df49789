//! What a request can get wrong, and the 4xx status each problem gets.

use axum::http::StatusCode;

use crate::popularity::FieldError;

/// A problem with a request: every variant names the field when one field is at fault.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RequestError {
    /// A required field is absent or empty (400).
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// A field given twice (400).
    #[error("field `{0}` is given more than once")]
    Repeated(String),
    /// A numeric field that is not a finite number (400).
    #[error("`{field}` must be a number, got {value}")]
    NotANumber {
        /// The field.
        field: &'static str,
        /// What was given, as text (JSON values in their JSON form).
        value: String,
    },
    /// `genre` given as something other than a string (400).
    #[error("`genre` must be a string, got {0}")]
    GenreNotAString(String),
    /// A field the API does not have, e.g. a misspelt name (400).
    #[error("unknown field `{0}`; the fields are the Web API's audio-feature names, `artist_popularity` and `genre`")]
    UnknownField(String),
    /// A field the API gives as a whole number, such as `key`, given with a fraction (422).
    #[error("`{field}` must be a whole number, got {value}")]
    NotWhole {
        /// The field.
        field: &'static str,
        /// The value given.
        value: f64,
    },
    /// A value outside its range, e.g. `valence` 1.7 or `key` 13 (422).
    #[error(transparent)]
    OutOfRange(#[from] FieldError),
    /// A genre the model was not trained on (422).
    #[error("`genre` = {value:?} is not a genre the model knows; use one of {known}")]
    UnknownGenre {
        /// The genre given.
        value: String,
        /// The model's genres, comma-separated.
        known: String,
    },
    /// The model refused the song; its message names the field (422).
    #[error("{0}")]
    Model(String),
    /// A body that is not JSON, or JSON that is not one object (400).
    #[error("the body is not a JSON object: {0}")]
    Json(String),
    /// A form body that cannot be decoded (400).
    #[error("the body is not a URL-encoded form: {0}")]
    Form(String),
    /// The wrong `Content-Type` for the route (415).
    #[error("{route} takes Content-Type {expected}, got {got}")]
    ContentType {
        /// The route.
        route: &'static str,
        /// The type it takes.
        expected: &'static str,
        /// The type sent (or `none`).
        got: String,
    },
    /// A body over [`super::BODY_LIMIT`] (413).
    #[error("the request body is larger than 64 KiB")]
    TooLarge,
    /// The body could not be read (400).
    #[error("the request body could not be read: {0}")]
    Body(String),
    /// `track_id` that is not a Spotify track id, URI or link (400).
    #[error("`track_id` = {0:?} is not a Spotify track id (22 letters and digits), URI or link")]
    BadTrackId(String),
    /// A track id the feature source does not know (404).
    #[error("`track_id` = {0:?}: the feature source has no audio features for this track")]
    UnknownTrack(String),
    /// A track id given while no feature source is configured (404).
    #[error("`track_id`: no feature source is configured; start the app with --data DIR")]
    NoTrackSource,
    /// The model or a feature source panicked: a bug of the server, not of the request (500).
    #[error("internal error: {0}")]
    Internal(String),
    /// The feature source failed (502).
    #[error("`track_id`: the feature source failed: {0}")]
    TrackSource(String),
}

impl RequestError {
    /// The HTTP status of this problem: a 4xx for every problem of the request; 502 when the
    /// feature source fails and 500 only for a panic inside the server.
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::Missing(_)
            | RequestError::Repeated(_)
            | RequestError::NotANumber { .. }
            | RequestError::GenreNotAString(_)
            | RequestError::UnknownField(_)
            | RequestError::Json(_)
            | RequestError::Form(_)
            | RequestError::Body(_)
            | RequestError::BadTrackId(_) => StatusCode::BAD_REQUEST,
            RequestError::NotWhole { .. }
            | RequestError::OutOfRange(_)
            | RequestError::UnknownGenre { .. }
            | RequestError::Model(_) => StatusCode::UNPROCESSABLE_ENTITY,
            RequestError::ContentType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RequestError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            RequestError::UnknownTrack(_) | RequestError::NoTrackSource => StatusCode::NOT_FOUND,
            RequestError::TrackSource(_) => StatusCode::BAD_GATEWAY,
            RequestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The field at fault, when one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            RequestError::Missing(field)
            | RequestError::NotANumber { field, .. }
            | RequestError::NotWhole { field, .. } => Some(field),
            RequestError::Repeated(field) | RequestError::UnknownField(field) => Some(field),
            RequestError::OutOfRange(error) => Some(error.field),
            RequestError::GenreNotAString(_) | RequestError::UnknownGenre { .. } => Some("genre"),
            RequestError::BadTrackId(_)
            | RequestError::UnknownTrack(_)
            | RequestError::NoTrackSource
            | RequestError::TrackSource(_) => Some("track_id"),
            RequestError::Model(message) => super::FIELDS
                .iter()
                .map(|f| f.name)
                .chain(["genre"])
                .find(|name| message.contains(&format!("`{name}`"))),
            RequestError::Json(_)
            | RequestError::Form(_)
            | RequestError::ContentType { .. }
            | RequestError::TooLarge
            | RequestError::Body(_)
            | RequestError::Internal(_) => None,
        }
    }
}
