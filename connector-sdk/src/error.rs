//! One error type for the whole SDK, with a kind modelled on gRPC status codes.
//!
//! Every fallible call in the SDK and in connectors returns [`Result<T>`]. The
//! [`ErrorKind`] says what went wrong in terms a caller can act on (retry, fix a
//! flag, ignore a missing resource); the message says it in words a person can act on.
//! An HTTP status and the API's own error text are kept when there are any.
//!
//! ```
//! use connector_sdk::{Error, ErrorKind};
//!
//! let err = Error::new(ErrorKind::NotFound, "user u-42 does not exist")
//!     .with_http_status(404)
//!     .with_api_message("Resource 'u-42' not found")
//!     .with_context("resource_type", "user");
//! assert_eq!(err.kind(), ErrorKind::NotFound);
//! assert!(!err.is_retryable());
//! assert_eq!(
//!     err.to_string(),
//!     "not found: user u-42 does not exist (HTTP 404; API said: Resource 'u-42' not found; resource_type=user)"
//! );
//! ```

use std::fmt;
use std::time::Duration;

/// A `Result` whose error is the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What kind of failure an [`Error`] is, modelled on gRPC status codes.
///
/// The kind decides what callers do: the HTTP client retries
/// [`Unavailable`](ErrorKind::Unavailable) and
/// [`ResourceExhausted`](ErrorKind::ResourceExhausted), the sync engine turns a per-resource
/// [`NotFound`](ErrorKind::NotFound) into a warning, and the CLI maps kinds to exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The caller sent something invalid (a bad id, a malformed argument). HTTP 400/422.
    InvalidArgument,
    /// Credentials are missing, wrong or expired. HTTP 401.
    Unauthenticated,
    /// Credentials are valid but lack a permission or scope. HTTP 403.
    PermissionDenied,
    /// The thing asked for does not exist. HTTP 404/410.
    NotFound,
    /// The thing to create exists already. HTTP 409.
    AlreadyExists,
    /// The system is not in a state that allows the operation (e.g. revoking the last role).
    FailedPrecondition,
    /// A rate limit or quota was hit. HTTP 429. Retryable after a wait.
    ResourceExhausted,
    /// The service is temporarily unavailable (HTTP 5xx, connection errors). Retryable.
    Unavailable,
    /// A deadline or timeout passed before the operation finished.
    DeadlineExceeded,
    /// The operation is not supported by this connector or API.
    Unimplemented,
    /// The operation was cancelled (for example on shutdown).
    Cancelled,
    /// The connector or API broke a contract (malformed response, repeated page token…).
    Internal,
}

impl ErrorKind {
    /// A short lower-case name, as used in messages (`"not found"`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid argument",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotFound => "not found",
            ErrorKind::AlreadyExists => "already exists",
            ErrorKind::FailedPrecondition => "failed precondition",
            ErrorKind::ResourceExhausted => "rate limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::DeadlineExceeded => "deadline exceeded",
            ErrorKind::Unimplemented => "unimplemented",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal error",
        }
    }

    /// The kind an HTTP status code maps to, or `None` for success and informational codes.
    ///
    /// ```
    /// use connector_sdk::ErrorKind;
    /// assert_eq!(ErrorKind::from_http_status(409), Some(ErrorKind::AlreadyExists));
    /// assert_eq!(ErrorKind::from_http_status(503), Some(ErrorKind::Unavailable));
    /// assert_eq!(ErrorKind::from_http_status(204), None);
    /// ```
    pub fn from_http_status(status: u16) -> Option<ErrorKind> {
        Some(match status {
            100..=399 => return None,
            400 | 422 => ErrorKind::InvalidArgument,
            401 => ErrorKind::Unauthenticated,
            403 => ErrorKind::PermissionDenied,
            404 | 410 => ErrorKind::NotFound,
            409 => ErrorKind::AlreadyExists,
            412 => ErrorKind::FailedPrecondition,
            405 | 501 => ErrorKind::Unimplemented,
            408 | 504 => ErrorKind::DeadlineExceeded,
            429 => ErrorKind::ResourceExhausted,
            500 | 502 | 503 => ErrorKind::Unavailable,
            400..=499 => ErrorKind::InvalidArgument,
            _ => ErrorKind::Unavailable,
        })
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The SDK's error: a [`ErrorKind`], a message, and optional HTTP details and context.
///
/// Build one with [`Error::new`] or a shorthand such as [`Error::not_found`], then add
/// details with the `with_*` methods. Never put a secret in a message or context value:
/// errors are logged and printed.
#[derive(thiserror::Error)]
#[error("{}", self.render())]
pub struct Error {
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    api_message: Option<String>,
    retry_after: Option<Duration>,
    context: Vec<(&'static str, String)>,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// The context key that marks [`Error::grant_cancelled`].
const GRANT_CANCELLED: &str = "grant_cancelled";

impl Error {
    /// A new error of `kind` with a message for a person.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            http_status: None,
            api_message: None,
            retry_after: None,
            context: Vec::new(),
            source: None,
        }
    }

    /// Shorthand for [`ErrorKind::InvalidArgument`].
    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// Shorthand for [`ErrorKind::NotFound`].
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    /// Shorthand for [`ErrorKind::FailedPrecondition`].
    pub fn failed_precondition(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::FailedPrecondition, message)
    }

    /// Shorthand for [`ErrorKind::Unimplemented`].
    pub fn unimplemented(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unimplemented, message)
    }

    /// Shorthand for [`ErrorKind::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }

    /// A grant the connector declines (the application refused it on purpose, e.g. a
    /// policy or an approval that said no): [`ErrorKind::FailedPrecondition`] marked so
    /// that service mode tells ConductorOne the request was *cancelled*, not failed
    /// (upstream's `grant_cancelled` `ErrorInfo`).
    ///
    /// ```
    /// use connector_sdk::{Error, ErrorKind};
    /// let e = Error::grant_cancelled("the vault owner must approve new members");
    /// assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
    /// assert_eq!(e.grant_cancelled_reason(), Some("the vault owner must approve new members"));
    /// assert_eq!(Error::internal("x").grant_cancelled_reason(), None);
    /// ```
    pub fn grant_cancelled(reason: impl Into<String>) -> Self {
        let reason = reason.into();
        Self::new(ErrorKind::FailedPrecondition, "the grant was declined")
            .with_context(GRANT_CANCELLED, reason)
    }

    /// The reason given to [`Error::grant_cancelled`], if this error is one.
    pub fn grant_cancelled_reason(&self) -> Option<&str> {
        self.context
            .iter()
            .find(|(k, _)| *k == GRANT_CANCELLED)
            .map(|(_, v)| v.as_str())
    }

    /// Records the HTTP status the error came from.
    pub fn with_http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Records the API's own error message (from its JSON error envelope).
    pub fn with_api_message(mut self, message: impl Into<String>) -> Self {
        let message = message.into();
        if !message.trim().is_empty() {
            self.api_message = Some(message);
        }
        self
    }

    /// Records how long the server asked the caller to wait before retrying.
    pub fn with_retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    /// Adds a `key=value` context pair shown in the message (never a secret).
    pub fn with_context(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.context.push((key, value.into()));
        self
    }

    /// Attaches the underlying error.
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Prefixes the message with what was being done, keeping kind and details.
    ///
    /// ```
    /// use connector_sdk::Error;
    /// let err = Error::not_found("no such vault").context("listing vault grants");
    /// assert_eq!(err.message(), "listing vault grants: no such vault");
    /// ```
    pub fn context(mut self, doing: impl fmt::Display) -> Self {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    /// Appends what to do (`"<message>: <hint>"`), keeping the kind, HTTP status, API
    /// message, retry-after, context and source: how a connector adds its advice to the
    /// SDK's default mapping of a response.
    ///
    /// ```
    /// use connector_sdk::{Error, ErrorKind};
    /// use std::time::Duration;
    /// let err = Error::new(ErrorKind::PermissionDenied, "GET /users returned HTTP 403")
    ///     .with_http_status(403)
    ///     .with_retry_after(Duration::from_secs(1))
    ///     .with_hint("the key needs users:read");
    /// assert_eq!(err.message(), "GET /users returned HTTP 403: the key needs users:read");
    /// assert_eq!((err.http_status(), err.retry_after()), (Some(403), Some(Duration::from_secs(1))));
    /// ```
    pub fn with_hint(mut self, hint: impl fmt::Display) -> Self {
        self.message = format!("{}: {hint}", self.message);
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without kind, HTTP details or context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status, when the error came from an HTTP response.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The API's own error message, when it sent one.
    pub fn api_message(&self) -> Option<&str> {
        self.api_message.as_deref()
    }

    /// How long the server asked to wait before retrying, when it said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The context pairs added with [`Error::with_context`].
    pub fn context_pairs(&self) -> &[(&'static str, String)] {
        &self.context
    }

    /// Whether retrying the same request later may succeed (rate limits, 5xx, timeouts).
    ///
    /// ```
    /// use connector_sdk::{Error, ErrorKind};
    /// assert!(Error::new(ErrorKind::ResourceExhausted, "slow down").is_retryable());
    /// assert!(!Error::new(ErrorKind::PermissionDenied, "no").is_retryable());
    /// ```
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Unavailable | ErrorKind::ResourceExhausted | ErrorKind::DeadlineExceeded
        )
    }

    fn render(&self) -> String {
        let mut out = format!("{}: {}", self.kind, self.message);
        let mut details: Vec<String> = Vec::new();
        if let Some(status) = self.http_status {
            details.push(format!("HTTP {status}"));
        }
        if let Some(api) = &self.api_message {
            details.push(format!("API said: {api}"));
        }
        if let Some(wait) = self.retry_after {
            details.push(format!("retry after {:.1}s", wait.as_secs_f64()));
        }
        for (k, v) in &self.context {
            details.push(format!("{k}={v}"));
        }
        if !details.is_empty() {
            out.push_str(" (");
            out.push_str(&details.join("; "));
            out.push(')');
        }
        out
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(s) = self.http_status {
            d.field("http_status", &s);
        }
        if let Some(m) = &self.api_message {
            d.field("api_message", m);
        }
        if let Some(r) = self.retry_after {
            d.field("retry_after", &r);
        }
        if !self.context.is_empty() {
            d.field("context", &self.context);
        }
        if let Some(s) = &self.source {
            d.field("source", &s.to_string());
        }
        d.finish()
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::new(ErrorKind::Internal, format!("malformed JSON: {err}")).with_source(err)
    }
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::PermissionDenied => ErrorKind::PermissionDenied,
            std::io::ErrorKind::TimedOut => ErrorKind::DeadlineExceeded,
            std::io::ErrorKind::AlreadyExists => ErrorKind::AlreadyExists,
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
                ErrorKind::InvalidArgument
            }
            _ => ErrorKind::Internal,
        };
        Error::new(kind, err.to_string()).with_source(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_statuses_map_to_kinds() {
        let cases = [
            (400, ErrorKind::InvalidArgument),
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::PermissionDenied),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::AlreadyExists),
            (418, ErrorKind::InvalidArgument),
            (429, ErrorKind::ResourceExhausted),
            (500, ErrorKind::Unavailable),
            (502, ErrorKind::Unavailable),
            (503, ErrorKind::Unavailable),
            (504, ErrorKind::DeadlineExceeded),
            (599, ErrorKind::Unavailable),
        ];
        for (status, kind) in cases {
            assert_eq!(ErrorKind::from_http_status(status), Some(kind), "{status}");
        }
        assert_eq!(ErrorKind::from_http_status(200), None);
    }

    #[test]
    fn retryable_kinds() {
        for kind in [
            ErrorKind::Unavailable,
            ErrorKind::ResourceExhausted,
            ErrorKind::DeadlineExceeded,
        ] {
            assert!(Error::new(kind, "x").is_retryable());
        }
        for kind in [
            ErrorKind::InvalidArgument,
            ErrorKind::NotFound,
            ErrorKind::Internal,
            ErrorKind::Unauthenticated,
        ] {
            assert!(!Error::new(kind, "x").is_retryable());
        }
    }

    #[test]
    fn blank_api_message_is_dropped_and_source_kept() {
        let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "socket timed out");
        let err = Error::from(io).with_api_message("  ");
        assert_eq!(err.kind(), ErrorKind::DeadlineExceeded);
        assert_eq!(err.api_message(), None);
        assert!(std::error::Error::source(&err).is_some());
        assert!(format!("{err:?}").contains("socket timed out"));
    }
}
