//! Auth providers: static bearer, basic, OAuth2 client credentials, custom token exchange.
//!
//! A provider adds credentials to each request ([`AuthProvider::authorize`]) and is told
//! when a request carrying them got a 401 ([`AuthProvider::unauthorized`]). Token-based
//! providers keep the token in a [`TokenCache`]: fetched once, shared by every task,
//! refreshed shortly before it expires, and refreshed *once* (single flight) when many
//! concurrent requests need a new one. The HTTP client replays a 401'd request once after
//! a refresh, never more.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio::sync::Mutex;
use tokio::time::Instant;
use url::Url;

use crate::error::{Error, ErrorKind, Result};

use super::error_body::api_message;

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

/// What token requests are made with: the rate limiter, timeout and User-Agent of the
/// client a provider is installed in. [`TokenHttp::client`] makes an
/// [`HttpClient`](super::HttpClient) for a token endpoint's origin, without auth and
/// without its own retries (the client retries a failed token request with the request
/// that needed it).
#[derive(Clone)]
pub struct TokenHttp {
    pub(crate) user_agent: String,
    pub(crate) timeout: Duration,
    pub(crate) limiter: Arc<crate::ratelimit::RateLimiter>,
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
        }
    }
}

impl TokenHttp {
    /// A client for `base_url` (e.g. the token URL's origin) sharing the limiter.
    pub fn client(&self, base_url: &str) -> Result<super::HttpClient> {
        let mut builder = super::HttpClient::builder(base_url)?
            .timeout(self.timeout)
            .limiter(self.limiter.clone())
            .retry(super::RetryPolicy::none());
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
}

impl BearerToken {
    /// A provider sending `token` on every request.
    pub fn new(token: SecretString) -> Self {
        BearerToken { token }
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
        request.bearer(&self.token);
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

/// The longest a token is kept, whatever its lifetime says.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

/// An access token and how long it lives.
#[derive(Clone)]
pub struct Token {
    /// The token.
    pub secret: SecretString,
    /// Its lifetime from now, when known; `None` means "until a 401".
    pub expires_in: Option<Duration>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &"[REDACTED]")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

struct Cached {
    secret: SecretString,
    refresh_at: Option<Instant>,
    generation: u64,
}

/// A shared token with single-flight refresh.
///
/// [`get`](TokenCache::get) returns the cached token while it is fresh; otherwise exactly
/// one caller fetches a new one while the others wait for it. A token is refreshed
/// `margin` before it expires (default 60 s, or a tenth of a short lifetime).
pub struct TokenCache {
    state: Mutex<Option<Cached>>,
    generation: std::sync::atomic::AtomicU64,
    margin: Duration,
}

impl fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("margin", &self.margin)
            .finish_non_exhaustive()
    }
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache::new(Duration::from_secs(60))
    }
}

impl TokenCache {
    /// A cache refreshing tokens `margin` before they expire.
    pub fn new(margin: Duration) -> Self {
        TokenCache {
            state: Mutex::new(None),
            generation: std::sync::atomic::AtomicU64::new(0),
            margin,
        }
    }

    /// The current token, fetching one with `fetch` when there is none or it is due.
    pub async fn get<F, Fut>(&self, fetch: F) -> Result<(SecretString, AuthStamp)>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Token>>,
    {
        let mut state = self.state.lock().await;
        if let Some(c) = state.as_ref()
            && c.refresh_at.is_none_or(|at| Instant::now() < at)
        {
            return Ok((c.secret.clone(), AuthStamp(c.generation)));
        }
        let token = fetch().await?;
        let generation = self
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        let refresh_at = token.expires_in.map(|life| {
            let life = life.min(MAX_TOKEN_LIFETIME);
            let margin = self.margin.min(life / 10);
            Instant::now() + life.saturating_sub(margin)
        });
        *state = Some(Cached {
            secret: token.secret.clone(),
            refresh_at,
            generation,
        });
        Ok((token.secret, AuthStamp(generation)))
    }

    /// Drops the token of `stamp` if it is still the current one (after a 401).
    pub async fn invalidate(&self, stamp: AuthStamp) {
        let mut state = self.state.lock().await;
        if state.as_ref().is_some_and(|c| c.generation == stamp.0) {
            *state = None;
        }
    }
}

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
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
}

/// An OAuth token endpoint error, classified by the body's `error` (RFC 6749 §5.2).
fn oauth_error(status: u16, body: &[u8]) -> Error {
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
            .request_url(super::Method::POST, self.token_url.as_str())?
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
fn parse_token_response(body: &[u8]) -> Result<Token> {
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

/// The future a [`TokenExchange`] function returns.
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<Token>> + Send>>;

/// A custom token exchange (e.g. Valimail's `POST /auth`), cached and refreshed like OAuth.
///
/// The function gets a [`TokenHttp`]: the rate limiter, timeout and User-Agent of the
/// client the provider is installed in, to make an SDK [`HttpClient`](super::HttpClient)
/// for the token endpoint. A failure it reports as retryable (a 429 or 5xx) is retried
/// with the request that needed the token.
///
/// ```
/// use std::time::Duration;
/// use connector_sdk::http::auth::{Token, TokenExchange, TokenHttp};
/// use secrecy::SecretString;
///
/// let exchange = TokenExchange::new(|_http: TokenHttp| {
///     Box::pin(async move {
///         // POST credentials with _http.client(…), parse the reply…
///         Ok(Token { secret: SecretString::from("t0k3n"), expires_in: Some(Duration::from_secs(600)) })
///     })
/// });
/// ```
pub struct TokenExchange {
    exchange: Arc<dyn Fn(TokenHttp) -> TokenFuture + Send + Sync>,
    http: std::sync::OnceLock<TokenHttp>,
    cache: TokenCache,
}

impl fmt::Debug for TokenExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenExchange").finish_non_exhaustive()
    }
}

impl TokenExchange {
    /// A provider that gets tokens by calling `exchange`.
    pub fn new(exchange: impl Fn(TokenHttp) -> TokenFuture + Send + Sync + 'static) -> Self {
        TokenExchange {
            exchange: Arc::new(exchange),
            http: std::sync::OnceLock::new(),
            cache: TokenCache::default(),
        }
    }

    /// Sets the token cache.
    pub fn with_cache(mut self, cache: TokenCache) -> Self {
        self.cache = cache;
        self
    }
}

#[async_trait]
impl AuthProvider for TokenExchange {
    async fn authorize(&self, request: &mut AuthRequest) -> Result<AuthStamp> {
        let http = self.http.get().cloned().unwrap_or_default();
        let (token, stamp) = self.cache.get(|| (self.exchange)(http)).await?;
        request.bearer(&token);
        Ok(stamp)
    }

    async fn unauthorized(&self, stamp: AuthStamp) -> bool {
        self.cache.invalidate(stamp).await;
        true
    }

    fn attach(&self, token_http: &TokenHttp) {
        let _ = self.http.set(token_http.clone());
    }
}

#[cfg(test)]
mod tests;
