//! Client-credentials authentication: the credentials, and the access token that refreshes itself
//! when it expires or when the API says it has.

use std::fmt;

use rspotify::Token;

use crate::error::ClientError;
use crate::http::{self, Http};

/// A Spotify app's client id and secret. `Debug` shows neither.
#[derive(Clone)]
pub struct ClientCredentials {
    inner: rspotify::Credentials,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientCredentials { id: <redacted>, secret: <redacted> }")
    }
}

impl ClientCredentials {
    /// Credentials from a client id and secret.
    pub fn new(id: &str, secret: &str) -> ClientCredentials {
        ClientCredentials {
            inner: rspotify::Credentials::new(id, secret),
        }
    }

    /// Credentials from `RSPOTIFY_CLIENT_ID` and `RSPOTIFY_CLIENT_SECRET` (rspotify's variables).
    pub fn from_env() -> Result<ClientCredentials, ClientError> {
        match rspotify::Credentials::from_env() {
            Some(inner) if inner.secret.as_deref().is_some_and(|s| !s.is_empty()) => {
                Ok(ClientCredentials { inner })
            }
            _ => Err(ClientError::MissingCredentials),
        }
    }

    /// The `Authorization: Basic …` value of the token request.
    fn basic_authorization(&self) -> Result<String, ClientError> {
        self.inner
            .auth_headers()
            .and_then(|headers| headers.get("authorization").cloned())
            .ok_or(ClientError::MissingCredentials)
    }
}

/// The client-credentials flow: fetches a token from `{auth_base}/api/token` and keeps it until
/// rspotify's [`Token::is_expired`] says it expires (ten seconds early) or the API answers 401.
pub(crate) struct Authenticator {
    credentials: ClientCredentials,
    token_url: String,
    token: Option<Token>,
    /// Tokens fetched so far.
    pub(crate) fetched: u64,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Authenticator")
            .field("token_url", &self.token_url)
            .field("credentials", &self.credentials)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Authenticator {
    pub(crate) fn new(credentials: ClientCredentials, auth_base_url: &str) -> Authenticator {
        Authenticator {
            credentials,
            token_url: http::join(auth_base_url, "api/token"),
            token: None,
            fetched: 0,
        }
    }

    /// Forgets the token, so that the next request fetches a new one.
    pub(crate) fn invalidate(&mut self) {
        self.token = None;
    }

    /// A valid `Authorization: Bearer …` value, fetching a token when there is none or it expired.
    pub(crate) fn bearer(&mut self, http: &mut Http) -> Result<String, ClientError> {
        if let Some(token) = self.token.as_ref().filter(|token| !token.is_expired()) {
            return Ok(format!("Bearer {}", token.access_token));
        }
        let token = self.fetch(http)?;
        let bearer = format!("Bearer {}", token.access_token);
        self.token = Some(token);
        Ok(bearer)
    }

    fn fetch(&mut self, http: &mut Http) -> Result<Token, ClientError> {
        let endpoint = http::endpoint("POST", &self.token_url);
        let authorization = self.credentials.basic_authorization()?;
        let request = http
            .post(&self.token_url)
            .set("Authorization", &authorization);
        let body = http
            .send(
                &endpoint,
                &request,
                Some(&[("grant_type", "client_credentials")]),
            )
            .map_err(|error| match error {
                ClientError::Http {
                    endpoint,
                    status,
                    message,
                    ..
                } if status < 500 => ClientError::Auth {
                    endpoint,
                    status,
                    message,
                },
                other => other,
            })?;
        let mut token: Token = serde_json::from_str(&body)
            .map_err(|error| ClientError::malformed(&endpoint, &error))?;
        // As rspotify's own token request does: the expiry is counted from now.
        token.expires_at = chrono::Utc::now().checked_add_signed(token.expires_in);
        self.fetched += 1;
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_the_client_id_and_secret() {
        let credentials = ClientCredentials::new("my-client-id", "my-secret-value");
        let text = format!(
            "{credentials:?} {:?}",
            Authenticator::new(credentials.clone(), "x")
        );
        assert!(
            !text.contains("my-client-id") && !text.contains("my-secret-value"),
            "{text}"
        );
    }
}
