//! A request being built, and the send loop: limits, auth, retries, error mapping.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use ::http::Method;
use ::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::body::{BodyError, read_limited, redirect_error};
use super::{HttpClient, Response, auth};
use crate::error::{Error, ErrorKind, Result};
use crate::ratelimit::{RateLimitInfo, RateLimiter};

/// A request being built; [`send`](RequestBuilder::send) runs it with limits and retries.
pub struct RequestBuilder {
    pub(super) client: HttpClient,
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) headers: HeaderMap,
    pub(super) body: Option<Vec<u8>>,
    pub(super) idempotent: bool,
    pub(super) limiter: Option<Arc<RateLimiter>>,
    pub(super) error: Option<Error>,
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
        match credentials.into_headers() {
            Ok(headers) => self.headers.extend(headers),
            Err(e) => self.error = Some(e),
        }
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
        mut self,
        mut check: impl FnMut(&Response) -> Result<()> + Send,
    ) -> Result<Response> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let inner = self.client.inner.clone();
        let path = self.url.path().to_string();
        let mut backoff = crate::retry::Backoff::new(inner.retry);
        let mut attempt = 0u32;
        let mut replayed_after_401 = false;
        loop {
            attempt += 1;
            match self
                .attempt(&inner, attempt, !replayed_after_401, &path, &mut check)
                .await
            {
                Step::Done(result) => return result,
                Step::Replay => {
                    replayed_after_401 = true;
                    attempt -= 1;
                    tracing::debug!(method = %self.method, path = %path, "401: refreshing credentials and replaying once");
                }
                Step::Retry { error, server_wait } => {
                    wait_before_retry(&mut backoff, server_wait, &error, attempt, &path).await?;
                }
            }
        }
    }

    /// One attempt: the permits (rate limit, in-flight slot) held in a guard until the
    /// body is read, the credentials, the request and what its answer means.
    async fn attempt(
        &self,
        inner: &super::Inner,
        attempt: u32,
        may_replay_401: bool,
        path: &str,
        check: &mut (impl FnMut(&Response) -> Result<()> + Send),
    ) -> Step {
        let last = attempt >= inner.retry.max_attempts;
        let permits = match Permits::acquire(inner, self.limiter.as_deref()).await {
            Ok(p) => p,
            Err(e) => return Step::Done(Err(e)),
        };
        let (req, stamp) = match self.authorized(inner).await {
            Ok(r) => r,
            // A rate-limited or unavailable token endpoint is retried like the request.
            Err(e) if e.is_retryable() && !last => {
                let server_wait = e.retry_after();
                return Step::Retry {
                    error: e,
                    server_wait,
                };
            }
            Err(e) => return Step::Done(Err(e)),
        };
        let resp = match req.send().await {
            Ok(resp) => resp,
            Err(e) => return self.transport_failure(&e, path, attempt, last),
        };
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let info = RateLimitInfo::from_headers(&headers, SystemTime::now());
        inner.limiter.observe(&info);
        if let Some(l) = &self.limiter {
            l.observe(&info);
        }
        // A redirect reqwest did not follow (all of them by default; those leaving the
        // origin always) is an error, never a 3xx "success".
        if let Some(err) = redirect_error(
            self.method.as_str(),
            &self.url,
            status,
            &headers,
            inner.follows_same_origin_redirects,
        ) {
            return Step::Done(Err(err.with_hint(inner.redirect_hint)));
        }
        let what = format!("{} {path}", self.method);
        let body = match read_limited(resp, inner.max_response_body, &what).await {
            Ok(b) => b,
            // Not retried: the next answer would be as large.
            Err(BodyError::TooLarge(err)) => return Step::Done(Err(err)),
            Err(BodyError::Transport(e)) => {
                let err = transport_error(&e, self.method.as_str(), path)
                    .context("reading the response body");
                if !self.idempotent || last {
                    return Step::Done(Err(give_up(err, attempt)));
                }
                return Step::Retry {
                    error: err,
                    server_wait: None,
                };
            }
        };
        drop(permits);
        let response = Response {
            method: self.method.clone(),
            url: self.url.clone(),
            status,
            headers,
            body,
            mapper: inner.error_mapper.clone(),
        };
        if status == 401
            && may_replay_401
            && let (Some(a), Some(s)) = (&inner.auth, stamp)
            && a.unauthorized(s).await
        {
            return Step::Replay;
        }
        if response.is_success() {
            return match check(&response) {
                Ok(()) => Step::Done(Ok(response)),
                Err(err) if !self.idempotent || last => {
                    let err = if matches!(self.method, Method::GET | Method::HEAD) {
                        err
                    } else {
                        may_have_applied(err, "the server answered with success")
                    };
                    Step::Done(Err(give_up(err, attempt)))
                }
                Err(err) => Step::Retry {
                    error: err,
                    server_wait: None,
                },
            };
        }
        self.failed_status(response, &info, attempt, last)
    }

    /// The request with its headers, body and credentials; the credentials' stamp (to
    /// report a 401 against).
    async fn authorized(
        &self,
        inner: &super::Inner,
    ) -> Result<(reqwest::RequestBuilder, Option<auth::AuthStamp>)> {
        let mut req = inner
            .http
            .request(self.method.clone(), self.url.clone())
            .timeout(inner.timeout)
            .headers(self.headers.clone());
        // The default Accept, unless the request names its own (a SCIM provider file may).
        if !self.headers.contains_key(header::ACCEPT) {
            req = req.header(header::ACCEPT, "application/json, application/scim+json");
        }
        if let Some(body) = &self.body {
            req = req.body(body.clone());
        }
        let Some(a) = &inner.auth else {
            return Ok((req, None));
        };
        let mut credentials = auth::AuthRequest::default();
        let stamp = a.authorize(&mut credentials).await?;
        Ok((req.headers(credentials.into_headers()?), Some(stamp)))
    }

    /// A request that failed in transport: retried when replaying it is safe (it is
    /// idempotent, or its connection never opened), else reported, saying when the
    /// server may have applied it.
    fn transport_failure(&self, e: &reqwest::Error, path: &str, attempt: u32, last: bool) -> Step {
        let err = transport_error(e, self.method.as_str(), path);
        // A request whose connection never opened was not processed.
        let safe = self.idempotent || e.is_connect();
        if safe && !last {
            return Step::Retry {
                error: err,
                server_wait: None,
            };
        }
        let err = if e.is_connect() || matches!(self.method, Method::GET | Method::HEAD) {
            err
        } else {
            may_have_applied(err, "the connection failed after the request was sent")
        };
        Step::Done(Err(give_up(err, attempt)))
    }

    /// A non-success answer: 429, and 500/502–504 for an idempotent request, are retried
    /// (500 as upstream does: most are transient); anything else is the caller's.
    fn failed_status(
        &self,
        response: Response,
        info: &RateLimitInfo,
        attempt: u32,
        last: bool,
    ) -> Step {
        let status = response.status();
        let retryable = match status {
            429 => true,
            500 | 502..=504 => self.idempotent,
            _ => false,
        };
        if !retryable {
            return Step::Done(Ok(response));
        }
        if last {
            return Step::Done(Err(give_up(response.to_error(), attempt)));
        }
        let server_wait = if status == 429 || status == 503 {
            info.wait()
        } else {
            None
        };
        Step::Retry {
            error: response.to_error(),
            server_wait,
        }
    }

    /// Sends the request; a non-success status becomes an [`Error`].
    pub async fn send(self) -> Result<Response> {
        let write_not_replayed = !self.idempotent;
        let resp = self.send_raw().await?;
        if resp.is_success() {
            Ok(resp)
        } else if write_not_replayed && matches!(resp.status(), 500 | 502 | 504) {
            // A gateway that failed or timed out may have passed the request on.
            Err(may_have_applied(
                resp.to_error(),
                "the server or a gateway failed after the request went out",
            ))
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

    /// [`send_json`](Self::send_json), returning the response as well as the parsed body,
    /// for what the headers say (a `Link: rel="next"`, a cursor, a total count).
    ///
    /// ```no_run
    /// # async fn demo(client: connector_sdk::http::HttpClient) -> connector_sdk::Result<()> {
    /// let (users, resp): (Vec<serde_json::Value>, _) = client.get(&["users"]).send_json_with_response().await?;
    /// let next = resp.header("link").and_then(connector_sdk::page::link_next);
    /// # Ok(()) }
    /// ```
    pub async fn send_json_with_response<T: DeserializeOwned + Send>(
        self,
    ) -> Result<(T, Response)> {
        let mut parsed = None;
        let resp = self
            .send_checked(|r| {
                parsed = Some(r.json::<T>()?);
                Ok(())
            })
            .await?;
        match parsed {
            Some(v) => Ok((v, resp)),
            None if resp.is_success() => Ok((resp.json()?, resp)),
            None => Err(resp.to_error()),
        }
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

/// What one attempt decided.
enum Step {
    /// Return this to the caller.
    Done(Result<Response>),
    /// Wait (the server's hint, else the backoff) and try again.
    Retry {
        error: Error,
        server_wait: Option<Duration>,
    },
    /// A 401 refreshed the credentials: replay now, not counted as an attempt.
    Replay,
}

/// The permits one attempt holds until its body is read: the request's own limiter, an
/// in-flight slot, the client's rate limiter. Released when dropped, however the attempt
/// ends.
struct Permits<'a> {
    _extra: Option<crate::ratelimit::Permit<'a>>,
    _slot: Option<tokio::sync::OwnedSemaphorePermit>,
    _client: crate::ratelimit::Permit<'a>,
}

impl<'a> Permits<'a> {
    async fn acquire(
        inner: &'a super::Inner,
        extra: Option<&'a RateLimiter>,
    ) -> Result<Permits<'a>> {
        let extra = match extra {
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
        Ok(Permits {
            _extra: extra,
            _slot: slot,
            _client: inner.limiter.acquire().await,
        })
    }
}

async fn wait_before_retry(
    backoff: &mut crate::retry::Backoff,
    server_wait: Option<Duration>,
    failure: &Error,
    attempt: u32,
    path: &str,
) -> Result<()> {
    let wait = backoff.wait_within_budget(server_wait, true).map_err(|wait| {
        Error::new(
            failure.kind(),
            format!(
                "giving up after {attempt} attempt(s): waiting {:.1}s more would pass the retry budget of {:.0}s; last error: {failure}",
                wait.as_secs_f64(),
                backoff.policy().max_total_wait.as_secs_f64()
            ),
        )
    })?;
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
pub(crate) fn may_have_applied(err: Error, why: &str) -> Error {
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
