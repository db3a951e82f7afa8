//! # connector-onepassword
//!
//! A [1Password](https://1password.com) connector on `connector-sdk`, driving the official
//! `op` CLI (1Password has no admin API): the account, users, groups (`member`, `manager`)
//! and vaults (`member` plus the permissions of the account's model, three `allow_*` or
//! twelve granular on BUSINESS accounts); group membership and vault permission grant and
//! revoke for users and groups, by id, with op's permission dependencies. No account
//! creation, no deprovisioning.
//!
//! Every upstream bug listed in `shared/specs/onepassword.md` §9 is avoided; secrets never
//! reach argv, logs or errors (see [`client`]).
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `cli` (default) | the clap configuration and `ConnectorConfig` impl the `baton-…` binary runs |
//! | `testing` | a fake `op` (the `fake-op` binary) and a simulated account, for tests and the demo |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod account;
pub mod client;
pub mod config;
pub mod groups;
pub mod permissions;
pub mod resources;
#[cfg(feature = "testing")]
pub mod simulator;
pub mod users;
pub mod vaults;

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::command::{CommandRunner, ProcessRunner};
use connector_sdk::connector::ConnectorMetadata;
use connector_sdk::{Connector, ResourceSyncer, Result};

pub use client::OpClient;
#[cfg(feature = "cli")]
pub use config::OnePasswordArgs;
pub use config::{Auth, OnePasswordConfig};

/// The 1Password connector.
#[derive(Debug)]
pub struct OnePassword {
    client: Arc<OpClient>,
    limit: Vec<String>,
}

impl OnePassword {
    /// A connector running the `op` of `config.op_path` (nothing runs until used).
    pub fn new(config: OnePasswordConfig) -> Self {
        let runner = Arc::new(
            ProcessRunner::new(config.op_path.clone()).env_allow_list(client::op_env_allow_list()),
        );
        Self::with_runner(config, runner)
    }

    /// A connector running `op` through `runner` (tests inject a fake).
    pub fn with_runner(config: OnePasswordConfig, runner: Arc<dyn CommandRunner>) -> Self {
        OnePassword {
            client: Arc::new(OpClient::new(runner, config.auth)),
            limit: config.limit_vault_permissions,
        }
    }

    /// The `op` client (to tune waits in tests).
    pub fn client(&self) -> &Arc<OpClient> {
        &self.client
    }
}

#[async_trait]
impl Connector for OnePassword {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("1password", "1Password")
            .with_description("Connector that syncs users, groups, accounts, vaults and permissions from 1Password to Baton.")
    }

    /// `op --version`, sign-in when needed, then `op whoami`.
    async fn validate(&self) -> Result<()> {
        self.client.check_version().await?;
        self.client
            .exec("checking the signed-in account (op whoami)", &["whoami"])
            .await
            .map(|_| ())
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![
            Arc::new(account::AccountSyncer::new(self.client.clone())),
            Arc::new(users::UserSyncer::new(self.client.clone())),
            Arc::new(groups::GroupSyncer::new(self.client.clone())),
            Arc::new(vaults::VaultSyncer::new(
                self.client.clone(),
                self.limit.clone(),
            )),
        ]
    }
}
