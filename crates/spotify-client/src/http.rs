//! The HTTP layer the Web API and ReccoBeats sources share: one blocking agent with a timeout,
//! and the retry loop (429 with `Retry-After`, 5xx, timeouts and connection failures).

use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::error::ClientError;
use crate::retry::RetryPolicy;

/// A blocking HTTP agent that retries by a [`RetryPolicy`].
pub(crate) struct Http {
    agent: ureq::Agent,
    retry: RetryPolicy,
    rng: ChaCha8Rng,
}

impl Http {
    /// An agent whose requests time out after `timeout` (connect, read and write together).
    pub(crate) fn new(timeout: Duration, retry: RetryPolicy) -> Http {
        let agent = ureq::AgentBuilder::new()
            .timeout(timeout)
            .try_proxy_from_env(true)
            .build();
        let rng = ChaCha8Rng::seed_from_u64(retry.jitter_seed());
        Http { agent, retry, rng }
    }

    /// A GET request on this agent.
    pub(crate) fn get(&self, url: &str) -> ureq::Request {
        self.agent.get(url)
    }

    /// A POST request on this agent.
    pub(crate) fn post(&self, url: &str) -> ureq::Request {
        self.agent.post(url)
    }

    /// Sends a request (with `form` as its body, if any) until it succeeds, fails for good or the
    /// attempts run out, and returns the body. A status error that retrying does not fix comes
    /// back as [`ClientError::Http`] at once.
    pub(crate) fn send(
        &mut self,
        endpoint: &str,
        request: &ureq::Request,
        form: Option<&[(&str, &str)]>,
    ) -> Result<String, ClientError> {
        let attempts = self.retry.attempts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= attempts;
            let sent = match form {
                Some(form) => request.clone().send_form(form),
                None => request.clone().call(),
            };
            match sent {
                Ok(response) => {
                    return response
                        .into_string()
                        .map_err(|error| ClientError::Transport {
                            endpoint: endpoint.to_string(),
                            message: format!("reading the body failed: {error}"),
                            attempts: attempt,
                        })
                }
                Err(ureq::Error::Status(429, response)) => {
                    let retry_after = response
                        .header("Retry-After")
                        .and_then(|value| value.trim().parse::<u64>().ok());
                    let limit = self.retry.retry_after_limit();
                    let too_long = retry_after.is_some_and(|s| Duration::from_secs(s) > limit);
                    if last || too_long {
                        return Err(ClientError::RateLimited {
                            endpoint: endpoint.to_string(),
                            attempts: attempt,
                            retry_after_seconds: retry_after.unwrap_or(0),
                            max_wait_seconds: limit.as_secs(),
                        });
                    }
                    let wait = match retry_after {
                        Some(seconds) => Duration::from_secs(seconds),
                        None => self.retry.backoff(attempt - 1, &mut self.rng),
                    };
                    std::thread::sleep(wait);
                }
                Err(ureq::Error::Status(status, response)) => {
                    let message = error_message(response);
                    if status < 500 || last {
                        return Err(ClientError::Http {
                            endpoint: endpoint.to_string(),
                            status,
                            attempts: attempt,
                            message,
                        });
                    }
                    std::thread::sleep(self.retry.backoff(attempt - 1, &mut self.rng));
                }
                Err(ureq::Error::Transport(transport)) => {
                    if last {
                        return Err(ClientError::Transport {
                            endpoint: endpoint.to_string(),
                            message: transport_message(&transport),
                            attempts: attempt,
                        });
                    }
                    std::thread::sleep(self.retry.backoff(attempt - 1, &mut self.rng));
                }
            }
        }
    }
}

/// The error message of a body: Spotify's `{"error":{"message":…}}`, the token endpoint's
/// `{"error_description":…}`, or the start of the body.
fn error_message(response: ureq::Response) -> String {
    let body = response.into_string().unwrap_or_default();
    let json: Option<serde_json::Value> = serde_json::from_str(&body).ok();
    let field = json.as_ref().and_then(|json| {
        json.pointer("/error/message")
            .or_else(|| json.get("error_description"))
            .or_else(|| json.get("message"))
            .or_else(|| json.get("error"))
            .and_then(|value| value.as_str())
            .map(str::to_string)
    });
    field.unwrap_or_else(|| body.chars().take(200).collect())
}

/// What failed, without the URL (the caller names the endpoint; the query holds only ids).
fn transport_message(transport: &ureq::Transport) -> String {
    let mut message = transport.kind().to_string();
    if let Some(detail) = transport.message() {
        message = format!("{message}: {detail}");
    }
    if let Some(source) = std::error::Error::source(transport) {
        message = format!("{message}: {source}");
    }
    message
}

/// Joins a base URL and a path with exactly one slash between them.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Scheme, host and path of a URL: what errors name.
pub(crate) fn endpoint(method: &str, url: &str) -> String {
    let without_query = url.split('?').next().unwrap_or(url);
    format!("{method} {without_query}")
}
