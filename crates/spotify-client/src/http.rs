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
    server_text(&field.unwrap_or(body))
}

/// At most this many characters of a server's text are quoted in an error.
const QUOTED_CHARS: usize = 200;

/// Text from a server (or a proxy) as errors quote it: secrets redacted ([`redact`]), then cut
/// to [`QUOTED_CHARS`] characters.
pub(crate) fn server_text(text: &str) -> String {
    let redacted = redact(text);
    match redacted.char_indices().nth(QUOTED_CHARS) {
        None => redacted,
        Some((end, _)) => format!("{}…", &redacted[..end]),
    }
}

/// Names after which, past a `:` or `=`, comes a secret.
const SECRET_NAMES: [&str; 5] = [
    "authorization",
    "client_secret",
    "access_token",
    "refresh_token",
    "password",
];

/// Authorization schemes after which comes a secret.
const SCHEMES: [&str; 2] = ["bearer", "basic"];

const REDACTED: &str = "<redacted>";

/// Replaces every secret in `text` by `<redacted>`: the value after an `Authorization`,
/// `client_secret`, `access_token`, `refresh_token` or `password` name (`name: value`,
/// `name=value`, `"name": "value"`), and the credential after a `Bearer` or `Basic` scheme. A
/// server or proxy that echoes the request would otherwise put them into an error.
pub(crate) fn redact(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let (bytes, lower) = (text.as_bytes(), lower.as_bytes());
    let mut redacted = String::with_capacity(text.len());
    let mut copied = 0;
    let mut at = 0;
    while at < bytes.len() {
        let word_start = at == 0 || !is_word_byte(bytes[at - 1]);
        if let Some(start) = word_start.then(|| secret_start(lower, at)).flatten() {
            let end = secret_end(bytes, start);
            if end > start {
                // `start` and `end` sit next to ASCII bytes, so both are char boundaries.
                redacted.push_str(&text[copied..start]);
                redacted.push_str(REDACTED);
                copied = end;
                at = end;
                continue;
            }
        }
        at += 1;
    }
    redacted.push_str(&text[copied..]);
    redacted
}

fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

/// Where the secret starts when a secret name or a scheme starts at `at` (in lower case).
fn secret_start(lower: &[u8], at: usize) -> Option<usize> {
    let rest = &lower[at..];
    let after_word = |word: &str| {
        let end = at + word.len();
        (rest.starts_with(word.as_bytes()) && lower.get(end).is_none_or(|&b| !is_word_byte(b)))
            .then_some(end)
    };
    if let Some(end) = SCHEMES.iter().find_map(|scheme| after_word(scheme)) {
        let start = skip(lower, end, b" \t");
        return (start > end).then_some(start);
    }
    let end = SECRET_NAMES.iter().find_map(|name| after_word(name))?;
    let separator = skip(lower, end, b" \t\"'");
    if !matches!(lower.get(separator), Some(b':' | b'=')) {
        return None;
    }
    let mut start = skip(lower, separator + 1, b" \t\"'");
    // `Authorization: Bearer <token>`: the scheme stays, the credential goes.
    for scheme in SCHEMES {
        let end = start + scheme.len();
        if lower[start..].starts_with(scheme.as_bytes()) && matches!(lower.get(end), Some(b' ')) {
            start = skip(lower, end, b" \t");
        }
    }
    Some(start)
}

fn skip(bytes: &[u8], mut at: usize, set: &[u8]) -> usize {
    while bytes.get(at).is_some_and(|b| set.contains(b)) {
        at += 1;
    }
    at
}

/// The end of a secret value: the next white space, quote or separator.
fn secret_end(bytes: &[u8], mut at: usize) -> usize {
    while bytes
        .get(at)
        .is_some_and(|b| !b.is_ascii_whitespace() && !b"\"',;&}])<>\\".contains(b))
    {
        at += 1;
    }
    at
}

/// Refuses a base URL that is not `https://`, nor `http://` to a loopback host (127.0.0.0/8,
/// `::1`, `localhost`, for tests and local proxies): credentials and tokens never travel in
/// plain text to another machine.
pub(crate) fn check_base_url(setting: &'static str, url: &str) -> Result<(), ClientError> {
    let refuse = |reason| ClientError::InsecureUrl {
        setting,
        url: without_user_info(url),
        reason,
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| refuse("not an http(s) URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit('@').next().unwrap_or("");
    let host = match host_port.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => host_port.split(':').next().unwrap_or(""),
    };
    if host.is_empty() {
        return Err(refuse("the URL has no host"));
    }
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(refuse(
            "plain http is allowed only to a loopback host (127.0.0.0/8, ::1, localhost); use \
             https",
        )),
        _ => Err(refuse("not an http(s) URL")),
    }
}

/// The URL with any `user:password@` replaced, for messages.
fn without_user_info(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => {
            let prefix = if scheme.is_empty() {
                String::new()
            } else {
                format!("{scheme}://")
            };
            format!("{prefix}{REDACTED}@{}", &rest[at + 1..])
        }
        None => url.to_string(),
    }
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
    server_text(&message)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_removes_credentials_after_names_and_schemes_and_keeps_the_rest() {
        let cases = [
            (
                "Authorization: Bearer abc.def-1",
                "Authorization: Bearer <redacted>",
            ),
            (
                "authorization: Basic dGVzdDp4eQ==\r\nhost: x",
                "authorization: Basic <redacted>\r\nhost: x",
            ),
            (
                "grant_type=client_credentials&client_secret=s3&x=1",
                "grant_type=client_credentials&client_secret=<redacted>&x=1",
            ),
            (
                "{\"access_token\": \"tok\", \"expires_in\": 3600}",
                "{\"access_token\": \"<redacted>\", \"expires_in\": 3600}",
            ),
            (
                "proxy: bearer tok and BASIC abc",
                "proxy: bearer <redacted> and BASIC <redacted>",
            ),
            ("Invalid access token", "Invalid access token"),
            ("no secrets here: the basics", "no secrets here: the basics"),
            ("naïve Bearer é-tok, ok", "naïve Bearer <redacted>, ok"),
        ];
        for (text, expected) in cases {
            assert_eq!(redact(text), expected, "{text}");
        }
    }

    #[test]
    fn server_text_is_redacted_before_it_is_shortened() {
        let text = format!("{}Bearer secret-token", "x".repeat(190));
        let shown = server_text(&text);
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.chars().count() <= QUOTED_CHARS + 1);
    }

    #[test]
    fn user_info_never_reaches_a_message() {
        assert_eq!(
            without_user_info("http://me:pw@host.example/v1/?a=b@c"),
            "http://<redacted>@host.example/v1/?a=b@c"
        );
        assert_eq!(without_user_info("https://host/v1/"), "https://host/v1/");
    }
}
