//! A simulated Ironclad tenant (feature `testing`): the SDK's SCIM tenant
//! ([`ScimTenant`]: users, groups, PATCH, filters) in Ironclad's shape, behind Ironclad's
//! OAuth token endpoint, on a loopback port. In front of the tenant it checks the bearer
//! token, the token's scopes on writes, and `x-as-user-email` on every call, like
//! Ironclad; its [`TenantHooks`] hold Ironclad's password policy. A remove without `value`
//! empties the group, as a strict RFC 7644 server would, so a connector that sent one
//! would be caught.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use connector_ironclad::{Ironclad, simulator::IroncladSimulator};
//! let sim = IroncladSimulator::start().await;
//! let connector = Ironclad::new(sim.config(false)).unwrap();
//! connector_sdk::testing::assert_conformance(&connector).await;
//! # });
//! ```

use std::sync::MutexGuard;

use connector_sdk::scim::{ENTERPRISE_USER, ERROR, Email, Group, Member, ScimError, User};
use connector_sdk::testing::oauth::{self, ClientMatch, TokenIssuer};
use connector_sdk::testing::scim::{
    PatchAnswer, Population, ResourceKind, ScimShape, ScimTenant, TenantHooks, scim_answer,
    scim_error, seed_user,
};
use connector_sdk::testing::{SimHandler, SimServer};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use crate::client::IRONCLAD_EXT;
use crate::config::{IroncladConfig, READ_SCOPES, WRITE_SCOPES};

/// The simulated tenant: a SCIM tenant in Ironclad's shape (`users`, `groups`, per-route
/// `requests`, `count` and `members` through `Deref`) and Ironclad's OAuth client and
/// administrators.
#[derive(Debug, Clone)]
pub struct SimState {
    /// The SCIM tenant: `/scim/v2`, PATCH answered 204, pages of 25 unless `count` asks
    /// for more (1000 at most), no `groups` on the user. Its `requests` also count
    /// `token`.
    pub tenant: ScimTenant,
    /// The OAuth client (`ic-client`, `ic-secret`) and the tokens issued to it
    /// (`ic-token-1`…, valid an hour).
    pub oauth: TokenIssuer,
    /// Emails allowed as `x-as-user-email` (administrators).
    pub admins: Vec<String>,
}

connector_sdk::deref_scim_tenant!(SimState, tenant);

fn group(id: &str, name: &str, members: &[&str]) -> Group {
    Group {
        id: id.into(),
        display_name: name.into(),
        members: members.iter().map(|m| Member::user(*m)).collect(),
        ..Group::default()
    }
}

impl SimState {
    /// The seed: an administrator (the as-user), users with Unicode names and missing
    /// fields, groups including an empty one, one with a duplicate member and one with a
    /// nested group member.
    pub fn seeded() -> Self {
        let mut s = SimState::empty();
        let mut no_name = seed_user(
            "6660d37dec0eac3deffb6815",
            "no.name@acme.example",
            None,
            None,
        );
        no_name.emails = Vec::new();
        s.users = vec![
            seed_user(
                "6660d37dec0eac3deffb6810",
                "admin@acme.example",
                Some("Ada"),
                Some("Admin"),
            ),
            seed_user(
                "6660d37dec0eac3deffb6811",
                "alex.doe@acme.example",
                Some("Alex"),
                Some("Doe"),
            ),
            seed_user(
                "6660d37dec0eac3deffb6812",
                "zoe@acme.example",
                Some("Zoë"),
                Some("李"),
            ),
            seed_user(
                "74906dd6-f2c6-4442-8875-57846f15b061",
                "uuid.user@acme.example",
                Some("Uma"),
                Some("Uuid"),
            ),
            seed_user(
                "6660d37dec0eac3deffb6814",
                "sam@acme.example",
                Some("Sam"),
                None,
            ),
            no_name,
        ];
        s.users[1].title = Some("Vice President".into());
        s.users[1]
            .extra
            .insert(ENTERPRISE_USER.into(), json!({"department": "Legal"}));
        s.users[1].extra.insert(
            IRONCLAD_EXT.into(),
            json!({"departmentHead": "admin@acme.example", "provider": "saml"}),
        );
        s.groups = vec![
            group("g-admins", "Admins", &["6660d37dec0eac3deffb6810"]),
            group(
                "g-legal",
                "Équipe Légale",
                &[
                    "6660d37dec0eac3deffb6811",
                    "6660d37dec0eac3deffb6812",
                    "6660d37dec0eac3deffb6811",
                ],
            ),
            group("g-empty", "Empty \"Quoted\" Group", &[]),
            group(
                "74906dd6-f2c6-4442-8875-57846f15b0aa",
                "法务",
                &["74906dd6-f2c6-4442-8875-57846f15b061"],
            ),
        ];
        s.groups[3].members.push(Member {
            kind: Some("Group".into()),
            ..Member::new("g-legal")
        });
        s
    }

    /// A tenant of `users` users (the administrator and generated ones) and `groups`
    /// groups with `memberships` memberships spread evenly, for benchmarks.
    pub fn large(users: usize, groups: usize, memberships: usize) -> Self {
        let mut s = SimState::empty();
        s.users.push(seed_user(
            "admin",
            "admin@acme.example",
            Some("Ada"),
            Some("Admin"),
        ));
        s.populate(&Population::new(
            users.saturating_sub(1),
            groups,
            memberships,
        ));
        s
    }

    fn empty() -> Self {
        let shape = ScimShape::default()
            .patch_answer(PatchAnswer::NoContent)
            .default_page(25)
            .max_page(1000)
            .groups_on_user(false);
        SimState {
            tenant: ScimTenant::new(shape),
            oauth: TokenIssuer::new("ic-client", "ic-secret").with_token_prefix("ic-token-"),
            admins: vec!["admin@acme.example".into()],
        }
    }
}

/// The running simulator.
pub struct IroncladSimulator {
    sim: SimServer<SimState>,
}

impl IroncladSimulator {
    /// Starts the seeded tenant.
    pub async fn start() -> Self {
        Self::start_with(SimState::seeded()).await
    }

    /// Starts a tenant with `state`.
    pub async fn start_with(state: SimState) -> Self {
        IroncladSimulator {
            sim: SimServer::start(state).await,
        }
    }

    /// The base URL.
    pub fn uri(&self) -> String {
        self.sim.uri()
    }

    /// A config for this tenant (valid credentials, the administrator as as-user).
    pub fn config(&self, read_only: bool) -> IroncladConfig {
        let st = self.state();
        IroncladConfig::new(
            SecretString::from(st.oauth.client_id()),
            SecretString::from(st.oauth.client_secret()),
            "na1",
            &st.admins[0],
            read_only,
            Some(&self.uri()),
        )
        .expect("valid simulator config")
    }

    /// The tenant's state.
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.sim.state()
    }
}

fn strong(p: &str) -> bool {
    p.chars().count() >= 16
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_digit())
        && p.chars().any(|c| c.is_ascii_punctuation())
}

/// Ironclad's rules on top of SCIM: what a new user needs.
struct IroncladRules;

impl TenantHooks for IroncladRules {
    fn check_create(&mut self, kind: ResourceKind, body: &Value) -> Result<(), ScimError> {
        if kind != ResourceKind::User {
            return Ok(());
        }
        let email = body["userName"].as_str().unwrap_or_default();
        if !email.contains('@') || !body["name"].is_object() {
            return Err(scim_error(
                400,
                Some("invalidValue"),
                "Invalid value at userName",
            ));
        }
        if !body["password"].as_str().is_some_and(strong) {
            return Err(scim_error(
                400,
                Some("invalidValue"),
                "Password does not meet the requirements",
            ));
        }
        Ok(())
    }

    fn new_user(&mut self, user: &mut User) {
        if user.emails.is_empty() {
            user.emails = vec![Email::primary(user.user_name.clone())];
        }
    }
}

/// Ironclad's own answers at its token endpoint: its client with a wrong secret is
/// `unauthorized_client` (403), a scope it does not register `invalid_scope` (400); another
/// client is `invalid_client` (401, the issuer's answer) whatever it asks for.
fn ironclad_token_rules(
    grant: &oauth::ClientCredentials,
    client: ClientMatch,
) -> Option<ResponseTemplate> {
    let registered =
        |s: &String| READ_SCOPES.contains(&s.as_str()) || WRITE_SCOPES.contains(&s.as_str());
    match client {
        ClientMatch::WrongSecret => Some(oauth::error(403, "unauthorized_client", "unauthorized")),
        ClientMatch::Known if !grant.scopes.iter().all(registered) => {
            Some(oauth::error(400, "invalid_scope", "scope not registered"))
        }
        _ => None,
    }
}

impl SimHandler for SimState {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        if req.url.path() == "/oauth/token" && req.method.as_str() == "POST" {
            *self.requests.entry("token".into()).or_default() += 1;
            return self.oauth.issue_checked(req, ironclad_token_rules);
        }
        let Some(scopes) = self.oauth.scopes_of(req) else {
            return ResponseTemplate::new(401).set_body_json(
                json!({"code": "UNAUTHORIZED", "message": "invalid authentication token"}),
            );
        };
        let can_write = scopes.iter().any(|s| s == "scim.groups.updateGroups");
        let as_user = req
            .headers
            .get("x-as-user-email")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !self.admins.iter().any(|a| a == as_user) {
            return scim_answer(403, &json!({"schemas": [ERROR], "status": "403"}));
        }
        if req.method.as_str() != "GET" && !can_write {
            return scim_answer(403, &json!({"status": "403"}));
        }
        self.tenant.answer(req, &mut IroncladRules)
    }
}
