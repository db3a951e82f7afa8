//! Lenient JSON: serde helpers for what real APIs send instead of what their documents
//! say: booleans as strings, numbers where strings belong, `null` where a list or an
//! attribute is absent, one object where an array belongs.
//!
//! The SDK's SCIM models ([`scim::User`](crate::scim::User), [`scim::Group`](crate::scim::Group))
//! read every attribute with them; use them on a connector's own types (an API's list
//! wrapper, a SCIM extension) so they are as tolerant:
//!
//! ```
//! use serde::Deserialize;
//! use connector_sdk::lenient;
//!
//! #[derive(Deserialize)]
//! struct Extension {
//!     #[serde(default, deserialize_with = "lenient::opt_bool")]
//!     flag: Option<bool>,
//!     #[serde(default, deserialize_with = "lenient::opt_string")]
//!     code: Option<String>,
//! }
//!
//! let e: Extension = serde_json::from_str(r#"{"flag": "False", "code": 42}"#).unwrap();
//! assert_eq!((e.flag, e.code.as_deref()), (Some(false), Some("42")));
//! let e: Extension = serde_json::from_str(r#"{"flag": null}"#).unwrap();
//! assert_eq!((e.flag, e.code), (None, None));
//! assert!(serde_json::from_str::<Extension>(r#"{"flag": "maybe"}"#).is_err());
//! ```

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

fn bool_of<E: serde::de::Error>(v: Value) -> Result<Option<bool>, E> {
    match v {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(b)),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(Some(true)),
            "false" => Ok(Some(false)),
            "" => Ok(None),
            _ => Err(E::custom(format!(
                "expected a boolean or \"true\"/\"false\", got the string {s:?}"
            ))),
        },
        Value::Number(n) if n.as_u64() == Some(1) => Ok(Some(true)),
        Value::Number(n) if n.as_u64() == Some(0) => Ok(Some(false)),
        other => Err(E::custom(format!("expected a boolean, got {other}"))),
    }
}

/// An optional boolean: `true`/`false`, the strings `"true"`/`"false"` in any case, `1`/`0`;
/// `null` or `""` is `None`. Anything else is an error naming the value.
pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    bool_of(Value::deserialize(d)?)
}

/// A boolean as [`opt_bool`] reads it, `false` when `null` (use with `#[serde(default)]`
/// for a missing attribute, e.g. an email's `primary`).
pub fn bool_or_false<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(opt_bool(d)?.unwrap_or(false))
}

fn string_of<E: serde::de::Error>(v: Value) -> Result<Option<String>, E> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s)),
        Value::Number(n) => Ok(Some(n.to_string())),
        Value::Bool(b) => Ok(Some(b.to_string())),
        other => Err(E::custom(format!("expected a string, got {other}"))),
    }
}

/// An optional string: a string, or a number or boolean as its JSON text (some servers
/// send numeric ids); `null` is `None`. An object or array is an error.
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    string_of(Value::deserialize(d)?)
}

/// A string as [`opt_string`] reads it, empty when `null` (use with `#[serde(default)]`).
pub fn string_or_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(opt_string(d)?.unwrap_or_default())
}

/// A multi-valued attribute: an array, empty when `null` (use with `#[serde(default)]`
/// for a missing one). A single object where an array belongs is read as a list of one.
pub fn vec_or_null<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    let items = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        obj @ Value::Object(_) => vec![obj],
        other => {
            return Err(D::Error::custom(format!("expected an array, got {other}")));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            serde_json::from_value(item).map_err(|e| D::Error::custom(format!("item {i}: {e}")))
        })
        .collect()
}

/// An optional complex attribute (e.g. `name`, `meta`); `null` is `None`.
pub fn opt_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: DeserializeOwned,
{
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        v => serde_json::from_value(v)
            .map(Some)
            .map_err(D::Error::custom),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn booleans_from_strings_numbers_and_null() {
        let b = |v: Value| bool_of::<serde_json::Error>(v);
        assert_eq!(b(json!("TRUE")).unwrap(), Some(true));
        assert_eq!(b(json!(" false ")).unwrap(), Some(false));
        assert_eq!(b(json!(1)).unwrap(), Some(true));
        assert_eq!(b(json!(0)).unwrap(), Some(false));
        assert_eq!(b(json!(null)).unwrap(), None);
        let err = b(json!("yes")).unwrap_err().to_string();
        assert!(err.contains("\"yes\""), "{err}");
        assert!(b(json!(2)).is_err());
        assert!(b(json!({})).is_err());
    }

    #[test]
    fn strings_from_numbers_but_not_objects() {
        let s = |v: Value| string_of::<serde_json::Error>(v);
        assert_eq!(s(json!(12)).unwrap().as_deref(), Some("12"));
        assert_eq!(s(json!(null)).unwrap(), None);
        assert!(s(json!([1])).is_err());
    }
}
