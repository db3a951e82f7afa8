//! One HTTP client for every connector: base URL, auth, rate limits, retries, errors.
//!
//! ```no_run
//! use std::time::Duration;
//! use connector_sdk::http::{HttpClient, auth::BearerToken};
//! use connector_sdk::ratelimit::RateLimitConfig;
//! use secrecy::SecretString;
//!
//! # async fn demo() -> connector_sdk::Result<()> {
//! let client = HttpClient::builder("https://api.sendgrid.com/")?
//!     .user_agent("baton-sendgrid", "0.1.0")
//!     .auth(BearerToken::new(SecretString::from("SG.key")))
//!     .rate_limit(RateLimitConfig::per_minute(600))
//!     .timeout(Duration::from_secs(30))
//!     .build()?;
//! // Path segments are percent-encoded, never concatenated.
//! let teammates: serde_json::Value = client
//!     .get(&["v3", "teammates"])
//!     .query(&[("limit", "500"), ("offset", "0")])
//!     .send_json()
//!     .await?;
//! # Ok(()) }
//! ```
//!
//! What the client does for every request:
//!
//! * waits for the shared [`RateLimiter`] (configured pace, plus what servers' headers say);
//! * adds credentials from the [`AuthProvider`](auth::AuthProvider); on a 401 it asks the
//!   provider to refresh and replays the request once;
//! * retries 429, 500, 502, 503, 504, connection failures and (for [`send_json`]) a 2xx
//!   body that is not the JSON expected, of idempotent requests, with one jittered
//!   exponential backoff ([`RetryPolicy`]: from 250 ms, capped, within a total wait
//!   budget), waiting as long as the server says when it says; a non-idempotent request
//!   (POST, PATCH unless marked) is retried only when it cannot have been processed: a
//!   connection that never opened, or a 429;
//! * maps a final failure to an [`Error`] with the status, its kind and the API's message.
//!
//! [`send_json`]: RequestBuilder::send_json
//!
//! And what it refuses, so credentials stay with the configured host and a hostile server
//! or id cannot take the process somewhere else (see `docs/security.md`):
//!
//! * **redirects**: none is followed by default; a 3xx with a `Location` is an error naming
//!   the request and the `Location`'s origin. A connector whose API redirects within its
//!   own origin opts in with [`HttpClientBuilder::follow_same_origin_redirects`]; a redirect
//!   to another origin (host, port or scheme) is never followed. No `Referer` is sent;
//! * **plain `http://`** to a host that is not loopback, unless the operator allowed it
//!   ([`HttpClientBuilder::allow_insecure_http`], `--allow-insecure-http`,
//!   `BATON_ALLOW_INSECURE_HTTP`); `http://127.0.0.1`, `http://[::1]` and
//!   `http://localhost` (simulators, tests) are always allowed;
//! * **a user name or password in the base URL** (`https://user:pass@host`);
//! * **response bodies past a limit** ([`DEFAULT_MAX_RESPONSE_BODY`], 64 MiB; see
//!   [`HttpClientBuilder::max_response_body`]), checked against `Content-Length` first and
//!   counted while streaming, so memory stays bounded whatever a server sends;
//! * **path segments that are not one segment**: each is percent-encoded (`/`, `?`, `#`,
//!   `%`…), and `.`, `..` and the empty segment, which URL resolution would turn into
//!   another path (`DELETE /v3/teammates/..` is `DELETE /v3`), are refused before sending.
//!
//! The HTTP vocabulary is re-exported from the [`http`] crate (the types `reqwest`,
//! `axum` and `tonic` share), so a connector needs no other crate to name a method, a
//! status or a header:
//!
//! ```
//! use connector_sdk::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
//! let mut headers = HeaderMap::new();
//! headers.insert(HeaderName::from_static("x-api-version"), HeaderValue::from_static("2"));
//! assert!(headers.get(header::LINK).is_none());
//! assert_eq!(Method::GET.as_str(), "GET");
//! assert_eq!(StatusCode::from_u16(404).unwrap().canonical_reason(), Some("Not Found"));
//! ```

pub mod auth;
mod body;
mod error_body;
mod listing;
mod request;
mod response;
#[cfg(test)]
pub(crate) mod security_tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::error::{Error, Result};
use crate::ratelimit::{RateLimitConfig, RateLimiter};

/// Header names as constants (`header::LINK`, `header::CONTENT_TYPE`, …), from the
/// [`http`] crate.
pub use ::http::header;
// The HTTP vocabulary, from the `http` crate (the types reqwest, axum and tonic share),
// so a connector names methods, statuses and headers without depending on another crate.
/// Parsing a user's base URL is configuration ([`config`](crate::config)); re-exported
/// where 0.1 had it.
pub use crate::config::parse_base_url;
/// How requests are retried (defined in [`retry`](crate::retry), re-exported where the
/// client's builder takes it).
pub use crate::retry::RetryPolicy;
pub use ::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
pub use error_body::{api_message, error_from_response, is_html_page};
pub use listing::Listing;
pub(crate) use request::may_have_applied;
pub use request::{JSON, RequestBuilder, SCIM_JSON};
pub use response::Response;

/// Maps a non-success response to an error; see [`error_from_response`] for the default.
pub type ErrorMapper = Arc<dyn Fn(&Response) -> Error + Send + Sync>;

/// The largest response body an [`HttpClient`] reads unless its builder says otherwise
/// ([`HttpClientBuilder::max_response_body`]): 64 MiB.
pub const DEFAULT_MAX_RESPONSE_BODY: u64 = 64 * 1024 * 1024;

/// The most redirects followed for one request when same-origin redirects are allowed.
const MAX_REDIRECTS: usize = 10;

/// Builds an [`HttpClient`].
pub struct HttpClientBuilder {
    base: Url,
    user_agent: String,
    timeout: Duration,
    auth: Option<Arc<dyn auth::AuthProvider>>,
    limiter: Option<Arc<RateLimiter>>,
    retry: RetryPolicy,
    headers: HeaderMap,
    error_mapper: Option<ErrorMapper>,
    concurrency: Option<usize>,
    follow_same_origin_redirects: bool,
    allow_insecure_http: bool,
    max_response_body: u64,
    redirect_hint: &'static str,
    #[cfg(feature = "service")]
    tls: Option<rustls::ClientConfig>,
}

/// What a redirect error tells the operator to do, for a client of a connector's API.
const BASE_URL_REDIRECT_HINT: &str = "if the API moved, point the base URL at where it lives now (--base-url, BATON_BASE_URL); a connector whose API redirects within its own origin follows such redirects with HttpClientBuilder::follow_same_origin_redirects";

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("base", &self.base.as_str())
            .field("user_agent", &self.user_agent)
            .field(
                "follow_same_origin_redirects",
                &self.follow_same_origin_redirects,
            )
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("max_response_body", &self.max_response_body)
            .finish_non_exhaustive()
    }
}

/// The flag an operator gives to allow plain `http://` to a host that is not loopback.
pub const ALLOW_INSECURE_HTTP_FLAG: &str = "allow-insecure-http";

/// Whether `url`'s host is this machine: `localhost`, `127.0.0.0/8` or `::1`. Plain http
/// to it never crosses a network.
///
/// ```
/// use connector_sdk::http::is_loopback;
/// let u = |s: &str| url::Url::parse(s).unwrap();
/// assert!(is_loopback(&u("http://127.0.0.1:8080/")) && is_loopback(&u("http://[::1]/")) && is_loopback(&u("http://LOCALHOST/")));
/// assert!(!is_loopback(&u("http://example.com/")) && !is_loopback(&u("http://10.0.0.1/")));
/// ```
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Refuses plain `http://` to a host that is not loopback unless `allowed`: the error
/// names `--allow-insecure-http` (`BATON_ALLOW_INSECURE_HTTP`).
pub(crate) fn check_transport(url: &Url, allowed: bool) -> Result<()> {
    if url.scheme() == "http" && !allowed && !is_loopback(url) {
        return Err(Error::invalid_argument(format!(
            "refusing plain http to {}: credentials and data would cross the network unencrypted; use an https URL, or, if the network is trusted (a proxy on the same host, a test network), allow it with {} (HttpClientBuilder::allow_insecure_http in code)",
            url.origin().ascii_serialization(),
            crate::flags::flag_and_env(ALLOW_INSECURE_HTTP_FLAG)
        )));
    }
    Ok(())
}

/// `base` with `segments` appended: [`HttpClient::url`].
fn url_under(base: &Url, segments: &[&str]) -> Result<Url> {
    if let Some(bad) = segments.iter().find(|s| matches!(**s, "" | "." | "..")) {
        let path: Vec<String> = segments.iter().map(|s| format!("{s:?}")).collect();
        return Err(Error::invalid_argument(format!(
            "the path segment {bad:?} (in [{}]) cannot be sent: an id that is empty, \".\" or \"..\" would address another resource of the API (a URL resolves \"..\" to the parent path); such an id is not valid here",
            path.join(", ")
        )));
    }
    let mut url = base.clone();
    if let Ok(mut path) = url.path_segments_mut() {
        path.pop_if_empty();
        path.extend(segments);
    }
    Ok(url)
}

impl HttpClientBuilder {
    /// The base URL with `segments` appended, as [`HttpClient::url`] builds it: for an
    /// endpoint the client needs before it is built, such as an OAuth token URL on the
    /// API's host.
    ///
    /// ```
    /// use connector_sdk::http::HttpClient;
    /// let b = HttpClient::builder("https://api.example.com/v2").unwrap();
    /// assert_eq!(b.url(&["oauth", "token"]).unwrap().as_str(), "https://api.example.com/v2/oauth/token");
    /// ```
    pub fn url(&self, segments: &[&str]) -> Result<Url> {
        url_under(&self.base, segments)
    }

    /// Sets the User-Agent to `<connector>/<version> connector-sdk/<sdk version>`.
    pub fn user_agent(mut self, connector: &str, version: &str) -> Self {
        self.user_agent = format!(
            "{connector}/{version} connector-sdk/{}",
            env!("CARGO_PKG_VERSION")
        );
        self
    }

    /// Sets the User-Agent as given (service mode's token client names itself as
    /// upstream's credential provider does).
    #[cfg(feature = "service")]
    pub(crate) fn exact_user_agent(mut self, user_agent: String) -> Self {
        self.user_agent = user_agent;
        self
    }

    /// Trusts what `tls` trusts, instead of the platform's roots.
    #[cfg(feature = "service")]
    pub(crate) fn tls_config(mut self, tls: rustls::ClientConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// What a redirect error tells the operator to do (default: point `--base-url` at
    /// where the API lives now).
    #[cfg(feature = "service")]
    pub(crate) fn redirect_hint(mut self, hint: &'static str) -> Self {
        self.redirect_hint = hint;
        self
    }

    /// Sets the per-request timeout (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets the auth provider.
    pub fn auth(mut self, auth: impl auth::AuthProvider + 'static) -> Self {
        self.auth = Some(Arc::new(auth));
        self
    }

    /// Sets a shared auth provider.
    pub fn auth_arc(mut self, auth: Arc<dyn auth::AuthProvider>) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Paces every request at `config` (in addition to following server headers).
    pub fn rate_limit(mut self, config: RateLimitConfig) -> Self {
        self.limiter = Some(Arc::new(RateLimiter::new(config)));
        self
    }

    /// Uses a limiter shared with other clients.
    pub fn limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Allows at most `n` requests in flight at once across all clones of the client
    /// (e.g. 1 for an API that asks for one request at a time).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.concurrency = Some(n.max(1));
        self
    }

    /// Sets the retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Adds a header sent with every request (never a secret: use an auth provider).
    pub fn default_header(mut self, name: &'static str, value: &str) -> Result<Self> {
        let value = HeaderValue::from_str(value).map_err(|_| {
            Error::invalid_argument(format!("header {name}: value is not valid in HTTP"))
        })?;
        self.headers.insert(HeaderName::from_static(name), value);
        Ok(self)
    }

    /// Follows redirects (301, 302, 303, 307, 308) that stay within the base URL's origin
    /// (scheme, host and port), at most 10 per request; default: off. A redirect to another
    /// origin is never followed, with or without this: it is an error naming the request
    /// and the `Location`'s origin, so credentials (an `Authorization` or `x-api-key`
    /// header, a form with a client secret) never go to a host that was not configured.
    pub fn follow_same_origin_redirects(mut self, follow: bool) -> Self {
        self.follow_same_origin_redirects = follow;
        self
    }

    /// Allows a base URL of plain `http://` to a host that is not loopback (default: off;
    /// loopback is always allowed). The binaries turn it on with `--allow-insecure-http`
    /// (`BATON_ALLOW_INSECURE_HTTP`, declared by `connector_sdk::cli::BaseUrlArg`); without it,
    /// [`build`](Self::build) refuses such a URL with an error naming that flag.
    pub fn allow_insecure_http(mut self, allow: bool) -> Self {
        self.allow_insecure_http = allow;
        self
    }

    /// The largest response body read, in bytes (default [`DEFAULT_MAX_RESPONSE_BODY`],
    /// 64 MiB; at least 1). A response whose `Content-Length` is larger fails before its
    /// body is read; one without it fails as soon as the bytes received pass the limit.
    /// The error names the request (method and path) and the limit.
    pub fn max_response_body(mut self, bytes: u64) -> Self {
        self.max_response_body = bytes.max(1);
        self
    }

    /// Maps non-success responses with the connector's own error parser.
    pub fn error_mapper(
        mut self,
        mapper: impl Fn(&Response) -> Error + Send + Sync + 'static,
    ) -> Self {
        self.error_mapper = Some(Arc::new(mapper));
        self
    }

    /// Builds the client. Fails when the base URL is plain `http://` to a host that is not
    /// loopback and [`allow_insecure_http`](Self::allow_insecure_http) was not given.
    pub fn build(self) -> Result<HttpClient> {
        check_transport(&self.base, self.allow_insecure_http)?;
        ensure_tls_provider();
        let redirects = if self.follow_same_origin_redirects {
            let origin = self.base.origin();
            reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() > MAX_REDIRECTS || attempt.url().origin() != origin {
                    // Not followed: the 3xx comes back and the client makes it an error.
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            })
        } else {
            reqwest::redirect::Policy::none()
        };
        let builder = reqwest::Client::builder();
        // Service mode's token client trusts what the operator configured for ConductorOne
        // (extra roots, a test CA), as its gRPC channel does.
        #[cfg(feature = "service")]
        let builder = match self.tls {
            Some(tls) => builder.tls_backend_preconfigured(tls),
            None => builder,
        };
        let http = builder
            .user_agent(self.user_agent.clone())
            .default_headers(self.headers)
            .redirect(redirects)
            .referer(false)
            .build()
            .map_err(|e| Error::internal(format!("could not build the HTTP client: {e}")))?;
        let limiter = self
            .limiter
            .unwrap_or_else(|| Arc::new(RateLimiter::unlimited()));
        if let Some(auth) = &self.auth {
            auth.attach(&auth::TokenHttp {
                user_agent: self.user_agent.clone(),
                timeout: self.timeout,
                limiter: limiter.clone(),
                allow_insecure_http: self.allow_insecure_http,
                max_response_body: self.max_response_body,
            });
        }
        Ok(HttpClient {
            inner: Arc::new(Inner {
                http,
                base: self.base,
                timeout: self.timeout,
                auth: self.auth,
                limiter,
                retry: self.retry,
                error_mapper: self.error_mapper,
                in_flight: self
                    .concurrency
                    .map(|n| Arc::new(tokio::sync::Semaphore::new(n))),
                max_response_body: self.max_response_body,
                follows_same_origin_redirects: self.follow_same_origin_redirects,
                redirect_hint: self.redirect_hint,
            }),
        })
    }
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    timeout: Duration,
    auth: Option<Arc<dyn auth::AuthProvider>>,
    limiter: Arc<RateLimiter>,
    retry: RetryPolicy,
    error_mapper: Option<ErrorMapper>,
    in_flight: Option<Arc<tokio::sync::Semaphore>>,
    max_response_body: u64,
    follows_same_origin_redirects: bool,
    redirect_hint: &'static str,
}

/// The HTTP client. Cheap to clone; clones share the connection pool, the auth provider
/// and the rate limiter.
#[derive(Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("base", &self.inner.base.as_str())
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Starts a client for `base_url` (absolute http/https; a path prefix is kept).
    pub fn builder(base_url: &str) -> Result<HttpClientBuilder> {
        Ok(HttpClientBuilder {
            base: parse_base_url(base_url, "base URL")?,
            user_agent: format!("connector-sdk/{}", env!("CARGO_PKG_VERSION")),
            timeout: Duration::from_secs(60),
            auth: None,
            limiter: None,
            retry: RetryPolicy::default(),
            headers: HeaderMap::new(),
            error_mapper: None,
            concurrency: None,
            follow_same_origin_redirects: false,
            allow_insecure_http: false,
            max_response_body: DEFAULT_MAX_RESPONSE_BODY,
            redirect_hint: BASE_URL_REDIRECT_HINT,
            #[cfg(feature = "service")]
            tls: None,
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The shared rate limiter.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.inner.limiter
    }

    /// The largest response body this client reads, in bytes.
    pub fn max_response_body(&self) -> u64 {
        self.inner.max_response_body
    }

    /// The base URL with `segments` appended, each one path segment whatever it holds:
    /// percent-encoded (`/` is `%2F`, `?` is `%3F`, `#` is `%23`, `%` is `%25`…). A
    /// segment that is empty, `.` or `..` is refused: URL resolution would make it another
    /// path (`/v3/teammates/..` is `/v3`), and servers and proxies decode `%2E%2E` back to
    /// `..`, so there is no safe way to send one.
    ///
    /// ```
    /// use connector_sdk::http::HttpClient;
    /// let c = HttpClient::builder("https://api.example.com/v2").unwrap().build().unwrap();
    /// assert_eq!(c.url(&["users", "a b/c?d#e"]).unwrap().as_str(), "https://api.example.com/v2/users/a%20b%2Fc%3Fd%23e");
    /// let err = c.url(&["users", ".."]).unwrap_err();
    /// assert!(err.to_string().contains("\"..\""));
    /// ```
    pub fn url(&self, segments: &[&str]) -> Result<Url> {
        url_under(&self.inner.base, segments)
    }

    /// A request of `method` to the base URL plus `segments` (see [`url`](Self::url)); a
    /// segment that cannot be sent fails the request before anything is sent.
    pub fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let idempotent = !matches!(method, Method::POST | Method::PATCH);
        let (url, error) = match self.url(segments) {
            Ok(url) => (url, None),
            Err(e) => (self.inner.base.clone(), Some(e)),
        };
        RequestBuilder {
            client: self.clone(),
            method,
            url,
            headers: HeaderMap::new(),
            body: None,
            idempotent,
            limiter: None,
            error,
        }
    }

    /// A request to an absolute URL (e.g. from a `Link: rel="next"` header). Refused unless
    /// it has the base URL's origin and no user name or password, so credentials never go
    /// to another host.
    pub fn request_url(&self, method: Method, url: &str) -> Result<RequestBuilder> {
        let url = self.inner.base.join(url).map_err(|e| {
            Error::internal(format!("the API returned an invalid next-page URL: {e}"))
        })?;
        if url.origin() != self.inner.base.origin() {
            return Err(Error::internal(format!(
                "refusing to send credentials to {}, which is not the configured host {}",
                url.origin().ascii_serialization(),
                self.inner.base.origin().ascii_serialization()
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::internal(format!(
                "refusing a URL with a user name or password in it (on {}); credentials come from the client's auth, never from a URL",
                url.origin().ascii_serialization()
            )));
        }
        let mut req = self.request(method, &[]);
        req.url = url;
        Ok(req)
    }

    /// A GET request.
    pub fn get(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::GET, segments)
    }

    /// A POST request (not idempotent unless marked).
    pub fn post(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::POST, segments)
    }

    /// A PATCH request (not idempotent unless marked).
    pub fn patch(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::PATCH, segments)
    }

    /// A PUT request.
    pub fn put(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::PUT, segments)
    }

    /// A DELETE request.
    pub fn delete(&self, segments: &[&str]) -> RequestBuilder {
        self.request(Method::DELETE, segments)
    }
}

/// Makes sure a process-wide rustls crypto provider is installed, installing *ring*'s when
/// none is. The SDK builds its HTTP clients on rustls without a built-in provider (ring
/// compiles far faster than aws-lc-rs); [`HttpClientBuilder::build`] and service mode call
/// this, so a connector never needs to. A provider the application installed first is kept.
/// Call it before building a `reqwest` client of your own in the same process.
///
/// ```
/// connector_sdk::http::ensure_tls_provider();
/// assert!(rustls::crypto::CryptoProvider::get_default().is_some());
/// ```
pub fn ensure_tls_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Err means another thread installed one in between: that one is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
