//! A connector's own token exchange (a vendor `/auth` endpoint) as an auth provider.

use crate::error::Result;
use async_trait::async_trait;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::*;

/// The future a [`TokenExchange`] function returns.
pub type TokenFuture = Pin<Box<dyn Future<Output = Result<Token>> + Send>>;

/// A custom token exchange (e.g. Valimail's `POST /auth`), cached and refreshed like OAuth.
///
/// The function gets a [`TokenHttp`]: the rate limiter, timeout and User-Agent of the
/// client the provider is installed in, to make an SDK [`HttpClient`](crate::http::HttpClient)
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
    scheme: Option<String>,
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
            scheme: Some("Bearer".into()),
        }
    }

    /// Sends the token as `Authorization: <scheme> <token>` instead of `Bearer`, or bare
    /// when `scheme` is `None` or blank (see [`AuthRequest::authorization`]).
    pub fn with_scheme(mut self, scheme: Option<String>) -> Self {
        self.scheme = scheme;
        self
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
        request.authorization(self.scheme.as_deref(), &token);
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
