//! A simulated SCIM 2.0 tenant (RFC 7643/7644) on a loopback port: `/Users` and `/Groups`
//! listed (paged, filtered), read, created, patched, replaced and deleted; roles on the
//! user (`roles`); a user's groups on the user (`groups`, read-only); RFC 7644 error
//! bodies. A [`ScimShape`] sets what real servers differ in (base path, PATCH answered
//! 204 or 200, page cap, a lying `totalResults`, latency, authentication), a
//! [`Population`] fills a large tenant deterministically, and an application's simulator
//! keeps only its own rules, as [`TenantHooks`], and its own routes in front.
//!
//! ```
//! use connector_sdk::testing::SimServer;
//! use connector_sdk::testing::scim::{PatchAnswer, Population, ScimShape, ScimTenant};
//! use serde_json::{Value, json};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let shape = ScimShape::default().base_path("/scim/v1").patch_answer(PatchAnswer::NoContent).bearer("t0ken");
//! let tenant = ScimTenant::new(shape).with_population(&Population::new(30, 3, 45).seed(7));
//! let sim = SimServer::start(tenant).await;
//! connector_sdk::http::ensure_tls_provider();
//! let http = reqwest::Client::new();
//! let users = format!("{}/scim/v1/Users", sim.uri());
//! let page: Value = http.get(&users).query(&[("count", "10"), ("startIndex", "11")])
//!     .bearer_auth("t0ken").send().await.unwrap().json().await.unwrap();
//! assert_eq!((page["totalResults"].as_u64(), page["Resources"][0]["id"].as_str()), (Some(30), Some("u000010")));
//!
//! let group = sim.state().groups[0].id.clone();
//! let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!     "Operations": [{"op": "add", "path": "members", "value": [{"value": "u000029"}]}]});
//! let res = http.patch(format!("{}/scim/v1/Groups/{group}", sim.uri()))
//!     .bearer_auth("t0ken").json(&body).send().await.unwrap();
//! assert_eq!(res.status(), 204);
//! assert!(sim.state().members(&group).contains(&"u000029".to_string()));
//! assert_eq!(sim.state().count("PATCH Group"), 1);
//! # });
//! ```

mod answer;
mod filter;
mod hooks;
mod list;
mod patch;
mod path;
mod population;
mod routes;
mod shape;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use wiremock::{Request, ResponseTemplate};

use crate::scim::{Group, User};

pub use answer::{error_answer, scim_answer, scim_error};
pub use hooks::{NoHooks, ResourceKind, TenantHooks};
pub use population::{GENERATED_AT, Population, seed_user};
pub use shape::{PatchAnswer, ScimShape, TenantAuth, TotalResults};

use super::SimHandler;
use super::oauth::TokenIssuer;

/// `Deref`/`DerefMut` from an application simulator's state to the [`ScimTenant`] field it
/// wraps, so its tests read `sim.state().users` or `.members(id)` as the tenant's: one
/// definition for every SCIM simulator.
///
/// ```
/// use connector_sdk::testing::scim::{ScimShape, ScimTenant};
///
/// struct SimState {
///     tenant: ScimTenant,
///     logins: u32,
/// }
/// connector_sdk::deref_scim_tenant!(SimState, tenant);
///
/// let state = SimState { tenant: ScimTenant::new(ScimShape::default()), logins: 0 };
/// assert!(state.users.is_empty() && state.logins == 0);
/// ```
#[macro_export]
macro_rules! deref_scim_tenant {
    ($state:ty, $field:ident) => {
        impl ::std::ops::Deref for $state {
            type Target = $crate::testing::scim::ScimTenant;

            fn deref(&self) -> &Self::Target {
                &self.$field
            }
        }

        impl ::std::ops::DerefMut for $state {
            fn deref_mut(&mut self) -> &mut Self::Target {
                &mut self.$field
            }
        }
    };
}

/// The tenant: its users and groups (in creation order, which is list order), its shape
/// and the requests it served. Serve it with [`SimServer::start`](super::SimServer::start),
/// or answer from an application's own [`SimHandler`] with [`ScimTenant::answer`].
///
/// Roles live on the user, as the multi-valued `roles` attribute (`User::extra["roles"]`);
/// a user's `groups` are computed from the groups' members when served.
#[derive(Debug, Clone)]
pub struct ScimTenant {
    /// Users, in list order.
    pub users: Vec<User>,
    /// Groups, in list order, with their members.
    pub groups: Vec<Group>,
    /// How the tenant answers.
    pub shape: ScimShape,
    /// Requests answered, by route: `GET Users` (a list), `GET User` (by id),
    /// `POST Users`, `PATCH User`, `PUT User`, `DELETE User`, the same for `Group(s)`,
    /// `token`, `unauthenticated` for requests refused with 401, and `other` for paths
    /// the tenant does not serve.
    pub requests: BTreeMap<String, u64>,
    tokens: TokenIssuer,
    next_id: u64,
}

impl Default for ScimTenant {
    fn default() -> Self {
        ScimTenant::new(ScimShape::default())
    }
}

impl ScimTenant {
    /// An empty tenant of `shape`.
    pub fn new(shape: ScimShape) -> Self {
        ScimTenant {
            users: Vec::new(),
            groups: Vec::new(),
            shape,
            requests: BTreeMap::new(),
            tokens: TokenIssuer::new("", "").with_token_prefix("scim-token-"),
            next_id: 0,
        }
    }

    /// The tenant with `population` added (see [`ScimTenant::populate`]).
    pub fn with_population(mut self, population: &Population) -> Self {
        self.populate(population);
        self
    }

    /// User `id`.
    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Group `id`.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The member ids of group `id`, in order (empty when there is no such group).
    pub fn members(&self, id: &str) -> Vec<String> {
        self.group(id)
            .map(|g| g.members.iter().map(|m| m.value.clone()).collect())
            .unwrap_or_default()
    }

    /// The `value`s of user `id`'s roles.
    pub fn roles(&self, id: &str) -> Vec<String> {
        self.user(id)
            .and_then(|u| u.extra.get("roles"))
            .and_then(|r| r.as_array())
            .map(|r| {
                r.iter()
                    .filter_map(|x| x["value"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The ids of the groups user `id` is a member of, in group order.
    pub fn groups_of(&self, id: &str) -> Vec<String> {
        self.groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m.value == id))
            .map(|g| g.id.clone())
            .collect()
    }

    /// Requests answered on `route` (see [`ScimTenant::requests`]).
    pub fn count(&self, route: &str) -> u64 {
        self.requests.get(route).copied().unwrap_or(0)
    }

    /// Answers `req` as this tenant, with an application's `hooks` (`&mut NoHooks` for
    /// plain SCIM): the token endpoint and authentication of the shape, then the SCIM
    /// routes under its base path; anything else is a SCIM 404. Every answer is delayed by
    /// the shape's latency.
    pub fn answer(&mut self, req: &Request, hooks: &mut dyn TenantHooks) -> ResponseTemplate {
        let (route, answer) = self.route(req, hooks);
        *self.requests.entry(route).or_default() += 1;
        answer.set_delay(self.shape.latency)
    }
}

impl SimHandler for ScimTenant {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        self.answer(req, &mut NoHooks)
    }
}
