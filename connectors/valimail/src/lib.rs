//! # connector-valimail
//!
//! A [Valimail](https://www.valimail.com) connector on `connector-sdk`: Valimail users as
//! accounts, member types (`owner`, `member`, `marketer`, and any other value seen) as
//! roles with one `member` entitlement each; member-type grant and revoke, account
//! creation, and the `enable_user` / `disable_user` actions. No deprovisioning: Valimail's
//! API cannot delete users.
//!
//! ```no_run
//! use connector_valimail::{Valimail, ValimailConfig};
//! use secrecy::SecretString;
//!
//! # async fn demo() -> connector_sdk::Result<()> {
//! let config = ValimailConfig::new(
//!     SecretString::from("client id"),
//!     SecretString::from("app id"),
//!     "my-account",
//!     None,
//! )?;
//! let connector = Valimail::new(config)?;
//! let report = connector_sdk::sync::sync_to_file(
//!     &connector,
//!     "sync.c1z".as_ref(),
//!     &Default::default(),
//!     None,
//! )
//! .await?;
//! # Ok(()) }
//! ```
//!
//! See `shared/specs/valimail.md` for the API behaviour this follows.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `cli` (default) | the clap configuration and `ConnectorConfig` impl the `baton-…` binary runs |
//! | `testing` | the simulated Valimail tenant (a stateful fake on loopback), for tests and the demo |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod actions;
pub mod client;
pub mod config;
pub mod member_types;
#[cfg(feature = "testing")]
pub mod simulator;
pub mod users;

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::action::ActionHandler;
use connector_sdk::connector::ConnectorMetadata;
use connector_sdk::{Connector, Error, ErrorKind, ResourceSyncer, Result};

pub use client::ValimailClient;
#[cfg(feature = "cli")]
pub use config::ValimailArgs;
pub use config::ValimailConfig;

/// The Valimail connector.
pub struct Valimail {
    client: ValimailClient,
}

impl std::fmt::Debug for Valimail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Valimail")
            .field("client", &self.client)
            .finish()
    }
}

impl Valimail {
    /// A connector for `config` (no network until used).
    pub fn new(config: ValimailConfig) -> Result<Self> {
        Ok(Self::with_client(ValimailClient::new(config)?))
    }

    /// A connector over a ready client (e.g. one with a test retry policy).
    pub fn with_client(client: ValimailClient) -> Self {
        Valimail { client }
    }
}

#[async_trait]
impl Connector for Valimail {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("valimail", "Valimail")
            .with_description("Valimail users and member types, with member-type provisioning, account creation and enable/disable actions")
    }

    /// `POST /auth`, then one `GET …/Users?startIndex=1&count=1`.
    async fn validate(&self) -> Result<()> {
        match self.client.list_users(1, 1).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::new(
                ErrorKind::NotFound,
                "the Valimail account was not found: check --valimail-slug (BATON_VALIMAIL_SLUG)",
            )
            .with_http_status(404)),
            Err(e) => Err(e),
        }
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![
            Arc::new(users::UserSyncer::new(self.client.clone())),
            Arc::new(member_types::MemberTypeSyncer::new(self.client.clone())),
        ]
    }

    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        vec![
            Arc::new(actions::SetActive::new(self.client.clone(), true)),
            Arc::new(actions::SetActive::new(self.client.clone(), false)),
        ]
    }
}
