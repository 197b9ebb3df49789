//! What a request can get wrong, and the 4xx status each problem gets; and the one call of the
//! served model, whose failure becomes a [`ModelError`].

use std::error::Error;
use std::sync::Arc;

use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use spotify_client::ClientError;
use spotify_ml::popularity::{FieldError, QuartileModel, SongInput};

use crate::pool::PoolError;

/// The served model could not score a song: the model's own error, kept whole (its message,
/// which names the field at fault, and its causes).
#[derive(Debug, Clone, thiserror::Error)]
#[error(transparent)]
pub struct ModelError(Arc<dyn Error + Send + Sync>);

impl ModelError {
    /// The model's own error.
    pub fn cause(&self) -> &(dyn Error + Send + Sync + 'static) {
        self.0.as_ref()
    }
}

/// The probability of each quartile of `song` by `model`, in the order of
/// [`QUARTILES`](spotify_ml::popularity::QUARTILES).
///
/// The app's one call of [`QuartileModel::predict_proba`]: whatever error type that method
/// returns (a message today), it is converted into a [`ModelError`] here and nowhere else.
///
/// Probabilities that are not four finite numbers in 0..=1 summing to 1 (within 1e-6) are the
/// model's fault, returned as an error rather than shown.
pub fn predict(model: &dyn QuartileModel, song: &SongInput) -> Result<[f64; 4], ModelError> {
    let probabilities = model
        .predict_proba(song)
        .map_err(|error| ModelError(Arc::from(Box::<dyn Error + Send + Sync>::from(error))))?;
    let valid = probabilities
        .iter()
        .all(|p| p.is_finite() && (0.0..=1.0).contains(p))
        && (probabilities.iter().sum::<f64>() - 1.0).abs() <= 1e-6;
    if valid {
        Ok(probabilities)
    } else {
        let message = format!("the model gave the probabilities {probabilities:?}");
        Err(ModelError(Arc::from(Box::<dyn Error + Send + Sync>::from(
            message,
        ))))
    }
}

/// A problem with a request: every variant names the field when one field is at fault.
///
/// An answer shows [`RequestError::message`]: this error's text and, when another error caused
/// it, the cause's.
#[derive(Debug, thiserror::Error)]
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
    /// The model failed on the song: 422 when its message names a field (the song is at
    /// fault), else 500 (the model is: every song passed the input checks first).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// Every prediction thread is busy and the queue is full (503).
    #[error("the server is busy; try again shortly")]
    Busy(#[source] PoolError),
    /// The prediction could not run: it panicked, or the threads are gone (500).
    #[error("the prediction failed inside the server")]
    Prediction(#[source] PoolError),
    /// A body that is not JSON (400).
    #[error("the body is not a JSON object")]
    Json(#[source] serde_json::Error),
    /// JSON that is not one object: an array, a string, a number… (400).
    #[error("the body is not a JSON object: expected an object, got {0}")]
    NotAnObject(&'static str),
    /// A form body that cannot be decoded (400).
    #[error("the body is not a URL-encoded form")]
    Form(#[source] serde_urlencoded::de::Error),
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
    /// A body over [`crate::BODY_LIMIT`] (413).
    #[error("the request body is larger than 64 KiB")]
    TooLarge,
    /// The body could not be read (400).
    #[error("the request body could not be read")]
    Body(#[source] BytesRejection),
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
    #[error("internal error")]
    Internal(#[source] tokio::task::JoinError),
    /// The feature source failed (502).
    #[error("`track_id`: the feature source failed")]
    TrackSource(#[source] ClientError),
}

impl From<PoolError> for RequestError {
    fn from(error: PoolError) -> RequestError {
        match error {
            PoolError::Busy { .. } => RequestError::Busy(error),
            PoolError::Panicked(_) | PoolError::Stopped(_) => RequestError::Prediction(error),
        }
    }
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
            | RequestError::NotAnObject(_)
            | RequestError::Form(_)
            | RequestError::Body(_)
            | RequestError::BadTrackId(_) => StatusCode::BAD_REQUEST,
            RequestError::NotWhole { .. }
            | RequestError::OutOfRange(_)
            | RequestError::UnknownGenre { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            RequestError::Model(error) if model_error_field(error).is_some() => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            RequestError::Model(_) | RequestError::Prediction(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            RequestError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
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
            RequestError::Model(error) => model_error_field(error),
            RequestError::Json(_)
            | RequestError::NotAnObject(_)
            | RequestError::Form(_)
            | RequestError::ContentType { .. }
            | RequestError::TooLarge
            | RequestError::Body(_)
            | RequestError::Busy(_)
            | RequestError::Prediction(_)
            | RequestError::Internal(_) => None,
        }
    }

    /// Whether the server, not the request, is at fault (a 5xx status).
    pub fn is_server_fault(&self) -> bool {
        self.status().is_server_error()
    }

    /// The text an answer shows: this error's message and, when another error caused it, the
    /// cause's (whose own message carries its causes: axum's and the client's errors do).
    pub fn message(&self) -> String {
        match self.source() {
            Some(cause) => format!("{self}: {cause}"),
            None => self.to_string(),
        }
    }
}

/// The field a model's error is about: a [`FieldError`] in its chain, else the first field the
/// message names in backquotes, as the model's messages do (`` `valence` = 1.7 is outside … ``).
fn model_error_field(error: &ModelError) -> Option<&'static str> {
    let mut link: Option<&(dyn Error + 'static)> = Some(error.cause());
    while let Some(current) = link {
        if let Some(field) = current.downcast_ref::<FieldError>() {
            return Some(field.field);
        }
        link = current.source();
    }
    let message = error.to_string();
    crate::FIELDS
        .iter()
        .map(|f| f.name)
        .chain(["genre"])
        .find(|name| message.contains(&format!("`{name}`")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caused_error_answers_with_both_messages_and_keeps_its_cause() {
        let cause = serde_json::from_str::<serde_json::Value>("{").expect_err("broken JSON");
        let expected = format!("the body is not a JSON object: {cause}");
        let error = RequestError::Json(cause);
        assert_eq!(error.message(), expected);
        assert!(error
            .source()
            .is_some_and(|source| source.is::<serde_json::Error>()));
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_model_error_names_the_field_of_a_field_error_in_its_chain_or_of_its_message() {
        let out_of_range = FieldError {
            field: "tempo",
            value: 400.0,
            min: 0.0,
            max: 300.0,
        };
        let typed = RequestError::Model(ModelError(Arc::new(out_of_range)));
        assert_eq!(typed.field(), Some("tempo"));
        assert_eq!(typed.message(), "`tempo` = 400 is outside 0..=300");

        let message = "`genre` = \"polka\" is not a genre the model knows";
        let text = RequestError::Model(ModelError(Arc::from(
            Box::<dyn Error + Send + Sync>::from(message),
        )));
        assert_eq!(text.field(), Some("genre"));
        assert_eq!(text.message(), message);
        assert_eq!(text.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
