//! The SCIM `Group` (RFC 7643 §4.2).

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;

use super::*;

/// A SCIM group (RFC 7643 §4.2). `members` is empty when missing, `null`, or excluded
/// from a listing (`excludedAttributes=members`).
///
/// ```
/// use connector_sdk::scim::Group;
/// use serde_json::json;
///
/// let g: Group = serde_json::from_value(json!({"id": "g1", "displayName": "Legal", "members": [
///     {"value": "u1", "type": "User"}, {"value": "u1"}, {"value": "g2", "type": "Group"}, {"value": "u2"}
/// ]})).unwrap();
/// assert_eq!(g.user_member_ids(), ["u1", "u2"]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// `schemas`.
    #[serde(
        default,
        deserialize_with = "lenient::vec_or_null",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub schemas: Vec<String>,
    /// `id`: opaque.
    #[serde(
        default,
        deserialize_with = "lenient::string_or_empty",
        skip_serializing_if = "String::is_empty"
    )]
    pub id: String,
    /// `externalId`.
    #[serde(
        rename = "externalId",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// `displayName` (empty when the server sent none).
    #[serde(
        rename = "displayName",
        default,
        deserialize_with = "lenient::string_or_empty"
    )]
    pub display_name: String,
    /// `members`.
    #[serde(
        default,
        deserialize_with = "lenient::vec_or_null",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub members: Vec<Member>,
    /// `meta`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub meta: Option<Meta>,
    /// Every other attribute, extension objects under their URN, as sent.
    #[serde(flatten)]
    pub extra: Attributes,
}

impl Group {
    /// The distinct ids of members that are users (type `User` or none), in order. Members
    /// of another type (nested groups) and empty ids are skipped and logged at debug.
    pub fn user_member_ids(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.members
            .iter()
            .filter(|m| {
                let user = m.is_user();
                if !user {
                    tracing::debug!(group = %self.id, member = %m.value, kind = ?m.kind, "skipping a non-user member");
                }
                user && !m.value.is_empty()
            })
            .filter(|m| seen.insert(m.value.as_str()))
            .map(|m| m.value.clone())
            .collect()
    }

    extension_methods!();
}

impl ScimResource for Group {
    const ENDPOINT: &'static str = "Groups";
    const SCHEMA: &'static str = super::super::GROUP;
    fn id(&self) -> &str {
        &self.id
    }
}
