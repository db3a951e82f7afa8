//! The RFC 7643 core resources, [`User`] and [`Group`], with their sub-attributes, and the
//! enterprise user extension. Every other attribute, `urn:…` extension objects included,
//! is kept as it came in [`User::extra`] / [`Group::extra`], readable by URN.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::lenient;

pub use enterprise::EnterpriseUser;
pub use group::Group;
pub use user::User;

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

mod enterprise;
mod group;
mod user;

#[cfg(test)]
mod tests;
