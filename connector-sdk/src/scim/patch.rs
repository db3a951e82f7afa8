//! PATCH bodies (RFC 7644 §3.5.2) built from typed operations, and what a PATCH returned.
//!
//! Group-membership operations take a [`MemberId`], which cannot be empty, and always name
//! the member they add or remove: a `remove` of `members` without a value or filter wipes
//! the whole group on a strict server, and a `replace` of `members` replaces all of them,
//! so neither can be built here.
//!
//! ```
//! use connector_sdk::scim::{MemberId, PatchOp};
//! use serde_json::json;
//!
//! let alice = MemberId::new("2819c223").unwrap();
//! assert_eq!(
//!     serde_json::to_string(&PatchOp::add_member(&alice)).unwrap(),
//!     r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"2819c223"}]}]}"#
//! );
//! // The RFC form of a remove selects the member with a filter.
//! assert_eq!(
//!     PatchOp::remove_member_by_filter(&alice).operations()[0].path(),
//!     Some(r#"members[value eq "2819c223"]"#)
//! );
//! assert!(MemberId::new(" ").is_err());
//! ```

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{PATCH_OP, filter_eq};
use crate::error::{Error, Result};

/// A PATCH operation's kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatchKind {
    /// `add`: adds a value (a no-op when a multi-valued attribute already has it).
    Add,
    /// `remove`: removes what the path selects.
    Remove,
    /// `replace`: replaces the value at the path.
    Replace,
}

/// One operation of a [`PatchOp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOperation {
    op: PatchKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<Value>,
}

impl PatchOperation {
    /// `replace` of the attribute at `path` with `value`.
    pub fn replace(path: impl Into<String>, value: Value) -> Self {
        PatchOperation {
            op: PatchKind::Replace,
            path: Some(path.into()),
            value: Some(value),
        }
    }

    /// `add` of `value` at `path`.
    pub fn add(path: impl Into<String>, value: Value) -> Self {
        PatchOperation {
            op: PatchKind::Add,
            path: Some(path.into()),
            value: Some(value),
        }
    }

    /// `remove` of what `path` selects. On a multi-valued attribute `path` must carry a
    /// filter (`emails[type eq "work"]`), or every value goes; for group members use
    /// [`PatchOp::remove_member`] or [`PatchOp::remove_member_by_filter`].
    pub fn remove(path: impl Into<String>) -> Self {
        PatchOperation {
            op: PatchKind::Remove,
            path: Some(path.into()),
            value: None,
        }
    }

    /// The kind.
    pub fn kind(&self) -> PatchKind {
        self.op
    }

    /// The path, when set.
    pub fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// The value, when set.
    pub fn value(&self) -> Option<&Value> {
        self.value.as_ref()
    }
}

/// A group member's id, known not to be empty, so a membership operation always names
/// someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberId(String);

impl MemberId {
    /// Rejects an empty (or blank) id before any request is built.
    pub fn new(id: &str) -> Result<Self> {
        if id.trim().is_empty() {
            return Err(Error::invalid_argument(
                "a group member's id must not be empty",
            ));
        }
        Ok(MemberId(id.to_string()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A PatchOp message: the PatchOp schema and its operations, serialized in RFC order
/// (`schemas`, then `Operations`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatchOp {
    schemas: Vec<String>,
    #[serde(rename = "Operations")]
    operations: Vec<PatchOperation>,
}

impl PatchOp {
    /// A message of `operations`.
    pub fn new(operations: Vec<PatchOperation>) -> Self {
        PatchOp {
            schemas: vec![PATCH_OP.to_string()],
            operations,
        }
    }

    /// One `replace` of `path` with `value`.
    pub fn replace(path: &str, value: Value) -> Self {
        PatchOp::new(vec![PatchOperation::replace(path, value)])
    }

    /// One `add` of `value` at `path`.
    pub fn add(path: &str, value: Value) -> Self {
        PatchOp::new(vec![PatchOperation::add(path, value)])
    }

    /// Adds one member: `{"op": "add", "path": "members", "value": [{"value": id}]}`.
    pub fn add_member(member: &MemberId) -> Self {
        PatchOp::add("members", json!([{ "value": member.as_str() }]))
    }

    /// Removes one member in the value form many services document (Azure AD style):
    /// `{"op": "remove", "path": "members", "value": [{"value": id}]}`. Strict RFC 7644
    /// servers refuse it with a 400; send [`PatchOp::remove_member_by_filter`] then.
    pub fn remove_member(member: &MemberId) -> Self {
        PatchOp::new(vec![PatchOperation {
            op: PatchKind::Remove,
            path: Some("members".into()),
            value: Some(json!([{ "value": member.as_str() }])),
        }])
    }

    /// Removes one member in the RFC 7644 §3.5.2.2 form:
    /// `{"op": "remove", "path": "members[value eq \"id\"]"}` (the id escaped).
    pub fn remove_member_by_filter(member: &MemberId) -> Self {
        let filter = filter_eq("value", member.as_str());
        PatchOp::new(vec![PatchOperation::remove(format!("members[{filter}]"))])
    }

    /// The operations.
    pub fn operations(&self) -> &[PatchOperation] {
        &self.operations
    }

    /// The message as a JSON value.
    pub fn to_value(&self) -> Value {
        json!({"schemas": self.schemas, "Operations": self.operations})
    }
}

/// A PatchOp body with one `replace` operation, as a JSON value.
///
/// ```
/// use connector_sdk::scim::patch_replace;
/// use serde_json::json;
/// assert_eq!(
///     patch_replace("active", json!(false)),
///     json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
///            "Operations": [{"op": "replace", "path": "active", "value": false}]})
/// );
/// ```
pub fn patch_replace(path: &str, value: Value) -> Value {
    PatchOp::replace(path, value).to_value()
}

/// A PatchOp body with one `add` operation of `value` at `path`, as a JSON value.
pub fn patch_add(path: &str, value: Value) -> Value {
    PatchOp::add(path, value).to_value()
}

/// What a successful PATCH returned (RFC 7644 §3.5.2: 200 with the resource, or 204 No
/// Content). Both mean the change was applied.
#[derive(Debug, Clone, PartialEq)]
pub enum Patched<T> {
    /// 200 with the updated resource.
    Resource(T),
    /// 204, or a 2xx whose body is empty or not the resource: applied, nothing to read.
    NoContent,
}

impl<T> Patched<T> {
    /// The resource, when the server returned it.
    pub fn resource(self) -> Option<T> {
        match self {
            Patched::Resource(r) => Some(r),
            Patched::NoContent => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_bodies_always_name_the_member() {
        let id = MemberId::new("6660d37dec0eac3deffb680e").unwrap();
        assert_eq!(
            serde_json::to_string(&PatchOp::remove_member(&id)).unwrap(),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members","value":[{"value":"6660d37dec0eac3deffb680e"}]}]}"#
        );
        assert!(MemberId::new("").is_err());
        let f = PatchOp::remove_member_by_filter(&MemberId::new(r#"a"b"#).unwrap());
        assert_eq!(
            f.to_value()["Operations"][0],
            json!({"op": "remove", "path": r#"members[value eq "a\"b"]"#})
        );
    }

    #[test]
    fn the_value_form_equals_the_typed_form() {
        let p = PatchOp::replace("active", json!(true));
        assert_eq!(serde_json::to_value(&p).unwrap(), p.to_value());
        assert_eq!(p.operations()[0].kind(), PatchKind::Replace);
        assert_eq!(p.operations()[0].value(), Some(&json!(true)));
    }
}
