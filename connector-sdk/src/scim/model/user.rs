//! The SCIM `User` (RFC 7643 §4.1).

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::*;

/// A SCIM user (RFC 7643 §4.1), lenient about what servers send: `active` as a boolean or
/// a `"true"`/`"false"` string, `null` for absent attributes, missing arrays, `primary`
/// missing. Attributes it does not type, extension objects included, are kept in
/// [`extra`](User::extra) and written back unchanged.
///
/// ```
/// use connector_sdk::scim::User;
/// use serde_json::json;
///
/// let u: User = serde_json::from_value(json!({
///     "id": "2819c223", "userName": "bjensen@example.com", "active": "False",
///     "name": {"givenName": "Barbara", "familyName": "Jensen"}, "emails": null,
///     "urn:example:params:scim:schemas:extension:acme:2.0:User": {"tier": "gold"}
/// })).unwrap();
/// assert!(!u.is_active());
/// assert!(u.emails.is_empty());
/// assert_eq!(u.given_name(), Some("Barbara"));
/// assert_eq!(u.extension("urn:example:params:scim:schemas:extension:acme:2.0:User").unwrap()["tier"], "gold");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// `schemas`: the core URN and the URNs of extensions present.
    #[serde(
        default,
        deserialize_with = "lenient::vec_or_null",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub schemas: Vec<String>,
    /// `id`: opaque; empty on a user not created yet (and then not sent).
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
    /// `userName`: usually the sign-in email.
    #[serde(
        rename = "userName",
        default,
        deserialize_with = "lenient::string_or_empty",
        skip_serializing_if = "String::is_empty"
    )]
    pub user_name: String,
    /// `name`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub name: Option<Name>,
    /// `displayName`.
    #[serde(
        rename = "displayName",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub display_name: Option<String>,
    /// `title`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub title: Option<String>,
    /// `active`; `None` when the server did not say (see [`User::is_active`]).
    #[serde(
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub active: Option<bool>,
    /// `emails` (empty when missing or `null`).
    #[serde(
        default,
        deserialize_with = "lenient::vec_or_null",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub emails: Vec<Email>,
    /// `groups`: read-only on the server, the groups the user is a member of.
    #[serde(
        default,
        deserialize_with = "lenient::vec_or_null",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub groups: Vec<Member>,
    /// `meta`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_object",
        skip_serializing_if = "Option::is_none"
    )]
    pub meta: Option<Meta>,
    /// `password`: set on a user to create; servers never return it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Password>,
    /// Every other attribute, extension objects under their URN, as sent.
    #[serde(flatten)]
    pub extra: Attributes,
}

impl User {
    /// A user to create, with `userName` set and the core schema listed.
    pub fn new(user_name: impl Into<String>) -> Self {
        User {
            schemas: vec![super::super::USER.to_string()],
            user_name: user_name.into(),
            ..User::default()
        }
    }

    /// `active`, missing meaning active (servers that never disable omit it).
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }

    /// `name.givenName`.
    pub fn given_name(&self) -> Option<&str> {
        self.name.as_ref()?.given_name.as_deref()
    }

    /// `name.familyName`.
    pub fn family_name(&self) -> Option<&str> {
        self.name.as_ref()?.family_name.as_deref()
    }

    /// The email marked primary, else the first non-empty one.
    pub fn primary_email(&self) -> Option<&str> {
        let usable = || self.emails.iter().filter(|e| !e.value.trim().is_empty());
        usable()
            .find(|e| e.primary)
            .or_else(|| usable().next())
            .map(|e| e.value.as_str())
    }

    extension_methods!();
}

impl ScimResource for User {
    const ENDPOINT: &'static str = "Users";
    const SCHEMA: &'static str = super::super::USER;
    fn id(&self) -> &str {
        &self.id
    }
}
