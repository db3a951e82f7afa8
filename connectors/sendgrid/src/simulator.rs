//! A simulated SendGrid account (feature `testing`): a stateful fake of the v3 teammate,
//! invitation and subuser endpoints on a loopback port, with optional rate limiting that
//! sends `X-RateLimit-*` headers and answers 429 past the budget. Changes made through the
//! connector show up on the next sync.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use connector_sendgrid::{Sendgrid, simulator::SendgridSimulator};
//! let sim = SendgridSimulator::start().await;
//! let connector = Sendgrid::new(sim.config()).unwrap();
//! connector_sdk::testing::assert_conformance(&connector).await;
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::MutexGuard;
use std::time::{Duration, Instant, SystemTime};

use connector_sdk::testing::{SimHandler, SimServer};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use crate::client::{PendingInvite, Subuser, Teammate};
use crate::config::SendgridConfig;
use crate::scope_list::{AUTO_SCOPES, SCOPES};

/// A simulated rate limit: `limit` requests per `window`.
#[derive(Debug, Clone, Copy)]
pub struct SimRateLimit {
    /// Requests allowed per window.
    pub limit: u64,
    /// The window.
    pub window: Duration,
}

/// The simulated account.
#[derive(Debug, Clone)]
pub struct SimState {
    /// The valid API key.
    pub api_key: String,
    /// Teammates with their scopes.
    pub teammates: Vec<Teammate>,
    /// Pending invitations.
    pub pending: Vec<PendingInvite>,
    /// Subusers.
    pub subusers: Vec<Subuser>,
    /// Teammate username → subuser ids it can access.
    pub access: BTreeMap<String, Vec<u64>>,
    /// Requests per route (e.g. `GET teammates`, `GET teammate`, `GET subuser_access`).
    pub requests: BTreeMap<String, u64>,
    /// Answered with 429.
    pub rejected: u64,
    /// Served.
    pub served: u64,
    /// The rate limit, if any.
    pub rate_limit: Option<SimRateLimit>,
    /// Fixed delay of every response.
    pub latency: Duration,
    window_start: Option<Instant>,
    window_used: u64,
    next_token: u64,
}

fn teammate(username: &str, user_type: &str, scopes: &[&str]) -> Teammate {
    Teammate {
        username: username.into(),
        email: if username.contains('@') {
            username.into()
        } else {
            format!("{username}@acme.example")
        },
        user_type: user_type.into(),
        is_admin: user_type != "teammate",
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

impl SimState {
    /// The seed: an owner, two admins, teammates holding scopes (with SendGrid's auto-scopes
    /// and one unknown scope), an SSO teammate, two pending invitations, four subusers (one
    /// disabled) and teammate → subuser access.
    pub fn seeded() -> Self {
        let mut sso = teammate("sso.user@acme.example", "teammate", &["stats.read"]);
        sso.is_sso = true;
        let mut s = SimState::empty();
        s.teammates = vec![
            teammate("owner_user", "owner", &[]),
            teammate("admin.one@acme.example", "admin", &[]),
            teammate("admin.two@acme.example", "admin", &[]),
            teammate(
                "jane@acme.example",
                "teammate",
                &[
                    "user.profile.read",
                    "user.profile.update",
                    "whitelabel.read",
                    "2fa_required",
                    "mc.contacts.read",
                ],
            ),
            teammate(
                "john+ops@acme.example",
                "teammate",
                &[
                    "stats.read",
                    "templates.read",
                    "sender_verification_eligible",
                ],
            ),
            teammate("kim@acme.example", "teammate", &["user.profile.read"]),
            teammate("lee@acme.example", "teammate", &[]),
            sso,
        ];
        s.pending = vec![
            PendingInvite {
                token: "abcd123abc".into(),
                email: "new.hire@acme.example".into(),
                scopes: vec!["user.profile.read".into()],
                is_admin: false,
                expiration_date: Some(1_900_000_000),
            },
            PendingInvite {
                token: "efgh456efg".into(),
                email: "boss@acme.example".into(),
                scopes: vec![],
                is_admin: true,
                expiration_date: Some(1_900_000_000),
            },
        ];
        s.subusers = vec![
            Subuser {
                id: 1234,
                username: "marketing".into(),
                email: "marketing@acme.example".into(),
                disabled: false,
            },
            Subuser {
                id: 1235,
                username: "transactional".into(),
                email: "tx@acme.example".into(),
                disabled: false,
            },
            Subuser {
                id: 1240,
                username: "eu_marketing".into(),
                email: "eu@acme.example".into(),
                disabled: false,
            },
            Subuser {
                id: 1299,
                username: "legacy".into(),
                email: "legacy@acme.example".into(),
                disabled: true,
            },
        ];
        s.access
            .insert("jane@acme.example".into(), vec![1234, 1235]);
        s.access.insert("kim@acme.example".into(), vec![1240]);
        s
    }

    /// An account with `teammates` teammates (a few scopes each) and `subusers` subusers,
    /// each teammate able to access one subuser.
    pub fn large(teammates: usize, subusers: usize) -> Self {
        let mut s = SimState::empty();
        s.teammates.push(teammate("owner_user", "owner", &[]));
        for i in 0..teammates.saturating_sub(1) {
            let scopes = [
                SCOPES[i % SCOPES.len()],
                SCOPES[(i * 7 + 3) % SCOPES.len()],
                "user.profile.read",
            ];
            s.teammates
                .push(teammate(&format!("t{i}@acme.example"), "teammate", &scopes));
        }
        for i in 0..subusers {
            s.subusers.push(Subuser {
                id: 10_000 + i as u64,
                username: format!("sub{i}"),
                email: format!("sub{i}@acme.example"),
                disabled: i % 5 == 0,
            });
        }
        if subusers > 0 {
            for (i, t) in s.teammates.iter().enumerate().skip(1) {
                s.access
                    .insert(t.username.clone(), vec![10_000 + (i % subusers) as u64]);
            }
        }
        s
    }

    fn empty() -> Self {
        SimState {
            api_key: "SG.simulated-key".into(),
            teammates: Vec::new(),
            pending: Vec::new(),
            subusers: Vec::new(),
            access: BTreeMap::new(),
            requests: BTreeMap::new(),
            rejected: 0,
            served: 0,
            rate_limit: None,
            latency: Duration::ZERO,
            window_start: None,
            window_used: 0,
            next_token: 1,
        }
    }

    /// Requests served on `route` (e.g. `"GET teammate"`).
    pub fn count(&self, route: &str) -> u64 {
        self.requests.get(route).copied().unwrap_or(0)
    }

    /// A teammate by username.
    pub fn teammate(&self, username: &str) -> Option<&Teammate> {
        self.teammates.iter().find(|t| t.username == username)
    }
}

/// The running simulator.
pub struct SendgridSimulator {
    sim: SimServer<SimState>,
}

impl SendgridSimulator {
    /// Starts the seeded account on 127.0.0.1.
    pub async fn start() -> Self {
        Self::start_with(SimState::seeded()).await
    }

    /// Starts an account with `state`.
    pub async fn start_with(state: SimState) -> Self {
        SendgridSimulator {
            sim: SimServer::start(state).await,
        }
    }

    /// The base URL.
    pub fn uri(&self) -> String {
        self.sim.uri()
    }

    /// A config pointing at this account with the valid key.
    pub fn config(&self) -> SendgridConfig {
        let key = self.state().api_key.clone();
        SendgridConfig::new(SecretString::from(key), "global", false, Some(&self.uri()))
            .expect("valid simulator config")
    }

    /// The account's state.
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.sim.state()
    }
}

fn errors(status: u16, field: Option<&str>, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"errors": [{"field": field, "message": message}]}))
}

fn query(req: &Request, key: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

impl SimState {
    /// Counts the request against the window; `Some(headers)` to send, `Err(429)` past the budget.
    fn rate(&mut self) -> Result<Vec<(&'static str, String)>, Box<ResponseTemplate>> {
        let Some(rl) = self.rate_limit else {
            return Ok(Vec::new());
        };
        let now = Instant::now();
        let start = *self.window_start.get_or_insert(now);
        if now.duration_since(start) >= rl.window {
            self.window_start = Some(now);
            self.window_used = 0;
        }
        let start = self.window_start.unwrap_or(now);
        let reset_in = rl.window.saturating_sub(now.duration_since(start));
        let reset_epoch = (SystemTime::now() + reset_in)
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64().ceil() as u64)
            .unwrap_or(0);
        let headers = |remaining: u64| {
            vec![
                ("x-ratelimit-limit", rl.limit.to_string()),
                ("x-ratelimit-remaining", remaining.to_string()),
                ("x-ratelimit-reset", reset_epoch.to_string()),
            ]
        };
        if self.window_used >= rl.limit {
            self.rejected += 1;
            let mut r = errors(429, None, "too many requests");
            for (k, v) in headers(0) {
                r = r.insert_header(k, v.as_str());
            }
            return Err(Box::new(r));
        }
        self.window_used += 1;
        Ok(headers(rl.limit - self.window_used))
    }

    fn answer(&mut self, req: &Request) -> ResponseTemplate {
        let authorized = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v == format!("Bearer {}", self.api_key));
        if !authorized {
            return errors(401, None, "authorization required");
        }
        let headers = match self.rate() {
            Ok(h) => h,
            Err(r) => return *r,
        };
        self.served += 1;
        let path: Vec<String> = req
            .url
            .path_segments()
            .map(|s| s.map(decode).collect())
            .unwrap_or_default();
        let p: Vec<&str> = path.iter().map(String::as_str).collect();
        let m = req.method.as_str();
        let (route, resp) = match (m, p.as_slice()) {
            ("GET", ["v3", "teammates"]) => ("GET teammates", self.list_teammates(req)),
            ("POST", ["v3", "teammates"]) => ("POST teammates", self.invite(req)),
            ("GET", ["v3", "teammates", "pending"]) => (
                "GET pending",
                ResponseTemplate::new(200).set_body_json(json!({"result": self.pending})),
            ),
            ("DELETE", ["v3", "teammates", "pending", token]) => ("DELETE pending", {
                let before = self.pending.len();
                self.pending.retain(|p| p.token != *token);
                if self.pending.len() < before {
                    ResponseTemplate::new(204)
                } else {
                    errors(404, Some("pending_key"), "invalid pending key")
                }
            }),
            ("GET", ["v3", "teammates", user]) => (
                "GET teammate",
                match self.teammate(user) {
                    Some(t) => ResponseTemplate::new(200).set_body_json(self.detail(t)),
                    None => errors(404, Some("username"), "username not found"),
                },
            ),
            ("PATCH", ["v3", "teammates", user]) => ("PATCH teammate", self.patch(user, req)),
            ("DELETE", ["v3", "teammates", user]) => ("DELETE teammate", {
                let before = self.teammates.len();
                self.teammates.retain(|t| t.username != *user);
                self.access.remove(*user);
                if self.teammates.len() < before {
                    ResponseTemplate::new(204)
                } else {
                    errors(404, Some("username"), "username not found")
                }
            }),
            ("GET", ["v3", "teammates", user, "subuser_access"]) => {
                ("GET subuser_access", self.subuser_access(user, req))
            }
            ("GET", ["v3", "subusers"]) => ("GET subusers", {
                let (offset, limit) = paging(req);
                ResponseTemplate::new(200).set_body_json(json!(
                    self.subusers
                        .iter()
                        .skip(offset)
                        .take(limit)
                        .collect::<Vec<_>>()
                ))
            }),
            _ => ("other", errors(404, None, "not found")),
        };
        *self.requests.entry(route.to_string()).or_default() += 1;
        let mut resp = resp.set_delay(self.latency);
        for (k, v) in headers {
            resp = resp.insert_header(k, v.as_str());
        }
        resp
    }

    fn detail(&self, t: &Teammate) -> Value {
        let mut t = t.clone();
        if t.holds_all_scopes() {
            t.scopes = SCOPES
                .iter()
                .map(|s| s.to_string())
                .chain(["2fa_exempt".to_string()])
                .collect();
        }
        serde_json::to_value(t).unwrap_or_default()
    }

    fn list_teammates(&self, req: &Request) -> ResponseTemplate {
        let (offset, limit) = paging(req);
        let page: Vec<Value> = self
            .teammates
            .iter()
            .skip(offset)
            .take(limit)
            .map(|t| {
                let mut v = serde_json::to_value(t).unwrap_or_default();
                if let Some(o) = v.as_object_mut() {
                    o.remove("scopes");
                }
                v
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"result": page}))
    }

    fn patch(&mut self, user: &str, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let is_admin = body["is_admin"].as_bool().unwrap_or(false);
        let Some(scopes) = body["scopes"].as_array() else {
            return errors(400, Some("scopes"), "scopes are required");
        };
        let scopes: Vec<String> = scopes
            .iter()
            .filter_map(|s| s.as_str().map(String::from))
            .collect();
        if is_admin && !scopes.is_empty() {
            return errors(400, Some("scopes"), "scopes must be empty for admins");
        }
        if scopes.iter().any(|s| AUTO_SCOPES.contains(&s.as_str())) {
            return errors(
                400,
                Some("scopes"),
                "invalid or unassignable scopes were given",
            );
        }
        if scopes
            .iter()
            .any(|s| !SCOPES.contains(&s.as_str()) && !s.starts_with("mc."))
        {
            return errors(
                400,
                Some("scopes"),
                "one or more of given scopes are invalid",
            );
        }
        let Some(t) = self.teammates.iter_mut().find(|t| t.username == user) else {
            return errors(404, Some("username"), "username not found");
        };
        let auto: Vec<String> = t
            .scopes
            .iter()
            .filter(|s| AUTO_SCOPES.contains(&s.as_str()))
            .cloned()
            .collect();
        t.scopes = scopes.into_iter().chain(auto).collect();
        t.is_admin = is_admin;
        ResponseTemplate::new(200).set_body_json(serde_json::to_value(&*t).unwrap_or_default())
    }

    fn invite(&mut self, req: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
        let email = body["email"].as_str().unwrap_or_default().to_string();
        if !(email.contains('@') && email.contains('.')) {
            return errors(400, Some("email"), "invalid email");
        }
        let is_admin = body["is_admin"].as_bool().unwrap_or(false);
        let scopes: Vec<String> = body["scopes"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        if scopes.iter().any(|s| !SCOPES.contains(&s.as_str())) {
            return errors(
                400,
                Some("scopes"),
                "invalid or unassignable scopes were given",
            );
        }
        let token = format!("inv{:07}", self.next_token);
        self.next_token += 1;
        let invite = PendingInvite {
            token,
            email,
            scopes,
            is_admin,
            expiration_date: Some(1_900_000_000),
        };
        self.pending.push(invite.clone());
        ResponseTemplate::new(201).set_body_json(json!({"token": invite.token, "email": invite.email, "scopes": invite.scopes, "is_admin": invite.is_admin}))
    }

    fn subuser_access(&self, user: &str, req: &Request) -> ResponseTemplate {
        if self.teammate(user).is_none() {
            return errors(404, Some("username"), "username not found");
        }
        let after: u64 = query(req, "after_subuser_id")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let limit: usize = query(req, "limit")
            .and_then(|s| s.parse().ok())
            .unwrap_or(100)
            .min(500);
        let ids: Vec<u64> = match self.teammate(user) {
            Some(t) if t.holds_all_scopes() => self.subusers.iter().map(|s| s.id).collect(),
            _ => self.access.get(user).cloned().unwrap_or_default(),
        };
        let mut visible: Vec<&Subuser> = self
            .subusers
            .iter()
            .filter(|s| ids.contains(&s.id) && s.id > after)
            .collect();
        visible.sort_by_key(|s| s.id);
        let more = visible.len() > limit;
        let page: Vec<Value> = visible
            .iter()
            .take(limit)
            .map(|s| json!({"id": s.id, "username": s.username, "email": s.email, "disabled": s.disabled, "permission_type": "restricted", "scopes": ["stats.read"]}))
            .collect();
        let next = if more {
            json!(visible[limit - 1].id)
        } else {
            Value::Null
        };
        ResponseTemplate::new(200).set_body_json(json!({
            "has_restricted_subuser_access": true,
            "subuser_access": page,
            "_metadata": {"next_params": {"limit": limit, "after_subuser_id": next, "username": ""}}
        }))
    }
}

fn paging(req: &Request) -> (usize, usize) {
    let offset = query(req, "offset")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let limit = query(req, "limit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(500)
        .min(500);
    (offset, limit)
}

impl SimHandler for SimState {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        self.answer(req)
    }
}
