//! A token with its expiry, and the cache that refreshes it once for all callers.

use crate::error::Result;
use secrecy::SecretString;
use std::fmt;
use std::future::Future;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::*;

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

pub(super) struct Cached {
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

    /// Drops the cached token, whichever it is: for a refusal noticed where the stamp of
    /// the token sent is no longer known (a gRPC status read from trailers). A token
    /// another caller fetched meanwhile is dropped too and fetched again: one request more.
    pub async fn clear(&self) {
        *self.state.lock().await = None;
    }

    /// Drops the token of `stamp` if it is still the current one (after a 401).
    pub async fn invalidate(&self, stamp: AuthStamp) {
        let mut state = self.state.lock().await;
        if state.as_ref().is_some_and(|c| c.generation == stamp.0) {
            *state = None;
        }
    }
}
