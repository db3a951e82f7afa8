//! The connector contract: the [`Connector`] trait and its metadata, the traits a
//! connector implements per resource type ([`syncer`], [`provision`], [`account`],
//! [`delete`], [`getter`], [`action`]), what a sync hands them ([`context`]), the
//! capabilities computed from them ([`capabilities`](mod@capabilities)), and the [`handle`] every runtime
//! calls them through. Each module is also at the crate root (`connector_sdk::syncer`, …).

pub mod account;
pub mod action;
pub mod capabilities;
pub mod context;
pub mod delete;
pub mod getter;
pub mod handle;
pub mod provision;
pub mod read_only;
pub mod syncer;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::action::ActionHandler;
use crate::error::{Error, Result};
use crate::syncer::ResourceSyncer;

/// Who the connector is: shown by the CLI and stored in capabilities.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectorMetadata {
    /// Short machine name, e.g. `"valimail"`.
    pub name: String,
    /// Name shown to people, e.g. `"Valimail"`.
    pub display_name: String,
    /// What it connects to and what it does.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

impl ConnectorMetadata {
    /// Metadata with a name, a display name and no description.
    pub fn new(name: impl Into<String>, display_name: impl Into<String>) -> Self {
        ConnectorMetadata {
            name: name.into(),
            display_name: display_name.into(),
            description: String::new(),
        }
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }
}

/// A connector: metadata, a credentials check, one syncer per resource type, and actions.
///
/// Dyn-compatible, so a binary can hold a `Box<dyn Connector>`. See the crate root for a
/// complete example.
#[async_trait]
pub trait Connector: Send + Sync {
    /// Who the connector is.
    fn metadata(&self) -> ConnectorMetadata;

    /// Checks the configuration and credentials with one cheap call to the SaaS.
    async fn validate(&self) -> Result<()>;

    /// One syncer per resource type, in the order types should be listed.
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>>;

    /// The custom actions. Defaults to none.
    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        Vec::new()
    }
}

/// Finds the syncer of resource type `type_id` (building the connector's syncers; a
/// runtime holds a [`ConnectorHandle`](crate::handle::ConnectorHandle) and asks it instead).
pub fn syncer_for(connector: &dyn Connector, type_id: &str) -> Result<Arc<dyn ResourceSyncer>> {
    let syncers = connector.syncers();
    match syncers.iter().position(|s| s.resource_type().id == type_id) {
        Some(i) => Ok(syncers[i].clone()),
        None => Err(unknown_type(
            type_id,
            syncers.iter().map(|s| s.resource_type().id),
        )),
    }
}

/// Finds the action named `name` (building the connector's actions; a runtime asks its
/// [`ConnectorHandle`](crate::handle::ConnectorHandle) instead).
pub fn action_for(connector: &dyn Connector, name: &str) -> Result<Arc<dyn ActionHandler>> {
    let actions = connector.actions();
    match actions.iter().position(|a| a.schema().name == name) {
        Some(i) => Ok(actions[i].clone()),
        None => Err(unknown_action(
            name,
            actions.iter().map(|a| a.schema().name),
        )),
    }
}

/// The error of a resource type the connector does not have, naming those it has.
pub(crate) fn unknown_type(type_id: &str, known: impl Iterator<Item = String>) -> Error {
    Error::invalid_argument(format!(
        "unknown resource type {type_id:?}; this connector has [{}]",
        known.collect::<Vec<_>>().join(", ")
    ))
}

/// The error of an action the connector does not have, naming those it has.
pub(crate) fn unknown_action(name: &str, known: impl Iterator<Item = String>) -> Error {
    Error::invalid_argument(format!(
        "unknown action {name:?}; this connector has [{}]",
        known.collect::<Vec<_>>().join(", ")
    ))
}

pub use capabilities::{Capabilities, Capability, ResourceTypeCapabilities, capabilities};
