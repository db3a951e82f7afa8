//! A simulated SCIM application (feature `testing`): the SDK's SCIM tenant
//! ([`ScimTenant`]) in the shape a provider file describes (its base path, groups on the
//! user when the file reads them there, a bearer API key), recording every PATCH body so
//! tests can check what was sent. For tests, the demo, the benchmark and the fault matrix.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use connector_scim::{Provider, Scim, Source, simulator::{ScimSimulator, SimState, shape_for}};
//! let slack = Provider::load(&Source::Shipped("slack".into())).unwrap();
//! let sim = ScimSimulator::start(SimState::seeded(shape_for(&slack))).await;
//! let connector = Scim::new(sim.config(slack)).unwrap();
//! let report = connector_sdk::testing::assert_conformance(&connector).await;
//! assert_eq!(report.resources_by_type["user"], 3);
//! # });
//! ```

use std::sync::MutexGuard;

use connector_sdk::scim::{Email, Group, Member};
use connector_sdk::testing::scim::{NoHooks, Population, ScimShape, ScimTenant, seed_user};
use connector_sdk::testing::{SimHandler, SimServer};
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

use crate::config::{Credentials, ScimConfig};
use crate::provider::Provider;

/// The API key the simulated application accepts (`Authorization: Bearer …`); a test
/// credential, not a secret of any real tenant.
pub const API_KEY: &str = "scim-sim-k3y";

/// The tenant shape a provider file describes: SCIM under the path of its `apiEndpoint`
/// (`/scim/v1` for Slack, `/scim2` for Zoom, `/rest/iam/scim/v2` for SAP SuccessFactors,
/// whose host is a variable), groups listed on the user when the file reads them there
/// (`hasGroupsOnUser`), [`API_KEY`] as the bearer token, and a `remove` naming its values
/// in `value` refused (the connector must name the one member it removes).
pub fn shape_for(provider: &Provider) -> ScimShape {
    // `${VAR}`s (SAP's API server) read as a placeholder: only the path matters here.
    let mut endpoint = provider.api_endpoint.clone();
    while let Some(start) = endpoint.find("${") {
        let end = endpoint[start..]
            .find('}')
            .map_or(endpoint.len(), |e| start + e + 1);
        endpoint.replace_range(start..end, "x");
    }
    let base = url::Url::parse(&endpoint)
        .map(|u| u.path().to_string())
        .unwrap_or_else(|_| "/scim/v2".into());
    ScimShape::default()
        .base_path(&base)
        .groups_on_user(provider.user.has_groups_on_user)
        .strict_remove(true)
        .bearer(API_KEY)
}

/// The simulated application's state: the tenant (`users`, `groups`, `requests`,
/// `members`, `roles` through `Deref`) and every PATCH received.
#[derive(Debug, Clone)]
pub struct SimState {
    /// The SCIM tenant.
    pub tenant: ScimTenant,
    /// Every PATCH body received, with its path (`/scim/v1/Groups/G1`), in order.
    pub patches: Vec<(String, Value)>,
    /// Every request received, as `METHOD /path?query`, in order.
    pub log: Vec<String>,
}

connector_sdk::deref_scim_tenant!(SimState, tenant);

impl SimHandler for SimState {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        let query = req
            .url
            .query()
            .filter(|q| !q.is_empty())
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        self.log
            .push(format!("{} {}{query}", req.method, req.url.path()));
        if req.method.as_str() == "PATCH" {
            let body = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
            self.patches.push((req.url.path().to_string(), body));
        }
        self.tenant.answer(req, &mut NoHooks)
    }
}

impl SimState {
    /// `tenant` as it is.
    pub fn new(tenant: ScimTenant) -> Self {
        SimState {
            tenant,
            patches: Vec::new(),
            log: Vec::new(),
        }
    }

    /// Three users and two groups in `shape`: Ada (`U1`, her primary email second in
    /// `emails`, role `admin`), Bob (`U2`, role `member`), Cy (`U3`, inactive, no role);
    /// Engineering (`G1`: Ada and Bob) and Empty (`G2`).
    pub fn seeded(shape: ScimShape) -> Self {
        let mut tenant = ScimTenant::new(shape);
        let role = |v: &str| json!([{"value": v, "display": format!("{v} role")}]);
        let mut ada = seed_user("U1", "ada@example.com", Some("Ada"), Some("Lovelace"));
        ada.emails.insert(
            0,
            Email {
                value: "ada.old@example.com".into(),
                ..Email::default()
            },
        );
        ada.extra.insert("roles".into(), role("admin"));
        let mut bob = seed_user("U2", "bob@example.com", Some("Bob"), Some("Babbage"));
        bob.extra.insert("roles".into(), role("member"));
        let mut cy = seed_user("U3", "cy@example.com", Some("Cy"), Some("Cohen"));
        cy.active = Some(false);
        tenant.users = vec![ada, bob, cy];
        let group = |id: &str, name: &str, members: &[&str]| Group {
            id: id.into(),
            display_name: name.into(),
            members: members.iter().map(|m| Member::user(*m)).collect(),
            ..Group::default()
        };
        tenant.groups = vec![
            group("G1", "Engineering", &["U1", "U2"]),
            group("G2", "Empty", &[]),
        ];
        SimState::new(tenant)
    }

    /// A large tenant in `shape` (see [`Population`]), for benchmarks and paging tests.
    pub fn large(shape: ScimShape, population: &Population) -> Self {
        SimState::new(ScimTenant::new(shape).with_population(population))
    }
}

/// A running simulated application on 127.0.0.1.
pub struct ScimSimulator {
    server: SimServer<SimState>,
}

impl ScimSimulator {
    /// Serves `state` on a free loopback port.
    pub async fn start(state: SimState) -> Self {
        ScimSimulator {
            server: SimServer::start(state).await,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The SCIM base URL: [`uri`](Self::uri) and the tenant's base path.
    pub fn base_url(&self) -> String {
        self.base_url_at(&self.uri())
    }

    /// The SCIM base URL on `uri` (a proxy in front of this simulator).
    pub fn base_url_at(&self, uri: &str) -> String {
        format!(
            "{}{}",
            uri.trim_end_matches('/'),
            self.state().shape.base_path
        )
    }

    /// The state (locked while the guard lives: do not hold it across a request).
    pub fn state(&self) -> MutexGuard<'_, SimState> {
        self.server.state()
    }

    /// A configuration of `provider` pointed at this simulator with [`API_KEY`].
    pub fn config(&self, provider: Provider) -> ScimConfig {
        self.config_at(provider, &self.uri())
    }

    /// A configuration of `provider` pointed at `uri` (a proxy in front of this
    /// simulator) with [`API_KEY`].
    pub fn config_at(&self, provider: Provider, uri: &str) -> ScimConfig {
        let credentials = Credentials {
            api_key: Some(API_KEY.to_string().into()),
            ..Credentials::default()
        };
        let base = self.base_url_at(uri);
        ScimConfig::with_env(provider, credentials, Some(&base), &|_| None)
            .expect("the simulator's base URL is an absolute loopback URL")
    }
}
