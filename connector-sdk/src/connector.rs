//! The [`Connector`] trait, its metadata, and the computed capabilities document.

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::account::CredentialOption;
use crate::action::{ActionHandler, ActionSchema};
use crate::error::{Error, Result};
use crate::provision::GrantOnly;
use crate::schema::FieldSchema;
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

/// Finds the syncer of resource type `type_id`.
pub fn syncer_for(connector: &dyn Connector, type_id: &str) -> Result<Arc<dyn ResourceSyncer>> {
    let syncers = connector.syncers();
    let known: Vec<String> = syncers.iter().map(|s| s.resource_type().id).collect();
    syncers
        .into_iter()
        .find(|s| s.resource_type().id == type_id)
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "unknown resource type {type_id:?}; this connector has [{}]",
                known.join(", ")
            ))
        })
}

/// Finds the action named `name`.
pub fn action_for(connector: &dyn Connector, name: &str) -> Result<Arc<dyn ActionHandler>> {
    let actions = connector.actions();
    let known: Vec<String> = actions.iter().map(|a| a.schema().name).collect();
    actions
        .into_iter()
        .find(|a| a.schema().name == name)
        .ok_or_else(|| {
            Error::invalid_argument(format!(
                "unknown action {name:?}; this connector has [{}]",
                known.join(", ")
            ))
        })
}

/// One capability of a resource type, named as upstream names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Capability {
    /// Resources of the type are synced.
    #[serde(rename = "CAPABILITY_SYNC")]
    Sync,
    /// Entitlements of the type can be granted and revoked.
    #[serde(rename = "CAPABILITY_PROVISION")]
    Provision,
    /// Accounts of the type can be created.
    #[serde(rename = "CAPABILITY_ACCOUNT_PROVISIONING")]
    AccountProvisioning,
    /// Resources of the type can be deleted.
    #[serde(rename = "CAPABILITY_RESOURCE_DELETE")]
    ResourceDelete,
    /// Resources of the type can be fetched one by one, for targeted syncs.
    #[serde(rename = "CAPABILITY_TARGETED_SYNC")]
    TargetedSync,
}

/// The capabilities of one resource type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceTypeCapabilities {
    /// The resource type id.
    pub resource_type: String,
    /// Its display name.
    pub display_name: String,
    /// What the connector can do with it.
    pub capabilities: Vec<Capability>,
    /// For account provisioning: the supported credential options.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credential_options: Vec<CredentialOption>,
    /// For account provisioning: the profile fields account creation takes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_schema: Vec<FieldSchema>,
    /// For provisioning: the slugs of the entitlements that can be granted but not revoked
    /// (`["*"]`: all of them), from [`Provisioner::grant_only`](crate::provision::Provisioner::grant_only).
    /// Only in this JSON document: upstream's `ConnectorMetadata` protobuf (what service
    /// mode sends) has no field for it.
    #[serde(default, skip_serializing_if = "GrantOnly::is_none")]
    pub grant_only_entitlements: GrantOnly,
}

/// What a connector can do, computed from its syncers and actions.
///
/// ```
/// # #[cfg(feature = "testing")] {
/// use connector_sdk::connector::{capabilities, Capability};
/// use connector_sdk::testing::MemoryConnector;
///
/// let caps = capabilities(&MemoryConnector::seeded());
/// let group = caps.resource_types.iter().find(|t| t.resource_type == "group").unwrap();
/// assert!(group.capabilities.contains(&Capability::Provision));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Capabilities {
    /// The connector.
    pub connector: ConnectorMetadata,
    /// Per resource type.
    pub resource_types: Vec<ResourceTypeCapabilities>,
    /// The declared actions.
    pub actions: Vec<ActionSchema>,
}

/// Computes the capabilities document of `connector`.
pub fn capabilities(connector: &dyn Connector) -> Capabilities {
    let resource_types = connector
        .syncers()
        .iter()
        .map(|s| {
            let rt = s.resource_type();
            let mut caps = vec![Capability::Sync];
            let mut grant_only_entitlements = GrantOnly::none();
            if let Some(prov) = s.provisioner() {
                caps.push(Capability::Provision);
                grant_only_entitlements = prov.grant_only();
            }
            let (credential_options, account_schema) = match s.account_manager() {
                Some(am) => {
                    caps.push(Capability::AccountProvisioning);
                    (am.credential_options(), am.account_schema())
                }
                None => (Vec::new(), Vec::new()),
            };
            if s.deleter().is_some() {
                caps.push(Capability::ResourceDelete);
            }
            if s.getter().is_some() {
                caps.push(Capability::TargetedSync);
            }
            ResourceTypeCapabilities {
                resource_type: rt.id,
                display_name: rt.display_name,
                capabilities: caps,
                credential_options,
                account_schema,
                grant_only_entitlements,
            }
        })
        .collect();
    Capabilities {
        connector: connector.metadata(),
        resource_types,
        actions: connector.actions().iter().map(|a| a.schema()).collect(),
    }
}
