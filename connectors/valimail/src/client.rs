//! Valimail's endpoints and JSON shapes: `POST /auth` and the SCIM `/Users` API.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use connector_sdk::http::auth::{Token, TokenExchange};
use connector_sdk::http::{HttpClient, Response, RetryPolicy, api_message, error_from_response};
use connector_sdk::ratelimit::RateLimitInfo;
use connector_sdk::scim::{self, ListResponse};
use connector_sdk::time::parse_rfc3339;
use connector_sdk::{Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::ValimailConfig;

/// The Valimail user extension URN.
pub const EXTENSION: &str = "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User";
/// The `memberType` PATCH path as Valimail's examples write it (dot form).
pub const MEMBER_TYPE_PATH_DOT: &str =
    "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User.memberType";
/// The RFC 7644 fully-qualified form (colon), tried once when the dot form is refused.
pub const MEMBER_TYPE_PATH_COLON: &str =
    "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User:memberType";

/// A SCIM user as Valimail returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScimUser {
    /// Opaque id (10 or 20 hex digits, or a UUID).
    pub id: String,
    /// The email address.
    #[serde(rename = "userName", default)]
    pub user_name: String,
    /// The external id, when set.
    #[serde(
        rename = "externalId",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<String>,
    /// Given and family name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<ScimName>,
    /// Whether the user is active; missing means active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The Valimail extension with `memberType`.
    #[serde(
        rename = "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub extension: Option<Extension>,
    /// Creation and modification times.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// `name`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScimName {
    /// First name.
    #[serde(rename = "givenName", default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
    /// Last name.
    #[serde(
        rename = "familyName",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub family_name: Option<String>,
}

/// The Valimail extension object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extension {
    /// `owner`, `member`, `marketer`, or another value.
    #[serde(
        rename = "memberType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub member_type: Option<String>,
}

/// `meta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// Creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Last modification time.
    #[serde(
        rename = "lastModified",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_modified: Option<String>,
}

impl ScimUser {
    /// The member type, lower-cased; `None` when missing or empty.
    pub fn member_type(&self) -> Option<String> {
        self.extension
            .as_ref()
            .and_then(|e| e.member_type.as_deref())
            .map(|m| m.trim().to_lowercase())
            .filter(|m| !m.is_empty())
    }

    /// `active`, missing meaning active.
    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
}

/// Valimail's error mapping: status to kind, SCIM `detail` or the non-SCIM `message`, and
/// a hint for the statuses an operator can fix.
pub fn parse_error(response: &Response) -> Error {
    let err = error_from_response(response);
    match response.status() {
        403 => Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "{}: the API key needs Configuration access, and --valimail-slug must be this key's account",
                err.message()
            ),
        )
        .with_http_status(403)
        .with_api_message(err.api_message().unwrap_or_default()),
        _ => err,
    }
}

/// The body sent to `POST /auth`.
fn auth_body(config: &ValimailConfig) -> Value {
    json!({"client-id": config.client_id.expose_secret(), "app-id": config.app_id.expose_secret()})
}

/// `POST /auth`: any 2xx with `token` and `expires-at` or `expires_at` (RFC 3339, 0–9
/// fractional digits, or missing: the token is then kept until a 401).
async fn exchange(http: reqwest::Client, config: Arc<ValimailConfig>) -> Result<Token> {
    let mut url = config.base_url.clone();
    if let Ok(mut p) = url.path_segments_mut() {
        p.pop_if_empty().push("auth");
    }
    let resp = http
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .json(&auth_body(&config))
        .send()
        .await
        .map_err(|e| {
            let kind = if e.is_timeout() {
                ErrorKind::DeadlineExceeded
            } else {
                ErrorKind::Unavailable
            };
            Error::new(kind, "POST /auth failed: could not reach Valimail")
                .with_context("cause", e.to_string())
        })?;
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = resp.bytes().await.map_err(|_| {
        Error::new(
            ErrorKind::Unavailable,
            "POST /auth: the response was cut off",
        )
    })?;
    if !(200..300).contains(&status) {
        let api = api_message(&body).unwrap_or_default();
        return Err(match status {
            429 | 500..=599 => {
                let kind = if status == 429 { ErrorKind::ResourceExhausted } else { ErrorKind::Unavailable };
                let mut e = Error::new(kind, format!("POST /auth returned HTTP {status}")).with_http_status(status);
                if let Some(wait) = RateLimitInfo::from_headers(&headers, SystemTime::now()).wait() {
                    e = e.with_retry_after(wait);
                }
                e.with_api_message(api)
            }
            400 | 422 => Error::new(
                ErrorKind::InvalidArgument,
                format!("POST /auth rejected the request (HTTP {status}): check --valimail-client-id and --valimail-app-id"),
            )
            .with_http_status(status)
            .with_api_message(api),
            _ => Error::new(
                ErrorKind::Unauthenticated,
                format!("POST /auth refused the API key (HTTP {status}): check --valimail-client-id (BATON_VALIMAIL_CLIENT_ID) and --valimail-app-id (BATON_VALIMAIL_APP_ID)"),
            )
            .with_http_status(status)
            .with_api_message(api),
        });
    }
    // Never quote the body in an error: it holds the token.
    let v: Value = serde_json::from_slice(&body)
        .map_err(|_| Error::internal("POST /auth returned a body that is not JSON"))?;
    let token = v
        .get("token")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::internal("POST /auth returned no token"))?;
    let expires_in = v
        .get("expires-at")
        .or_else(|| v.get("expires_at"))
        .and_then(Value::as_str)
        .and_then(parse_rfc3339)
        .map(|at| {
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
    Ok(Token {
        secret: SecretString::from(token.to_string()),
        expires_in,
    })
}

/// The result of creating a user.
#[derive(Debug, Clone)]
pub enum Created {
    /// 201 with the new user.
    New(ScimUser),
    /// 409: a user with that email exists; `detail` is Valimail's text.
    Conflict(String),
}

/// Valimail's API for one account.
#[derive(Debug, Clone)]
pub struct ValimailClient {
    http: HttpClient,
    slug: String,
}

/// Users per SCIM page.
pub const PAGE_SIZE: u32 = 100;

impl ValimailClient {
    /// Valimail's retry policy: 1 s doubling to 60 s, at most 5 attempts.
    pub fn default_retry() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_total_wait: Duration::from_secs(300),
        }
    }

    /// A client for `config`: token exchange auth, one request at a time, Valimail's
    /// backoff ([`ValimailClient::default_retry`]).
    pub fn new(config: ValimailConfig) -> Result<Self> {
        Self::with_retry(config, Self::default_retry())
    }

    /// A client with another retry policy (tests use short waits).
    pub fn with_retry(config: ValimailConfig, retry: RetryPolicy) -> Result<Self> {
        let config = Arc::new(config);
        let for_auth = config.clone();
        let auth = TokenExchange::new(move |http| {
            let config = for_auth.clone();
            Box::pin(exchange(http, config))
        });
        let http = HttpClient::builder(config.base_url.as_str())?
            .user_agent("baton-valimail", env!("CARGO_PKG_VERSION"))
            .auth(auth)
            .max_concurrency(1)
            .retry(retry)
            .error_mapper(parse_error)
            .build()?;
        Ok(ValimailClient {
            http,
            slug: config.slug.clone(),
        })
    }

    fn users_path<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut p = vec!["accounts", self.slug.as_str(), "scim", "v2", "Users"];
        p.extend_from_slice(rest);
        p
    }

    /// One page of users.
    pub async fn list_users(&self, start_index: u64, count: u32) -> Result<ListResponse<ScimUser>> {
        self.http
            .get(&self.users_path(&[]))
            .query(&[
                ("startIndex", start_index.to_string()),
                ("count", count.to_string()),
            ])
            .send_json()
            .await
    }

    /// Users whose `userName` equals `email` (server-side filter).
    pub async fn find_by_user_name(&self, email: &str) -> Result<Vec<ScimUser>> {
        let page: ListResponse<ScimUser> = self
            .http
            .get(&self.users_path(&[]))
            .query(&[("filter", scim::filter_eq("userName", email))])
            .send_json()
            .await?;
        Ok(page.resources)
    }

    /// One user; `None` on 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<ScimUser>> {
        match self.http.get(&self.users_path(&[id])).send_json().await {
            Ok(u) => Ok(Some(u)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Sets a user's member type: the dot path first, the colon path once if Valimail
    /// says the path is invalid.
    pub async fn set_member_type(&self, id: &str, member_type: &str) -> Result<ScimUser> {
        let send = |path: &'static str| {
            self.http
                .patch(&self.users_path(&[id]))
                .scim_json(&scim::patch_replace(
                    path,
                    Value::String(member_type.to_string()),
                ))
                .idempotent(true)
                .send_raw()
        };
        let resp = send(MEMBER_TYPE_PATH_DOT).await?;
        let path_refused = resp.status() == 400
            && (scim::scim_type(resp.body()).as_deref() == Some("invalidPath")
                || api_message(resp.body()).is_some_and(|m| m.to_lowercase().contains("path")));
        let resp = if path_refused {
            tracing::debug!(
                "Valimail refused the dot path for memberType; retrying with the colon form"
            );
            send(MEMBER_TYPE_PATH_COLON).await?
        } else {
            resp
        };
        if !resp.is_success() {
            return Err(resp.to_error());
        }
        resp.json()
    }

    /// Sets `active`.
    pub async fn set_active(&self, id: &str, active: bool) -> Result<ScimUser> {
        self.http
            .patch(&self.users_path(&[id]))
            .scim_json(&scim::patch_replace("active", Value::Bool(active)))
            .idempotent(true)
            .send_json()
            .await
    }

    /// Creates a user.
    pub async fn create_user(&self, user: &ScimUser) -> Result<Created> {
        let mut body = serde_json::to_value(user)?;
        if let Some(obj) = body.as_object_mut() {
            obj.remove("id");
            obj.insert("schemas".into(), json!([scim::USER, EXTENSION]));
        }
        let resp = self
            .http
            .post(&self.users_path(&[]))
            .scim_json(&body)
            .send_raw()
            .await?;
        match resp.status() {
            200 | 201 => Ok(Created::New(resp.json()?)),
            409 => Ok(Created::Conflict(
                api_message(resp.body()).unwrap_or_else(|| "a user with that email exists".into()),
            )),
            _ => Err(resp.to_error()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_with_missing_fields() {
        let u: ScimUser =
            serde_json::from_str(r#"{"id":"49c398b12b","userName":"x","active":false}"#).unwrap();
        assert!(!u.is_active());
        assert_eq!(u.member_type(), None);
        let u: ScimUser = serde_json::from_value(json!({
            "id": "a", "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User": {"memberType": " Owner "}
        }))
        .unwrap();
        assert!(u.is_active());
        assert_eq!(u.member_type().as_deref(), Some("owner"));
    }
}
