//! Ironclad's OAuth token endpoint and SCIM `/Users` and `/Groups`: endpoints, its user
//! extension, the membership PATCH decisions, and `parse_error`. The SCIM shapes and the
//! client are the SDK's ([`connector_sdk::scim`]).

use connector_sdk::http::auth::OAuth2ClientCredentials;
use connector_sdk::http::{HttpClient, Response, RetryPolicy, error_from_response};
use connector_sdk::page::{Page, PageToken};
use connector_sdk::scim::{
    Created, Group, ListQuery, ListResponse, MemberId, PatchOp, ScimClient, ScimPager, User,
    lenient,
};
use connector_sdk::{Error, ErrorKind, Result};
use serde::{Deserialize, Serialize};

use crate::config::IroncladConfig;

/// Ironclad's user extension URN.
pub const IRONCLAD_EXT: &str = "urn:ietf:params:scim:schemas:extension:ironclad:2.0:User";
/// Items per SCIM page.
pub const PAGE_SIZE: u32 = 100;

/// Ironclad's user extension (under [`IRONCLAD_EXT`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserExtension {
    /// `departmentHead`: an email.
    #[serde(
        rename = "departmentHead",
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub department_head: Option<String>,
    /// `provider`: `local`, `magicLink`, `saml` or `google`.
    #[serde(
        default,
        deserialize_with = "lenient::opt_string",
        skip_serializing_if = "Option::is_none"
    )]
    pub provider: Option<String>,
    /// `allowProviderConversion`.
    #[serde(
        rename = "allowProviderConversion",
        default,
        deserialize_with = "lenient::opt_bool",
        skip_serializing_if = "Option::is_none"
    )]
    pub allow_provider_conversion: Option<bool>,
}

/// Ironclad's error mapping, with a hint on 403.
pub fn parse_error(response: &Response) -> Error {
    let err = error_from_response(response);
    match response.status() {
        403 => err.with_hint(
            "check the OAuth app's scopes and that --as-user-email (BATON_AS_USER_EMAIL) is an Ironclad Administrator",
        ),
        _ => err,
    }
}

/// What a member change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Applied (200 with the group or 204).
    Done,
    /// Nothing to do (409 on add, 404 on remove).
    Unchanged,
}

/// Ironclad's SCIM API.
#[derive(Debug, Clone)]
pub struct IroncladClient {
    scim: ScimClient,
    as_user_email: String,
}

impl IroncladClient {
    /// A client for `config`: OAuth client credentials with the mode's scopes, the
    /// as-user header on every request, client-side pacing.
    pub fn new(config: &IroncladConfig) -> Result<Self> {
        Self::with_retry(config, RetryPolicy::default())
    }

    /// A client with another retry policy (tests use short waits).
    pub fn with_retry(config: &IroncladConfig, retry: RetryPolicy) -> Result<Self> {
        let b = HttpClient::builder(config.base_url.as_str())?;
        let auth = OAuth2ClientCredentials::new(
            b.url(&["oauth", "token"])?,
            secrecy::ExposeSecret::expose_secret(&config.client_id),
            config.client_secret.clone(),
            config.scopes(),
        );
        let mut b = b
            .user_agent("baton-ironclad", env!("CARGO_PKG_VERSION"))
            .auth(auth)
            .default_header("x-as-user-email", &config.as_user_email)?
            .allow_insecure_http(config.allow_insecure_http)
            .retry(retry)
            .error_mapper(parse_error);
        if let Some(rl) = config.rate_limit {
            b = b.rate_limit(rl);
        }
        // Ironclad documents application/json bodies.
        let scim = ScimClient::new(b.build()?, &["scim", "v2"]).with_plain_json();
        Ok(IroncladClient {
            scim,
            as_user_email: config.as_user_email.clone(),
        })
    }

    /// The email sent as `x-as-user-email`: the Ironclad user the connector acts as.
    pub fn as_user_email(&self) -> &str {
        &self.as_user_email
    }

    /// One page of users.
    pub async fn list_users(&self, start_index: u64, count: u32) -> Result<ListResponse<User>> {
        self.scim.list(&ListQuery::page(start_index, count)).await
    }

    /// One user by id (`GET /scim/v2/Users/{id}`); `None` on 404.
    pub async fn get_user(&self, id: &str) -> Result<Option<User>> {
        self.scim.get(id).await
    }

    /// Users with `userName` equal to `email`.
    pub async fn find_by_user_name(&self, email: &str) -> Result<Vec<User>> {
        self.scim.find_eq("userName", email).await
    }

    /// The page of users at `token`, [`PAGE_SIZE`] at a time; a first page with a total
    /// hands out every other page to read at once.
    pub async fn users_page(&self, token: Option<&PageToken>) -> Result<Page<User>> {
        self.scim
            .page(&ScimPager::new(PAGE_SIZE), token, ListQuery::new())
            .await
    }

    /// The page of groups at `token`, without members (read per group with
    /// [`get_group`](Self::get_group)).
    pub async fn groups_page(&self, token: Option<&PageToken>) -> Result<Page<Group>> {
        let query = ListQuery::new().excluded_attributes("members");
        self.scim
            .page(&ScimPager::new(PAGE_SIZE), token, query)
            .await
    }

    /// One group with its members; `None` on 404.
    pub async fn get_group(&self, id: &str) -> Result<Option<Group>> {
        self.scim.get(id).await
    }

    /// Adds a member: 200 or 204 is done, 409 is "already a member".
    pub async fn add_member(&self, group: &str, member: &MemberId) -> Result<Change> {
        match self
            .scim
            .patch::<Group, _>(group, &PatchOp::add_member(member))
            .await
        {
            Ok(_) => Ok(Change::Done),
            Err(e) if e.http_status() == Some(409) => Ok(Change::Unchanged),
            Err(e) => Err(e),
        }
    }

    /// Removes a member with the documented value form; a strict server's 400
    /// (`invalidValue` or `invalidPath`) gets one retry with the RFC filter form. 404 is
    /// "already gone".
    pub async fn remove_member(&self, group: &str, member: &MemberId) -> Result<Change> {
        let outcome = self
            .scim
            .patch_or_retry::<Group, _, _>(group, &PatchOp::remove_member(member), |refusal| {
                (refusal.is("invalidValue") || refusal.is("invalidPath"))
                    .then(|| PatchOp::remove_member_by_filter(member))
            })
            .await;
        match outcome {
            Ok(_) => Ok(Change::Done),
            // The API's 404 (a proxy's HTML 404 is no answer: the SDK maps it Unavailable).
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(Change::Unchanged),
            Err(e) => Err(e),
        }
    }

    /// Creates a user.
    pub async fn create_user(&self, user: &User) -> Result<Created<User>> {
        self.scim.create(user).await
    }
}
