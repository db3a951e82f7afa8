//! A response with its body read, and how it becomes a value or an error.

use std::fmt;

use ::http::HeaderMap;
use ::http::Method;
use serde::de::DeserializeOwned;
use url::Url;

use super::{ErrorMapper, error_from_response};
use crate::error::{Error, ErrorKind, Result};

/// A response, with its body read.
#[derive(Clone)]
pub struct Response {
    pub(super) method: Method,
    pub(super) url: Url,
    pub(super) status: u16,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
    pub(super) mapper: Option<ErrorMapper>,
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
        // A UTF-8 byte-order mark (some Windows servers send one) is not part of the JSON.
        let unmarked = strip_bom(&self.body);
        let body: &[u8] = if unmarked.iter().all(u8::is_ascii_whitespace) {
            b"null"
        } else {
            unmarked
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
        let trimmed = strip_bom(&self.body).trim_ascii_start();
        trimmed.is_empty() || matches!(trimmed.first(), Some(b'{' | b'[' | b'"'))
    }

    /// What came back instead of the JSON expected: the content type, the size and, for a
    /// markup page without quotes (a gateway's error page), its first bytes. Nothing else is
    /// quoted: JSON, even cut short or behind a prefix, may hold a token.
    fn describe_body(&self, e: &serde_json::Error) -> String {
        let content_type = self.header("content-type").unwrap_or("none");
        let trimmed = strip_bom(&self.body).trim_ascii_start();
        // Only a markup page (a gateway's error page) is quoted: anything else may be JSON
        // behind a prefix, and JSON may hold a token.
        let what = if e.is_eof() {
            format!("JSON cut short after {} bytes", self.body.len())
        } else if self.body_looks_json() {
            // serde's text can quote a value of the body: only say where it went wrong.
            format!(
                "JSON of another shape (line {}, column {})",
                e.line(),
                e.column()
            )
        } else if trimmed.first() == Some(&b'<') && !trimmed.contains(&b'"') {
            let text = String::from_utf8_lossy(&trimmed[..trimmed.len().min(120)]);
            let text: String = text
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            format!("{} bytes starting {:?}", self.body.len(), text)
        } else if trimmed.first() == Some(&b'<') {
            format!("{} bytes of markup", self.body.len())
        } else {
            format!("{} bytes that are not JSON", self.body.len())
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

/// `body` without a UTF-8 byte-order mark.
pub(super) fn strip_bom(body: &[u8]) -> &[u8] {
    body.strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(body)
}
