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
//!
//! [`send_json`]: RequestBuilder::send_json
//! * maps a final failure to an [`Error`] with the status, its kind and the API's message.

pub mod auth;
mod error_body;

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use backon::BackoffBuilder;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::{Error, ErrorKind, Result};
use crate::ratelimit::{RateLimitConfig, RateLimitInfo, RateLimiter};

pub use error_body::{api_message, error_from_response};

/// Maps a non-success response to an error; see [`error_from_response`] for the default.
pub type ErrorMapper = Arc<dyn Fn(&Response) -> Error + Send + Sync>;

/// How requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff delay; later ones grow exponentially, with jitter.
    pub min_delay: Duration,
    /// The largest backoff delay (a server's own `Retry-After` may be longer).
    pub max_delay: Duration,
    /// The most a request may spend waiting between attempts in all; a server asking
    /// for a longer wait gets an error instead.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

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
}

impl fmt::Debug for HttpClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClientBuilder")
            .field("base", &self.base.as_str())
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

/// Parses a base URL given by a user: absolute `http` or `https`, no query or fragment.
/// `flag` names where it came from in the error (e.g. `"--base-url (BATON_BASE_URL)"`).
///
/// ```
/// use connector_sdk::http::parse_base_url;
/// assert_eq!(parse_base_url("http://127.0.0.1:8080/prefix", "--base-url").unwrap().as_str(), "http://127.0.0.1:8080/prefix/");
/// assert!(parse_base_url("ftp://x", "--base-url").unwrap_err().to_string().contains("--base-url"));
/// ```
pub fn parse_base_url(raw: &str, flag: &str) -> Result<Url> {
    let mut url = Url::parse(raw.trim()).map_err(|e| {
        Error::invalid_argument(format!(
            "{flag}: {raw:?} is not a valid URL ({e}); give an absolute http or https URL"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid_argument(format!(
            "{flag}: {raw:?} must be an absolute http or https URL"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_argument(format!(
            "{flag}: {raw:?} must not have a query or fragment"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

impl HttpClientBuilder {
    /// Sets the User-Agent to `<connector>/<version> connector-sdk/<sdk version>`.
    pub fn user_agent(mut self, connector: &str, version: &str) -> Self {
        self.user_agent = format!(
            "{connector}/{version} connector-sdk/{}",
            env!("CARGO_PKG_VERSION")
        );
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

    /// Maps non-success responses with the connector's own error parser.
    pub fn error_mapper(
        mut self,
        mapper: impl Fn(&Response) -> Error + Send + Sync + 'static,
    ) -> Self {
        self.error_mapper = Some(Arc::new(mapper));
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<HttpClient> {
        let http = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            .default_headers(self.headers)
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

    /// The base URL with `segments` appended, each percent-encoded.
    ///
    /// ```
    /// use connector_sdk::http::HttpClient;
    /// let c = HttpClient::builder("https://api.example.com/v2").unwrap().build().unwrap();
    /// assert_eq!(c.url(&["users", "a b/c"]).as_str(), "https://api.example.com/v2/users/a%20b%2Fc");
    /// ```
    pub fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        url
    }

    /// A request of `method` to the base URL plus `segments`.
    pub fn request(&self, method: Method, segments: &[&str]) -> RequestBuilder {
        let idempotent = !matches!(method, Method::POST | Method::PATCH);
        RequestBuilder {
            client: self.clone(),
            method,
            url: self.url(segments),
            headers: HeaderMap::new(),
            body: None,
            idempotent,
            limiter: None,
            error: None,
        }
    }

    /// A request to an absolute URL (e.g. from a `Link: rel="next"` header). Refused unless
    /// it has the base URL's origin, so credentials never go to another host.
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

/// A request being built; [`send`](RequestBuilder::send) runs it with limits and retries.
pub struct RequestBuilder {
    client: HttpClient,
    method: Method,
    url: Url,
    headers: HeaderMap,
    body: Option<Vec<u8>>,
    idempotent: bool,
    limiter: Option<Arc<RateLimiter>>,
    error: Option<Error>,
}

impl fmt::Debug for RequestBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestBuilder")
            .field("method", &self.method)
            .field("path", &self.url.path())
            .field("idempotent", &self.idempotent)
            .finish_non_exhaustive()
    }
}

/// `application/json`.
pub const JSON: &str = "application/json";
/// `application/scim+json` (RFC 7644 §3.1).
pub const SCIM_JSON: &str = "application/scim+json";

impl RequestBuilder {
    /// Appends query parameters (percent-encoded).
    pub fn query<K: AsRef<str>, V: AsRef<str>>(mut self, pairs: &[(K, V)]) -> Self {
        {
            let mut q = self.url.query_pairs_mut();
            for (k, v) in pairs {
                q.append_pair(k.as_ref(), v.as_ref());
            }
        }
        self
    }

    /// Sets a header.
    pub fn header(mut self, name: HeaderName, value: &str) -> Self {
        match HeaderValue::from_str(value) {
            Ok(v) => {
                self.headers.insert(name, v);
            }
            Err(_) => {
                self.error = Some(Error::invalid_argument(format!(
                    "header {name}: value is not valid in HTTP"
                )))
            }
        }
        self
    }

    /// Sends `pairs` as an `application/x-www-form-urlencoded` body, in their order.
    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.body = Some(body.into_bytes());
        self.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        self
    }

    /// HTTP basic auth on this request only (e.g. an OAuth client authenticating to its
    /// token endpoint); the value is marked sensitive.
    pub fn basic_auth(mut self, username: &str, password: &secrecy::SecretString) -> Self {
        let mut credentials = auth::AuthRequest::default();
        credentials.basic(username, password);
        self.headers.extend(credentials.into_headers());
        self
    }

    /// Sends `body` as JSON (`Content-Type: application/json`).
    pub fn json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        self.json_as(body, JSON)
    }

    /// Sends already-encoded JSON bytes as they are (`Content-Type: application/json`), for
    /// bodies whose exact bytes matter.
    pub fn raw_json(mut self, bytes: Vec<u8>) -> Self {
        self.body = Some(bytes);
        self.headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON));
        self
    }

    /// Sends `body` as SCIM JSON (`Content-Type: application/scim+json`).
    pub fn scim_json<T: Serialize + ?Sized>(self, body: &T) -> Self {
        self.json_as(body, SCIM_JSON)
    }

    fn json_as<T: Serialize + ?Sized>(mut self, body: &T, content_type: &'static str) -> Self {
        match serde_json::to_vec(body) {
            Ok(bytes) => {
                self.body = Some(bytes);
                self.headers
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            Err(e) => {
                self.error = Some(Error::internal(format!(
                    "could not encode the request body: {e}"
                )))
            }
        }
        self
    }

    /// Marks the request as safe to replay after a server failure (e.g. a SCIM PATCH
    /// `replace`), or not.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Paces this request with `limiter` too (e.g. a stricter limit for writes).
    pub fn limiter(mut self, limiter: Arc<RateLimiter>) -> Self {
        self.limiter = Some(limiter);
        self
    }

    /// Sends the request, returning the response of any status after retries.
    pub async fn send_raw(self) -> Result<Response> {
        self.send_checked(|_| Ok(())).await
    }

    /// Sends the request; a successful response must pass `check` (e.g. parse as the JSON
    /// expected). A 2xx whose body fails it (a gateway's HTML page, JSON cut short) is
    /// retried like a 502 when the request is idempotent; the last failure is returned.
    async fn send_checked(
        self,
        mut check: impl FnMut(&Response) -> Result<()> + Send,
    ) -> Result<Response> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let inner = self.client.inner.clone();
        let path = self.url.path().to_string();
        let policy = inner.retry;
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_jitter()
            .without_max_times()
            .build();
        let mut attempt = 0u32;
        let mut waited = Duration::ZERO;
        let mut replayed_after_401 = false;
        loop {
            attempt += 1;
            let extra = match &self.limiter {
                Some(l) => Some(l.acquire().await),
                None => None,
            };
            let slot = match &inner.in_flight {
                Some(sem) => Some(
                    sem.clone()
                        .acquire_owned()
                        .await
                        .map_err(|_| Error::internal("the HTTP client was shut down"))?,
                ),
                None => None,
            };
            let permit = inner.limiter.acquire().await;
            let mut req = inner
                .http
                .request(self.method.clone(), self.url.clone())
                .timeout(inner.timeout)
                .headers(self.headers.clone())
                .header(header::ACCEPT, "application/json, application/scim+json");
            if let Some(body) = &self.body {
                req = req.body(body.clone());
            }
            let mut stamp = None;
            if let Some(a) = &inner.auth {
                let mut credentials = auth::AuthRequest::default();
                match a.authorize(&mut credentials).await {
                    Ok(s) => {
                        req = req.headers(credentials.into_headers());
                        stamp = Some(s);
                    }
                    // A rate-limited or unavailable token endpoint is retried like the request.
                    Err(e) if e.is_retryable() && attempt < policy.max_attempts => {
                        drop((permit, extra, slot));
                        let wait = e.retry_after();
                        wait_before_retry(
                            &mut backoff,
                            wait,
                            &mut waited,
                            policy,
                            &e,
                            attempt,
                            &path,
                        )
                        .await?;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            }
            let outcome = req.send().await;
            let (failure, server_wait) = match outcome {
                Err(e) => {
                    drop(permit);
                    drop(extra);
                    let err = transport_error(&e, self.method.as_str(), &path);
                    // A request whose connection never opened was not processed.
                    let safe = self.idempotent || e.is_connect();
                    if !safe || attempt >= policy.max_attempts {
                        let err = if e.is_connect()
                            || matches!(self.method, Method::GET | Method::HEAD)
                        {
                            err
                        } else {
                            may_have_applied(
                                err,
                                "the connection failed after the request was sent",
                            )
                        };
                        return Err(give_up(err, attempt));
                    }
                    (err, None)
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let headers = resp.headers().clone();
                    let info = RateLimitInfo::from_headers(&headers, SystemTime::now());
                    inner.limiter.observe(&info);
                    if let Some(l) = &self.limiter {
                        l.observe(&info);
                    }
                    let body = match resp.bytes().await {
                        Ok(b) => b.to_vec(),
                        Err(e) => {
                            drop(permit);
                            drop(extra);
                            let err = transport_error(&e, self.method.as_str(), &path)
                                .context("reading the response body");
                            if !self.idempotent || attempt >= policy.max_attempts {
                                return Err(give_up(err, attempt));
                            }
                            wait_before_retry(
                                &mut backoff,
                                None,
                                &mut waited,
                                policy,
                                &err,
                                attempt,
                                &path,
                            )
                            .await?;
                            continue;
                        }
                    };
                    drop(permit);
                    drop(extra);
                    let response = Response {
                        method: self.method.clone(),
                        url: self.url.clone(),
                        status,
                        headers,
                        body,
                        mapper: inner.error_mapper.clone(),
                    };
                    if status == 401
                        && !replayed_after_401
                        && let (Some(a), Some(s)) = (&inner.auth, stamp)
                        && a.unauthorized(s).await
                    {
                        replayed_after_401 = true;
                        attempt -= 1;
                        tracing::debug!(method = %self.method, path = %path, "401: refreshing credentials and replaying once");
                        continue;
                    }
                    if response.is_success() {
                        match check(&response) {
                            Ok(()) => return Ok(response),
                            Err(err) if !self.idempotent || attempt >= policy.max_attempts => {
                                let err = if matches!(self.method, Method::GET | Method::HEAD) {
                                    err
                                } else {
                                    may_have_applied(err, "the server answered with success")
                                };
                                return Err(give_up(err, attempt));
                            }
                            Err(err) => {
                                wait_before_retry(
                                    &mut backoff,
                                    None,
                                    &mut waited,
                                    policy,
                                    &err,
                                    attempt,
                                    &path,
                                )
                                .await?;
                                continue;
                            }
                        }
                    }
                    // 500 as upstream does: most are transient; a request that cannot be
                    // replayed safely is not retried.
                    let retryable = match status {
                        429 => true,
                        500 | 502..=504 => self.idempotent,
                        _ => false,
                    };
                    if !retryable || attempt >= policy.max_attempts {
                        if retryable {
                            let err = response.to_error();
                            return Err(give_up(err, attempt));
                        }
                        return Ok(response);
                    }
                    let wait = if status == 429 || status == 503 {
                        info.wait()
                    } else {
                        None
                    };
                    (response.to_error(), wait)
                }
            };
            wait_before_retry(
                &mut backoff,
                server_wait,
                &mut waited,
                policy,
                &failure,
                attempt,
                &path,
            )
            .await?;
        }
    }

    /// Sends the request; a non-success status becomes an [`Error`].
    pub async fn send(self) -> Result<Response> {
        let resp = self.send_raw().await?;
        if resp.is_success() {
            Ok(resp)
        } else {
            Err(resp.to_error())
        }
    }

    /// Sends the request and parses a successful response's JSON body. A 2xx body that is
    /// not the JSON expected (HTML from a gateway, a body cut short) is retried for
    /// idempotent requests; the final error says what came back.
    pub async fn send_json<T: DeserializeOwned + Send>(self) -> Result<T> {
        self.send_json_validated(|_: &T| Ok(())).await
    }

    /// [`send_json`](Self::send_json), where the parsed body must also pass `validate`
    /// (e.g. a SCIM page must start where it was asked to). A body that fails it is
    /// treated like one that does not parse: retried for idempotent requests, and the last
    /// failure returned.
    ///
    /// ```no_run
    /// # async fn demo(client: connector_sdk::http::HttpClient) -> connector_sdk::Result<()> {
    /// use connector_sdk::{Error, ErrorKind};
    /// let page: serde_json::Value = client
    ///     .get(&["Users"])
    ///     .query(&[("startIndex", "101")])
    ///     .send_json_validated(|v: &serde_json::Value| match v["startIndex"].as_u64() {
    ///         Some(101) | None => Ok(()),
    ///         Some(other) => Err(Error::new(ErrorKind::Unavailable, format!("got the page at {other}"))),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_json_validated<T: DeserializeOwned + Send>(
        self,
        validate: impl Fn(&T) -> Result<()> + Send + Sync,
    ) -> Result<T> {
        let mut parsed = None;
        let resp = self
            .send_checked(|r| {
                let value = r.json::<T>()?;
                validate(&value)?;
                parsed = Some(value);
                Ok(())
            })
            .await?;
        match parsed {
            Some(v) => Ok(v),
            None if resp.is_success() => resp.json(),
            None => Err(resp.to_error()),
        }
    }
}

async fn wait_before_retry(
    backoff: &mut impl Iterator<Item = Duration>,
    server_wait: Option<Duration>,
    waited: &mut Duration,
    policy: RetryPolicy,
    failure: &Error,
    attempt: u32,
    path: &str,
) -> Result<()> {
    let computed = backoff.next().unwrap_or(policy.max_delay);
    let wait = match server_wait {
        // Honour the server, plus a little jitter so that many tasks do not return at once.
        Some(w) => {
            w + Duration::from_millis(fastrand::u64(0..=(w.as_millis() as u64 / 10).min(1000)))
        }
        None => computed,
    };
    if *waited + wait > policy.max_total_wait {
        return Err(Error::new(
            failure.kind(),
            format!(
                "giving up after {attempt} attempt(s): waiting {:.1}s more would pass the retry budget of {:.0}s; last error: {failure}",
                wait.as_secs_f64(),
                policy.max_total_wait.as_secs_f64()
            ),
        ));
    }
    *waited += wait;
    tracing::debug!(
        path = %path,
        attempt,
        wait_ms = wait.as_millis() as u64,
        error = %failure,
        "retrying request"
    );
    tokio::time::sleep(wait).await;
    Ok(())
}

/// Says in `err` that a write may have been applied although it failed, so nobody retries
/// it blindly or reports it as not done.
fn may_have_applied(err: Error, why: &str) -> Error {
    err.with_context(
        "outcome",
        format!("{why}: the change may have been applied; check its state before retrying"),
    )
}

fn give_up(err: Error, attempts: u32) -> Error {
    if attempts > 1 {
        // Keeps the status, API message, context, source and retry-after.
        err.context(format_args!("giving up after {attempts} attempts"))
    } else {
        err
    }
}

/// Maps a transport failure (connection refused, timeout, reset) to an error.
pub(crate) fn transport_error(e: &reqwest::Error, method: &str, path: &str) -> Error {
    let kind = if e.is_timeout() {
        ErrorKind::DeadlineExceeded
    } else if e.is_builder() {
        ErrorKind::InvalidArgument
    } else {
        ErrorKind::Unavailable
    };
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "failed"
    };
    // reqwest's message names the URL; keep only the cause chain's text.
    let mut cause = String::new();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        cause = s.to_string();
        src = s.source();
    }
    let mut err = Error::new(kind, format!("{method} {path} {what}"));
    if !cause.is_empty() {
        err = err.with_context("cause", cause);
    }
    err
}

/// A response, with its body read.
#[derive(Clone)]
pub struct Response {
    method: Method,
    url: Url,
    status: u16,
    headers: HeaderMap,
    body: Vec<u8>,
    mapper: Option<ErrorMapper>,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Response")
            .field("method", &self.method)
            .field("path", &self.url.path())
            .field("status", &self.status)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl Response {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The method of the request.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL requested.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Parses the body as JSON (`application/json` or `application/scim+json`); an empty
    /// body parses as `null`. A malformed body is an [`ErrorKind::Internal`] error naming
    /// the request, not a panic.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let body: &[u8] = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|e| {
            // JSON of another shape is the API's (or our) mistake; HTML, plain text or a
            // body cut short is what a gateway or a dropped connection leaves: transient.
            let kind = if self.body_looks_json() && !e.is_eof() {
                ErrorKind::Internal
            } else {
                ErrorKind::Unavailable
            };
            Error::new(
                kind,
                format!(
                    "{} {} (on {}) answered HTTP {} with a body that is not the JSON expected: {}",
                    self.method,
                    self.url.path(),
                    self.url.origin().ascii_serialization(),
                    self.status,
                    self.describe_body(&e),
                ),
            )
            .with_http_status(self.status)
        })
    }

    fn body_looks_json(&self) -> bool {
        let trimmed = self.body.trim_ascii_start();
        trimmed.is_empty() || matches!(trimmed.first(), Some(b'{' | b'[' | b'"'))
    }

    /// What came back instead of the JSON expected: the content type, the size and, when
    /// the body is not JSON at all (an HTML error page, plain text), its first bytes. A
    /// body that is JSON, even cut short, is never quoted: it may hold a token.
    fn describe_body(&self, e: &serde_json::Error) -> String {
        let content_type = self.header("content-type").unwrap_or("none");
        let trimmed = self.body.trim_ascii_start();
        let what = if e.is_eof() {
            format!("JSON cut short after {} bytes", self.body.len())
        } else if self.body_looks_json() {
            format!("JSON of another shape ({e})")
        } else {
            let text = String::from_utf8_lossy(&trimmed[..trimmed.len().min(120)]);
            let text: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("{} bytes starting {:?}", self.body.len(), text)
        };
        format!(
            "{what} (content type {content_type}); a gateway or proxy in front of the API may have answered, or the API changed"
        )
    }

    /// The body as text (lossy).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// This response as an error, through the client's error mapper or the default one.
    pub fn to_error(&self) -> Error {
        match &self.mapper {
            Some(map) => map(self),
            None => error_from_response(self),
        }
    }
}
