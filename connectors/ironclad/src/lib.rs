//! # connector-ironclad
//!
//! An [Ironclad](https://ironcladapp.com) connector on `connector-sdk`: SCIM users as
//! accounts and groups with a `member` entitlement; OAuth 2.0 client credentials (read-only
//! or full scopes) with every call made as an administrator (`x-as-user-email`); group
//! membership grant and revoke (PATCH `add`/`remove` with a `value` array, never a bare
//! remove or a `replace` of members), and account creation with a generated password
//! returned as a secret credential. No deprovisioning.
//!
//! See `shared/specs/ironclad.md` for the API behaviour this follows.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `cli` (default) | the clap configuration and `ConnectorConfig` impl the `baton-…` binary runs |
//! | `testing` | the simulated Ironclad tenant (a stateful fake on loopback), for tests and the demo |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod groups;
#[cfg(feature = "testing")]
pub mod simulator;
pub mod users;

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::connector::ConnectorMetadata;
use connector_sdk::read_only::ReadOnly;
use connector_sdk::{Connector, ResourceSyncer, Result};

pub use client::IroncladClient;
#[cfg(feature = "cli")]
pub use config::IroncladArgs;
pub use config::{Environment, IroncladConfig};

/// The Ironclad connector.
#[derive(Debug)]
pub struct Ironclad {
    client: IroncladClient,
    read_only: bool,
}

impl Ironclad {
    /// A connector for `config` (no network until used).
    pub fn new(config: IroncladConfig) -> Result<Self> {
        Ok(Self::with_client(
            IroncladClient::new(&config)?,
            config.read_only,
        ))
    }

    /// A connector over a ready client.
    pub fn with_client(client: IroncladClient, read_only: bool) -> Self {
        Ironclad { client, read_only }
    }
}

#[async_trait]
impl Connector for Ironclad {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("ironclad", "Ironclad")
            .with_description("Ironclad users and groups over SCIM, with group membership provisioning and account creation")
    }

    /// Mints a token and reads one user.
    async fn validate(&self) -> Result<()> {
        self.client.list_users(1, 1).await.map(|_| ())
    }

    /// Users and groups; with `--ironclad-read-only` both are wrapped in [`ReadOnly`], so no
    /// provisioning or account creation is offered.
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        let syncers: Vec<Arc<dyn ResourceSyncer>> = vec![
            Arc::new(users::UserSyncer::new(self.client.clone())),
            Arc::new(groups::GroupSyncer::new(self.client.clone())),
        ];
        if self.read_only {
            ReadOnly::wrap_all(syncers)
        } else {
            syncers
        }
    }
}
