//! The SCIM error body (RFC 7644 §3.12), read leniently.

use serde_json::Value;

use crate::http::api_message;

/// What a SCIM server said when it refused a request: `{"status", "scimType", "detail"}`.
/// `status` may be a string or a number, `schemas` may be spelled `schema`, and the body
/// may not be SCIM at all; the detail then falls back to any common error envelope.
///
/// ```
/// use connector_sdk::scim::ScimError;
/// let e = ScimError::from_body(br#"{"schema":["x"],"status":"400","scimType":"invalidPath","detail":"Bad path"}"#);
/// assert_eq!((e.status, e.scim_type.as_deref(), e.detail.as_deref()), (Some(400), Some("invalidPath"), Some("Bad path")));
/// let e = ScimError::from_body(b"<html>Bad Gateway</html>");
/// assert_eq!(e, ScimError::default());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScimError {
    /// `status`, when it is a number or a numeric string.
    pub status: Option<u16>,
    /// `scimType`: `invalidFilter`, `invalidPath`, `invalidValue`, `uniqueness`, `noTarget`…
    pub scim_type: Option<String>,
    /// `detail`, or the message of another envelope the body uses.
    pub detail: Option<String>,
}

impl ScimError {
    /// Reads an error body; fields that are absent or unreadable are `None`.
    pub fn from_body(body: &[u8]) -> Self {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let status = match v.get("status") {
            Some(Value::Number(n)) => n.as_u64().and_then(|n| u16::try_from(n).ok()),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        ScimError {
            status,
            scim_type: v.get("scimType").and_then(Value::as_str).map(String::from),
            detail: api_message(body),
        }
    }

    /// Whether `scimType` is `scim_type`, compared case-insensitively.
    pub fn is(&self, scim_type: &str) -> bool {
        self.scim_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case(scim_type))
    }
}

/// The `scimType` of a SCIM error body, when it has one.
///
/// ```
/// use connector_sdk::scim::scim_type;
/// assert_eq!(scim_type(br#"{"scimType":"invalidPath","status":"400"}"#).as_deref(), Some("invalidPath"));
/// assert_eq!(scim_type(b"<html>"), None);
/// ```
pub fn scim_type(body: &[u8]) -> Option<String> {
    ScimError::from_body(body).scim_type
}
