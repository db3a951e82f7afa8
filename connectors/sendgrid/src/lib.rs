//! # connector-sendgrid
//!
//! A [SendGrid](https://sendgrid.com) connector on `connector-sdk`: teammates (and pending
//! invitations) as accounts, the 197 permission scopes as roles with an `assigned`
//! entitlement, subusers as accounts with teammate → subuser access; scope grant and revoke
//! (SendGrid's full-replace PATCH, serialised per connector, never on owners or admins),
//! account creation by invitation, and deletion of teammates or pending invitations.
//!
//! Upstream's bugs are not copied (`shared/specs/sendgrid.md` §9): offsets advance by the
//! page length, each teammate's detail is read once per sync, one grant per
//! (scope, teammate), no subuser calls when subusers are ignored, no 4xx ever treated as
//! success, and a real key check in `validate`.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `cli` (default) | the clap configuration and `ConnectorConfig` impl the `baton-…` binary runs |
//! | `testing` | the simulated SendGrid tenant (a stateful fake on loopback), for tests and the demo |
#![cfg_attr(docsrs, feature(doc_cfg))]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod config;
pub mod scope_list;
pub mod scopes;
#[cfg(feature = "testing")]
pub mod simulator;
pub mod subusers;
pub mod teammates;

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::connector::ConnectorMetadata;
use connector_sdk::{Connector, ResourceSyncer, Result};

pub use client::SendgridClient;
#[cfg(feature = "cli")]
pub use config::SendgridArgs;
pub use config::{Region, SendgridConfig};

/// The SendGrid connector.
#[derive(Debug)]
pub struct Sendgrid {
    client: SendgridClient,
    ignore_subusers: bool,
    scopes: Arc<scopes::ScopeSyncer>,
}

impl Sendgrid {
    /// A connector for `config` (no network until used).
    pub fn new(config: SendgridConfig) -> Result<Self> {
        Ok(Self::with_client(
            SendgridClient::new(&config)?,
            config.ignore_subusers,
        ))
    }

    /// A connector over a ready client.
    pub fn with_client(client: SendgridClient, ignore_subusers: bool) -> Self {
        Sendgrid {
            scopes: Arc::new(scopes::ScopeSyncer::new(client.clone())),
            client,
            ignore_subusers,
        }
    }
}

#[async_trait]
impl Connector for Sendgrid {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("sendgrid", "Sendgrid")
            .with_description("Connector syncing Sendgrid teammates to Baton.")
    }

    /// One cheap authenticated call: `GET /v3/teammates?limit=1&offset=0`.
    async fn validate(&self) -> Result<()> {
        self.client.list_teammates(0, 1).await.map(|_| ())
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![
            Arc::new(teammates::TeammateSyncer::new(
                self.client.clone(),
                self.ignore_subusers,
            )),
            self.scopes.clone(),
            Arc::new(subusers::SubuserSyncer::new(
                self.client.clone(),
                self.ignore_subusers,
            )),
        ]
    }
}
