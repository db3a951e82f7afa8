//! A small stateful SCIM fixture on wiremock, shaped by the options a provider documents
//! (its path prefix, PATCH answered 200 with the resource or 204, groups listed on the
//! user), and helpers to load provider files. The generic simulated SCIM tenant of the
//! SDK replaces it once merged; this one is only what these tests need.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use connector_scim::{Credentials, Provider, Scim, ScimApi, ScimConfig};
use connector_sdk::testing::fast_retry;
use serde_json::{Value, json};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// baton-scim's own provider files (test data, never copied into the repository).
pub fn upstream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/scim-providers")
}

/// One of baton-scim's files, by name (`slack`).
pub fn upstream(name: &str) -> Provider {
    let file = format!("{name}.yaml");
    let text = std::fs::read_to_string(upstream_dir().join(&file)).unwrap();
    Provider::parse(&file, &text).unwrap()
}

/// One of the shipped files, by name.
pub fn shipped(name: &str) -> Provider {
    Provider::load(&connector_scim::Source::Shipped(name.into())).unwrap()
}

/// A user in the fixture.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub user_name: String,
    pub given: String,
    pub family: String,
    pub emails: Vec<(String, bool)>,
    pub active: bool,
    pub roles: Vec<String>,
}

impl User {
    pub fn new(id: &str, given: &str, family: &str) -> Self {
        let user_name = format!("{}@example.com", given.to_lowercase());
        User {
            id: id.into(),
            user_name: user_name.clone(),
            given: given.into(),
            family: family.into(),
            emails: vec![(user_name, true)],
            active: true,
            roles: Vec::new(),
        }
    }
}

/// The tenant's state.
#[derive(Debug, Default)]
pub struct State {
    pub users: Vec<User>,
    /// Group id → (name, member ids).
    pub groups: BTreeMap<String, (String, Vec<String>)>,
    /// Every PATCH body, with its path.
    pub patches: Vec<(String, Value)>,
    /// Records added raw to the users listing (bad ones).
    pub raw_users: Vec<Value>,
    pub next_id: u32,
}

/// How the fixture answers.
#[derive(Debug, Clone)]
pub struct Shape {
    /// The SCIM root path, e.g. `/scim/v1`.
    pub root: String,
    /// 204 to PATCH (else 200 with the resource).
    pub patch_no_content: bool,
    /// Groups as `groups` on each user, `members` left out of groups.
    pub groups_on_user: bool,
    /// Leave `totalResults` out of list answers.
    pub no_total: bool,
    /// The page size the server caps `count` at.
    pub max_page: usize,
}

impl Default for Shape {
    fn default() -> Self {
        Shape {
            root: "/scim/v2".into(),
            patch_no_content: false,
            groups_on_user: false,
            no_total: false,
            max_page: 100,
        }
    }
}

/// The fixture.
pub struct Tenant {
    pub server: MockServer,
    pub state: Arc<Mutex<State>>,
    pub shape: Shape,
}

struct Handler {
    state: Arc<Mutex<State>>,
    shape: Shape,
}

fn user_json(u: &User, s: &State, shape: &Shape) -> Value {
    let mut v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": u.id, "userName": u.user_name, "active": u.active,
        "name": {"givenName": u.given, "familyName": u.family},
        "emails": u.emails.iter().map(|(e, p)| json!({"value": e, "primary": p})).collect::<Vec<_>>(),
    });
    if !u.roles.is_empty() {
        v["roles"] = u
            .roles
            .iter()
            .map(|r| json!({"value": r, "display": format!("{r} role")}))
            .collect();
    }
    if shape.groups_on_user {
        v["groups"] = s
            .groups
            .iter()
            .filter(|(_, (_, m))| m.contains(&u.id))
            .map(|(id, (name, _))| json!({"value": id, "display": name}))
            .collect();
    }
    v
}

fn group_json(id: &str, name: &str, members: &[String], shape: &Shape) -> Value {
    let mut v = json!({"id": id, "displayName": name});
    if !shape.groups_on_user {
        v["members"] = members.iter().map(|m| json!({"value": m})).collect();
    }
    v
}

fn filter_value(filter: &str) -> Option<String> {
    let start = filter.find('"')?;
    let end = filter.rfind('"')?;
    (end > start).then(|| filter[start + 1..end].replace("\\\"", "\""))
}

fn list(items: Vec<Value>, q: &BTreeMap<String, String>, shape: &Shape) -> ResponseTemplate {
    let start: usize = q
        .get("startIndex")
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let count: usize = q
        .get("count")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100)
        .min(shape.max_page);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(start - 1).take(count).collect();
    let mut body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                          "startIndex": start, "itemsPerPage": page.len(), "Resources": page});
    if !shape.no_total {
        body["totalResults"] = json!(total);
    }
    ResponseTemplate::new(200).set_body_json(body)
}

fn refused(detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(400)
        .set_body_json(json!({"status": "400", "scimType": "invalidPath", "detail": detail}))
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"status": "404", "detail": "not found"}))
}

impl Handler {
    fn patched(&self, v: Value) -> ResponseTemplate {
        if self.shape.patch_no_content {
            ResponseTemplate::new(204)
        } else {
            ResponseTemplate::new(200).set_body_json(v)
        }
    }

    /// Applies one PATCH operation to a multi-valued attribute held as ids.
    fn apply(values: &mut Vec<String>, attr: &str, op: &Value) -> Result<(), String> {
        let kind = op["op"].as_str().unwrap_or("").to_ascii_lowercase();
        let path = op["path"].as_str().unwrap_or("");
        let listed: Vec<String> = op["value"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v["value"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        match kind.as_str() {
            "add" if path == attr => {
                for v in listed {
                    if !values.contains(&v) {
                        values.push(v);
                    }
                }
            }
            "remove" if path.starts_with(&format!("{attr}[")) => {
                let target = filter_value(path).unwrap_or_default();
                values.retain(|v| *v != target);
            }
            "remove" if path == attr && !listed.is_empty() => {
                values.retain(|v| !listed.contains(v))
            }
            _ => return Err(format!("unsupported {kind} {path}")),
        }
        Ok(())
    }
}

impl Respond for Handler {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let Some(rest) = req.url.path().strip_prefix(&self.shape.root) else {
            return not_found();
        };
        let parts: Vec<String> = rest
            .trim_start_matches('/')
            .split('/')
            .map(percent_decode)
            .collect();
        let q: BTreeMap<String, String> = req.url.query_pairs().into_owned().collect();
        let mut s = self.state.lock().unwrap();
        let method = req.method.as_str();
        match (
            method,
            parts
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
        ) {
            ("GET", ["Users"]) => {
                let mut items: Vec<Value> = s
                    .users
                    .iter()
                    .map(|u| user_json(u, &s, &self.shape))
                    .collect();
                items.extend(s.raw_users.iter().cloned());
                if let Some(name) = q.get("filter").and_then(|f| filter_value(f)) {
                    items.retain(|u| u["userName"] == name);
                }
                list(items, &q, &self.shape)
            }
            ("GET", ["Users", id]) => match s.users.iter().find(|u| u.id == *id) {
                Some(u) => ResponseTemplate::new(200).set_body_json(user_json(u, &s, &self.shape)),
                None => not_found(),
            },
            ("GET", ["Groups"]) => {
                let mut items: Vec<Value> = s
                    .groups
                    .iter()
                    .map(|(id, (n, m))| group_json(id, n, m, &self.shape))
                    .collect();
                if let Some(name) = q.get("filter").and_then(|f| filter_value(f)) {
                    items.retain(|g| g["displayName"] == name);
                }
                list(items, &q, &self.shape)
            }
            ("GET", ["Groups", id]) => match s.groups.get(*id) {
                Some((n, m)) => {
                    ResponseTemplate::new(200).set_body_json(group_json(id, n, m, &self.shape))
                }
                None => not_found(),
            },
            ("PATCH", ["Groups", id]) => {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let id = id.to_string();
                s.patches.push((req.url.path().to_string(), body.clone()));
                let Some((name, members)) = s.groups.get_mut(&id) else {
                    return not_found();
                };
                for op in body["Operations"].as_array().cloned().unwrap_or_default() {
                    if let Err(detail) = Self::apply(members, "members", &op) {
                        return refused(&detail);
                    }
                }
                let v = group_json(&id, &name.clone(), &members.clone(), &self.shape);
                self.patched(v)
            }
            ("PATCH", ["Users", id]) => {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                s.patches.push((req.url.path().to_string(), body.clone()));
                let id = id.to_string();
                let Some(pos) = s.users.iter().position(|u| u.id == id) else {
                    return not_found();
                };
                for op in body["Operations"].as_array().cloned().unwrap_or_default() {
                    if op["path"] == "active" {
                        s.users[pos].active = op["value"].as_bool().unwrap_or(false);
                        continue;
                    }
                    let mut roles = s.users[pos].roles.clone();
                    if let Err(detail) = Self::apply(&mut roles, "roles", &op) {
                        return refused(&detail);
                    }
                    s.users[pos].roles = roles;
                }
                let v = user_json(&s.users[pos], &s, &self.shape);
                self.patched(v)
            }
            ("POST", ["Users"]) => {
                let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
                let name = body["userName"].as_str().unwrap_or_default().to_string();
                if s.users.iter().any(|u| u.user_name == name) {
                    return ResponseTemplate::new(409)
                        .set_body_json(json!({"status": "409", "scimType": "uniqueness", "detail": "userName taken"}));
                }
                s.next_id += 1;
                let mut u = User::new(&format!("N{}", s.next_id), "New", "Person");
                u.user_name = name.clone();
                u.given = body["name"]["givenName"]
                    .as_str()
                    .unwrap_or_default()
                    .into();
                u.family = body["name"]["familyName"]
                    .as_str()
                    .unwrap_or_default()
                    .into();
                u.emails = vec![(name, true)];
                let v = user_json(&u, &s, &self.shape);
                s.users.push(u);
                ResponseTemplate::new(201).set_body_json(v)
            }
            ("DELETE", ["Users", id]) => {
                let before = s.users.len();
                let id = id.to_string();
                s.users.retain(|u| u.id != id);
                if s.users.len() < before {
                    ResponseTemplate::new(204)
                } else {
                    not_found()
                }
            }
            _ => not_found(),
        }
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl Tenant {
    /// A tenant of `shape` seeded with `state`.
    pub async fn start(shape: Shape, state: State) -> Tenant {
        let server = MockServer::start().await;
        let state = Arc::new(Mutex::new(state));
        Mock::given(wiremock::matchers::any())
            .respond_with(Handler {
                state: state.clone(),
                shape: shape.clone(),
            })
            .mount(&server)
            .await;
        Tenant {
            server,
            state,
            shape,
        }
    }

    /// The base URL a connector uses (`--base-url`).
    pub fn base(&self) -> String {
        format!("{}{}", self.server.uri(), self.shape.root)
    }

    /// A connector for `provider` against this tenant.
    pub fn connector(&self, provider: Provider) -> Scim {
        Scim::with_api(self.api(provider))
    }

    /// The client for `provider` against this tenant, with an API key.
    pub fn api(&self, provider: Provider) -> ScimApi {
        let creds = Credentials {
            api_key: Some("k3y-SECRET".to_string().into()),
            ..Credentials::default()
        };
        let config = ScimConfig::with_env(provider, creds, Some(&self.base()), &|_| None).unwrap();
        ScimApi::with_retry(&config, fast_retry()).unwrap()
    }

    /// The members of group `gid`.
    pub fn members(&self, gid: &str) -> Vec<String> {
        self.state.lock().unwrap().groups[gid].1.clone()
    }

    /// The roles of user `uid`.
    pub fn roles(&self, uid: &str) -> Vec<String> {
        let s = self.state.lock().unwrap();
        s.users.iter().find(|u| u.id == uid).unwrap().roles.clone()
    }

    /// Every PATCH body received.
    pub fn patches(&self) -> Vec<(String, Value)> {
        self.state.lock().unwrap().patches.clone()
    }
}

/// Three users (Ada with a non-primary first email, a role each), two groups.
pub fn seed() -> State {
    let mut ada = User::new("U1", "Ada", "Lovelace");
    ada.emails = vec![
        ("ada.old@example.com".into(), false),
        ("ada@example.com".into(), true),
    ];
    ada.roles = vec!["admin".into()];
    let mut bob = User::new("U2", "Bob", "Babbage");
    bob.roles = vec!["member".into()];
    let mut cy = User::new("U3", "Cy", "Cohen");
    cy.active = false;
    let mut groups = BTreeMap::new();
    groups.insert(
        "G1".to_string(),
        (
            "Engineering".to_string(),
            vec!["U1".to_string(), "U2".to_string()],
        ),
    );
    groups.insert("G2".to_string(), ("Empty".to_string(), vec![]));
    State {
        users: vec![ada, bob, cy],
        groups,
        ..State::default()
    }
}
