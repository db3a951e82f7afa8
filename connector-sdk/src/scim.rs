//! SCIM 2.0 (RFC 7644) pieces shared by SCIM connectors: the list envelope, filter
//! literals, PatchOp bodies, and the schema URNs.
//!
//! ```
//! use connector_sdk::scim::{ListResponse, filter_eq, patch_replace};
//! use serde_json::json;
//!
//! // Servers differ: `Resources` may be missing, null, or spelled `resources`.
//! let page: ListResponse<serde_json::Value> = serde_json::from_value(json!({"totalResults": 0})).unwrap();
//! assert!(page.resources.is_empty());
//! let page: ListResponse<serde_json::Value> = serde_json::from_value(json!({"resources": [{"id": "a"}]})).unwrap();
//! assert_eq!(page.resources.len(), 1);
//!
//! assert_eq!(filter_eq("userName", r#"a"b\c@x.com"#), r#"userName eq "a\"b\\c@x.com""#);
//! assert_eq!(
//!     patch_replace("active", json!(false)),
//!     json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!            "Operations": [{"op": "replace", "path": "active", "value": false}]})
//! );
//! ```

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

/// The PatchOp message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The Error message URN.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The ListResponse message URN.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The core User schema URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// A SCIM list response, lenient about what real servers send.
#[derive(Debug, Clone, PartialEq)]
pub struct ListResponse<T> {
    /// The resources of this page (missing, `null`, `Resources` or `resources`).
    pub resources: Vec<T>,
    /// `totalResults`, when sent.
    pub total_results: Option<u64>,
    /// `startIndex`, when sent.
    pub start_index: Option<u64>,
    /// `itemsPerPage`, when sent.
    pub items_per_page: Option<u64>,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for ListResponse<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut obj = serde_json::Map::<String, Value>::deserialize(d)?;
        let raw = obj
            .remove("Resources")
            .filter(|v| !v.is_null())
            .or_else(|| obj.remove("resources").filter(|v| !v.is_null()))
            .unwrap_or(Value::Array(Vec::new()));
        let resources: Vec<T> = serde_json::from_value(raw).map_err(serde::de::Error::custom)?;
        let number = |k: &str| -> Option<u64> {
            match obj.get(k)? {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            }
        };
        Ok(ListResponse {
            resources,
            total_results: number("totalResults"),
            start_index: number("startIndex"),
            items_per_page: number("itemsPerPage"),
        })
    }
}

/// A filter `attr eq "value"` with `"` and `\` escaped inside the literal (RFC 7644
/// §3.4.2.2 uses JSON string rules). URL-encode the result as a query value.
pub fn filter_eq(attribute: &str, value: &str) -> String {
    let mut literal = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '"' => literal.push_str("\\\""),
            '\\' => literal.push_str("\\\\"),
            c if (c as u32) < 0x20 => literal.push_str(&format!("\\u{:04x}", c as u32)),
            c => literal.push(c),
        }
    }
    format!("{attribute} eq \"{literal}\"")
}

/// A PatchOp body with one `replace` operation.
pub fn patch_replace(path: &str, value: Value) -> Value {
    json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": "replace", "path": path, "value": value}]
    })
}

/// A PatchOp body with one `add` operation of `value` at `path`.
pub fn patch_add(path: &str, value: Value) -> Value {
    json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": "add", "path": path, "value": value}]
    })
}

/// A SCIM user's display name: `given family` trimmed, else `userName`, else `id`
/// (never byte-sliced, so any Unicode is safe).
///
/// ```
/// use connector_sdk::scim::display_name;
/// assert_eq!(display_name(Some("Zoë"), Some("李"), "z@x.com", "1"), "Zoë 李");
/// assert_eq!(display_name(None, Some(" "), "z@x.com", "1"), "z@x.com");
/// assert_eq!(display_name(None, None, "", "1"), "1");
/// ```
pub fn display_name(
    given: Option<&str>,
    family: Option<&str>,
    user_name: &str,
    id: &str,
) -> String {
    let full = format!(
        "{} {}",
        given.unwrap_or("").trim(),
        family.unwrap_or("").trim()
    );
    [full.trim(), user_name.trim(), id]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// Whether `s` looks like an email address (`local@domain.tld`, no spaces): `userName`s
/// that do not are used as logins but not listed as emails.
///
/// ```
/// use connector_sdk::scim::looks_like_email;
/// assert!(looks_like_email("a.b+c@example.co.uk"));
/// assert!(!looks_like_email("not an email"));
/// assert!(!looks_like_email("a@localhost"));
/// ```
pub fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

/// The `scimType` of a SCIM error body, when it has one.
pub fn scim_type(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("scimType")?.as_str().map(String::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_response_variants() {
        let r: ListResponse<Value> =
            serde_json::from_str(r#"{"Resources": null, "totalResults": "3", "startIndex": 1}"#)
                .unwrap();
        assert!(r.resources.is_empty());
        assert_eq!(r.total_results, Some(3));
        assert_eq!(r.start_index, Some(1));
        let r: ListResponse<Value> = serde_json::from_str(r#"{"Resources": [1, 2]}"#).unwrap();
        assert_eq!(r.resources.len(), 2);
        assert_eq!(r.total_results, None);
        assert!(serde_json::from_str::<ListResponse<Value>>(r#"{"Resources": 5}"#).is_err());
    }

    #[test]
    fn filter_literals_escape_quotes_backslashes_and_controls() {
        assert_eq!(filter_eq("userName", "李@x"), "userName eq \"李@x\"");
        assert_eq!(filter_eq("a", "x\ny"), "a eq \"x\\u000ay\"");
    }

    #[test]
    fn scim_type_is_read_from_error_bodies() {
        assert_eq!(
            scim_type(br#"{"scimType":"invalidPath","status":"400"}"#).as_deref(),
            Some("invalidPath")
        );
        assert_eq!(scim_type(b"<html>"), None);
    }
}
