//! Turning an HTTP error response into an [`Error`]: the status decides the kind, the
//! body's envelope gives the API's own message.

use std::time::SystemTime;

use crate::error::{Error, ErrorKind};
use crate::ratelimit::RateLimitInfo;

use super::Response;
use super::response::strip_bom;

/// The longest API message kept, in characters.
const MAX_API_MESSAGE_CHARS: usize = 500;

/// The API's own error message from a response body, when the body is JSON in one of the
/// common envelopes:
///
/// * SCIM (RFC 7644 §3.12): `{"detail": "…", "status": "404"}`;
/// * SendGrid: `{"errors": [{"field": "…", "message": "…"}]}` (all messages joined);
/// * OAuth 2.0 (RFC 6749 §5.2): `{"error": "invalid_client", "error_description": "…"}`;
/// * plain: `{"message": "…"}`, `{"error": {"message": "…"}}`, `{"error": "…"}`, `{"title": "…"}`.
///
/// A body that is not JSON (a gateway's HTML page) gives `None`, never a panic.
///
/// ```
/// use connector_sdk::http::api_message;
/// assert_eq!(api_message(br#"{"detail":"User not found","status":"404"}"#).as_deref(), Some("User not found"));
/// assert_eq!(
///     api_message(br#"{"errors":[{"field":"email","message":"is invalid"},{"message":"too long"}]}"#).as_deref(),
///     Some("email: is invalid; too long")
/// );
/// assert_eq!(api_message(b"<html><body>502 Bad Gateway</body></html>"), None);
/// ```
pub fn api_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let obj = value.as_object()?;
    let text = |v: Option<&serde_json::Value>| {
        v.and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    };
    let found = text(obj.get("detail"))
        .or_else(|| {
            let errors = obj.get("errors")?.as_array()?;
            let parts: Vec<String> = errors
                .iter()
                .filter_map(|e| {
                    let msg = text(e.get("message")).or_else(|| text(Some(e)))?;
                    Some(match text(e.get("field")) {
                        Some(field) => format!("{field}: {msg}"),
                        None => msg,
                    })
                })
                .collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        })
        .or_else(|| {
            let code = text(obj.get("error"))?;
            Some(match text(obj.get("error_description")) {
                Some(desc) => format!("{code}: {desc}"),
                None => code,
            })
        })
        .or_else(|| text(obj.get("message")))
        .or_else(|| text(obj.get("error").and_then(|e| e.get("message"))))
        .or_else(|| text(obj.get("title")))?;
    Some(truncate_chars(&found, MAX_API_MESSAGE_CHARS))
}

/// `s` cut to at most `max` characters (never inside a character), with `…` when cut.
pub(crate) fn truncate_chars(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((idx, _)) => format!("{}…", &s[..idx]),
        None => s.to_string(),
    }
}

/// Whether `response`'s body is an HTML page: after a byte-order mark and blanks it opens
/// with `<`, and either the content type is `text/html` or the markup is HTML's own
/// (`<!doctype html`, `<html`, `<head`, `<body`, `<title`, `<!--`), whatever the content
/// type claims. An empty body, JSON, or XML (`<?xml`, another root element) is not one.
///
/// From a JSON API, such a page usually comes from something in front of it: a proxy, a
/// gateway, a load balancer's default route, a path the API does not have.
pub fn is_html_page(response: &Response) -> bool {
    let body = strip_bom(response.body());
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start.filter(|&i| body[i] == b'<') else {
        return false;
    };
    let content_type = response.header("content-type").unwrap_or_default();
    if content_type.to_ascii_lowercase().contains("text/html") {
        return true;
    }
    let head = body[start..body.len().min(start + 14)].to_ascii_lowercase();
    const HTML_OPENINGS: [&[u8]; 6] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<title",
        b"<!--",
    ];
    HTML_OPENINGS.iter().any(|o| head.starts_with(o))
}

/// The SDK's default mapping of a non-success response to an [`Error`].
///
/// The kind comes from the status ([`ErrorKind::from_http_status`]), the API message from
/// the body ([`api_message`]), and a rate-limited response carries the server's wait.
/// Connectors with their own error envelope can map responses themselves and fall back
/// to this.
///
/// One exception to the status: a **404 whose body is an HTML page**
/// ([`is_html_page`]) is [`ErrorKind::Unavailable`], not `NotFound`. A proxy that does
/// not route a path (an encoded `/` in an id, a wrong base path) answers that way for a
/// resource that exists; taken as `NotFound`, a revoke would report `AlreadyRevoked` for a
/// grant still held and a targeted sync would record the resource as gone. Reporting an
/// error instead is the safe side. A 404 with the API's JSON or XML, plain text or no body
/// stays `NotFound`.
///
/// An API whose own "not found" is an HTML page (a web framework's default 404 page) is
/// mapped by its connector: an [`error_mapper`](crate::http::HttpClientBuilder::error_mapper)
/// that answers such a 404 with [`ErrorKind::NotFound`] and leaves the rest to this
/// function.
pub fn error_from_response(response: &Response) -> Error {
    let status = response.status();
    if status == 404 && is_html_page(response) {
        return Error::new(
            ErrorKind::Unavailable,
            format!(
                "{} {} returned HTTP 404 with an HTML page, not the API's answer: a proxy, a gateway or a wrong base URL answered, so it does not say that the resource is gone; check the base URL ({}) and what is between the connector and the API",
                response.method(),
                response.url().path(),
                response.url().origin().ascii_serialization()
            ),
        )
        .with_http_status(status);
    }
    let kind = ErrorKind::from_http_status(status).unwrap_or(ErrorKind::Internal);
    let mut err = Error::new(
        kind,
        format!(
            "{} {} returned HTTP {status}",
            response.method(),
            response.url().path()
        ),
    )
    .with_http_status(status);
    if let Some(msg) = api_message(response.body()) {
        err = err.with_api_message(msg);
    }
    if status == 429 || status == 503 {
        let info = RateLimitInfo::from_headers(response.headers(), SystemTime::now());
        if let Some(wait) = info.wait() {
            err = err.with_retry_after(wait);
        }
    }
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelopes() {
        let cases: &[(&[u8], Option<&str>)] = &[
            (br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Not authorized to access this account","status":"403"}"#, Some("Not authorized to access this account")),
            (br#"{"errors":[{"field":null,"message":"too many requests"}]}"#, Some("too many requests")),
            (br#"{"error":"invalid_scope","error_description":"scope not registered"}"#, Some("invalid_scope: scope not registered")),
            (br#"{"error":{"code":5,"message":"vault locked"}}"#, Some("vault locked")),
            (br#"{"message":"  Forbidden  "}"#, Some("Forbidden")),
            (br#"{"title":"Bad Request"}"#, Some("Bad Request")),
            (br#"{"detail":""}"#, None),
            (br#"[1,2,3]"#, None),
            (b"", None),
            (b"\xff\xfe not utf8", None),
            (b"<html>Service Unavailable</html>", None),
        ];
        for (body, want) in cases {
            assert_eq!(
                api_message(body).as_deref(),
                *want,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let long = format!(r#"{{"message":"{}"}}"#, "é".repeat(600));
        let msg = api_message(long.as_bytes()).unwrap();
        assert_eq!(msg.chars().count(), MAX_API_MESSAGE_CHARS + 1);
        assert!(msg.ends_with('…'));
    }
}
