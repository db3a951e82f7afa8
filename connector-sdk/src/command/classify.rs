//! What a failed run's standard error says went wrong, as one of the SDK's error kinds.
//!
//! CLIs that front a web service (1Password's `op`, cloud CLIs) report the service's HTTP
//! status in their messages (`(500) Internal Server Error`, `401: Unauthorized`) and pass
//! on the network errors of their HTTP stack (`read: connection reset by peer`,
//! `dial tcp: lookup …: no such host`, `i/o timeout`, `unexpected EOF`, `tls: handshake
//! failure`). [`classify_stderr`] turns both into an [`ErrorKind`], so a CLI-backed
//! connector retries what an HTTP connector would retry:
//!
//! | stderr says | kind | retryable |
//! |---|---|---|
//! | `(5xx)`, connection reset/refused, timeouts, EOF, TLS handshake, DNS | [`ErrorKind::Unavailable`] | yes |
//! | `(429)`, "too many requests", "rate limit" | [`ErrorKind::ResourceExhausted`] | yes |
//! | `(408)` | [`ErrorKind::DeadlineExceeded`] | yes |
//! | `(401)`, "unauthorized", "not signed in", "session expired" | [`ErrorKind::Unauthenticated`] | no |
//! | `(403)` | [`ErrorKind::PermissionDenied`] | no |
//! | `(404)` | [`ErrorKind::NotFound`] | no |
//! | `(409)` | [`ErrorKind::AlreadyExists`] | no |
//! | `(400)` and other 4xx | [`ErrorKind::InvalidArgument`] (or as [`ErrorKind::from_http_status`] says) | no |
//! | `(501)` | [`ErrorKind::Unimplemented`] | no |
//!
//! An explicit status wins over words; words about the network win over words about
//! authentication (a reset during sign-in is not a wrong password).

use crate::error::{Error, ErrorKind};

use super::Output;

/// What a failed run's standard error says went wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    /// The kind of failure.
    pub kind: ErrorKind,
    /// The HTTP status the tool reported (`(500)`, `401:`), when it named one.
    pub http_status: Option<u16>,
    /// What went wrong, in a few words (`"the connection to the service was reset"`).
    pub reason: &'static str,
    /// Whether the network failed between the tool and its service (connection, TLS, DNS,
    /// timeout): a request may or may not have reached the service.
    pub network: bool,
}

impl Failure {
    /// Whether trying again later may succeed (see [`Error::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Unavailable | ErrorKind::ResourceExhausted | ErrorKind::DeadlineExceeded
        )
    }
}

/// Words of network failures, in the order they are tested, and what they mean.
const NETWORK: &[(&[&str], &str)] = &[
    (
        &["connection reset", "reset by peer"],
        "the connection to the service was reset",
    ),
    (
        &["connection refused"],
        "the service refused the connection",
    ),
    (
        &[
            "no such host",
            "name resolution",
            "server misbehaving",
            "could not resolve host",
            "name or service not known",
        ],
        "the service's host name could not be resolved (DNS)",
    ),
    (
        &["tls handshake", "tls:", "x509:", "certificate"],
        "the TLS handshake with the service failed",
    ),
    (
        &["i/o timeout", "timed out", "timeout", "deadline exceeded"],
        "the connection to the service timed out",
    ),
    (
        &["network is unreachable", "no route to host", "host is down"],
        "the network is unreachable",
    ),
    (
        &["broken pipe", "connection closed", "server closed"],
        "the connection to the service closed unexpectedly",
    ),
];

const AUTH: &[&str] = &[
    "unauthorized",
    "not currently signed in",
    "not signed in",
    "session expired",
    "authentication required",
    "invalid session",
];

/// Classifies a failed run from its standard error; `None` when nothing in it is known.
///
/// ```
/// use connector_sdk::command::classify_stderr;
/// use connector_sdk::ErrorKind;
///
/// let f = classify_stderr("[ERROR] 2026/11/21 12:00:00 (500) Internal Server Error").unwrap();
/// assert_eq!((f.kind, f.http_status), (ErrorKind::Unavailable, Some(500)));
/// let f = classify_stderr("Post \"https://x/api\": read tcp 10.0.0.2:5122->1.2.3.4:443: read: connection reset by peer").unwrap();
/// assert!(f.network && f.is_retryable());
/// assert_eq!(classify_stderr("[ERROR] (409) Conflict").unwrap().kind, ErrorKind::AlreadyExists);
/// assert!(classify_stderr("[ERROR] something odd").is_none());
/// ```
pub fn classify_stderr(stderr: &str) -> Option<Failure> {
    if let Some(status) = http_status(stderr) {
        return Some(from_status(status));
    }
    let lower = stderr.to_lowercase();
    if lower.contains("too many requests") || lower.contains("rate limit") {
        return Some(Failure {
            kind: ErrorKind::ResourceExhausted,
            http_status: None,
            reason: "rate-limited by the service",
            network: false,
        });
    }
    for (words, reason) in NETWORK {
        if words.iter().any(|w| lower.contains(w)) {
            return Some(network(reason));
        }
    }
    if lower
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| w == "eof")
    {
        return Some(network(
            "the connection to the service closed unexpectedly (EOF)",
        ));
    }
    if AUTH.iter().any(|w| lower.contains(w)) {
        return Some(Failure {
            kind: ErrorKind::Unauthenticated,
            http_status: None,
            reason: "not signed in, or the session expired",
            network: false,
        });
    }
    for (words, status) in [
        (
            &[
                "internal server error",
                "service unavailable",
                "bad gateway",
            ][..],
            503,
        ),
        (&["gateway timeout"][..], 504),
    ] {
        if words.iter().any(|w| lower.contains(w)) {
            return Some(Failure {
                http_status: None,
                ..from_status(status)
            });
        }
    }
    None
}

fn network(reason: &'static str) -> Failure {
    Failure {
        kind: ErrorKind::Unavailable,
        http_status: None,
        reason,
        network: true,
    }
}

fn from_status(status: u16) -> Failure {
    let (kind, reason) = match status {
        400 => (
            ErrorKind::InvalidArgument,
            "the service rejected the request as invalid",
        ),
        401 => (
            ErrorKind::Unauthenticated,
            "the service refused the credentials",
        ),
        403 => (
            ErrorKind::PermissionDenied,
            "the signed-in identity may not do this",
        ),
        404 => (ErrorKind::NotFound, "the service found no such thing"),
        409 => (
            ErrorKind::AlreadyExists,
            "the change conflicts with what exists already",
        ),
        408 => (
            ErrorKind::DeadlineExceeded,
            "the service timed out the request",
        ),
        429 => (ErrorKind::ResourceExhausted, "rate-limited by the service"),
        501 => (
            ErrorKind::Unimplemented,
            "the service does not support this",
        ),
        500 => (ErrorKind::Unavailable, "the service had an internal error"),
        502..=599 => (ErrorKind::Unavailable, "the service is unavailable"),
        _ => (
            ErrorKind::from_http_status(status).unwrap_or(ErrorKind::Internal),
            "the service rejected the request",
        ),
    };
    Failure {
        kind,
        http_status: Some(status),
        reason,
        network: false,
    }
}

/// The first HTTP error status in `text` written as `(NNN)` or as `NNN:` after a space or
/// at the start (how Go CLIs print them), ignoring digits inside other numbers or
/// addresses such as `10.0.0.2:443`.
fn http_status(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    let mut i = 0;
    while i + 3 <= b.len() {
        let digits = b[i..i + 3].iter().all(u8::is_ascii_digit);
        if digits {
            let before = if i == 0 { None } else { Some(b[i - 1]) };
            let after = b.get(i + 3).copied();
            let parenthesised = before == Some(b'(') && after == Some(b')');
            let labelled =
                before.is_none_or(|c| c == b' ' || c == b'\t' || c == b'\n') && after == Some(b':');
            if parenthesised || labelled {
                let n: u16 = text[i..i + 3].parse().ok()?;
                if (400..=599).contains(&n) {
                    return Some(n);
                }
            }
            // Skip the rest of this run of digits.
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    None
}

/// The last non-empty line of standard error, at most 300 characters: the tool's own
/// message, kept on errors as [`Error::api_message`].
pub fn stderr_summary(stderr: &str) -> String {
    stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .chars()
        .take(300)
        .collect()
}

impl Output {
    /// What this run's standard error says went wrong (see [`classify_stderr`]).
    pub fn failure(&self) -> Option<Failure> {
        classify_stderr(&self.stderr)
    }

    /// The error for a failed run: `"<what>: <reason> (exited with status N)"`, of the kind
    /// [`classify_stderr`] finds ([`ErrorKind::Internal`] when it finds none), with the HTTP
    /// status and the last line of stderr attached.
    ///
    /// ```
    /// use connector_sdk::command::Output;
    /// use connector_sdk::ErrorKind;
    /// let out = Output { status: 1, stdout: vec![], stderr: "[ERROR] (503) Service Unavailable\n".into() };
    /// let err = out.to_error("listing users");
    /// assert_eq!(err.kind(), ErrorKind::Unavailable);
    /// assert!(err.is_retryable());
    /// assert_eq!(err.http_status(), Some(503));
    /// assert!(err.to_string().starts_with("unavailable: listing users: the service is unavailable (exited with status 1)"));
    /// ```
    pub fn to_error(&self, what: &str) -> Error {
        let (kind, reason, status) = match self.failure() {
            Some(f) => (f.kind, f.reason, f.http_status),
            None => (ErrorKind::Internal, "the command failed", None),
        };
        let mut err = Error::new(
            kind,
            format!("{what}: {reason} (exited with status {})", self.status),
        )
        .with_api_message(stderr_summary(&self.stderr));
        if let Some(s) = status {
            err = err.with_http_status(s);
        }
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_in_op_messages_map_like_http() {
        for (stderr, kind, status) in [
            (
                "[ERROR] 2026/11/21 12:00:00 (500) Internal Server Error",
                ErrorKind::Unavailable,
                Some(500),
            ),
            (
                "[ERROR] (502) Bad Gateway",
                ErrorKind::Unavailable,
                Some(502),
            ),
            (
                "[ERROR] (503) Service Unavailable",
                ErrorKind::Unavailable,
                Some(503),
            ),
            (
                "[ERROR] (429) Too Many Requests",
                ErrorKind::ResourceExhausted,
                Some(429),
            ),
            (
                "[ERROR] 401: Unauthorized: the Secret Key is incorrect",
                ErrorKind::Unauthenticated,
                Some(401),
            ),
            (
                "[ERROR] (403) Forbidden",
                ErrorKind::PermissionDenied,
                Some(403),
            ),
            ("[ERROR] (404) Not Found", ErrorKind::NotFound, Some(404)),
            (
                "[ERROR] (409) Conflict",
                ErrorKind::AlreadyExists,
                Some(409),
            ),
            (
                "[ERROR] (400) Bad Request",
                ErrorKind::InvalidArgument,
                Some(400),
            ),
            (
                "[ERROR] (422) Unprocessable",
                ErrorKind::InvalidArgument,
                Some(422),
            ),
            (
                "[ERROR] (501) Not Implemented",
                ErrorKind::Unimplemented,
                Some(501),
            ),
            (
                "[ERROR] Too many requests. Try again later.",
                ErrorKind::ResourceExhausted,
                None,
            ),
            (
                "[ERROR] You are not currently signed in.",
                ErrorKind::Unauthenticated,
                None,
            ),
            ("Internal Server Error", ErrorKind::Unavailable, None),
        ] {
            let f = classify_stderr(stderr).unwrap_or_else(|| panic!("{stderr}"));
            assert_eq!((f.kind, f.http_status), (kind, status), "{stderr}");
            assert!(!f.network, "{stderr}");
        }
    }

    #[test]
    fn network_failures_are_unavailable_and_retryable() {
        for stderr in [
            "[ERROR] 2026/11/21 Post \"https://acme.1password.com/api/v1/x\": read tcp 10.0.0.2:51234->13.1.2.3:443: read: connection reset by peer",
            "dial tcp 13.1.2.3:443: connect: connection refused",
            "dial tcp: lookup acme.1password.com on 127.0.0.53:53: no such host",
            "dial tcp: lookup acme.1password.com: Temporary failure in name resolution",
            "net/http: TLS handshake timeout",
            "remote error: tls: handshake failure",
            "x509: certificate signed by unknown authority",
            "dial tcp 13.1.2.3:443: i/o timeout",
            "context deadline exceeded (Client.Timeout exceeded while awaiting headers)",
            "Get \"https://acme.1password.com/api\": EOF",
            "unexpected EOF",
            "write: broken pipe",
            "connect: network is unreachable",
        ] {
            let f = classify_stderr(stderr).unwrap_or_else(|| panic!("{stderr}"));
            assert_eq!(f.kind, ErrorKind::Unavailable, "{stderr}");
            assert!(f.network && f.is_retryable(), "{stderr}");
            assert_eq!(f.http_status, None, "{stderr}: a port is not a status");
        }
    }

    #[test]
    fn a_reset_while_signing_in_is_the_network_not_the_credentials() {
        let f = classify_stderr(
            "[ERROR] sign in failed: Post \"https://acme.1password.com/api/v3/auth\": read: connection reset by peer",
        )
        .unwrap();
        assert!(f.network);
        assert_eq!(f.kind, ErrorKind::Unavailable);
    }

    #[test]
    fn numbers_that_are_not_statuses_are_ignored() {
        for stderr in [
            "[ERROR] 2026/11/21 12:00:00 something odd",
            "vault 4041 has 500 items",
            "user abc404: odd",
            "10.0.0.200:443 said hello",
            "(4040) weird",
        ] {
            assert_eq!(http_status(stderr), None, "{stderr}");
        }
        assert_eq!(http_status("404: gone"), Some(404));
        assert_eq!(http_status("x (502) y"), Some(502));
        assert_eq!(http_status("(200) fine"), None);
    }

    #[test]
    fn unknown_failures_are_internal_with_the_tool_message() {
        let out = Output {
            status: 3,
            stdout: vec![],
            stderr: "warning: update available\n[ERROR] something odd\n\n".into(),
        };
        let err = out.to_error("doing x");
        assert_eq!(err.kind(), ErrorKind::Internal);
        assert_eq!(err.api_message(), Some("[ERROR] something odd"));
        assert!(err.message().contains("exited with status 3"), "{err}");
    }
}
