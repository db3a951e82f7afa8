//! A simulated Valimail tenant (feature `testing`): a stateful fake of `POST /auth` and the
//! SCIM `/Users` API (with the documented `userName` and `memberType` filters) on a
//! loopback port, seeded with users of every member type and both states. Changes made
//! through the connector show up on the next sync.
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

use connector_sdk::testing::{SimHandler, SimServer};
use connector_sdk::time::format_rfc3339;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use connector_sdk::scim::{Meta, Name, User};

use crate::client::{EXTENSION, MEMBER_TYPE_PATH_COLON, MEMBER_TYPE_PATH_DOT};
use crate::config::ValimailConfig;

/// The simulated account's state.
#[derive(Debug, Clone)]
pub struct SimState {
    /// The valid client id.
    pub client_id: String,
    /// The valid app id.
    pub app_id: String,
    /// The account slug.
    pub slug: String,
    /// Users in list order.
    pub users: Vec<User>,
    /// Whether `marketer` may be assigned.
    pub marketer_enabled: bool,
    /// The most users one list page returns, whatever `count` asks.
    pub page_cap: usize,
    /// Answer a successful PATCH with 204 No Content instead of 200 with the user (RFC
    /// 7644 §3.5.2 allows both).
    pub patch_no_content: bool,
    /// Requests served (all endpoints).
    pub requests: u64,
    /// `/auth` calls served.
    pub auth_calls: u64,
    tokens: HashSet<String>,
    next_id: u64,
}

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
        SimState {
            client_id: "34acfc47-e910-4dcc-bb22-e2816f7e1e4c".into(),
            app_id: "358e2665-dfb9-4a9f-b8db-c0404b7bf087".into(),
            slug: "acme-mail".into(),
            users: vec![
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
            ],
            marketer_enabled: true,
            page_cap: 4,
            patch_no_content: false,
            requests: 0,
            auth_calls: 0,
            tokens: HashSet::new(),
            next_id: 0x1000_0000,
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

fn scim_json(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(body.to_string().into_bytes(), "application/scim+json")
}

fn scim_error(status: u16, detail: &str, scim_type: Option<&str>) -> ResponseTemplate {
    let mut body = json!({"schemas": [connector_sdk::scim::ERROR], "status": status.to_string(), "detail": detail});
    if let Some(t) = scim_type {
        body["scimType"] = t.into();
    }
    scim_json(status, body)
}

/// A list filter the simulated API answers.
enum Filter {
    /// `userName eq "value"`.
    UserName(String),
    /// Valimail's documented filter on the extension attribute (spec §4.2):
    /// `urn:…:valimailuserextension:2.0:User.memberType eq "value"`.
    MemberType(String),
}

/// `<attribute> eq "value"` (with `\"` and `\\` unescaped) for the attributes the
/// simulated API filters on.
fn parse_filter(filter: &str) -> Option<Filter> {
    let (attribute, rest) = filter.trim().split_once(" eq ")?;
    let inner = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
    let mut value = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            value.extend(chars.next());
        } else {
            value.push(c);
        }
    }
    match attribute.trim() {
        "userName" => Some(Filter::UserName(value)),
        MEMBER_TYPE_PATH_DOT => Some(Filter::MemberType(value)),
        _ => None,
    }
}

/// Whether `u` passes `filter`; string comparisons ignore case, as RFC 7644 §3.4.2.2 has
/// them for attributes that are not `caseExact`.
fn passes(u: &User, filter: &Filter) -> bool {
    match filter {
        Filter::UserName(name) => u.user_name.eq_ignore_ascii_case(name),
        Filter::MemberType(value) => u
            .extra
            .get(EXTENSION)
            .and_then(|e| e["memberType"].as_str())
            .is_some_and(|m| m.eq_ignore_ascii_case(value)),
    }
}

impl SimState {
    fn valid_member_type(&self, v: &str) -> bool {
        matches!(v, "owner" | "member") || (v == "marketer" && self.marketer_enabled)
    }

    fn answer(&mut self, req: &Request) -> ResponseTemplate {
        self.requests += 1;
        let path: Vec<String> = req
            .url
            .path_segments()
            .map(|s| s.map(percent_decode).collect())
            .unwrap_or_default();
        let method = req.method.as_str();
        if path == ["auth"] && method == "POST" {
            self.auth_calls += 1;
            let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            if body["client-id"] == self.client_id.as_str()
                && body["app-id"] == self.app_id.as_str()
            {
                let token = format!("tok-{}-{}", self.auth_calls, self.requests);
                self.tokens.insert(token.clone());
                let expires = format_rfc3339(SystemTime::now() + Duration::from_secs(3600));
                return ResponseTemplate::new(200)
                    .set_body_json(json!({"token": token, "expires-at": expires}));
            }
            return ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"}));
        }
        let authorized = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|t| self.tokens.contains(t));
        if !authorized {
            return scim_error(401, "Unauthorized", Some("unauthorized"));
        }
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        match p.as_slice() {
            ["accounts", slug, "scim", "v2", "Users", rest @ ..] => {
                if *slug != self.slug {
                    return scim_error(403, "Not authorized to access this account", None);
                }
                match (method, rest) {
                    ("GET", []) => self.list(req),
                    ("POST", []) => self.create(req),
                    ("GET", [id]) => match self.users.iter().find(|u| u.id == *id) {
                        Some(u) => scim_json(200, serde_json::to_value(u).unwrap_or_default()),
                        None => scim_error(404, &format!("User with ID {id} not found"), None),
                    },
                    ("PATCH", [id]) => self.patch(id, req),
                    _ => scim_error(404, "Not found", None),
                }
            }
            _ => scim_error(404, "Not found", None),
        }
    }

    fn list(&self, req: &Request) -> ResponseTemplate {
        let q: Vec<(String, String)> = req
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let get = |k: &str| q.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let matching: Vec<&User> = match get("filter") {
            Some(f) => match parse_filter(&f) {
                Some(filter) => self.users.iter().filter(|u| passes(u, &filter)).collect(),
                None => return scim_error(400, "Unsupported filter", Some("invalidFilter")),
            },
            None => self.users.iter().collect(),
        };
        let start: usize = get("startIndex")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
            .max(1);
        let count: usize = get("count")
            .and_then(|s| s.parse().ok())
            .unwrap_or(100)
            .min(self.page_cap);
        let page: Vec<Value> = matching
            .iter()
            .skip(start - 1)
            .take(count)
            .map(|u| serde_json::to_value(u).unwrap_or_default())
            .collect();
        scim_json(
            200,
            json!({"schemas": [connector_sdk::scim::LIST_RESPONSE], "totalResults": matching.len(), "Resources": page}),
        )
    }

    fn patch(&mut self, id: &str, req: &Request) -> ResponseTemplate {
        let body: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => {
                return scim_error(
                    400,
                    "Request is unparsable, syntactically incorrect, or violates schema",
                    Some("invalidSyntax"),
                );
            }
        };
        let has_schema = body["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x == connector_sdk::scim::PATCH_OP));
        if !has_schema {
            return scim_error(
                400,
                "Request is unparsable, syntactically incorrect, or violates schema",
                Some("invalidValue"),
            );
        }
        let Some(ops) = body["Operations"].as_array() else {
            return scim_error(400, "No operations", Some("invalidValue"));
        };
        let marketer_enabled = self.marketer_enabled;
        let valid =
            |v: &str| matches!(v, "owner" | "member") || (v == "marketer" && marketer_enabled);
        let Some(index) = self.users.iter().position(|u| u.id == id) else {
            return scim_error(404, &format!("User with ID {id} not found"), None);
        };
        for op in ops {
            if !op["op"]
                .as_str()
                .is_some_and(|o| o.eq_ignore_ascii_case("replace"))
            {
                return scim_error(
                    400,
                    "Invalid PATCH operation: Unsupported operation type",
                    Some("invalidValue"),
                );
            }
            let u = &mut self.users[index];
            match op["path"].as_str() {
                Some("active") => match op["value"].as_bool() {
                    Some(b) => u.active = Some(b),
                    None => {
                        return scim_error(400, "active must be a boolean", Some("invalidValue"));
                    }
                },
                Some(p) if p == MEMBER_TYPE_PATH_DOT || p == MEMBER_TYPE_PATH_COLON => {
                    match op["value"].as_str() {
                        Some(v) if valid(&v.to_lowercase()) => {
                            set_member_type(u, &v.to_lowercase());
                        }
                        _ => {
                            return scim_error(
                                400,
                                "Invalid member type for this account",
                                Some("invalidValue"),
                            );
                        }
                    }
                }
                _ => {
                    return scim_error(
                        400,
                        "Invalid PATCH operation: Unsupported path",
                        Some("invalidPath"),
                    );
                }
            }
        }
        let u = &mut self.users[index];
        if let Some(m) = u.meta.as_mut() {
            m.last_modified = Some(format_rfc3339(SystemTime::now()));
        }
        if self.patch_no_content {
            return ResponseTemplate::new(204);
        }
        scim_json(200, serde_json::to_value(&*u).unwrap_or_default())
    }

    fn create(&mut self, req: &Request) -> ResponseTemplate {
        let body: Value = match serde_json::from_slice(&req.body) {
            Ok(v) => v,
            Err(_) => {
                return scim_error(
                    400,
                    "Request is unparsable, syntactically incorrect, or violates schema",
                    Some("invalidSyntax"),
                );
            }
        };
        let schemas = body["schemas"].as_array().cloned().unwrap_or_default();
        let ok_schemas = schemas.iter().any(|s| s == connector_sdk::scim::USER)
            && schemas.iter().any(|s| s == EXTENSION);
        let email = body["userName"].as_str().unwrap_or_default().to_string();
        if !ok_schemas || email.is_empty() || !body["name"].is_object() {
            return scim_error(
                400,
                "Request is unparsable, syntactically incorrect, or violates schema",
                Some("invalidValue"),
            );
        }
        if self
            .users
            .iter()
            .any(|u| u.user_name.eq_ignore_ascii_case(&email))
        {
            return scim_error(
                409,
                &format!("User with email {email} already exists"),
                Some("uniqueness"),
            );
        }
        let member_type = body[EXTENSION]["memberType"]
            .as_str()
            .unwrap_or("member")
            .to_lowercase();
        if !self.valid_member_type(&member_type) {
            return scim_error(
                400,
                "Invalid member type for this account",
                Some("invalidValue"),
            );
        }
        self.next_id += 1;
        let now = format_rfc3339(SystemTime::now());
        let mut new = User {
            id: format!("{:010x}", self.next_id),
            user_name: email,
            external_id: body["externalId"].as_str().map(String::from),
            name: Some(Name::new(
                body["name"]["givenName"].as_str().map(String::from),
                body["name"]["familyName"].as_str().map(String::from),
            )),
            active: Some(true),
            meta: Some(Meta {
                created: Some(now.clone()),
                last_modified: Some(now),
                ..Meta::default()
            }),
            ..User::default()
        };
        set_member_type(&mut new, &member_type);
        self.users.push(new.clone());
        scim_json(201, serde_json::to_value(new).unwrap_or_default())
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

impl SimHandler for SimState {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        self.answer(req)
    }
}
