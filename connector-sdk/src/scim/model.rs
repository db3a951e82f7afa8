//! The RFC 7643 core resources, [`User`] and [`Group`], with their sub-attributes, and the
//! enterprise user extension. Every other attribute, `urn:…` extension objects included,
//! is kept as it came in [`User::extra`] / [`Group::extra`], readable by URN.

use std::collections::{BTreeMap, HashSet};

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::lenient;
use crate::error::{Error, Result};

/// The enterprise user extension URN (RFC 7643 §4.3).
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// A resource type served under its own endpoint (`/Users`, `/Groups`), which the
/// [`ScimClient`](super::ScimClient) lists, reads, creates and patches.
pub trait ScimResource: DeserializeOwned + Send + 'static {
    /// The endpoint under the SCIM root, e.g. `"Users"`.
    const ENDPOINT: &'static str;
    /// The core schema URN, e.g. [`USER`](super::USER).
    const SCHEMA: &'static str;
    /// The server's id (empty on a resource not created yet).
    fn id(&self) -> &str;
}

/// Other attributes and extension objects, by attribute name or schema URN.
pub type Attributes = BTreeMap<String, Value>;

/// `name` (RFC 7643 §4.1.1).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Name {
    /// `givenName`.
    #[serde(
        rename = "givenName",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub given_name: Option<String>,
    /// `familyName`.
    #[serde(
        rename = "familyName",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub family_name: Option<String>,
    /// `formatted`: the full name as the server displays it.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub formatted: Option<String>,
}

impl Name {
    /// A name of `given` and `family`.
    pub fn new(given: Option<String>, family: Option<String>) -> Self {
        Name {
            given_name: given,
            family_name: family,
            formatted: None,
        }
    }
}

/// One of a user's `emails`. `primary` missing or `null` reads as `false`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Email {
    /// The address (empty when the server sent none).
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    pub value: String,
    /// `type`: `work`, `home`, `other`…
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    /// Whether this is the primary address.
    #[serde(default, deserialize_with = "lenient::bool_or_false")]
    pub primary: bool,
}

impl Email {
    /// A primary email with no type.
    pub fn primary(value: impl Into<String>) -> Self {
        Email {
            value: value.into(),
            kind: None,
            primary: true,
        }
    }
}

/// `meta` (RFC 7643 §3.1). Times are kept as sent; parse them with
/// [`time::parse_rfc3339`](crate::time::parse_rfc3339).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// `resourceType`: `User`, `Group`…
    #[serde(
        rename = "resourceType",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub resource_type: Option<String>,
    /// `created`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub created: Option<String>,
    /// `lastModified`.
    #[serde(
        rename = "lastModified",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<String>,
    /// `location`: informational only; some servers' locations are not their endpoints,
    /// so never build request URLs from it.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub location: Option<String>,
    /// `version` (an ETag).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
}

/// A member of a group, or a group a user belongs to (`{value, display, type, $ref}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id (empty when the server sent none).
    #[serde(default, deserialize_with = "lenient::string_or_empty")]
    pub value: String,
    /// `display`: a name, when the server sends one (many do not).
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub display: Option<String>,
    /// `type`: `User`, `Group`, or absent.
    #[serde(
        rename = "type",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub kind: Option<String>,
    /// `$ref`: the member's URI, when sent.
    #[serde(
        rename = "$ref",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub reference: Option<String>,
}

impl Member {
    /// A member with id `value` and nothing else.
    pub fn new(value: impl Into<String>) -> Self {
        Member {
            value: value.into(),
            ..Member::default()
        }
    }

    /// A member with id `value` of type `User`.
    pub fn user(value: impl Into<String>) -> Self {
        Member {
            kind: Some("User".into()),
            ..Member::new(value)
        }
    }

    /// Whether the member is a user: its `type` is `User` (any case) or absent.
    pub fn is_user(&self) -> bool {
        self.kind
            .as_deref()
            .is_none_or(|k| k.eq_ignore_ascii_case("user"))
    }
}

/// `password` (RFC 7643 §4.1.1): write-only, sent when creating a user. `Debug` never
/// shows it.
///
/// ```
/// use connector_sdk::scim::{Password, User};
/// let mut u = User::new("a@x.com");
/// u.password = Some(Password::new("Str0ng!Passw0rd#1".into()));
/// assert!(serde_json::to_string(&u).unwrap().contains(r#""password":"Str0ng!Passw0rd#1""#));
/// assert!(!format!("{u:?}").contains("Str0ng"));
/// ```
#[derive(Clone, Default)]
pub struct Password(SecretString);

impl Password {
    /// A password.
    pub fn new(secret: SecretString) -> Self {
        Password(secret)
    }

    /// The secret.
    pub fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([REDACTED])")
    }
}

impl PartialEq for Password {
    fn eq(&self, other: &Self) -> bool {
        self.0.expose_secret() == other.0.expose_secret()
    }
}

impl Serialize for Password {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.0.expose_secret())
    }
}

impl<'de> Deserialize<'de> for Password {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Ok(Password(SecretString::from(String::deserialize(d)?)))
    }
}

/// The methods reading and writing extensions, the same on [`User`] and [`Group`] (both
/// have `id`, `schemas` and `extra`).
macro_rules! extension_methods {
    () => {
        /// The raw object of extension `urn` (or any other untyped attribute), if present.
        pub fn extension(&self, urn: &str) -> Option<&Value> {
            self.extra.get(urn).filter(|v| !v.is_null())
        }

        /// Extension `urn` read as `T`; `Ok(None)` when absent, an error naming the URN
        /// when it is not in `T`'s shape.
        pub fn extension_as<T: DeserializeOwned>(&self, urn: &str) -> Result<Option<T>> {
            let Some(v) = self.extension(urn) else {
                return Ok(None);
            };
            T::deserialize(v).map(Some).map_err(|e| {
                Error::internal(format!(
                    "SCIM resource {:?}: the {urn} extension is not in the expected shape: {e}",
                    self.id
                ))
            })
        }

        /// Extension `urn` as `T` for mapping, where one odd attribute must not fail a
        /// listing: `None` when absent or not in `T`'s shape (logged at debug).
        pub fn extension_lossy<T: DeserializeOwned>(&self, urn: &str) -> Option<T> {
            self.extension_as(urn).unwrap_or_else(|e| {
                tracing::debug!(error = %e, "ignoring an unreadable SCIM extension");
                None
            })
        }

        /// Sets extension `urn` to `value` and lists its URN in `schemas`.
        pub fn set_extension<T: Serialize>(&mut self, urn: &str, value: &T) -> Result<()> {
            let v = serde_json::to_value(value).map_err(|e| {
                Error::internal(format!("could not encode the {urn} extension: {e}"))
            })?;
            self.extra.insert(urn.to_string(), v);
            if !self.schemas.iter().any(|s| s == urn) {
                self.schemas.push(urn.to_string());
            }
            Ok(())
        }
    };
}

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
            schemas: vec![super::USER.to_string()],
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
    const SCHEMA: &'static str = super::USER;
    fn id(&self) -> &str {
        &self.id
    }
}

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
    const SCHEMA: &'static str = super::GROUP;
    fn id(&self) -> &str {
        &self.id
    }
}

/// The enterprise user extension (RFC 7643 §4.3), under [`ENTERPRISE_USER`].
///
/// ```
/// use connector_sdk::scim::{EnterpriseUser, User, ENTERPRISE_USER};
/// use serde_json::json;
/// let u: User = serde_json::from_value(json!({"id": "1",
///     ENTERPRISE_USER: {"department": "Legal", "employeeNumber": 701984}})).unwrap();
/// let e: EnterpriseUser = u.extension_as(ENTERPRISE_USER).unwrap().unwrap();
/// assert_eq!(e.department.as_deref(), Some("Legal"));
/// assert_eq!(e.employee_number.as_deref(), Some("701984"));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EnterpriseUser {
    /// `employeeNumber`.
    #[serde(
        rename = "employeeNumber",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub employee_number: Option<String>,
    /// `costCenter`.
    #[serde(
        rename = "costCenter",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub cost_center: Option<String>,
    /// `organization`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization: Option<String>,
    /// `division`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub division: Option<String>,
    /// `department`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub department: Option<String>,
    /// `manager` (`{value, $ref, displayName}`), kept raw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manager: Option<Value>,
}

#[cfg(test)]
mod tests;
