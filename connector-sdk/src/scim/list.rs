//! The ListResponse envelope (RFC 7644 §3.4.2), lenient about what real servers send.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A SCIM list response, lenient about what real servers send.
///
/// ```
/// use connector_sdk::scim::{ListResponse, User};
/// use serde_json::json;
///
/// // Servers differ: `Resources` may be missing, null, or spelled `resources`.
/// let page: ListResponse<User> = serde_json::from_value(json!({"totalResults": 0})).unwrap();
/// assert!(page.resources.is_empty());
/// let page: ListResponse<User> = serde_json::from_value(json!({"resources": [{"id": "a"}], "totalResults": "1"})).unwrap();
/// assert_eq!((page.resources.len(), page.total_results), (1, Some(1)));
/// ```
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
        let resources: Vec<T> = serde_json::from_value(raw)
            .map_err(|e| serde::de::Error::custom(format!("Resources: {e}")))?;
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
}
