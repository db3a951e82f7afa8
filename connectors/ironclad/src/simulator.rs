//! A simulated Ironclad tenant (feature `testing`): a stateful SCIM service (users, groups,
//! PATCH, the filters the connector uses) and the OAuth token endpoint, on a loopback port.
//! It checks the bearer token, the token's scopes on writes, and `x-as-user-email` on every
//! call, like Ironclad. A remove without `value` empties the group, as a strict RFC 7644
//! server would, so a connector that sent one would be caught.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use connector_ironclad::{Ironclad, simulator::IroncladSimulator};
//! let sim = IroncladSimulator::start().await;
//! let connector = Ironclad::new(sim.config(false)).unwrap();
//! connector_sdk::testing::assert_conformance(&connector).await;
//! # });
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::MutexGuard;
use std::time::Duration;

use connector_sdk::testing::{SimHandler, SimServer, oauth};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use connector_sdk::scim::{ENTERPRISE_USER, Email, Group, Member, Meta, Name, User};

use crate::client::IRONCLAD_EXT;
use crate::config::{IroncladConfig, READ_SCOPES, WRITE_SCOPES};

/// The simulated tenant.
#[derive(Debug, Clone)]
pub struct SimState {
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret.
    pub client_secret: String,
    /// Users in creation order.
    pub users: Vec<User>,
    /// Groups in creation order (with members).
    pub groups: Vec<Group>,
    /// Emails allowed as `x-as-user-email` (administrators).
    pub admins: Vec<String>,
    /// Token lifetime in seconds.
    pub token_lifetime: u64,
    /// Requests per route (`token`, `GET Users`, `GET User`, `GET Groups`, `GET Group`, `PATCH Group`, `POST Users`).
    pub requests: BTreeMap<String, u64>,
    /// Delay of every response.
    pub latency: Duration,
    tokens: HashMap<String, bool>,
    next: u64,
}

fn user(id: &str, email: &str, given: Option<&str>, family: Option<&str>) -> User {
    User {
        id: id.into(),
        user_name: email.into(),
        name: (given.is_some() || family.is_some())
            .then(|| Name::new(given.map(String::from), family.map(String::from))),
        emails: vec![Email::primary(email)],
        active: Some(true),
        meta: Some(Meta {
            created: Some("2025-03-26T18:33:48.336Z".into()),
            last_modified: Some("2025-03-26T18:33:48.336Z".into()),
            ..Meta::default()
        }),
        ..User::default()
    }
}

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
        let mut no_name = user(
            "6660d37dec0eac3deffb6815",
            "no.name@acme.example",
            None,
            None,
        );
        no_name.emails = Vec::new();
        s.users = vec![
            user(
                "6660d37dec0eac3deffb6810",
                "admin@acme.example",
                Some("Ada"),
                Some("Admin"),
            ),
            user(
                "6660d37dec0eac3deffb6811",
                "alex.doe@acme.example",
                Some("Alex"),
                Some("Doe"),
            ),
            user(
                "6660d37dec0eac3deffb6812",
                "zoe@acme.example",
                Some("Zoë"),
                Some("李"),
            ),
            user(
                "74906dd6-f2c6-4442-8875-57846f15b061",
                "uuid.user@acme.example",
                Some("Uma"),
                Some("Uuid"),
            ),
            user(
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

    /// A tenant of `users` users and `groups` groups with `memberships` memberships spread
    /// evenly, for benchmarks.
    pub fn large(users: usize, groups: usize, memberships: usize) -> Self {
        let mut s = SimState::empty();
        s.users.push(user(
            "admin",
            "admin@acme.example",
            Some("Ada"),
            Some("Admin"),
        ));
        for i in 1..users.max(1) {
            s.users.push(user(
                &format!("u{i:06}"),
                &format!("user{i}@acme.example"),
                Some("User"),
                Some(&i.to_string()),
            ));
        }
        let per_group = memberships.checked_div(groups).unwrap_or(0);
        for g in 0..groups {
            let members: Vec<String> = (0..per_group)
                .map(|k| s.users[(g * per_group + k) % s.users.len()].id.clone())
                .collect();
            let refs: Vec<&str> = members.iter().map(String::as_str).collect();
            s.groups
                .push(group(&format!("g{g:05}"), &format!("Group {g}"), &refs));
        }
        s
    }

    fn empty() -> Self {
        SimState {
            client_id: "ic-client".into(),
            client_secret: "ic-secret".into(),
            users: Vec::new(),
            groups: Vec::new(),
            admins: vec!["admin@acme.example".into()],
            token_lifetime: 3600,
            requests: BTreeMap::new(),
            latency: Duration::ZERO,
            tokens: HashMap::new(),
            next: 1,
        }
    }

    /// Requests served on `route`.
    pub fn count(&self, route: &str) -> u64 {
        self.requests.get(route).copied().unwrap_or(0)
    }

    /// The member ids of group `id`.
    pub fn members(&self, id: &str) -> Vec<String> {
        self.groups
            .iter()
            .find(|g| g.id == id)
            .map(|g| g.members.iter().map(|m| m.value.clone()).collect())
            .unwrap_or_default()
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
            SecretString::from(st.client_id.clone()),
            SecretString::from(st.client_secret.clone()),
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

fn scim(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(body.to_string().into_bytes(), "application/scim+json")
}

fn scim_error(status: u16, detail: &str, scim_type: Option<&str>) -> ResponseTemplate {
    let mut b = json!({"schemas": [connector_sdk::scim::ERROR], "status": status.to_string(), "detail": detail});
    if let Some(t) = scim_type {
        b["scimType"] = t.into();
    }
    scim(status, b)
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn filter_value(filter: &str, attr: &str) -> Option<String> {
    let rest = filter
        .trim()
        .strip_prefix(attr)?
        .trim_start()
        .strip_prefix("eq")?
        .trim();
    let inner = rest.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            out.extend(chars.next());
        } else {
            out.push(c);
        }
    }
    Some(out)
}

fn strong(p: &str) -> bool {
    p.chars().count() >= 16
        && p.chars().any(|c| c.is_ascii_lowercase())
        && p.chars().any(|c| c.is_ascii_uppercase())
        && p.chars().any(|c| c.is_ascii_digit())
        && p.chars().any(|c| c.is_ascii_punctuation())
}

impl SimState {
    fn page<T: serde::Serialize>(&self, all: &[T], req: &Request) -> ResponseTemplate {
        let start: usize = query(req, "startIndex")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .max(1);
        let count: usize = query(req, "count")
            .and_then(|s| s.parse().ok())
            .unwrap_or(25)
            .min(1000);
        let items: Vec<Value> = all
            .iter()
            .skip(start - 1)
            .take(count)
            .map(|x| serde_json::to_value(x).unwrap_or_default())
            .collect();
        scim(
            200,
            json!({"schemas": [connector_sdk::scim::LIST_RESPONSE], "totalResults": all.len(), "startIndex": start, "itemsPerPage": items.len(), "Resources": items}),
        )
    }

    fn token(&mut self, req: &Request) -> ResponseTemplate {
        let grant = match oauth::ClientCredentials::read(req) {
            Ok(g) => g,
            Err(answer) => return answer,
        };
        if grant.client_id != self.client_id {
            return oauth::error(401, "invalid_client", "invalid client");
        }
        if grant.client_secret.as_deref() != Some(self.client_secret.as_str()) {
            return oauth::error(403, "unauthorized_client", "unauthorized");
        }
        if grant
            .scopes
            .iter()
            .any(|s| !READ_SCOPES.contains(&s.as_str()) && !WRITE_SCOPES.contains(&s.as_str()))
        {
            return oauth::error(400, "invalid_scope", "scope not registered");
        }
        let write = grant.scopes.iter().any(|s| s == "scim.groups.updateGroups");
        let token = format!("ic-token-{}", self.next);
        self.next += 1;
        self.tokens.insert(token.clone(), write);
        oauth::token(&token, self.token_lifetime, &grant.scopes)
    }

    fn answer(&mut self, req: &Request) -> ResponseTemplate {
        let path: Vec<String> = req
            .url
            .path_segments()
            .map(|s| s.map(|p| p.to_string()).collect())
            .unwrap_or_default();
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let m = req.method.as_str();
        if p == ["oauth", "token"] && m == "POST" {
            *self.requests.entry("token".into()).or_default() += 1;
            return self.token(req);
        }
        let Some(&can_write) = oauth::bearer(req).and_then(|t| self.tokens.get(t)) else {
            return ResponseTemplate::new(401).set_body_json(
                json!({"code": "UNAUTHORIZED", "message": "invalid authentication token"}),
            );
        };
        let as_user = req
            .headers
            .get("x-as-user-email")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !self.admins.iter().any(|a| a == as_user) {
            return scim(
                403,
                json!({"schemas": [connector_sdk::scim::ERROR], "status": "403"}),
            );
        }
        let (route, resp) = match (m, p.as_slice()) {
            ("GET", ["scim", "v2", "Users"]) => (
                "GET Users",
                match query(req, "filter") {
                    Some(f) => match filter_value(&f, "userName") {
                        Some(v) => {
                            let found: Vec<User> = self
                                .users
                                .iter()
                                .filter(|u| u.user_name.eq_ignore_ascii_case(&v))
                                .cloned()
                                .collect();
                            self.page(&found, req)
                        }
                        None => scim(
                            400,
                            json!({"schema": [connector_sdk::scim::ERROR], "status": "400", "scimType": "invalidFilter", "detail": "No matching schema for attribute"}),
                        ),
                    },
                    None => self.page(&self.users, req),
                },
            ),
            ("GET", ["scim", "v2", "Users", id]) => (
                "GET User",
                match self.users.iter().find(|u| u.id == *id) {
                    Some(u) => scim(200, serde_json::to_value(u).unwrap_or_default()),
                    None => scim_error(404, &format!("Resource {id} not found"), None),
                },
            ),
            ("POST", ["scim", "v2", "Users"]) if !can_write => {
                ("POST Users", scim(403, json!({"status": "403"})))
            }
            ("POST", ["scim", "v2", "Users"]) => ("POST Users", self.create_user(req)),
            ("GET", ["scim", "v2", "Groups"]) => ("GET Groups", {
                let excluded = query(req, "excludedAttributes")
                    .is_some_and(|e| e.split(',').any(|a| a.trim() == "members"));
                let groups: Vec<Group> = self
                    .groups
                    .iter()
                    .map(|g| Group {
                        members: if excluded {
                            Vec::new()
                        } else {
                            g.members.clone()
                        },
                        ..g.clone()
                    })
                    .collect();
                self.page(&groups, req)
            }),
            ("GET", ["scim", "v2", "Groups", id]) => (
                "GET Group",
                match self.groups.iter().find(|g| g.id == *id) {
                    Some(g) => scim(200, serde_json::to_value(g).unwrap_or_default()),
                    None => scim_error(404, &format!("Resource {id} not found"), None),
                },
            ),
            ("PATCH", ["scim", "v2", "Groups", _]) if !can_write => {
                ("PATCH Group", scim(403, json!({"status": "403"})))
            }
            ("PATCH", ["scim", "v2", "Groups", id]) => ("PATCH Group", self.patch_group(id, req)),
            _ => ("other", scim_error(404, "Not found", None)),
        };
        *self.requests.entry(route.into()).or_default() += 1;
        resp.set_delay(self.latency)
    }

    fn create_user(&mut self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let email = body["userName"].as_str().unwrap_or_default().to_string();
        if !email.contains('@') || !body["name"].is_object() {
            return scim_error(400, "Invalid value at userName", Some("invalidValue"));
        }
        if !body["password"].as_str().is_some_and(strong) {
            return scim_error(
                400,
                "Password does not meet the requirements",
                Some("invalidValue"),
            );
        }
        if self
            .users
            .iter()
            .any(|u| u.user_name.eq_ignore_ascii_case(&email))
        {
            return scim(
                409,
                json!({"schemas": [connector_sdk::scim::ERROR], "status": "409"}),
            );
        }
        let id = format!("{:024x}", 0xabc0000 + self.next);
        self.next += 1;
        let mut u = user(
            &id,
            &email,
            body["name"]["givenName"].as_str(),
            body["name"]["familyName"].as_str(),
        );
        u.title = body["title"].as_str().map(String::from);
        self.users.push(u.clone());
        scim(201, serde_json::to_value(u).unwrap_or_default())
    }

    fn patch_group(&mut self, id: &str, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        if !body["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x == connector_sdk::scim::PATCH_OP))
        {
            return scim_error(400, "schemas is required", Some("invalidSyntax"));
        }
        let Some(ops) = body["Operations"].as_array().cloned() else {
            return scim_error(400, "Operations is required", Some("invalidSyntax"));
        };
        let Some(g) = self.groups.iter_mut().find(|g| g.id == id) else {
            return scim_error(404, &format!("Resource {id} not found"), None);
        };
        for op in ops {
            let values: Vec<String> = op["value"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v["value"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            let members = &mut g.members;
            match (op["op"].as_str(), op["path"].as_str().unwrap_or("members")) {
                (Some("add"), "members") => {
                    for v in values {
                        if !members.iter().any(|m| m.value == v) {
                            members.push(Member::user(v));
                        }
                    }
                }
                (Some("remove"), "members") if op.get("value").is_none() => members.clear(), // strict RFC: removes all
                (Some("remove"), "members") => members.retain(|m| !values.contains(&m.value)),
                (Some("remove"), path) if path.starts_with("members[") => {
                    let inner = path.trim_start_matches("members[").trim_end_matches(']');
                    if let Some(v) = filter_value(inner, "value") {
                        members.retain(|m| m.value != v);
                    }
                }
                (Some("replace"), "members") => {
                    *members = values.into_iter().map(Member::user).collect();
                }
                _ => return scim_error(400, "Unsupported PATCH operation", Some("invalidValue")),
            }
        }
        ResponseTemplate::new(204)
    }
}

impl SimHandler for SimState {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        self.answer(req)
    }
}
