//! The provider file: baton-scim's YAML format, read unchanged (spec §1–§2), validated
//! when it loads with every problem reported at once, each naming the file and the field
//! (`slack.yaml: user.active: required`).
//!
//! Like baton-scim, unknown keys are ignored (several shipped files carry a
//! `user.displayName` that maps to nothing) and a YAML boolean given to a text field is
//! its text. Where baton-scim's validation is wrong, the file is read for what it means
//! (see `docs/connectors/scim.md`): `group` is required only when something needs groups,
//! `userGroup` must say where the groups are when `hasGroupsOnUser` is set, a PATCH `op`
//! must be `add`, `remove` or `replace` (any case), `customTokenSource` and the
//! snake-case `request_defaults`/`query_params` of early files are accepted, and `${VAR}`
//! in URLs, headers, query parameters and form values is read from the environment when
//! the connector starts ([`Provider::expand`]).
//!
//! ```
//! use connector_scim::provider::Provider;
//! let file = r#"
//! apiEndpoint: "https://api.example.com/scim/v2"
//! auth: {authType: apiKey, apiKeyPrefix: Bearer}
//! user: {id: id, firstName: name.givenName, lastName: name.familyName, primaryEmail: "emails[?(@.primary==true)].value"}
//! pagination: {totalResults: totalResults, itemsPerPage: itemsPerPage, startIndex: startIndex}
//! "#;
//! let err = Provider::parse("example.yaml", file).unwrap_err().to_string();
//! assert!(err.contains("example.yaml: user.active: required"), "{err}");
//! ```

use std::collections::BTreeMap;
use std::fmt;

use connector_sdk::scim::PatchKind;
use connector_sdk::{Error, Result};
use serde::{Deserialize, Deserializer};

use crate::path::Path;

/// The largest provider file read, in bytes.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;

/// The provider files shipped in the crate, by the name `--service-provider` takes.
pub const SHIPPED: &[(&str, &str)] = &[
    ("canva", include_str!("../providers/canva.yaml")),
    ("jellyfish", include_str!("../providers/jellyfish.yaml")),
    ("miro", include_str!("../providers/miro.yaml")),
    ("postman", include_str!("../providers/postman.yaml")),
    (
        "sap-success-factors",
        include_str!("../providers/sap-success-factors.yaml"),
    ),
    ("slack", include_str!("../providers/slack.yaml")),
    ("tesorio", include_str!("../providers/tesorio.yaml")),
    ("whimsical", include_str!("../providers/whimsical.yaml")),
    ("zoom", include_str!("../providers/zoom.yaml")),
];

/// The names `--service-provider` accepts.
pub fn shipped_names() -> Vec<&'static str> {
    SHIPPED.iter().map(|(n, _)| *n).collect()
}

/// How requests are authenticated (`auth.authType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// `basic`: `--username` and `--password`.
    Basic,
    /// `oauth2`: a bearer token from `--token` (baton-scim accepts the type but cannot
    /// run it).
    OAuth2,
    /// `apiKey`: `--api-key` as `Authorization: <apiKeyPrefix> <key>`, or a token fetched
    /// from `authUrl` when `shouldObtainToken` is set.
    ApiKey,
    /// `basicTokenSource`: a token from `GET authUrl` with HTTP basic client credentials.
    BasicTokenSource,
    /// `customTokenSource`: a token from `POST authUrl` with the form of
    /// `tokenRequestDefaults`.
    CustomTokenSource,
}

impl AuthType {
    /// The names in the file.
    pub const NAMES: [&'static str; 5] = [
        "basic",
        "oauth2",
        "apiKey",
        "basicTokenSource",
        "customTokenSource",
    ];

    fn parse(raw: &str) -> Option<AuthType> {
        Some(match raw {
            "basic" => AuthType::Basic,
            "oauth2" => AuthType::OAuth2,
            "apiKey" => AuthType::ApiKey,
            "basicTokenSource" => AuthType::BasicTokenSource,
            "customTokenSource" => AuthType::CustomTokenSource,
            _ => return None,
        })
    }
}

/// Extra request settings (`requestDefaults`, `auth.tokenRequestDefaults`). They may
/// carry credentials (an API-key header, a SAML assertion in the token form), so `Debug`
/// shows their keys only.
#[derive(Clone, Default, PartialEq)]
pub struct RequestDefaults {
    /// Headers added to each request.
    pub headers: BTreeMap<String, String>,
    /// Query parameters added to each request.
    pub query_params: BTreeMap<String, String>,
    /// The token request's `Content-Type` (token requests only).
    pub content_type: Option<String>,
    /// The token request's form fields (token requests only).
    pub form_body_values: BTreeMap<String, String>,
}

impl fmt::Debug for RequestDefaults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys = |m: &BTreeMap<String, String>| m.keys().cloned().collect::<Vec<_>>();
        f.debug_struct("RequestDefaults")
            .field("headers", &keys(&self.headers))
            .field("query_params", &keys(&self.query_params))
            .field("content_type", &self.content_type)
            .field("form_body_values", &keys(&self.form_body_values))
            .finish()
    }
}

/// `auth`.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    /// `authType`.
    pub auth_type: AuthType,
    /// `apiKeyPrefix`: the `Authorization` scheme (`Bearer`), none for a bare key.
    pub api_key_prefix: Option<String>,
    /// `shouldObtainToken`: fetch the API key from `authUrl` (with `apiKey`).
    pub should_obtain_token: bool,
    /// `authUrl`: the token endpoint (may hold `${VAR}`).
    pub auth_url: Option<String>,
    /// `tokenPath`: where the token is in the token response (`shouldObtainToken`).
    pub token_path: Option<Path>,
    /// `withCustomTokenRequest`.
    pub with_custom_token_request: bool,
    /// `tokenRequestDefaults`.
    pub token_request_defaults: RequestDefaults,
}

/// `user.roles`.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleMapping {
    /// The roles on the user: a list, or one object.
    pub path: Path,
    /// The role's value, on each element.
    pub name: Path,
    /// The role's display name, on each element.
    pub display: Path,
}

/// `user.userGroup`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserGroupMapping {
    /// The group references on the user.
    pub path: Path,
    /// The group's display name, on each reference.
    pub name: Path,
    /// The group's id, on each reference (else the group is looked up by name).
    pub id: Path,
}

/// `user`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserMapping {
    /// `id`.
    pub id: Path,
    /// `userName`: the login.
    pub user_name: Path,
    /// `firstName`.
    pub first_name: Path,
    /// `lastName`.
    pub last_name: Path,
    /// `skipUserEmails`.
    pub skip_user_emails: bool,
    /// `primaryEmail`: tried first.
    pub primary_email: Path,
    /// `firstEmail`: the fallback.
    pub first_email: Path,
    /// `active`.
    pub active: Path,
    /// `roles`.
    pub roles: Option<RoleMapping>,
    /// `hasGroupsOnUser`.
    pub has_groups_on_user: bool,
    /// `userGroup`.
    pub user_group: Option<UserGroupMapping>,
}

/// `group.members`.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberMapping {
    /// The members on the group.
    pub path: Path,
    /// The member's user id, on each member.
    pub id: Path,
    /// The member's display name, on each member.
    pub display_name: Path,
}

/// `group`.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMapping {
    /// `id`.
    pub id: Path,
    /// `displayName`.
    pub display_name: Path,
    /// `members`.
    pub members: Option<MemberMapping>,
}

/// `pagination`: paths into a list response.
#[derive(Debug, Clone, PartialEq)]
pub struct Pagination {
    /// `totalResults`.
    pub total_results: Path,
    /// `itemsPerPage` (read, not trusted: the page length is what came back).
    pub items_per_page: Path,
    /// `startIndex`.
    pub start_index: Path,
}

/// One `provisioning` operation: what the PATCH body holds.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchTemplate {
    /// The body's `schemas` entry.
    pub schemas: String,
    /// The operation, lower-cased.
    pub op: PatchKind,
    /// The operation's `path`.
    pub path: String,
    /// The key of each object in `value` (`value` → `[{"value": id}]`).
    pub value_path: String,
}

/// One of the four `provisioning` operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `addUserToGroup`.
    AddUserToGroup,
    /// `removeUserFromGroup`.
    RemoveUserFromGroup,
    /// `addUserRole`.
    AddUserRole,
    /// `removeUserRole`.
    RemoveUserRole,
}

impl Operation {
    /// The key in the file.
    pub fn key(self) -> &'static str {
        match self {
            Operation::AddUserToGroup => "addUserToGroup",
            Operation::RemoveUserFromGroup => "removeUserFromGroup",
            Operation::AddUserRole => "addUserRole",
            Operation::RemoveUserRole => "removeUserRole",
        }
    }
}

/// `provisioning`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Provisioning {
    /// `addUserToGroup`.
    pub add_user_to_group: Option<PatchTemplate>,
    /// `removeUserFromGroup`.
    pub remove_user_from_group: Option<PatchTemplate>,
    /// `addUserRole`.
    pub add_user_role: Option<PatchTemplate>,
    /// `removeUserRole`.
    pub remove_user_role: Option<PatchTemplate>,
}

/// A validated provider file.
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// The file's name as errors show it (`slack.yaml`).
    pub file: String,
    /// `apiEndpoint` as written (may hold `${VAR}`).
    pub api_endpoint: String,
    /// `hasScimHeader`: `application/scim+json` as `Accept` and as the body type.
    pub has_scim_header: bool,
    /// `auth`.
    pub auth: Auth,
    /// `requestDefaults`.
    pub request_defaults: RequestDefaults,
    /// `user`.
    pub user: UserMapping,
    /// `group`, when the application has groups.
    pub group: Option<GroupMapping>,
    /// `pagination`.
    pub pagination: Pagination,
    /// `provisioning`.
    pub provisioning: Provisioning,
}

/// Where a provider file comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on disk (`--scim-config`, `--scim-config-file`).
    File(std::path::PathBuf),
    /// A shipped file by name (`--service-provider`).
    Shipped(String),
    /// The YAML itself (`--scim-config-value`).
    Value(String),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "File({p:?})"),
            Source::Shipped(n) => write!(f, "Shipped({n:?})"),
            Source::Value(v) => write!(f, "Value({} bytes)", v.len()),
        }
    }
}

impl Provisioning {
    /// The template of `op`, when the file has it.
    pub fn get(&self, op: Operation) -> Option<&PatchTemplate> {
        match op {
            Operation::AddUserToGroup => self.add_user_to_group.as_ref(),
            Operation::RemoveUserFromGroup => self.remove_user_from_group.as_ref(),
            Operation::AddUserRole => self.add_user_role.as_ref(),
            Operation::RemoveUserRole => self.remove_user_role.as_ref(),
        }
    }
}

impl Provider {
    /// The template of `op`, or an `Unimplemented` error naming the file and the key.
    pub fn operation(&self, op: Operation) -> Result<PatchTemplate> {
        self.provisioning.get(op).cloned().ok_or_else(|| {
            Error::new(
                connector_sdk::ErrorKind::Unimplemented,
                format!(
                    "{}: provisioning.{} is not set, so this change cannot be made",
                    self.file,
                    op.key()
                ),
            )
        })
    }

    /// Reads and validates the file `source` names.
    pub fn load(source: &Source) -> Result<Provider> {
        match source {
            Source::Shipped(name) => {
                let text = SHIPPED
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, t)| *t)
                    .ok_or_else(|| {
                        let shown: String = name.chars().take(64).collect();
                        Error::invalid_argument(format!(
                            "--service-provider (BATON_SERVICE_PROVIDER): unsupported service provider {shown:?}; the shipped ones are {}, or give your own file with --scim-config PATH",
                            shipped_names().join(", ")
                        ))
                    })?;
                Provider::parse(&format!("{name}.yaml"), text)
            }
            Source::File(path) => {
                let shown = path.display().to_string();
                let meta = std::fs::metadata(path).map_err(|e| {
                    Error::invalid_argument(format!(
                        "--scim-config (BATON_SCIM_CONFIG): cannot read {shown:?}: {e}"
                    ))
                })?;
                if meta.len() > MAX_FILE_BYTES as u64 {
                    return Err(Error::invalid_argument(format!(
                        "--scim-config (BATON_SCIM_CONFIG): {shown:?} is {} bytes; a provider file is at most {MAX_FILE_BYTES}",
                        meta.len()
                    )));
                }
                let text = std::fs::read_to_string(path).map_err(|e| {
                    Error::invalid_argument(format!(
                        "--scim-config (BATON_SCIM_CONFIG): cannot read {shown:?}: {e}"
                    ))
                })?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or(shown);
                Provider::parse(&name, &text)
            }
            Source::Value(text) => Provider::parse("--scim-config-value", text),
        }
    }

    /// Parses and validates `text`; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<Provider> {
        let file: String = file.chars().take(128).collect();
        if text.len() > MAX_FILE_BYTES {
            return Err(Error::invalid_argument(format!(
                "{file}: {} bytes; a provider file is at most {MAX_FILE_BYTES}",
                text.len()
            )));
        }
        let raw: RawFile = serde_norway::from_str(text)
            .map_err(|e| Error::invalid_argument(format!("{file}: not a provider file: {e}")))?;
        let mut p = Problems::default();
        let provider = validate(&file, raw, &mut p);
        match (provider, p.0.is_empty()) {
            (Some(provider), true) => Ok(provider),
            _ => Err(Error::invalid_argument(
                p.0.iter()
                    .map(|m| format!("{file}: {m}"))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )),
        }
    }

    /// Replaces `${NAME}` in `value` (of field `field`) with the environment variable
    /// `NAME` as `env` reads it; an unset or empty one is an error naming the field and
    /// the variable. A `BATON_*` variable is refused: those hold the connector's own
    /// settings and credentials (ConductorOne's client secret in service mode among them),
    /// and a provider file, which chooses where requests go, never gets to send them.
    pub fn expand(
        &self,
        field: &str,
        value: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<String> {
        let mut out = String::new();
        let mut rest = value;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or_else(|| {
                Error::invalid_argument(format!(
                    "{}: {field}: a \"${{\" without its \"}}\"",
                    self.file
                ))
            })?;
            let name = &after[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::invalid_argument(format!(
                    "{}: {field}: ${{{name}}} is not an environment variable name",
                    self.file
                )));
            }
            if name.to_ascii_uppercase().starts_with("BATON_") {
                return Err(Error::invalid_argument(format!(
                    "{}: {field}: ${{{name}}} names one of the connector's own settings (BATON_*), which a provider file may not read; put the value in a variable of your own (e.g. SCIM_API_SERVER) and name that",
                    self.file
                )));
            }
            let found = env(name).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
                Error::invalid_argument(format!(
                    "{}: {field}: set the environment variable {name}, which the file uses as ${{{name}}}",
                    self.file
                ))
            })?;
            out.push_str(found.trim());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Problems found, as `field: what is wrong`.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn add(&mut self, field: &str, message: impl fmt::Display) {
        self.0.push(format!("{field}: {message}"));
    }

    /// A required path: present, non-empty and parseable.
    fn required(&mut self, field: &str, raw: Option<String>) -> Path {
        match raw.filter(|s| !s.trim().is_empty()) {
            None => {
                self.add(field, "required");
                Path::empty()
            }
            Some(text) => self.path(field, Some(text)),
        }
    }

    /// An optional path: absent is the empty path.
    fn path(&mut self, field: &str, raw: Option<String>) -> Path {
        let text = raw.unwrap_or_default();
        match Path::parse(&text) {
            Ok(p) => p,
            Err(e) => {
                self.add(field, format!("{text:?}: {e}"));
                Path::empty()
            }
        }
    }

    fn text(&mut self, field: &str, raw: Option<String>) -> String {
        match raw.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()) {
            Some(s) => s,
            None => {
                self.add(field, "required");
                String::new()
            }
        }
    }
}

fn validate(file: &str, raw: RawFile, p: &mut Problems) -> Option<Provider> {
    let api_endpoint = p.text("apiEndpoint", raw.api_endpoint);
    if !api_endpoint.is_empty() && !api_endpoint.contains("${") {
        check_url(p, "apiEndpoint", &api_endpoint);
    }
    let auth = match raw.auth {
        None => {
            p.add("auth", "required");
            None
        }
        Some(a) => validate_auth(a, p),
    };
    let request_defaults = raw
        .request_defaults
        .map(|d| defaults("requestDefaults", d, p))
        .unwrap_or_default();
    let user = match raw.user {
        None => {
            p.add("user", "required");
            None
        }
        Some(u) => Some(validate_user(u, p)),
    };
    let group = raw.group.map(|g| GroupMapping {
        id: p.required("group.id", g.id),
        display_name: p.required("group.displayName", g.display_name),
        members: g.members.map(|m| MemberMapping {
            path: p.required("group.members.path", m.path),
            id: p.required("group.members.id", m.id),
            display_name: p.path("group.members.displayName", m.display_name),
        }),
    });
    let pagination = match raw.pagination {
        None => {
            p.add("pagination", "required");
            None
        }
        Some(g) => Some(Pagination {
            total_results: p.required("pagination.totalResults", g.total_results),
            items_per_page: p.required("pagination.itemsPerPage", g.items_per_page),
            start_index: p.required("pagination.startIndex", g.start_index),
        }),
    };
    let raw_prov = raw.provisioning.unwrap_or_default();
    let provisioning = Provisioning {
        add_user_to_group: template("provisioning.addUserToGroup", raw_prov.add_user_to_group, p),
        remove_user_from_group: template(
            "provisioning.removeUserFromGroup",
            raw_prov.remove_user_from_group,
            p,
        ),
        add_user_role: template("provisioning.addUserRole", raw_prov.add_user_role, p),
        remove_user_role: template("provisioning.removeUserRole", raw_prov.remove_user_role, p),
    };
    // A grant adds: a `replace` of a group's members would leave the one user granted and
    // drop every other member, a `remove` would revoke. (A role may be single-valued, so
    // `replace` stays allowed there.)
    for (field, template, refused) in [
        (
            "provisioning.addUserToGroup.op",
            &provisioning.add_user_to_group,
            &[PatchKind::Remove, PatchKind::Replace][..],
        ),
        (
            "provisioning.addUserRole.op",
            &provisioning.add_user_role,
            &[PatchKind::Remove][..],
        ),
    ] {
        if let Some(t) = template
            && refused.contains(&t.op)
        {
            p.add(
                field,
                format!(
                    "{:?} would not add: a grant takes add{}",
                    t.op,
                    if refused.len() == 1 {
                        " or replace"
                    } else {
                        ""
                    }
                )
                .to_lowercase(),
            );
        }
    }
    let user = user?;
    // Groups are needed to sync group memberships or to change them.
    if group.is_none() {
        if user.has_groups_on_user {
            p.add(
                "group",
                "required when user.hasGroupsOnUser is true (it says how to read the groups)",
            );
        }
        for (field, op) in [
            (
                "provisioning.addUserToGroup",
                &provisioning.add_user_to_group,
            ),
            (
                "provisioning.removeUserFromGroup",
                &provisioning.remove_user_from_group,
            ),
        ] {
            if op.is_some() {
                p.add("group", format!("required when {field} is set"));
            }
        }
    }
    if user.roles.is_none() {
        for (field, op) in [
            ("provisioning.addUserRole", &provisioning.add_user_role),
            (
                "provisioning.removeUserRole",
                &provisioning.remove_user_role,
            ),
        ] {
            if op.is_some() {
                tracing::debug!(
                    file,
                    field,
                    "the file provisions roles but maps none (user.roles); no role is synced, so none can be granted"
                );
            }
        }
    }
    Some(Provider {
        file: file.to_string(),
        api_endpoint,
        has_scim_header: raw.has_scim_header.map(|f| f.0).unwrap_or(false),
        auth: auth?,
        request_defaults,
        user,
        group,
        pagination: pagination?,
        provisioning,
    })
}

fn check_url(p: &mut Problems, field: &str, value: &str) {
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {}
        _ => p.add(field, format!("{value:?} is not an absolute http(s) URL")),
    }
}

fn validate_auth(a: RawAuth, p: &mut Problems) -> Option<Auth> {
    let raw_type = p.text("auth.authType", a.auth_type);
    let auth_type = if raw_type.is_empty() {
        None
    } else {
        let t = AuthType::parse(&raw_type);
        if t.is_none() {
            let shown: String = raw_type.chars().take(64).collect();
            p.add(
                "auth.authType",
                format!(
                    "unknown auth type {shown:?}; use one of {}",
                    AuthType::NAMES.join(", ")
                ),
            );
        }
        t
    };
    let should_obtain_token = a.should_obtain_token.map(|f| f.0).unwrap_or(false);
    let auth_url = a
        .auth_url
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    let needs_url = should_obtain_token
        || matches!(
            auth_type,
            Some(AuthType::BasicTokenSource | AuthType::CustomTokenSource)
        );
    if needs_url && auth_url.is_none() {
        let why = if should_obtain_token {
            "required when shouldObtainToken is true"
        } else {
            "required for a token source"
        };
        p.add("auth.authUrl", why);
    }
    let token_path = if should_obtain_token {
        Some(p.required("auth.tokenPath", a.token_path))
    } else {
        a.token_path
            .filter(|t| !t.trim().is_empty())
            .map(|t| p.path("auth.tokenPath", Some(t)))
    };
    let with_custom_token_request = a
        .with_custom_token_request
        .is_some_and(|s| s.trim().eq_ignore_ascii_case("true"));
    if with_custom_token_request && a.token_request_defaults.is_none() {
        p.add(
            "auth.tokenRequestDefaults",
            "required when withCustomTokenRequest is true",
        );
    }
    let token_request_defaults = a
        .token_request_defaults
        .map(|d| defaults("auth.tokenRequestDefaults", d, p))
        .unwrap_or_default();
    Some(Auth {
        auth_type: auth_type?,
        api_key_prefix: a
            .api_key_prefix
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        should_obtain_token,
        auth_url,
        token_path,
        with_custom_token_request,
        token_request_defaults,
    })
}

fn defaults(field: &str, d: RawDefaults, p: &mut Problems) -> RequestDefaults {
    let mut check = |what: &str, map: &BTreeMap<String, String>, header: bool| {
        for (k, v) in map {
            if k.trim().is_empty() {
                p.add(&format!("{field}.{what}"), "a key is empty");
            } else if header && connector_sdk::http::HeaderName::from_bytes(k.as_bytes()).is_err() {
                p.add(
                    &format!("{field}.{what}.{k}"),
                    "not a valid HTTP header name",
                );
            } else if header && v.chars().any(|c| c.is_control()) {
                p.add(
                    &format!("{field}.{what}.{k}"),
                    "the value holds control characters",
                );
            }
        }
    };
    let headers = d.headers.unwrap_or_default();
    let query_params = d.query_params.unwrap_or_default();
    let form = d.form_body_values.unwrap_or_default();
    check("headers", &headers, true);
    check("queryParams", &query_params, false);
    check("formBodyValues", &form, false);
    RequestDefaults {
        headers,
        query_params,
        content_type: d
            .content_type
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty()),
        form_body_values: form,
    }
}

fn validate_user(u: RawUser, p: &mut Problems) -> UserMapping {
    let skip_user_emails = u.skip_user_emails.map(|f| f.0).unwrap_or(false);
    let primary_email = if skip_user_emails {
        p.path("user.primaryEmail", u.primary_email)
    } else {
        p.required("user.primaryEmail", u.primary_email)
    };
    let has_groups_on_user = u.has_groups_on_user.map(|f| f.0).unwrap_or(false);
    let user_group = match (has_groups_on_user, u.user_group) {
        (true, None) => {
            p.add(
                "user.userGroup",
                "required when user.hasGroupsOnUser is true",
            );
            None
        }
        (_, Some(g)) => {
            let path = if has_groups_on_user {
                p.required("user.userGroup.path", g.path)
            } else {
                p.path("user.userGroup.path", g.path)
            };
            let name = p.path("user.userGroup.name", g.name);
            let id = p.path("user.userGroup.id", g.id);
            if has_groups_on_user && name.is_empty() && id.is_empty() {
                p.add(
                    "user.userGroup",
                    "name or id is required when user.hasGroupsOnUser is true",
                );
            }
            Some(UserGroupMapping { path, name, id })
        }
        (false, None) => None,
    };
    UserMapping {
        id: p.required("user.id", u.id),
        user_name: p.path("user.userName", u.user_name),
        first_name: p.required("user.firstName", u.first_name),
        last_name: p.required("user.lastName", u.last_name),
        skip_user_emails,
        primary_email,
        first_email: p.path("user.firstEmail", u.first_email),
        active: p.required("user.active", u.active),
        roles: u.roles.map(|r| RoleMapping {
            path: p.required("user.roles.path", r.path),
            name: p.required("user.roles.name", r.name),
            display: p.path("user.roles.display", r.display),
        }),
        has_groups_on_user,
        user_group,
    }
}

fn template(field: &str, raw: Option<RawTemplate>, p: &mut Problems) -> Option<PatchTemplate> {
    let t = raw?;
    let schemas = p.text(&format!("{field}.schemas"), t.schemas);
    let op_text = p.text(&format!("{field}.op"), t.op);
    let op = match op_text.to_ascii_lowercase().as_str() {
        "add" => Some(PatchKind::Add),
        "remove" => Some(PatchKind::Remove),
        "replace" => Some(PatchKind::Replace),
        "" => None,
        _ => {
            let shown: String = op_text.chars().take(32).collect();
            p.add(
                &format!("{field}.op"),
                format!("{shown:?} is not a PATCH operation; use add, remove or replace"),
            );
            None
        }
    };
    let path = p.text(&format!("{field}.path"), t.path);
    let value_path = p.text(&format!("{field}.valuePath"), t.value_path);
    Some(PatchTemplate {
        schemas,
        op: op?,
        path,
        value_path,
    })
}

// ---- The file as YAML gives it: every key optional, validation says what is missing. ----

/// A YAML boolean: `true`/`false`, or YAML 1.1's `yes`/`no`/`on`/`off` as baton-scim's
/// parser reads them.
struct Flag(bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        match Scalar::deserialize(d)? {
            Scalar::Bool(b) => Ok(Flag(b)),
            Scalar::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "on" => Ok(Flag(true)),
                "false" | "no" | "n" | "off" | "" => Ok(Flag(false)),
                _ => Err(serde::de::Error::custom(format!(
                    "expected true or false, got {s:?}"
                ))),
            },
            Scalar::Int(_) | Scalar::Float(_) => Err(serde::de::Error::custom(
                "expected true or false, got a number",
            )),
        }
    }
}

/// Any YAML scalar, read as text where the file wants text.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
}

impl Scalar {
    fn into_text(self) -> String {
        match self {
            Scalar::Bool(b) => b.to_string(),
            Scalar::Int(i) => i.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Text(s) => s,
        }
    }
}

fn opt_text<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Option<String>, D::Error> {
    Ok(Option::<Scalar>::deserialize(d)?.map(Scalar::into_text))
}

fn text_map<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<BTreeMap<String, String>>, D::Error> {
    let map = Option::<BTreeMap<String, Option<Scalar>>>::deserialize(d)?;
    Ok(map.map(|m| {
        m.into_iter()
            .map(|(k, v)| (k, v.map(Scalar::into_text).unwrap_or_default()))
            .collect()
    }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawFile {
    #[serde(default, deserialize_with = "opt_text")]
    api_endpoint: Option<String>,
    #[serde(default)]
    has_scim_header: Option<Flag>,
    #[serde(default)]
    auth: Option<RawAuth>,
    #[serde(default, alias = "request_defaults")]
    request_defaults: Option<RawDefaults>,
    #[serde(default)]
    user: Option<RawUser>,
    #[serde(default)]
    group: Option<RawGroup>,
    #[serde(default)]
    pagination: Option<RawPagination>,
    #[serde(default)]
    provisioning: Option<RawProvisioning>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawAuth {
    #[serde(default, deserialize_with = "opt_text")]
    auth_type: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    api_key_prefix: Option<String>,
    #[serde(default)]
    should_obtain_token: Option<Flag>,
    #[serde(default, deserialize_with = "opt_text")]
    auth_url: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    token_path: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    with_custom_token_request: Option<String>,
    #[serde(default)]
    token_request_defaults: Option<RawDefaults>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawDefaults {
    #[serde(default, deserialize_with = "text_map")]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default, alias = "query_params", deserialize_with = "text_map")]
    query_params: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "opt_text")]
    content_type: Option<String>,
    #[serde(default, deserialize_with = "text_map")]
    form_body_values: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawUser {
    #[serde(default, deserialize_with = "opt_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    user_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    last_name: Option<String>,
    #[serde(default)]
    skip_user_emails: Option<Flag>,
    #[serde(default, deserialize_with = "opt_text")]
    primary_email: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    first_email: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    active: Option<String>,
    #[serde(default)]
    roles: Option<RawRoles>,
    #[serde(default)]
    has_groups_on_user: Option<Flag>,
    #[serde(default)]
    user_group: Option<RawUserGroup>,
}

#[derive(Deserialize, Default)]
struct RawRoles {
    #[serde(default, deserialize_with = "opt_text")]
    path: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    display: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawUserGroup {
    #[serde(default, deserialize_with = "opt_text")]
    path: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawGroup {
    #[serde(default, deserialize_with = "opt_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    display_name: Option<String>,
    #[serde(default)]
    members: Option<RawMembers>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawMembers {
    #[serde(default, deserialize_with = "opt_text")]
    path: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    display_name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawPagination {
    #[serde(default, deserialize_with = "opt_text")]
    total_results: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    items_per_page: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    start_index: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawProvisioning {
    #[serde(default)]
    add_user_to_group: Option<RawTemplate>,
    #[serde(default)]
    remove_user_from_group: Option<RawTemplate>,
    #[serde(default)]
    add_user_role: Option<RawTemplate>,
    #[serde(default)]
    remove_user_role: Option<RawTemplate>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawTemplate {
    #[serde(default, deserialize_with = "opt_text")]
    schemas: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    op: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    path: Option<String>,
    #[serde(default, deserialize_with = "opt_text")]
    value_path: Option<String>,
}
