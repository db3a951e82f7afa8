//! OAuth 2.0 client credentials (RFC 6749 §4.4): the token request and its answers.

use crate::error::{Error, ErrorKind, Result};
use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::fmt;
use std::time::Duration;
use url::Url;

use super::*;

/// How an OAuth client authenticates to the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuthStyle {
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1, alternative).
    #[default]
    Body,
    /// `Authorization: Basic` with the id and secret (RFC 6749 §2.3.1, preferred).
    Basic,
}

/// OAuth 2.0 client-credentials grant (RFC 6749 §4.4) with a cached, shared token.
pub struct OAuth2ClientCredentials {
    token_url: Url,
    client_id: String,
    client_secret: SecretString,
    scopes: Vec<String>,
    style: ClientAuthStyle,
    http: TokenClients,
    cache: TokenCache,
}

impl fmt::Debug for OAuth2ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuth2ClientCredentials")
            .field("token_url", &self.token_url.as_str())
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("scopes", &self.scopes)
            .finish()
    }
}

#[derive(Deserialize)]
pub(super) struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

/// An OAuth token endpoint error, classified by the body's `error` (RFC 6749 §5.2).
pub(super) fn oauth_error(status: u16, body: &[u8]) -> Error {
    let code = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(String::from));
    let (kind, hint) = match code.as_deref() {
        Some("invalid_client") | Some("unauthorized_client") => (
            ErrorKind::Unauthenticated,
            "check the client id and secret, and that the client-credentials grant is enabled",
        ),
        Some("invalid_scope") => (
            ErrorKind::InvalidArgument,
            "register the requested scopes on the OAuth app",
        ),
        Some("invalid_request") | Some("unsupported_grant_type") | Some("invalid_grant") => (
            ErrorKind::InvalidArgument,
            "check the client id and the token URL",
        ),
        _ => (
            ErrorKind::from_http_status(status).unwrap_or(ErrorKind::Internal),
            "check the credentials and the token URL",
        ),
    };
    let mut err = Error::new(
        kind,
        format!("OAuth token request failed with HTTP {status}: {hint}"),
    )
    .with_http_status(status);
    if let Some(msg) = api_message(body) {
        err = err.with_api_message(msg);
    }
    err
}

impl OAuth2ClientCredentials {
    /// A client-credentials provider for `token_url`.
    pub fn new(
        token_url: Url,
        client_id: impl Into<String>,
        client_secret: SecretString,
        scopes: Vec<String>,
    ) -> Self {
        OAuth2ClientCredentials {
            token_url,
            client_id: client_id.into(),
            client_secret,
            scopes,
            style: ClientAuthStyle::Body,
            http: TokenClients::default(),
            cache: TokenCache::default(),
        }
    }

    /// Sets how the client authenticates to the token endpoint.
    pub fn with_auth_style(mut self, style: ClientAuthStyle) -> Self {
        self.style = style;
        self
    }

    /// Sets the token cache (e.g. to change the refresh margin).
    pub fn with_cache(mut self, cache: TokenCache) -> Self {
        self.cache = cache;
        self
    }

    async fn fetch(&self) -> Result<Token> {
        // grant_type, client_id, client_secret, scope: the order of RFC 6749's examples.
        let scope = self.scopes.join(" ");
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
        let origin = self.token_url.origin().ascii_serialization();
        let mut req = self
            .http
            .client(&origin)?
            .request_url(super::super::Method::POST, self.token_url.as_str())?
            // Asking for a token twice is harmless.
            .idempotent(true);
        match self.style {
            ClientAuthStyle::Body => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", self.client_secret.expose_secret()));
            }
            ClientAuthStyle::Basic => {
                req = req.basic_auth(&self.client_id, &self.client_secret);
            }
        }
        if !scope.is_empty() {
            form.push(("scope", &scope));
        }
        let resp = req
            .form(&form)
            .send_raw()
            .await
            .map_err(|e| e.context("requesting an OAuth token"))?;
        if !resp.is_success() {
            return Err(oauth_error(resp.status(), resp.body()));
        }
        parse_token_response(resp.body())
    }
}

/// Parses `{"access_token": "...", "expires_in": 3600}`; `expires_in` may be a number or a
/// numeric string; missing means 3600 s. Errors never quote the body (it holds the token).
pub(super) fn parse_token_response(body: &[u8]) -> Result<Token> {
    let parsed: TokenResponse = serde_json::from_slice(body).map_err(|_| {
        Error::new(
            ErrorKind::Internal,
            "the OAuth token response is not the expected JSON object",
        )
    })?;
    let token = parsed
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Internal,
                "the OAuth token response has no access_token",
            )
        })?;
    let expires_in = match parsed.expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    }
    .filter(|s| s.is_finite() && *s > 0.0)
    .unwrap_or(3600.0)
    // A lifetime past a year is a server's mistake; a year is long enough, and never panics.
    .min(MAX_TOKEN_LIFETIME.as_secs_f64());
    Ok(Token {
        secret: SecretString::from(token),
        expires_in: Some(Duration::from_secs_f64(expires_in)),
    })
}

#[async_trait]
impl AuthProvider for OAuth2ClientCredentials {
    async fn authorize(&self, request: &mut AuthRequest) -> Result<AuthStamp> {
        let (token, stamp) = self.cache.get(|| self.fetch()).await?;
        request.bearer(&token);
        Ok(stamp)
    }

    async fn unauthorized(&self, stamp: AuthStamp) -> bool {
        self.cache.invalidate(stamp).await;
        true
    }

    fn attach(&self, token_http: &TokenHttp) {
        self.http.attach(token_http);
    }
}
