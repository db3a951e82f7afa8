//! A simulated Valimail tenant (feature `testing`): `POST /auth` in front of the SDK's SCIM
//! tenant ([`ScimTenant`]) in Valimail's shape — `/Users` only, under the account's slug,
//! pages of 4 — with Valimail's rules as [`TenantHooks`] (PATCH only replaces `active` or
//! the member type; a new user needs the extension), on a loopback port, seeded with users
//! of every member type and both states. Changes made through the connector show up on
//! the next sync.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use connector_valimail::{Valimail, simulator::ValimailSimulator};
//! let sim = ValimailSimulator::start().await;
//! let connector = Valimail::new(sim.config()).unwrap();
//! connector_sdk::testing::assert_conformance(&connector).await;
//! # });
//! ```

use std::collections::HashSet;
use std::sync::MutexGuard;
use std::time::{Duration, SystemTime};

use connector_sdk::scim::{Meta, Name, PatchKind, PatchOperation, ScimError, USER, User};
use connector_sdk::testing::scim::{
    ResourceKind, ScimShape, ScimTenant, TenantHooks, error_answer, scim_error,
};
use connector_sdk::testing::{SimHandler, SimServer};
use connector_sdk::time::format_rfc3339;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use crate::client::{EXTENSION, MEMBER_TYPE_PATH_COLON, MEMBER_TYPE_PATH_DOT, member_type};
use crate::config::ValimailConfig;

/// The simulated account: a SCIM tenant in Valimail's shape (`users` through `Deref`) and
/// Valimail's credentials and account settings.
#[derive(Debug, Clone)]
pub struct SimState {
    /// The SCIM tenant: users only, under `/accounts/{slug}/scim/v2`, pages of at most 4,
    /// PATCH answered 200 with the user (set `shape.patch` for 204).
    pub tenant: ScimTenant,
    /// The valid client id.
    pub client_id: String,
    /// The valid app id.
    pub app_id: String,
    /// The account slug.
    pub slug: String,
    /// Whether `marketer` may be assigned.
    pub marketer_enabled: bool,
    /// Requests served (all endpoints, `/auth` and refusals included; the tenant's
    /// per-route counts are `tenant.requests`).
    pub requests: u64,
    /// `/auth` calls served.
    pub auth_calls: u64,
    tokens: HashSet<String>,
}

connector_sdk::deref_scim_tenant!(SimState, tenant);

fn user(
    id: &str,
    email: &str,
    given: Option<&str>,
    family: Option<&str>,
    active: bool,
    member_type: Option<&str>,
) -> User {
    let mut u = User {
        id: id.into(),
        user_name: email.into(),
        name: (given.is_some() || family.is_some())
            .then(|| Name::new(given.map(String::from), family.map(String::from))),
        active: Some(active),
        meta: Some(Meta {
            created: Some("2026-03-16T14:13:09.867Z".into()),
            last_modified: Some("2026-03-25T13:22:47.26Z".into()),
            ..Meta::default()
        }),
        ..User::default()
    };
    if let Some(m) = member_type {
        set_member_type(&mut u, m);
    }
    u
}

/// Stores `value` as the user's Valimail `memberType`.
fn set_member_type(u: &mut User, value: &str) {
    u.extra
        .insert(EXTENSION.into(), json!({"memberType": value}));
}

impl SimState {
    /// The seed: owners, members, a marketer, disabled users, an unknown `Admin` type in
    /// mixed case, a user without a name, a Unicode name, and one without the extension.
    pub fn seeded() -> Self {
        let shape = ScimShape::default()
            .base_path("/accounts/acme-mail/scim/v2")
            .default_page(100)
            .max_page(4)
            .groups_endpoint(false)
            .groups_on_user(false);
        SimState {
            client_id: "34acfc47-e910-4dcc-bb22-e2816f7e1e4c".into(),
            app_id: "358e2665-dfb9-4a9f-b8db-c0404b7bf087".into(),
            slug: "acme-mail".into(),
            tenant: {
                let mut tenant = ScimTenant::new(shape);
                tenant.users = vec![
                    user(
                        "49c398b12b",
                        "ada@acme.example",
                        Some("Ada"),
                        Some("Owner"),
                        true,
                        Some("owner"),
                    ),
                    user(
                        "2906d4927bf178077519",
                        "bob@acme.example",
                        Some("Bob"),
                        Some("Member"),
                        true,
                        Some("member"),
                    ),
                    user(
                        "1234c223-7f76-453a-919d-413861904648",
                        "cy@acme.example",
                        Some("Cy"),
                        Some("Marketer"),
                        true,
                        Some("marketer"),
                    ),
                    user(
                        "5a1b2c3d4e",
                        "di@acme.example",
                        Some("Di"),
                        Some("Disabled"),
                        false,
                        Some("member"),
                    ),
                    user(
                        "6f7e8d9c0b",
                        "ed@acme.example",
                        Some("Ed"),
                        Some("Admin"),
                        true,
                        Some("Admin"),
                    ),
                    user(
                        "7a7a7a7a7a",
                        "fay@acme.example",
                        Some("Fay"),
                        Some("Former"),
                        false,
                        Some("owner"),
                    ),
                    user(
                        "8b8b8b8b8b",
                        "noname@acme.example",
                        None,
                        None,
                        true,
                        Some("member"),
                    ),
                    user(
                        "9c9c9c9c9c",
                        "zoe@acme.example",
                        Some("Zoë"),
                        Some("李"),
                        true,
                        Some("member"),
                    ),
                    user(
                        "0d0d0d0d0d",
                        "legacy@acme.example",
                        Some("Lee"),
                        Some("Legacy"),
                        true,
                        None,
                    ),
                ];
                tenant
            },
            marketer_enabled: true,
            requests: 0,
            auth_calls: 0,
            tokens: HashSet::new(),
        }
    }
}

/// The running simulator.
pub struct ValimailSimulator {
    sim: SimServer<SimState>,
}

impl ValimailSimulator {
    /// Starts a seeded tenant on 127.0.0.1 with a free port.
    pub async fn start() -> Self {
        Self::start_with(SimState::seeded()).await
    }

    /// Starts a tenant with `state`.
    pub async fn start_with(state: SimState) -> Self {
        ValimailSimulator {
            sim: SimServer::start(state).await,
        }
    }

    /// The base URL (`http://127.0.0.1:PORT`).
    pub fn uri(&self) -> String {
        self.sim.uri()
    }

    /// A connector config pointing at this tenant with valid credentials.
    pub fn config(&self) -> ValimailConfig {
        let st = self.state();
        ValimailConfig::new(
            SecretString::from(st.client_id.clone()),
            SecretString::from(st.app_id.clone()),
            &st.slug,
            Some(&self.uri()),
        )
        .expect("the simulator's config is valid")
    }

    /// The tenant's state (lock held while the guard lives).
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.sim.state()
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> Option<User> {
        self.state().users.iter().find(|u| u.id == id).cloned()
    }
}

/// Valimail's rules on top of SCIM: the member types an account allows, what a new user
/// needs, and a PATCH that only replaces `active` or the member type.
struct ValimailRules {
    marketer_enabled: bool,
}

/// The answer Valimail gives a body it cannot take.
fn violates_schema() -> ScimError {
    scim_error(
        400,
        Some("invalidValue"),
        "Request is unparsable, syntactically incorrect, or violates schema",
    )
}

fn invalid_member_type() -> ScimError {
    scim_error(
        400,
        Some("invalidValue"),
        "Invalid member type for this account",
    )
}

impl ValimailRules {
    fn valid(&self, v: &str) -> bool {
        matches!(v, "owner" | "member") || (v == "marketer" && self.marketer_enabled)
    }
}

impl TenantHooks for ValimailRules {
    fn check_create(&mut self, _: ResourceKind, body: &Value) -> Result<(), ScimError> {
        let schemas = body["schemas"].as_array().cloned().unwrap_or_default();
        let ok_schemas =
            schemas.iter().any(|s| s == USER) && schemas.iter().any(|s| s == EXTENSION);
        if !ok_schemas
            || body["userName"].as_str().unwrap_or_default().is_empty()
            || !body["name"].is_object()
        {
            return Err(violates_schema());
        }
        let requested = body[EXTENSION]["memberType"].as_str().unwrap_or("member");
        if !self.valid(&requested.to_lowercase()) {
            return Err(invalid_member_type());
        }
        Ok(())
    }

    fn new_user(&mut self, user: &mut User) {
        let requested = member_type(user).unwrap_or_else(|| "member".into());
        set_member_type(user, &requested.to_lowercase());
    }

    fn check_patch(&mut self, _: ResourceKind, op: &mut PatchOperation) -> Result<(), ScimError> {
        if op.kind() != PatchKind::Replace {
            return Err(scim_error(
                400,
                Some("invalidValue"),
                "Invalid PATCH operation: Unsupported operation type",
            ));
        }
        match op.path() {
            Some("active") if op.value().is_some_and(Value::is_boolean) => Ok(()),
            Some("active") => Err(scim_error(
                400,
                Some("invalidValue"),
                "active must be a boolean",
            )),
            Some(p) if p == MEMBER_TYPE_PATH_DOT || p == MEMBER_TYPE_PATH_COLON => {
                match op.value().and_then(Value::as_str).map(str::to_lowercase) {
                    Some(v) if self.valid(&v) => {
                        *op = PatchOperation::replace(MEMBER_TYPE_PATH_COLON, json!(v));
                        Ok(())
                    }
                    _ => Err(invalid_member_type()),
                }
            }
            _ => Err(scim_error(
                400,
                Some("invalidPath"),
                "Invalid PATCH operation: Unsupported path",
            )),
        }
    }
}

impl SimState {
    /// `POST /auth`: a token for the right client and app ids.
    fn auth(&mut self, req: &Request) -> ResponseTemplate {
        self.auth_calls += 1;
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if body["client-id"] == self.client_id.as_str() && body["app-id"] == self.app_id.as_str() {
            let token = format!("tok-{}-{}", self.auth_calls, self.requests);
            self.tokens.insert(token.clone());
            let expires = format_rfc3339(SystemTime::now() + Duration::from_secs(3600));
            return ResponseTemplate::new(200)
                .set_body_json(json!({"token": token, "expires-at": expires}));
        }
        ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"}))
    }
}

impl SimHandler for SimState {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        self.requests += 1;
        if req.url.path() == "/auth" && req.method.as_str() == "POST" {
            return self.auth(req);
        }
        let authorized = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| self.tokens.contains(t));
        if !authorized {
            return error_answer(&scim_error(401, Some("unauthorized"), "Unauthorized"));
        }
        let segments: Vec<&str> = req
            .url
            .path_segments()
            .map(Iterator::collect)
            .unwrap_or_default();
        if let ["accounts", slug, "scim", ..] = segments.as_slice()
            && *slug != self.slug
        {
            return error_answer(&scim_error(
                403,
                None,
                "Not authorized to access this account",
            ));
        }
        let mut rules = ValimailRules {
            marketer_enabled: self.marketer_enabled,
        };
        self.tenant.answer(req, &mut rules)
    }
}
