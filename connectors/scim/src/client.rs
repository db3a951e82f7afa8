//! The application's SCIM API as the provider file describes it: authentication for each
//! `authType`, `requestDefaults` on every request, list pages read through the file's
//! paging paths, and the PATCH bodies of its `provisioning` section. The SCIM transport
//! is the SDK's [`ScimClient`] (200-or-204 PATCH answers, 404 as "absent", 409 as a
//! conflict, retries, `Retry-After`, pacing).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use connector_sdk::http::auth::{
    AuthProvider, BasicAuth, BearerToken, Token, TokenExchange, TokenHttp,
};
use connector_sdk::http::{HttpClient, Method, Response, RetryPolicy, error_from_response};
use connector_sdk::page::{Page, PageToken};
use connector_sdk::scim::ScimPager;
use connector_sdk::scim::{Created, ListQuery, PatchKind, Patched, ScimClient, filter_eq};
use connector_sdk::{Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use url::Url;

use crate::config::ScimConfig;
use crate::provider::{AuthType, PatchTemplate, Provider};

/// The SCIM endpoint of users.
pub const USERS: &str = "Users";
/// The SCIM endpoint of groups.
pub const GROUPS: &str = "Groups";
/// Warnings about skipped records and odd pages logged per connector before the rest
/// are counted silently.
pub const MAX_WARNINGS: u32 = 50;

/// One list page as the connector reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawPage {
    /// The resources (`Resources`, `resources`, or the values of an object).
    pub items: Vec<Value>,
    /// `totalResults` through the file's path, when it is a number.
    pub total: Option<u64>,
}

/// Logs at most [`MAX_WARNINGS`] warnings, then one line saying the rest are quiet.
#[derive(Debug, Default)]
pub struct Warnings(AtomicU32);

impl Warnings {
    /// Logs `message` at warn while under the bound.
    pub fn warn(&self, message: &str) {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        if n < MAX_WARNINGS {
            tracing::warn!("{message}");
        } else if n == MAX_WARNINGS {
            tracing::warn!(
                "more than {MAX_WARNINGS} SCIM records or pages skipped; further ones are not logged"
            );
        }
    }

    /// How many warnings were raised.
    pub fn count(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The application's SCIM API.
#[derive(Clone)]
pub struct ScimApi {
    scim: ScimClient,
    provider: Arc<Provider>,
    page_size: u32,
    warnings: Arc<Warnings>,
}

/// The provider file by name: what it holds as written (a literal key in a URL or a
/// header) stays out of `Debug`.
impl std::fmt::Debug for ScimApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimApi")
            .field("scim", &self.scim)
            .field("provider", &self.provider.file)
            .field("page_size", &self.page_size)
            .finish_non_exhaustive()
    }
}

/// Maps an error answer, with a hint on 401/403 naming the credential flags.
pub fn parse_error(response: &Response) -> Error {
    let err = error_from_response(response);
    match response.status() {
        401 | 403 => err.with_hint(
            "check the credentials the provider file's authType needs (--api-key, --username/--password, --scim-client-id/--scim-client-secret or --token) and their rights in the application",
        ),
        _ => err,
    }
}

impl ScimApi {
    /// A client for `config`: its endpoint, authentication and request defaults.
    pub fn new(config: &ScimConfig) -> Result<Self> {
        Self::with_retry(config, RetryPolicy::default())
    }

    /// A client with another retry policy (tests use short waits).
    pub fn with_retry(config: &ScimConfig, retry: RetryPolicy) -> Result<Self> {
        let provider = config.provider.clone();
        let mut b = HttpClient::builder(config.endpoint.as_str())?
            .user_agent("baton-scim", env!("CARGO_PKG_VERSION"))
            .allow_insecure_http(config.allow_insecure_http)
            .retry(retry)
            .error_mapper(parse_error);
        if let Some(auth) = auth_provider(config)? {
            b = b.auth_arc(auth);
        }
        if let Some(rl) = config.rate_limit {
            b = b.rate_limit(rl);
        }
        // hasScimHeader: the SCIM media type for what is sent and accepted (Canva, for
        // one, requires it on bodies); else plain JSON both ways.
        let mut scim = ScimClient::new(b.build()?, &[]);
        if !provider.has_scim_header {
            scim = scim.with_plain_json();
        }
        let accept = if provider.has_scim_header {
            "application/scim+json"
        } else {
            "application/json"
        };
        scim = scim.with_header("Accept", accept)?;
        for (k, v) in &config.endpoint_query {
            scim = scim.with_query_param(k, v);
        }
        for (k, v) in &config.request_defaults.headers {
            scim = scim.with_header(k, v).map_err(|e| {
                Error::invalid_argument(format!("{}: requestDefaults.headers: {e}", provider.file))
            })?;
        }
        for (k, v) in &config.request_defaults.query_params {
            scim = scim.with_query_param(k, v);
        }
        Ok(ScimApi {
            scim,
            provider,
            page_size: config.page_size,
            warnings: Arc::new(Warnings::default()),
        })
    }

    /// The provider file.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// Items asked for per page.
    pub fn page_size(&self) -> u32 {
        self.page_size
    }

    /// The bounded warning log shared by the syncers.
    pub fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    /// One page of `endpoint` at `start_index`. A page whose `totalResults` is missing
    /// or not a number is read without a total (the listing then ends at the first empty page),
    /// with a warning; resources that are not a list are an empty page, with a warning.
    pub async fn list(&self, endpoint: &str, start_index: u64, count: u32) -> Result<RawPage> {
        let page = self
            .scim
            .list_raw(endpoint, &ListQuery::page(start_index, count))
            .await?;
        Ok(self.read_page(endpoint, start_index, page))
    }

    /// The page at `token` of `endpoint`, each record read by `read`: the first page
    /// hands out every other page when it gives a total. A record `read` refuses is
    /// skipped with a warning; paging counts the records received, whatever
    /// `itemsPerPage` says.
    pub async fn page_of<T>(
        &self,
        endpoint: &str,
        token: Option<&PageToken>,
        mut read: impl FnMut(&Value) -> std::result::Result<T, String>,
    ) -> Result<Page<T>> {
        // Without a total, a short page may be the server's own cap: read on until an
        // empty page (the SDK's guard stops pages that repeat).
        let pager = ScimPager::new(self.page_size).until_empty_page();
        let at = pager.request(token)?;
        let page = self.list(endpoint, at.start_index, pager.count).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for item in &page.items {
            match read(item) {
                Ok(t) => items.push(t),
                Err(why) => self.warnings.warn(&format!("GET /{endpoint}: {why}")),
            }
        }
        let (next, parallel) = pager.continue_after(at, page.items.len(), page.total);
        Ok(Page::new(items, next)
            .with_parallel(parallel)
            .with_total(page.total))
    }

    fn read_page(&self, endpoint: &str, start_index: u64, page: Value) -> RawPage {
        let total = match self.provider.pagination.total_results.eval(&page) {
            Ok(Value::Number(n)) => n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)),
            Ok(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        if total.is_none() {
            self.warnings.warn(&format!(
                "GET /{endpoint} at startIndex {start_index}: pagination.totalResults ({:?}) is not a number in the answer; paging on until an empty page",
                self.provider.pagination.total_results.as_str()
            ));
        }
        let resources = match &page {
            Value::Object(map) => map
                .get("Resources")
                .filter(|v| !v.is_null())
                .or_else(|| map.get("resources"))
                .cloned()
                .unwrap_or(Value::Null),
            _ => Value::Null,
        };
        let items = match resources {
            Value::Array(items) => items,
            Value::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
            Value::Null => Vec::new(),
            other => {
                self.warnings.warn(&format!(
                    "GET /{endpoint} at startIndex {start_index}: Resources is {}, not a list; read as an empty page",
                    kind_of(&other)
                ));
                Vec::new()
            }
        };
        RawPage { items, total }
    }

    /// One resource by id; `None` on 404.
    pub async fn get(&self, endpoint: &str, id: &str) -> Result<Option<Value>> {
        self.scim.get_raw(endpoint, id).await
    }

    /// The first group whose `displayName` equals `name` (an escaped filter).
    pub async fn find_group_by_name(&self, name: &str) -> Result<Option<Value>> {
        let query = ListQuery::page(1, 1).filter(filter_eq("displayName", name));
        let page = self.scim.list_raw(GROUPS, &query).await?;
        Ok(self.read_page(GROUPS, 1, page).items.into_iter().next())
    }

    /// Users whose `userName` equals `user_name`.
    pub async fn find_users_by_user_name(&self, user_name: &str) -> Result<Vec<Value>> {
        let query = ListQuery::new().filter(filter_eq("userName", user_name));
        let page = self.scim.list_raw(USERS, &query).await?;
        Ok(self.read_page(USERS, 1, page).items)
    }

    /// Adds `value` with the file's template (`addUserToGroup`, `addUserRole`): a PATCH of
    /// `endpoint/id` with `{"op": <op>, "path": <path>, "value": [{<valuePath>: value}]}`.
    /// 409 is `Ok(None)` (already there).
    pub async fn patch_add(
        &self,
        endpoint: &str,
        id: &str,
        template: &PatchTemplate,
        value: &str,
    ) -> Result<Option<Patched<Value>>> {
        let body = template_body(template, template.op, &template.path, Some(value));
        match self
            .scim
            .patch_raw::<_, Value>(endpoint, id, &body, |_| None)
            .await
        {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.http_status() == Some(409) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Removes `value` (of `removeUserFromGroup`, `removeUserRole`), always naming it and
    /// nothing else: `{"op": "remove", "path": "<attr>[<valuePath> eq \"value\"]"}` (RFC 7644
    /// §3.5.2.2), and, when the server refuses that with a 400, once more as
    /// `{"op": "remove", "path": <attr>, "value": [{<valuePath>: value}]}`. Whatever the
    /// file's `op`, a removal never replaces the attribute with "everyone else". 404 is
    /// `Ok(None)` (the resource is gone).
    pub async fn patch_remove(
        &self,
        endpoint: &str,
        id: &str,
        template: &PatchTemplate,
        value: &str,
    ) -> Result<Option<Patched<Value>>> {
        let attribute = attribute_of(&template.path);
        let filter = format!("{attribute}[{}]", filter_eq(&template.value_path, value));
        let by_filter = template_body(template, PatchKind::Remove, &filter, None);
        let by_value = template_body(template, PatchKind::Remove, attribute, Some(value));
        let outcome = self
            .scim
            .patch_raw(endpoint, id, &by_filter, |refusal| {
                tracing::debug!(scim_type = ?refusal.scim_type, "the filter form of the removal was refused; sending the value form");
                Some(by_value)
            })
            .await;
        match outcome {
            Ok(p) => Ok(Some(p)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// PATCHes `active` of user `id`.
    pub async fn set_active(&self, id: &str, active: bool) -> Result<Patched<Value>> {
        let body = connector_sdk::scim::PatchOp::replace("active", json!(active));
        self.scim
            .patch_raw::<_, Value>(USERS, id, &body, |_| None)
            .await
    }

    /// Creates a user (`POST /Users`).
    pub async fn create_user(&self, body: &Value) -> Result<Created<Value>> {
        self.scim.create_raw(USERS, body).await
    }

    /// Deletes a user (`DELETE /Users/{id}`): `false` when it was already gone.
    pub async fn delete_user(&self, id: &str) -> Result<bool> {
        self.scim.delete(USERS, id).await
    }
}

/// The multi-valued attribute a removal path names: `members` of `members[value eq "x"]`
/// or `members.value`. In a URN-qualified path (`urn:…:2.0:User:roles`) the URN's own
/// dots are kept: the attribute ends at a `.` after the URN's last `:`.
fn attribute_of(path: &str) -> &str {
    let path = path.trim();
    let head = &path[..path.find('[').unwrap_or(path.len())];
    let name_start = if head
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        head.rfind(':').map_or(0, |i| i + 1)
    } else {
        0
    };
    let end = head[name_start..]
        .find('.')
        .map_or(head.len(), |i| name_start + i);
    &head[..end]
}

/// A PATCH body from the file's template with `op` and `path`, and `value` as
/// `[{<valuePath>: value}]` when given.
pub fn template_body(
    template: &PatchTemplate,
    op: PatchKind,
    path: &str,
    value: Option<&str>,
) -> Value {
    let op = match op {
        PatchKind::Add => "add",
        PatchKind::Remove => "remove",
        PatchKind::Replace => "replace",
    };
    let mut operation = json!({"op": op, "path": path});
    if let Some(v) = value {
        let mut item = serde_json::Map::new();
        item.insert(template.value_path.clone(), Value::String(v.to_string()));
        operation["value"] = Value::Array(vec![Value::Object(item)]);
    }
    json!({"schemas": [template.schemas], "Operations": [operation]})
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The auth provider for the file's `authType` and the operator's credentials; an error
/// names the flag (and variable) that is missing.
fn auth_provider(config: &ScimConfig) -> Result<Option<Arc<dyn AuthProvider>>> {
    let auth = &config.provider.auth;
    let creds = &config.credentials;
    let prefix = auth.api_key_prefix.clone();
    Ok(Some(match auth.auth_type {
        AuthType::Basic => {
            let user = need(&creds.username, "username", "authType basic")?;
            let password = need(&creds.password, "password", "authType basic")?;
            Arc::new(BasicAuth::new(user.expose_secret(), password.clone()))
        }
        AuthType::OAuth2 => {
            let token = need(&creds.token, "token", "authType oauth2")?;
            Arc::new(BearerToken::new(token.clone()).with_scheme(prefix.or(Some("Bearer".into()))))
        }
        AuthType::ApiKey if auth.should_obtain_token => {
            let exchange = token_request(config, TokenKind::Obtain)?;
            // A fetched token is a bearer token: `Bearer` unless the file names a scheme.
            Arc::new(exchange.with_scheme(prefix.or(Some("Bearer".into()))))
        }
        AuthType::ApiKey => {
            let key = need(&creds.api_key, "api-key", "authType apiKey")?;
            Arc::new(BearerToken::new(key.clone()).with_scheme(prefix))
        }
        AuthType::BasicTokenSource => {
            let exchange = token_request(config, TokenKind::BasicSource)?;
            Arc::new(exchange.with_scheme(prefix.or(Some("Bearer".into()))))
        }
        AuthType::CustomTokenSource => {
            let exchange = token_request(config, TokenKind::CustomSource)?;
            Arc::new(exchange.with_scheme(prefix.or(Some("Bearer".into()))))
        }
    }))
}

fn need<'a>(value: &'a Option<SecretString>, flag: &str, why: &str) -> Result<&'a SecretString> {
    value.as_ref().ok_or_else(|| {
        Error::invalid_argument(format!(
            "{} is required: the provider file uses {why}",
            connector_sdk::flags::flag_and_env(flag)
        ))
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TokenKind {
    /// `apiKey` + `shouldObtainToken`: `POST authUrl` with HTTP basic client
    /// credentials, the token at `tokenPath`.
    Obtain,
    /// `basicTokenSource`: `GET authUrl` with HTTP basic client credentials.
    BasicSource,
    /// `customTokenSource`: `POST authUrl` with the file's form, no client credentials.
    CustomSource,
}

/// The token request of `kind`, cached and refreshed by the SDK (before expiry, and once
/// after a 401).
fn token_request(config: &ScimConfig, kind: TokenKind) -> Result<TokenExchange> {
    let url: Url = config.auth_url.clone().ok_or_else(|| {
        Error::invalid_argument(format!("{}: auth.authUrl: required", config.provider.file))
    })?;
    let client = match kind {
        TokenKind::CustomSource => None,
        _ => {
            let why = "a token from auth.authUrl";
            let id = need(&config.credentials.client_id, "scim-client-id", why)?.clone();
            let secret =
                need(&config.credentials.client_secret, "scim-client-secret", why)?.clone();
            Some((id, secret))
        }
    };
    let defaults = config.token_defaults.clone();
    let token_path = config.provider.auth.token_path.clone();
    let account_id = config.credentials.account_id.clone();
    let file = config.provider.file.clone();
    Ok(TokenExchange::new(move |http: TokenHttp| {
        let url = url.clone();
        let client = client.clone();
        let defaults = defaults.clone();
        let token_path = token_path.clone();
        let account_id = account_id.clone();
        let file = file.clone();
        Box::pin(async move {
            let origin = url.origin().ascii_serialization();
            let http = http.client(&origin)?;
            let method = if kind == TokenKind::BasicSource {
                Method::GET
            } else {
                Method::POST
            };
            let mut req = http.request_url(method, url.as_str())?;
            let query: Vec<(&str, &str)> = defaults
                .query_params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            req = req.query(&query);
            if let Some((id, secret)) = &client {
                req = req.basic_auth(id.expose_secret(), secret);
            }
            // The form: the file's fields; Zoom's server-to-server grant with --account-id.
            let mut form: Vec<(String, String)> = defaults
                .form_body_values
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if kind == TokenKind::Obtain
                && let Some(account) = &account_id
            {
                form.push(("grant_type".into(), "account_credentials".into()));
                form.push(("account_id".into(), account.clone()));
            }
            if !form.is_empty() {
                let json_body = defaults
                    .content_type
                    .as_deref()
                    .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
                if json_body {
                    let obj: serde_json::Map<String, Value> = form
                        .into_iter()
                        .map(|(k, v)| (k, Value::String(v)))
                        .collect();
                    req = req.json(&Value::Object(obj));
                } else {
                    let pairs: Vec<(&str, &str)> =
                        form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                    req = req.form(&pairs);
                }
            }
            for (k, v) in &defaults.headers {
                if let Ok(name) = connector_sdk::http::HeaderName::from_bytes(k.as_bytes()) {
                    req = req.header(name, v);
                }
            }
            let resp = req.send_raw().await?;
            if !resp.is_success() {
                return Err(resp.to_error().with_hint(format!(
                    "the token request to auth.authUrl of {file} was refused; check --scim-client-id, --scim-client-secret and the file's tokenRequestDefaults"
                )));
            }
            let body: Value = resp.json()?;
            let token = match (&token_path, kind) {
                (Some(path), TokenKind::Obtain) => path.eval(&body).ok(),
                _ => body.get("access_token").cloned(),
            };
            let Some(Value::String(token)) =
                token.filter(|t| t.as_str().is_some_and(|s| !s.trim().is_empty()))
            else {
                return Err(Error::new(
                    ErrorKind::Unauthenticated,
                    format!(
                        "the token response of auth.authUrl ({file}) has no token at {}",
                        token_path
                            .as_ref()
                            .filter(|_| kind == TokenKind::Obtain)
                            .map(|p| p.as_str().to_string())
                            .unwrap_or_else(|| "access_token".into())
                    ),
                ));
            };
            let expires_in = match body.get("expires_in") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.trim().parse().ok(),
                _ => None,
            }
            .filter(|s| *s > 0)
            .map(Duration::from_secs);
            Ok(Token {
                secret: SecretString::from(token),
                expires_in,
            })
        })
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::PatchTemplate;

    fn template(op: PatchKind, path: &str) -> PatchTemplate {
        PatchTemplate {
            schemas: connector_sdk::scim::PATCH_OP.into(),
            op,
            path: path.into(),
            value_path: "value".into(),
        }
    }

    #[test]
    fn a_removal_names_the_attribute_and_keeps_a_urns_dots() {
        assert_eq!(attribute_of("members"), "members");
        assert_eq!(attribute_of(" members[value eq \"u1\"] "), "members");
        assert_eq!(attribute_of("roles.value"), "roles");
        assert_eq!(
            attribute_of("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:roles"),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:roles"
        );
        assert_eq!(
            attribute_of("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:roles.value"),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:roles"
        );
    }

    #[test]
    fn bodies_follow_the_template_and_name_the_value() {
        let t = template(PatchKind::Add, "members");
        assert_eq!(
            serde_json::to_string(&template_body(&t, t.op, &t.path, Some("U1"))).unwrap(),
            r#"{"Operations":[{"op":"add","path":"members","value":[{"value":"U1"}]}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}"#
        );
        assert_eq!(
            template_body(&t, PatchKind::Remove, r#"members[value eq "U1"]"#, None)["Operations"]
                [0],
            json!({"op": "remove", "path": "members[value eq \"U1\"]"})
        );
    }
}
