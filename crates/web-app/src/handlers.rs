//! The route handlers: they read the request, ask the model, and answer HTML or JSON.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use crate::error::{predict, RequestError};
use crate::explain::explain;
use crate::fields::default_song;
use crate::input::{song_from_form, song_from_json};
use crate::page::{escape, FormValues, Outcome, Page, TrackBox};
use crate::{App, Prediction};
use spotify_ml::popularity::SongInput;

const FORM_TYPE: &str = "application/x-www-form-urlencoded";
const JSON_TYPE: &str = "application/json";

/// Pages allow nothing external: no scripts, styles only inline, forms only to this app, and no
/// other site may frame them.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
        ],
        body,
    )
        .into_response()
}

/// A server fault (5xx) goes to the server's log (stderr) with its causes: the client sees
/// the message, the operator the whole chain.
fn log_fault(error: &RequestError) {
    if error.is_server_fault() {
        let mut text = error.to_string();
        let mut cause = std::error::Error::source(error);
        while let Some(inner) = cause {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            cause = inner.source();
        }
        eprintln!("[web-app] {}: {text}", error.status());
    }
}

fn json_error(error: &RequestError) -> Response {
    log_fault(error);
    let body = json!({ "error": error.message(), "field": error.field() });
    (error.status(), Json(body)).into_response()
}

impl App {
    fn default_genre(&self) -> String {
        let genres = self.model.genres();
        genres
            .iter()
            .find(|genre| genre.as_str() == "pop")
            .or_else(|| genres.first())
            .cloned()
            .unwrap_or_default()
    }

    fn page<'a>(&'a self, values: &'a FormValues, track_text: &'a str) -> Page<'a> {
        Page {
            genres: self.model.genres(),
            values,
            error: None,
            notice: None,
            track: TrackBox {
                enabled: self.tracks.is_some(),
                text: track_text,
            },
            outcome: None,
        }
    }

    /// The form with the default song and this error above it.
    fn form_error(&self, error: &RequestError, values: Option<&FormValues>) -> Response {
        log_fault(error);
        let defaults = FormValues::from_song(&default_song(&self.default_genre()));
        let mut page = self.page(values.unwrap_or(&defaults), "");
        page.error = Some(error);
        html(error.status(), page.render())
    }
}

/// The content type without parameters, lower-cased; `none` when absent.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .map(|value| {
            String::from_utf8_lossy(value.as_bytes())
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|| "none".to_string())
}

fn body_error(rejection: BytesRejection) -> RequestError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        RequestError::TooLarge
    } else {
        RequestError::Body(rejection)
    }
}

/// `GET /`: the form, filled from `?track_id=` when given.
pub(crate) async fn index(
    State(app): State<App>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let track_text = query.get("track_id").map_or("", |t| t.as_str());
    let mut song = default_song(&app.default_genre());
    if track_text.trim().is_empty() {
        let values = FormValues::from_song(&song);
        return html(StatusCode::OK, app.page(&values, "").render());
    }
    let found = match &app.tracks {
        None => Err(RequestError::NoTrackSource),
        Some(tracks) => {
            let tracks = tracks.clone();
            let text = track_text.to_string();
            // A feature source may do network I/O: keep it off the async workers.
            tokio::task::spawn_blocking(move || tracks.find(&text))
                .await
                .unwrap_or_else(|error| Err(RequestError::Internal(error)))
        }
    };
    let track = match found {
        Ok(track) => track,
        Err(error) => {
            let values = FormValues::from_song(&song);
            let mut page = app.page(&values, track_text);
            page.error = Some(&error);
            return html(error.status(), page.render());
        }
    };
    let features = &track.features;
    song.danceability = features.danceability;
    song.energy = features.energy;
    song.key = f64::from(features.key);
    song.loudness = features.loudness;
    song.mode = features.mode.map_or(song.mode, f64::from);
    song.speechiness = features.speechiness;
    song.acousticness = features.acousticness;
    song.instrumentalness = features.instrumentalness;
    song.liveness = features.liveness;
    song.valence = features.valence.unwrap_or(song.valence);
    song.tempo = features.tempo;
    song.duration_ms = features
        .duration_ms
        .map_or(song.duration_ms, |ms| ms as f64);
    let mut notice = format!("Filled from track <code>{}</code>", escape(&track.id));
    if let Some(details) = &track.details {
        let _ = std::fmt::Write::write_fmt(
            &mut notice,
            format_args!(
                ": “{}” by {}",
                escape(&details.name),
                escape(&details.artist)
            ),
        );
        if let Some(popularity) = details.artist_popularity {
            song.artist_popularity = popularity;
        }
        if let Some(genre) = &details.genre {
            if app.model.genres().contains(genre) {
                song.genre = genre.clone();
            }
        }
        if let Some(popularity) = details.popularity {
            notice.push_str(&format!(
                ". Its actual popularity is {popularity:.0} ({}).",
                spotify_ml::popularity::QUARTILES
                    [dataset::load::popularity::popularity_class(popularity)]
            ));
        }
        if details.artist_popularity.is_none() {
            notice.push_str(" The artist’s popularity is not known: enter it.");
        }
    }
    let values = FormValues::from_song(&song);
    let mut page = app.page(&values, track_text);
    page.notice = Some(notice);
    html(StatusCode::OK, page.render())
}

/// `POST /predict`: a form in, the result page out; the form keeps what was entered.
pub(crate) async fn predict_form(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let media = media_type(&headers);
    if media != FORM_TYPE {
        let error = RequestError::ContentType {
            route: "POST /predict",
            expected: FORM_TYPE,
            got: media,
        };
        return app.form_error(&error, None);
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return app.form_error(&body_error(rejection), None),
    };
    let pairs: Vec<(String, String)> = match serde_urlencoded::from_bytes(&body) {
        Ok(pairs) => pairs,
        Err(error) => return app.form_error(&RequestError::Form(error), None),
    };
    let values = FormValues::from_pairs(&pairs);
    let result = match song_from_form(&pairs, app.model.as_ref()) {
        Ok(song) => {
            let model = app.model.clone();
            // About 200 model calls, on the prediction threads.
            app.pool
                .run(move || {
                    let probabilities = predict(model.as_ref(), &song)?;
                    let explanation = explain(model.as_ref(), &song)?;
                    Ok::<_, RequestError>((song, probabilities, explanation))
                })
                .await
                .unwrap_or_else(|error| Err(error.into()))
        }
        Err(error) => Err(error),
    };
    match result {
        Ok((song, probabilities, explanation)) => {
            let values = FormValues::from_song(&song);
            let mut page = app.page(&values, "");
            page.outcome = Some(Outcome {
                song: &song,
                probabilities,
                explanation: &explanation,
                set: Prediction::by_model(app.model.as_ref(), probabilities).set,
            });
            html(StatusCode::OK, page.render())
        }
        Err(error) => app.form_error(&error, Some(&values)),
    }
}

/// `POST /api/predict`: a JSON song in, a [`Prediction`] out.
pub(crate) async fn predict_json(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let media = media_type(&headers);
    if media != JSON_TYPE {
        return json_error(&RequestError::ContentType {
            route: "POST /api/predict",
            expected: JSON_TYPE,
            got: media,
        });
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return json_error(&body_error(rejection)),
    };
    let song: SongInput = match song_from_json(&body, app.model.as_ref()) {
        Ok(song) => song,
        Err(error) => return json_error(&error),
    };
    let model = app.model.clone();
    let outcome = app
        .pool
        .run(move || predict(model.as_ref(), &song).map_err(RequestError::from))
        .await
        .unwrap_or_else(|error| Err(error.into()));
    match outcome {
        Ok(probabilities) => {
            Json(Prediction::by_model(app.model.as_ref(), probabilities)).into_response()
        }
        Err(error) => json_error(&error),
    }
}

/// `GET /healthz`: `ok` when the model answers the default song, on the prediction threads,
/// within [`crate::Limits::health_timeout`]; else 503 saying what failed.
pub(crate) async fn healthz(State(app): State<App>) -> Response {
    let song = default_song(&app.default_genre());
    let model = app.model.clone();
    let probe = app
        .pool
        .run(move || predict(model.as_ref(), &song).map_err(RequestError::from));
    let failure = match tokio::time::timeout(app.limits.health_timeout, probe).await {
        Ok(Ok(Ok(_))) => return (StatusCode::OK, "ok").into_response(),
        Ok(Ok(Err(error))) => format!("the model failed on a known song: {}", error.message()),
        Ok(Err(error)) => format!("the model could not be asked: {error}"),
        Err(_) => format!(
            "the model did not answer a known song within {:?}",
            app.limits.health_timeout
        ),
    };
    eprintln!("[web-app] /healthz: {failure}");
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!("unhealthy: {failure}\n"),
    )
        .into_response()
}

/// Any other path: 404 naming it.
pub(crate) async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        format!(
            "no page at {}; the app serves GET /, POST /predict, POST /api/predict and GET /healthz\n",
            uri.path()
        ),
    )
        .into_response()
}
