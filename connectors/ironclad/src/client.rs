//! Ironclad's OAuth token endpoint and SCIM `/Users` and `/Groups`, their JSON shapes, the
//! typed PATCH bodies, and `parse_error`.

use std::time::Duration;

use connector_sdk::http::auth::OAuth2ClientCredentials;
use connector_sdk::http::{HttpClient, Response, RetryPolicy, api_message, error_from_response};
use connector_sdk::scim::{self, ListResponse};
use connector_sdk::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::IroncladConfig;

/// The enterprise user extension URN.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// Ironclad's user extension URN.
pub const IRONCLAD_EXT: &str = "urn:ietf:params:scim:schemas:extension:ironclad:2.0:User";
/// Items per SCIM page.
pub const PAGE_SIZE: u32 = 100;

/// A SCIM email.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScimEmail {
    /// The address.
    #[serde(default)]
    pub value: String,
    /// Whether it is the primary one.
    #[serde(default)]
    pub primary: bool,
}

/// A SCIM user as Ironclad returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScimUser {
    /// Opaque id.
    pub id: String,
    /// The email address used to sign in.
    #[serde(rename = "userName", default)]
    pub user_name: String,
    /// Given and family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<Value>,
    /// Job title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Email addresses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emails: Option<Vec<ScimEmail>>,
    /// Missing means active; inactive users are removed by Ironclad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Enterprise extension (`department`).
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enterprise: Option<Value>,
    /// Ironclad extension (`departmentHead`, `provider`).
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:ironclad:2.0:User",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ironclad: Option<Value>,
    /// `meta` (`created`, `lastModified`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Value>,
}

impl ScimUser {
    /// A `name` sub-attribute as text.
    pub fn name_part(&self, key: &str) -> Option<String> {
        self.name.as_ref()?.get(key)?.as_str().map(String::from)
    }
}

/// A group member reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Member {
    /// The member's id.
    #[serde(default)]
    pub value: String,
    /// `User`, `Group`, or absent.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A SCIM group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScimGroup {
    /// Opaque id.
    pub id: String,
    /// Name.
    #[serde(rename = "displayName", default)]
    pub display_name: String,
    /// External id.
    #[serde(
        rename = "externalId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// Members (missing for an empty group or when excluded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub members: Option<Vec<Member>>,
}

impl ScimGroup {
    /// Distinct user member ids (type `User` or none), in order.
    pub fn user_ids(&self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.members
            .iter()
            .flatten()
            .filter(|m| {
                let user = m.kind.as_deref().is_none_or(|k| k.eq_ignore_ascii_case("user"));
                if !user {
                    tracing::debug!(group = %self.id, member = %m.value, kind = ?m.kind, "skipping a non-user member");
                }
                user && !m.value.is_empty()
            })
            .filter(|m| seen.insert(m.value.clone()))
            .map(|m| m.value.clone())
            .collect()
    }
}

/// A user id that is known not to be empty, so a member PATCH always names someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberId(String);

impl MemberId {
    /// Rejects an empty (or blank) id before any request is built.
    pub fn new(id: &str) -> Result<Self> {
        if id.trim().is_empty() {
            return Err(Error::invalid_argument(
                "a group member's user id must not be empty",
            ));
        }
        Ok(MemberId(id.to_string()))
    }
}

/// `{"value": "<user id>"}`.
#[derive(Serialize)]
struct MemberValue<'a> {
    value: &'a str,
}

/// One member operation. `value` is an array of exactly one member, so a remove can
/// never be sent without naming whom it removes.
#[derive(Serialize)]
struct MemberOp<'a> {
    op: &'static str,
    path: &'static str,
    value: [MemberValue<'a>; 1],
}

#[derive(Serialize)]
struct MemberPatch<'a> {
    schemas: [&'static str; 1],
    #[serde(rename = "Operations")]
    operations: [MemberOp<'a>; 1],
}

/// The PATCH body adding or removing one member (`op` is `add` or `remove`).
pub fn member_patch(op: &'static str, member: &MemberId) -> Vec<u8> {
    let body = MemberPatch {
        schemas: [scim::PATCH_OP],
        operations: [MemberOp {
            op,
            path: "members",
            value: [MemberValue { value: &member.0 }],
        }],
    };
    serde_json::to_vec(&body).unwrap_or_default()
}

/// The RFC 7644 filter form of a remove, for strict servers: `members[value eq "<id>"]`.
pub fn member_remove_filter(member: &MemberId) -> Value {
    let filter = scim::filter_eq("value", &member.0);
    json!({"schemas": [scim::PATCH_OP], "Operations": [{"op": "remove", "path": format!("members[{filter}]")}]})
}

/// Ironclad's error mapping, with a hint on 403.
pub fn parse_error(response: &Response) -> Error {
    let err = error_from_response(response);
    if response.status() == 403 {
        let mut e = Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "{}: check the OAuth app's scopes and that --as-user-email (BATON_AS_USER_EMAIL) is an Ironclad Administrator",
                err.message()
            ),
        )
        .with_http_status(403);
        if let Some(m) = err.api_message() {
            e = e.with_api_message(m);
        }
        return e;
    }
    err
}

/// What a member change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Applied.
    Done,
    /// Nothing to do (409 on add, 404 on remove).
    Unchanged,
}

/// The result of creating a user.
#[derive(Debug, Clone)]
pub enum Created {
    /// 201 with the new user.
    New(Box<ScimUser>),
    /// 409.
    Conflict(String),
}

/// Ironclad's SCIM API.
#[derive(Debug, Clone)]
pub struct IroncladClient {
    http: HttpClient,
    as_user_email: String,
}

impl IroncladClient {
    /// Ironclad's retry policy: 1 s doubling to 60 s, 5 attempts.
    pub fn default_retry() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(300),
        }
    }

    /// A client for `config`: OAuth client credentials with the mode's scopes, the
    /// as-user header on every request, client-side pacing.
    pub fn new(config: &IroncladConfig) -> Result<Self> {
        Self::with_retry(config, Self::default_retry())
    }

    /// A client with another retry policy (tests use short waits).
    pub fn with_retry(config: &IroncladConfig, retry: RetryPolicy) -> Result<Self> {
        let mut token_url = config.base_url.clone();
        if let Ok(mut p) = token_url.path_segments_mut() {
            p.pop_if_empty().extend(["oauth", "token"]);
        }
        let auth = OAuth2ClientCredentials::new(
            token_url,
            secrecy::ExposeSecret::expose_secret(&config.client_id),
            config.client_secret.clone(),
            config.scopes(),
        );
        let mut b = HttpClient::builder(config.base_url.as_str())?
            .user_agent("baton-ironclad", env!("CARGO_PKG_VERSION"))
            .auth(auth)
            .default_header("x-as-user-email", &config.as_user_email)?
            .retry(retry)
            .error_mapper(parse_error);
        if let Some(rl) = config.rate_limit {
            b = b.rate_limit(rl);
        }
        Ok(IroncladClient {
            http: b.build()?,
            as_user_email: config.as_user_email.clone(),
        })
    }

    /// The email sent as `x-as-user-email`: the Ironclad user the connector acts as.
    pub fn as_user_email(&self) -> &str {
        &self.as_user_email
    }

    /// One page of users.
    pub async fn list_users(&self, start_index: u64, count: u32) -> Result<ListResponse<ScimUser>> {
        self.http
            .get(&["scim", "v2", "Users"])
            .query(&[
                ("startIndex", start_index.to_string()),
                ("count", count.to_string()),
            ])
            .send_json()
            .await
    }

    /// Users with `userName` equal to `email`.
    pub async fn find_by_user_name(&self, email: &str) -> Result<Vec<ScimUser>> {
        let page: ListResponse<ScimUser> = self
            .http
            .get(&["scim", "v2", "Users"])
            .query(&[("filter", scim::filter_eq("userName", email))])
            .send_json()
            .await?;
        Ok(page.resources)
    }

    /// One page of groups, without members.
    pub async fn list_groups(
        &self,
        start_index: u64,
        count: u32,
    ) -> Result<ListResponse<ScimGroup>> {
        self.http
            .get(&["scim", "v2", "Groups"])
            .query(&[
                ("startIndex", start_index.to_string()),
                ("count", count.to_string()),
                ("excludedAttributes", "members".to_string()),
            ])
            .send_json()
            .await
    }

    /// One group with its members; `None` on 404.
    pub async fn get_group(&self, id: &str) -> Result<Option<ScimGroup>> {
        match self
            .http
            .get(&["scim", "v2", "Groups", id])
            .send_json()
            .await
        {
            Ok(g) => Ok(Some(g)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn patch_group(&self, group: &str, body: Vec<u8>) -> Result<Response> {
        // The body is built from typed structs and sent byte for byte.
        self.http
            .patch(&["scim", "v2", "Groups", group])
            .raw_json(body)
            .idempotent(true)
            .send_raw()
            .await
    }

    /// Adds a member: 200 or 204 is done, 409 is "already a member".
    pub async fn add_member(&self, group: &str, member: &MemberId) -> Result<Change> {
        let resp = self.patch_group(group, member_patch("add", member)).await?;
        match resp.status() {
            200..=299 => Ok(Change::Done),
            409 => Ok(Change::Unchanged),
            _ => Err(resp.to_error()),
        }
    }

    /// Removes a member with the documented value form; a strict server's 400 gets one
    /// retry with the RFC filter form. 404 is "already gone".
    pub async fn remove_member(&self, group: &str, member: &MemberId) -> Result<Change> {
        let resp = self
            .patch_group(group, member_patch("remove", member))
            .await?;
        let strict = resp.status() == 400
            && matches!(
                scim::scim_type(resp.body()).as_deref(),
                Some("invalidValue") | Some("invalidPath")
            );
        let resp = if strict {
            tracing::debug!(
                group,
                "the server refused the value form of remove; retrying with a filter path"
            );
            self.http
                .patch(&["scim", "v2", "Groups", group])
                .json(&member_remove_filter(member))
                .idempotent(true)
                .send_raw()
                .await?
        } else {
            resp
        };
        match resp.status() {
            200..=299 => Ok(Change::Done),
            404 => Ok(Change::Unchanged),
            _ => Err(resp.to_error()),
        }
    }

    /// Creates a user.
    pub async fn create_user(&self, body: &Value) -> Result<Created> {
        let resp = self
            .http
            .post(&["scim", "v2", "Users"])
            .json(body)
            .send_raw()
            .await?;
        match resp.status() {
            200 | 201 => Ok(Created::New(Box::new(resp.json()?))),
            409 => Ok(Created::Conflict(
                api_message(resp.body()).unwrap_or_else(|| "the user exists".into()),
            )),
            _ => Err(resp.to_error()),
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
            String::from_utf8(member_patch("remove", &id)).unwrap(),
            r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members","value":[{"value":"6660d37dec0eac3deffb680e"}]}]}"#
        );
        assert!(MemberId::new("").is_err());
        assert!(MemberId::new("  ").is_err());
        let f = member_remove_filter(&MemberId::new(r#"a"b"#).unwrap());
        assert_eq!(f["Operations"][0]["path"], r#"members[value eq "a\"b"]"#);
    }

    #[test]
    fn group_members_are_deduplicated_and_non_users_skipped() {
        let g: ScimGroup = serde_json::from_value(json!({"id": "g", "members": [
            {"value": "u1", "type": "User"}, {"value": "u1"}, {"value": "g2", "type": "Group"}, {"value": "u2"}, {"value": ""}
        ]}))
        .unwrap();
        assert_eq!(g.user_ids(), ["u1", "u2"]);
        let empty: ScimGroup = serde_json::from_value(json!({"id": "g"})).unwrap();
        assert!(empty.user_ids().is_empty());
    }
}
