//! The layer every request passes: an oversized declared body is refused before it is read,
//! the body must arrive within [`Limits::body_timeout`], the answer within
//! [`Limits::request_timeout`], and every answer carries the security headers.

use std::error::Error;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::LengthLimitError;

use crate::{Limits, BODY_LIMIT};

/// Headers on every answer: no MIME sniffing, no framing by other sites, no referrer.
pub(crate) const SECURITY_HEADERS: [(header::HeaderName, &str); 3] = [
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
];

/// The policy of answers that set none (JSON, text): nothing may load or frame them.
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// A plain-text refusal that also closes the connection (its body may be unread).
fn refuse(status: StatusCode, message: String) -> Response {
    let mut response = (status, message).into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn declared_length(request: &Request) -> Option<u64> {
    request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.trim().parse::<u64>().ok())
}

fn too_large() -> Response {
    refuse(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body is larger than {} KiB\n",
            BODY_LIMIT / 1024
        ),
    )
}

/// Reads the whole body (at most [`BODY_LIMIT`]) within `timeout`.
async fn read_body(body: Body, timeout: Duration) -> Result<Bytes, Response> {
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, BODY_LIMIT)).await {
        Err(_) => Err(refuse(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within {timeout:?}\n"),
        )),
        Ok(Err(error)) if is_too_long(&error) => Err(too_large()),
        Ok(Err(error)) => Err(refuse(
            StatusCode::BAD_REQUEST,
            format!("the request body could not be read: {error}\n"),
        )),
        Ok(Ok(bytes)) => Ok(bytes),
    }
}

fn is_too_long(error: &axum::Error) -> bool {
    let mut link: Option<&(dyn Error + 'static)> = Some(error);
    while let Some(current) = link {
        if current.is::<LengthLimitError>() {
            return true;
        }
        link = current.source();
    }
    false
}

/// The layer: see the module's doc.
pub(crate) async fn guard(State(limits): State<Limits>, request: Request, next: Next) -> Response {
    if declared_length(&request).is_some_and(|length| length > BODY_LIMIT as u64) {
        return secure(too_large());
    }
    let (parts, body) = request.into_parts();
    let bytes = match read_body(body, limits.body_timeout).await {
        Ok(bytes) => bytes,
        Err(response) => return secure(response),
    };
    let request = Request::from_parts(parts, Body::from(bytes));
    let response = match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "no answer within {:?}; the model may be overloaded or stuck\n",
                limits.request_timeout
            ),
        ),
    };
    secure(response)
}

/// Adds [`SECURITY_HEADERS`], and a content security policy when the answer has none.
fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(DEFAULT_CSP));
    response
}
