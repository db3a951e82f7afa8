//! Auth providers: static bearer, basic, OAuth2 client credentials, custom token exchange.
//!
//! A provider adds credentials to each request ([`AuthProvider::authorize`]) and is told
//! when a request carrying them got a 401 ([`AuthProvider::unauthorized`]). Token-based
//! providers keep the token in a [`TokenCache`]: fetched once, shared by every task,
//! refreshed shortly before it expires, and refreshed *once* (single flight) when many
//! concurrent requests need a new one. The HTTP client replays a 401'd request once after
//! a refresh, never more.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use crate::error::{Error, Result};

use super::error_body::api_message;

mod exchange;
mod oauth;
mod token;

pub use exchange::{TokenExchange, TokenFuture};
pub use oauth::{ClientAuthStyle, OAuth2ClientCredentials};
pub use token::{MAX_TOKEN_LIFETIME, Token, TokenCache};

/// Which credentials a request carried: lets a provider tell a stale token from one
/// already refreshed by another task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuthStamp(pub u64);

/// Adds credentials to requests and refreshes them after a 401.
///
/// A provider sees an [`AuthRequest`] (the SDK's, not an HTTP library's type), so an
/// upgrade of the HTTP stack never breaks one. Providers that fetch tokens over HTTP get
/// a [`TokenHttp`] from the client they are installed in ([`AuthProvider::attach`]), so
/// token requests share the connector's rate limiter, timeout and User-Agent.
#[async_trait]
pub trait AuthProvider: Send + Sync {
    /// Adds credentials to `request`; returns a stamp of the credentials used.
    async fn authorize(&self, request: &mut AuthRequest) -> Result<AuthStamp>;

    /// A request sent with `stamp` got a 401. Returns `true` when fresh credentials may
    /// succeed (the provider dropped the stale token), `false` when replaying is pointless
    /// (static credentials).
    async fn unauthorized(&self, stamp: AuthStamp) -> bool;

    /// Called once when the provider is installed in an [`HttpClient`](super::HttpClient),
    /// with what token requests should be made with. The default ignores it.
    fn attach(&self, _token_http: &TokenHttp) {}
}

/// The credentials of one outgoing request, as an [`AuthProvider`] sets them. Values are
/// marked sensitive (never logged by the HTTP stack) and `Debug` shows only names.
///
/// ```
/// use connector_sdk::http::auth::AuthRequest;
/// use secrecy::SecretString;
/// let mut req = AuthRequest::default();
/// req.bearer(&SecretString::from("t0k3n"));
/// req.header("x-api-key", &SecretString::from("k3y")).unwrap();
/// let shown = format!("{req:?}");
/// assert!(shown.contains("authorization") && !shown.contains("t0k3n") && !shown.contains("k3y"));
/// ```
#[derive(Default)]
pub struct AuthRequest {
    headers: reqwest::header::HeaderMap,
    /// A credential HTTP could not carry: the request is not sent without it.
    refused: Option<Error>,
}

impl fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthRequest")
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl AuthRequest {
    /// `Authorization: Bearer <token>`. A token with bytes HTTP cannot carry (a trailing
    /// newline from a token endpoint, say) fails the request with a clear error instead of
    /// sending it without credentials.
    pub fn bearer(&mut self, token: &SecretString) {
        let value = format!("Bearer {}", token.expose_secret().trim());
        if let Err(e) = self.set(reqwest::header::AUTHORIZATION, &value) {
            self.refused = Some(e);
        }
    }

    /// `Authorization: <scheme> <token>`, or the bare token when `scheme` is `None` or
    /// blank (APIs that document a raw key, or a scheme other than `Bearer` such as
    /// `Token` or `SSWS`). Like [`bearer`](Self::bearer), a value HTTP cannot carry fails
    /// the request.
    ///
    /// ```
    /// use connector_sdk::http::auth::AuthRequest;
    /// use secrecy::SecretString;
    /// let mut req = AuthRequest::default();
    /// req.authorization(Some("Token"), &SecretString::from("k3y"));
    /// assert!(format!("{req:?}").contains("authorization"));
    /// ```
    pub fn authorization(&mut self, scheme: Option<&str>, token: &SecretString) {
        let token = token.expose_secret().trim();
        let value = match scheme.map(str::trim).filter(|s| !s.is_empty()) {
            Some(scheme) => format!("{scheme} {token}"),
            None => token.to_string(),
        };
        if let Err(e) = self.set(reqwest::header::AUTHORIZATION, &value) {
            self.refused = Some(e);
        }
    }

    /// `Authorization: Basic base64(<username>:<password>)`.
    pub fn basic(&mut self, username: &str, password: &SecretString) {
        use base64::Engine;
        let raw = format!("{username}:{}", password.expose_secret());
        let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
        if let Err(e) = self.set(reqwest::header::AUTHORIZATION, &format!("Basic {encoded}")) {
            self.refused = Some(e);
        }
    }

    /// Any other credential header (e.g. `x-api-key`).
    pub fn header(&mut self, name: &str, value: &SecretString) -> Result<()> {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::invalid_argument(format!("{name:?} is not a valid HTTP header name"))
        })?;
        self.set(name, value.expose_secret())
    }

    fn set(&mut self, name: reqwest::header::HeaderName, value: &str) -> Result<()> {
        let mut value = reqwest::header::HeaderValue::from_str(value).map_err(|_| {
            Error::invalid_argument(format!(
                "the credential for header {name} holds characters HTTP cannot carry"
            ))
        })?;
        value.set_sensitive(true);
        self.headers.insert(name, value);
        Ok(())
    }

    /// The headers to send, or why the credentials cannot be sent.
    pub(crate) fn into_headers(self) -> Result<reqwest::header::HeaderMap> {
        match self.refused {
            Some(e) => Err(e),
            None => Ok(self.headers),
        }
    }
}

/// What token requests are made with: the rate limiter, timeout, User-Agent, response
/// body limit and plain-http permission of the client a provider is installed in.
/// [`TokenHttp::client`] makes an [`HttpClient`](super::HttpClient) for a token
/// endpoint's origin, without auth and without its own retries (the client retries a
/// failed token request with the request that needed it). A token client never follows
/// a redirect: a secret posted to the token endpoint goes nowhere else.
#[derive(Clone)]
pub struct TokenHttp {
    pub(crate) user_agent: String,
    pub(crate) timeout: Duration,
    pub(crate) limiter: Arc<crate::ratelimit::RateLimiter>,
    pub(crate) allow_insecure_http: bool,
    pub(crate) max_response_body: u64,
}

impl fmt::Debug for TokenHttp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenHttp")
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl Default for TokenHttp {
    fn default() -> Self {
        TokenHttp {
            user_agent: format!("connector-sdk/{}", env!("CARGO_PKG_VERSION")),
            timeout: Duration::from_secs(30),
            limiter: Arc::new(crate::ratelimit::RateLimiter::unlimited()),
            allow_insecure_http: false,
            max_response_body: super::DEFAULT_MAX_RESPONSE_BODY,
        }
    }
}

impl TokenHttp {
    /// A client for `base_url` (e.g. the token URL's origin) sharing the limiter, with the
    /// installing client's body limit and plain-http permission, following no redirect.
    pub fn client(&self, base_url: &str) -> Result<super::HttpClient> {
        let mut builder = super::HttpClient::builder(base_url)?
            .timeout(self.timeout)
            .limiter(self.limiter.clone())
            .retry(super::RetryPolicy::none())
            .allow_insecure_http(self.allow_insecure_http)
            .max_response_body(self.max_response_body)
            .follow_same_origin_redirects(false);
        builder.user_agent = self.user_agent.clone();
        builder.build()
    }
}

/// The client a token provider makes its requests with: the attached one, else a default.
#[derive(Default)]
struct TokenClients {
    attached: std::sync::OnceLock<TokenHttp>,
}

impl TokenClients {
    fn client(&self, base_url: &str) -> Result<super::HttpClient> {
        self.attached
            .get()
            .cloned()
            .unwrap_or_default()
            .client(base_url)
    }

    fn attach(&self, token_http: &TokenHttp) {
        let _ = self.attached.set(token_http.clone());
    }
}

/// A static bearer token (`Authorization: Bearer …`), e.g. an API key.
pub struct BearerToken {
    token: SecretString,
    scheme: Option<String>,
}

impl BearerToken {
    /// A provider sending `token` on every request.
    pub fn new(token: SecretString) -> Self {
        BearerToken {
            token,
            scheme: Some("Bearer".into()),
        }
    }

    /// Sends `Authorization: <scheme> <token>` instead of `Bearer`, or the bare token when
    /// `scheme` is `None` or blank (see [`AuthRequest::authorization`]).
    pub fn with_scheme(mut self, scheme: Option<String>) -> Self {
        self.scheme = scheme;
        self
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken([REDACTED])")
    }
}

#[async_trait]
impl AuthProvider for BearerToken {
    async fn authorize(&self, request: &mut AuthRequest) -> Result<AuthStamp> {
        request.authorization(self.scheme.as_deref(), &self.token);
        Ok(AuthStamp(0))
    }

    async fn unauthorized(&self, _stamp: AuthStamp) -> bool {
        false
    }
}

/// HTTP basic auth.
pub struct BasicAuth {
    username: String,
    password: SecretString,
}

impl BasicAuth {
    /// A provider sending `username` and `password` on every request.
    pub fn new(username: impl Into<String>, password: SecretString) -> Self {
        BasicAuth {
            username: username.into(),
            password,
        }
    }
}

impl fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BasicAuth")
            .field("username", &self.username)
            .field("password", &"[REDACTED]")
            .finish()
    }
}

#[async_trait]
impl AuthProvider for BasicAuth {
    async fn authorize(&self, request: &mut AuthRequest) -> Result<AuthStamp> {
        request.basic(&self.username, &self.password);
        Ok(AuthStamp(0))
    }

    async fn unauthorized(&self, _stamp: AuthStamp) -> bool {
        false
    }
}

#[cfg(test)]
mod tests;
