//! # connector-scim
//!
//! A generic SCIM 2.0 connector on `connector-sdk`: any application that speaks SCIM,
//! described by a **provider file** in the format of ConductorOne's `baton-scim` (read
//! unchanged, so a team switching binaries keeps its files). The file says where the API
//! is, how to authenticate, where each attribute is in a user and a group (paths in
//! RFC 9535 JSONPath, or baton-scim's bare form), how pages are counted, and which PATCH
//! bodies grant and revoke.
//!
//! What it syncs: users (status from `active`, the email, the name, `userName` as the
//! login), groups with memberships read from the group or from the user
//! (`hasGroupsOnUser`), and the roles users hold. What it changes, where the file says
//! how: group membership and roles (grant and revoke, idempotent), and, where the file
//! allows provisioning and reads users by the core attributes, account creation
//! (`POST /Users`), deletion and the `enable_user` / `disable_user` actions. Pages after
//! the first are fetched concurrently; one bad record or a missing paging field is a
//! warning, not a failed sync.
//!
//! Nine provider files ship in the crate ([`provider::SHIPPED`], `--service-provider`);
//! `docs/connectors/scim.md` says how to write one and every difference from baton-scim.
//!
//! ```
//! use connector_scim::provider::{Provider, Source};
//! let slack = Provider::load(&Source::Shipped("slack".into())).unwrap();
//! assert!(slack.user.roles.is_some());
//! ```
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `cli` (default) | the clap configuration and `ConnectorConfig` impl the `baton-scim` binary runs |
//! | `testing` | the simulated SCIM application ([`simulator`]: the SDK's tenant in a provider file's shape) and the SDK's test kit, for tests, the demo and the benchmark |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
pub mod client;
pub mod config;
pub mod groups;
pub mod path;
pub mod provider;
pub mod roles;
#[cfg(feature = "testing")]
pub mod simulator;
pub mod users;

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::action::ActionHandler;
use connector_sdk::connector::ConnectorMetadata;
use connector_sdk::{Connector, ResourceSyncer, Result};

pub use client::ScimApi;
#[cfg(feature = "cli")]
pub use config::ScimArgs;
pub use config::{Credentials, ScimConfig};
pub use provider::{Provider, Source};

/// The SCIM connector.
#[derive(Debug)]
pub struct Scim {
    api: ScimApi,
}

impl Scim {
    /// A connector for `config` (no network until used).
    pub fn new(config: ScimConfig) -> Result<Self> {
        Ok(Self::with_api(ScimApi::new(&config)?))
    }

    /// A connector over a ready client.
    pub fn with_api(api: ScimApi) -> Self {
        Scim { api }
    }
}

#[async_trait]
impl Connector for Scim {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("scim", "SCIM").with_description(format!(
            "Users, groups and roles of a SCIM 2.0 application, from the provider file {}",
            self.api.provider().file
        ))
    }

    /// Reads one user (`GET /Users?count=1`).
    async fn validate(&self) -> Result<()> {
        self.api.list(client::USERS, 1, 1).await.map(|_| ())
    }

    /// Users; groups when the file maps them; roles when it maps `user.roles`.
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        let p = self.api.provider();
        let mut out: Vec<Arc<dyn ResourceSyncer>> =
            vec![Arc::new(users::UserSyncer::new(self.api.clone()))];
        if p.group.is_some() {
            out.push(Arc::new(groups::GroupSyncer::new(self.api.clone())));
        }
        if p.user.roles.is_some() {
            out.push(Arc::new(roles::RoleSyncer::new(self.api.clone())));
        }
        out
    }

    /// `enable_user` and `disable_user`, where the file allows account changes.
    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        if !users::UserSyncer::manages_accounts(self.api.provider()) {
            return Vec::new();
        }
        vec![
            Arc::new(actions::AccountStatus::new(self.api.clone(), true)),
            Arc::new(actions::AccountStatus::new(self.api.clone(), false)),
        ]
    }
}
