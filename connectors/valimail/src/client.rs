//! Valimail's endpoints and JSON shapes: `POST /auth` and the SCIM `/Users` API.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use connector_sdk::http::auth::{Token, TokenExchange, TokenHttp};
use connector_sdk::http::{HttpClient, Response, RetryPolicy, api_message, error_from_response};
use connector_sdk::page::{Page, PageToken, ScimPager};
use connector_sdk::ratelimit::RateLimitInfo;
use connector_sdk::scim::{
    self, Created, ListQuery, ListResponse, ScimClient, ScimError, User, lenient,
};
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

/// Valimail's user extension (under [`EXTENSION`]): the member type.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserExtension {
    /// `owner`, `member`, `marketer`, or another value.
    #[serde(
        rename = "memberType",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub member_type: Option<String>,
}

/// The Valimail extension of `user`; `None` when absent or (logged) not an object.
pub fn extension(user: &User) -> Option<UserExtension> {
    user.extension_lossy(EXTENSION)
}

/// The member type of `user`, lower-cased; `None` when missing or empty.
pub fn member_type(user: &User) -> Option<String> {
    extension(user)?
        .member_type
        .map(|m| m.trim().to_lowercase())
        .filter(|m| !m.is_empty())
}

/// Valimail's error mapping: status to kind, SCIM `detail` or the non-SCIM `message`, and
/// a hint for the statuses an operator can fix.
pub fn parse_error(response: &Response) -> Error {
    let err = error_from_response(response);
    match response.status() {
        403 => err.with_hint(
            "the API key needs Configuration access, and --valimail-slug (BATON_VALIMAIL_SLUG) must be this key's account",
        ),
        _ => err,
    }
}

/// The body sent to `POST /auth`.
fn auth_body(config: &ValimailConfig) -> Value {
    json!({"client-id": config.client_id.expose_secret(), "app-id": config.app_id.expose_secret()})
}

/// `POST /auth`: any 2xx with `token` and `expires-at` or `expires_at` (RFC 3339, 0–9
/// fractional digits, or missing: the token is then kept until a 401).
async fn exchange(http: TokenHttp, config: Arc<ValimailConfig>) -> Result<Token> {
    // Through the SDK's client: paced by the connector's limiter; a 429/5xx/connection
    // failure is retried with the request that needed the token. Asking twice is harmless.
    let resp = http
        .client(config.base_url.as_str())?
        .post(&["auth"])
        .idempotent(true)
        .json(&auth_body(&config))
        .send_raw()
        .await
        .map_err(|e| e.context("POST /auth: could not reach Valimail"))?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.body();
    if !(200..300).contains(&status) {
        let api = api_message(body).unwrap_or_default();
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
    let v: Value = serde_json::from_slice(body)
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

/// Valimail's API for one account.
#[derive(Debug, Clone)]
pub struct ValimailClient {
    scim: ScimClient,
}

/// Users per SCIM page.
pub const PAGE_SIZE: u32 = 100;

/// Whether Valimail refused a `memberType` PATCH for its path (spec §5.1): `invalidPath`,
/// or a detail that talks about the path.
fn path_refused(refusal: &ScimError) -> bool {
    refusal.is("invalidPath")
        || refusal
            .detail
            .as_deref()
            .is_some_and(|d| d.to_lowercase().contains("path"))
}

impl ValimailClient {
    /// A client for `config`: token exchange auth, one request at a time, the SDK's
    /// one backoff schedule ([`RetryPolicy::default`]).
    pub fn new(config: ValimailConfig) -> Result<Self> {
        Self::with_retry(config, RetryPolicy::default())
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
            .allow_insecure_http(config.allow_insecure_http)
            .max_concurrency(1)
            .retry(retry)
            .error_mapper(parse_error)
            .build()?;
        // Valimail documents application/scim+json, the ScimClient's default.
        let scim = ScimClient::new(http, &["accounts", config.slug.as_str(), "scim", "v2"]);
        Ok(ValimailClient { scim })
    }

    /// One page of users.
    pub async fn list_users(&self, start_index: u64, count: u32) -> Result<ListResponse<User>> {
        self.scim.list(&ListQuery::page(start_index, count)).await
    }

    /// The page of users at `token`, [`PAGE_SIZE`] at a time (spec §4.3).
    pub async fn users_page(&self, token: Option<&PageToken>) -> Result<Page<User>> {
        self.scim
            .page(&ScimPager::new(PAGE_SIZE), token, ListQuery::new())
            .await
    }

    /// Users whose `userName` equals `email` (server-side filter).
    pub async fn find_by_user_name(&self, email: &str) -> Result<Vec<User>> {
        self.scim.find_eq("userName", email).await
    }

    /// Up to `count` users whose member type is `value`, as Valimail's documented
    /// server-side filter on the extension attribute answers
    /// (`filter=urn:…:valimailuserextension:2.0:User.memberType eq "<value>"`, spec §4.2).
    /// The caller checks what comes back: a server that ignores the filter, or compares
    /// case-sensitively, answers with other users or none.
    pub async fn find_by_member_type(&self, value: &str, count: u32) -> Result<Vec<User>> {
        let query = ListQuery::page(1, count).filter(scim::filter_eq(MEMBER_TYPE_PATH_DOT, value));
        Ok(self.scim.list::<User>(&query).await?.resources)
    }

    /// One user; `None` on 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<User>> {
        self.scim.get(id).await
    }

    /// Sets a user's member type: the dot path first, the colon path once if Valimail
    /// says the path is invalid. A 200 and a 204 are both success.
    pub async fn set_member_type(&self, id: &str, member_type: &str) -> Result<()> {
        let body = |path: &str| scim::patch_replace(path, Value::String(member_type.to_string()));
        self.scim
            .patch_or_retry::<User, _, _>(id, &body(MEMBER_TYPE_PATH_DOT), |refusal| {
                path_refused(refusal).then(|| body(MEMBER_TYPE_PATH_COLON))
            })
            .await?;
        Ok(())
    }

    /// Sets `active` and returns the user as it is now (read back with a GET when the
    /// PATCH answers 204).
    pub async fn set_active(&self, id: &str, active: bool) -> Result<User> {
        self.scim
            .patch_and_read(id, &scim::patch_replace("active", Value::Bool(active)))
            .await
    }

    /// Creates a user (with the core and Valimail schemas listed).
    pub async fn create_user(&self, user: &User) -> Result<Created<User>> {
        self.scim.create(user).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_parse_with_missing_fields() {
        let u: User =
            serde_json::from_str(r#"{"id":"49c398b12b","userName":"x","active":false}"#).unwrap();
        assert!(!u.is_active());
        assert_eq!(member_type(&u), None);
        let u: User = serde_json::from_value(json!({
            "id": "a", "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User": {"memberType": " Owner "}
        }))
        .unwrap();
        assert!(u.is_active());
        assert_eq!(member_type(&u).as_deref(), Some("owner"));
        let odd: User = serde_json::from_value(json!({"id": "b", EXTENSION: "owner"})).unwrap();
        assert_eq!(
            member_type(&odd),
            None,
            "an extension that is not an object is no type"
        );
    }
}
