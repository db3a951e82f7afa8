//! SendGrid's v3 endpoints used by the connector, their JSON shapes, and `parse_error`.

use std::time::Duration;

use connector_sdk::http::Listing;
use connector_sdk::http::auth::BearerToken;
use connector_sdk::http::{HttpClient, Response, RetryPolicy, error_from_response};
use connector_sdk::model::Profile;
use connector_sdk::page::{Page, PageRequest};
use connector_sdk::{Error, ErrorKind, Result, lenient};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::config::SendgridConfig;

/// Items per page on `/v3/teammates`, `/v3/subusers` and `subuser_access` (SendGrid's maximum).
pub const PAGE_SIZE: u32 = 500;

/// A teammate as `/v3/teammates` lists it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Teammate {
    /// The username (the teammate's id; often an email).
    #[serde(default)]
    pub username: String,
    /// The email.
    #[serde(default)]
    pub email: String,
    /// `owner`, `admin` or `teammate`.
    #[serde(default)]
    pub user_type: String,
    /// Whether the teammate is an admin (admins hold every scope).
    #[serde(default)]
    pub is_admin: bool,
    /// Whether sign-in is through SSO.
    #[serde(default)]
    pub is_sso: bool,
    /// Unified (Twilio) login.
    #[serde(default)]
    pub is_unified: bool,
    /// Partner SSO.
    #[serde(default)]
    pub is_partner_sso: bool,
    /// Scopes (only in the detail answer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

impl Teammate {
    /// Owners and admins hold every scope; their scopes cannot be edited one by one.
    pub fn holds_all_scopes(&self) -> bool {
        self.is_admin
            || self.user_type.eq_ignore_ascii_case("owner")
            || self.user_type.eq_ignore_ascii_case("admin")
    }
}

/// A pending invitation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PendingInvite {
    /// The invite key (`token`, or `pending_id` in some documents).
    #[serde(alias = "pending_id", default)]
    pub token: String,
    /// The invited email.
    #[serde(default)]
    pub email: String,
    /// Scopes the invite grants.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Whether the invite is for an admin.
    #[serde(default)]
    pub is_admin: bool,
    /// Expiry (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_date: Option<i64>,
}

/// A subuser.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Subuser {
    /// Numeric id.
    pub id: u64,
    /// Username.
    #[serde(default)]
    pub username: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// Whether the subuser is disabled.
    #[serde(default)]
    pub disabled: bool,
}

/// One page of a teammate's subuser access.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SubuserAccessPage {
    /// The subusers the teammate can access.
    #[serde(default, deserialize_with = "lenient::vec_or_null")]
    pub subuser_access: Vec<Subuser>,
    /// Paging metadata.
    #[serde(rename = "_metadata", default)]
    pub metadata: Option<AccessMetadata>,
}

/// `_metadata`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AccessMetadata {
    /// `next_params`.
    #[serde(default)]
    pub next_params: Option<NextParams>,
}

/// `_metadata.next_params`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NextParams {
    /// The cursor for the next page; `null`/0/absent ends the listing.
    #[serde(default)]
    pub after_subuser_id: Option<u64>,
}

/// `{"result": [...]}`, also accepting the `results` key of SendGrid's OpenAPI example.
#[derive(Debug, Deserialize)]
#[serde(bound(deserialize = "T: DeserializeOwned"))]
struct ResultList<T> {
    #[serde(
        alias = "results",
        default = "Vec::new",
        deserialize_with = "lenient::vec_or_null"
    )]
    result: Vec<T>,
}

/// SendGrid's error mapping: the status decides the kind (never a 4xx as success), the
/// `errors[]` messages (nullable `field`) are the API message, with hints for 401/403.
///
/// SendGrid answers every error with a JSON body (spec §5.5), so a 404 whose body is not
/// a JSON object (an HTML page, text, nothing) came from a proxy or gateway in front of
/// it: it is `Unavailable`, never `NotFound`, so no caller takes it for "the teammate is
/// gone" (a targeted sync's warning, an already-revoked grant, an already-deleted
/// teammate). Upstream fails on such a body too (its JSON parse error). (The SDK maps an
/// HTML 404 so already; SendGrid's rule also covers text and empty bodies.)
pub fn parse_error(response: &Response) -> Error {
    let err = error_from_response(response);
    if response.status() == 404
        && err.kind() == ErrorKind::NotFound
        && !is_json_object(response.body())
    {
        return Error::new(
            ErrorKind::Unavailable,
            format!(
                "{} without SendGrid's JSON error body: a proxy or gateway answered, so it does not say that the resource is gone",
                err.message()
            ),
        )
        .with_http_status(404);
    }
    let hint = match response.status() {
        401 => Some(
            "the API key is invalid or revoked, or belongs to the other region: check --sendgrid-api-key (BATON_SENDGRID_API_KEY) and --sendgrid-region (BATON_SENDGRID_REGION)",
        ),
        403 => Some(
            "the API key lacks a permission: it needs teammates read/update and subusers read (or use --ignore-subusers)",
        ),
        _ => None,
    };
    match hint {
        Some(h) => err.with_hint(h),
        None => err,
    }
}

fn is_json_object(body: &[u8]) -> bool {
    serde_json::from_slice::<Value>(body).is_ok_and(|v| v.is_object())
}

/// SendGrid's API for one account.
#[derive(Debug, Clone)]
pub struct SendgridClient {
    http: HttpClient,
    /// Serialises read-modify-write scope edits (SendGrid has no ETag).
    edits: std::sync::Arc<Mutex<()>>,
}

impl SendgridClient {
    /// A client for `config` with the default retry policy.
    pub fn new(config: &SendgridConfig) -> Result<Self> {
        Self::with_retry(config, RetryPolicy::default())
    }

    /// A client with another retry policy (tests use short waits).
    pub fn with_retry(config: &SendgridConfig, retry: RetryPolicy) -> Result<Self> {
        let http = HttpClient::builder(config.base_url.as_str())?
            .user_agent("baton-sendgrid", env!("CARGO_PKG_VERSION"))
            .auth(BearerToken::new(config.api_key.clone()))
            .allow_insecure_http(config.allow_insecure_http)
            .timeout(Duration::from_secs(120))
            .retry(retry)
            .error_mapper(parse_error)
            .build()?;
        Ok(SendgridClient {
            http,
            edits: Default::default(),
        })
    }

    /// The client's shared limiter (driven by `X-RateLimit-*`).
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// One page of teammates.
    pub async fn list_teammates(&self, offset: u64, limit: u32) -> Result<Vec<Teammate>> {
        // Used by `validate` (one teammate); listings page with `teammates_page`.
        let page: ResultList<Teammate> = self
            .http
            .get(&["v3", "teammates"])
            .query(&[("limit", limit.to_string()), ("offset", offset.to_string())])
            .send_json()
            .await?;
        Ok(page.result)
    }

    /// One page of `GET /v3/teammates?limit=&offset=` (`{"result": […]}`), offset-paged.
    pub async fn teammates_page(&self, page: PageRequest) -> Result<Page<Teammate>> {
        Listing::get("/v3/teammates")
            .items_at("/result")
            .offset("offset", "limit", PAGE_SIZE)
            .page(&self.http, page)
            .await
    }

    /// One page of `GET /v3/subusers?limit=&offset=` (an array, or `null` when there are
    /// none), offset-paged.
    pub async fn subusers_page(&self, page: PageRequest) -> Result<Page<Subuser>> {
        Listing::get("/v3/subusers")
            .offset("offset", "limit", PAGE_SIZE)
            .page(&self.http, page)
            .await
    }

    /// A teammate's detail, with scopes. An answer that is not this teammate's detail
    /// (`{}`, a body of another shape, another teammate's detail from a confused cache) is
    /// an error: taken as the teammate's, it would drop or misattribute its scope grants
    /// or, in a scope edit, PATCH the wrong scope list onto it.
    pub async fn get_teammate(&self, username: &str) -> Result<Teammate> {
        self.http
            .get(&["v3", "teammates", username])
            .send_json_validated(|t: &Teammate| {
                if t.username != username {
                    return Err(Error::internal(format!(
                        "SendGrid answered a read of teammate {username} with {}: not this teammate's detail",
                        if t.username.is_empty() {
                            "no username".to_string()
                        } else {
                            format!("teammate {}", t.username)
                        }
                    )));
                }
                Ok(())
            })
            .await
    }

    /// Pending invitations.
    pub async fn list_pending(&self) -> Result<Vec<PendingInvite>> {
        let page: ResultList<PendingInvite> = self
            .http
            .get(&["v3", "teammates", "pending"])
            .send_json()
            .await?;
        Ok(page.result)
    }

    /// One page of subusers (a bare JSON array).
    pub async fn list_subusers(&self, offset: u64, limit: u32) -> Result<Vec<Subuser>> {
        let v: Option<Vec<Subuser>> = self
            .http
            .get(&["v3", "subusers"])
            .query(&[("limit", limit.to_string()), ("offset", offset.to_string())])
            .send_json()
            .await?;
        Ok(v.unwrap_or_default())
    }

    /// One page of a teammate's subuser access.
    pub async fn subuser_access(
        &self,
        username: &str,
        after: Option<u64>,
    ) -> Result<SubuserAccessPage> {
        let mut q = vec![("limit", PAGE_SIZE.to_string())];
        if let Some(a) = after {
            q.push(("after_subuser_id", a.to_string()));
        }
        let v: Option<SubuserAccessPage> = self
            .http
            .get(&["v3", "teammates", username, "subuser_access"])
            .query(&q)
            .send_json()
            .await?;
        Ok(v.unwrap_or_default())
    }

    /// Reads a teammate, lets `edit` change its scope list, and PATCHes the full list
    /// back (`is_admin: false`), one edit at a time. `edit` returns `false` for "nothing to
    /// change", and the PATCH is skipped.
    pub async fn edit_scopes(
        &self,
        username: &str,
        edit: impl FnOnce(&mut Vec<String>) -> Result<bool>,
    ) -> Result<bool> {
        let _one_at_a_time = self.edits.lock().await;
        let teammate = self.get_teammate(username).await?;
        if teammate.holds_all_scopes() {
            return Err(Error::failed_precondition(format!(
                "teammate {username} is an {} and holds every scope; SendGrid does not edit the scopes of owners and admins one by one",
                if teammate.user_type.eq_ignore_ascii_case("owner") {
                    "owner"
                } else {
                    "admin"
                }
            )));
        }
        let mut scopes: Vec<String> = teammate.scopes.clone();
        if !edit(&mut scopes)? {
            return Ok(false);
        }
        scopes.retain(|s| !crate::scope_list::is_auto_scope(s));
        self.http
            .patch(&["v3", "teammates", username])
            .json(&json!({"scopes": scopes, "is_admin": false}))
            .idempotent(true)
            .send()
            .await?;
        Ok(true)
    }

    /// Invites a teammate; returns the invitation.
    pub async fn invite(
        &self,
        email: &str,
        scopes: &[String],
        is_admin: bool,
    ) -> Result<PendingInvite> {
        let body = json!({"email": email, "scopes": if is_admin { Vec::new() } else { scopes.to_vec() }, "is_admin": is_admin});
        self.http
            .post(&["v3", "teammates"])
            .json(&body)
            .send_json()
            .await
    }

    /// Deletes a teammate; `false` when it did not exist.
    pub async fn delete_teammate(&self, username: &str) -> Result<bool> {
        not_found_is_false(
            self.http
                .delete(&["v3", "teammates", username])
                .send()
                .await,
        )
    }

    /// Deletes a pending invitation; `false` when it did not exist.
    pub async fn delete_pending(&self, token: &str) -> Result<bool> {
        not_found_is_false(
            self.http
                .delete(&["v3", "teammates", "pending", token])
                .send()
                .await,
        )
    }
}

fn not_found_is_false(r: Result<Response>) -> Result<bool> {
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// A teammate's profile, as upstream records it.
pub fn teammate_profile(t: &Teammate) -> Profile {
    connector_sdk::profile! {
        "username": t.username, "user_type": t.user_type, "email": t.email,
        "is_sso": t.is_sso, "is_admin": t.is_admin, "is_unified": t.is_unified,
        "is_partner_sso": t.is_partner_sso,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_accept_documented_variants() {
        let r: ResultList<Teammate> =
            serde_json::from_str(r#"{"results":[{"username":"a"}]}"#).unwrap();
        assert_eq!(r.result[0].username, "a");
        let r: ResultList<PendingInvite> =
            serde_json::from_str(r#"{"result":[{"pending_id":"abc","email":"x@y.z"}]}"#).unwrap();
        assert_eq!(r.result[0].token, "abc");
        let p: SubuserAccessPage = serde_json::from_str(
            r#"{"subuser_access":null,"_metadata":{"next_params":{"after_subuser_id":null}}}"#,
        )
        .unwrap();
        assert!(p.subuser_access.is_empty());
        assert_eq!(
            p.metadata.unwrap().next_params.unwrap().after_subuser_id,
            None
        );
    }
}
