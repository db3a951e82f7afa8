//! What a connector can do, computed once from its syncers: the capabilities document
//! (`capabilities` in the CLI) and, built from it, service mode's Hello.

use serde::{Deserialize, Serialize};

use super::{Connector, ConnectorMetadata};
use crate::account::CredentialOption;
use crate::action::ActionSchema;
use crate::model::{ResourceType, TraitKind};
use crate::provision::GrantOnly;
use crate::schema::FieldSchema;
use crate::syncer::ResourceSyncer;

/// A capability, named as upstream names them; ordered by upstream's wire value, which
/// [`Capability::code`] returns (how Hello sends them, sorted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Capability {
    /// Entitlements of the type can be granted and revoked.
    #[serde(rename = "CAPABILITY_PROVISION")]
    Provision,
    /// Resources of the type are synced.
    #[serde(rename = "CAPABILITY_SYNC")]
    Sync,
    /// Accounts of the type can be created.
    #[serde(rename = "CAPABILITY_ACCOUNT_PROVISIONING")]
    AccountProvisioning,
    /// Resources of the type can be deleted.
    #[serde(rename = "CAPABILITY_RESOURCE_DELETE")]
    ResourceDelete,
    /// The connector has actions (connector-wide only).
    #[serde(rename = "CAPABILITY_ACTIONS")]
    Actions,
    /// Resources of the type can be fetched one by one, for targeted syncs.
    #[serde(rename = "CAPABILITY_TARGETED_SYNC")]
    TargetedSync,
    /// Service mode accepts targeted syncs (connector-wide, when a type has
    /// [`Capability::TargetedSync`]).
    #[serde(rename = "CAPABILITY_SERVICE_MODE_TARGETED_SYNC")]
    ServiceModeTargetedSync,
}

impl Capability {
    /// Upstream's `c1.connector.v2.Capability` value.
    ///
    /// ```
    /// use connector_sdk::connector::Capability;
    /// assert_eq!(Capability::TargetedSync.code(), 11);
    /// assert_eq!(Capability::ServiceModeTargetedSync.code(), 13);
    /// ```
    pub fn code(self) -> i32 {
        match self {
            Capability::Provision => 1,
            Capability::Sync => 2,
            Capability::AccountProvisioning => 5,
            Capability::ResourceDelete => 8,
            Capability::Actions => 10,
            Capability::TargetedSync => 11,
            Capability::ServiceModeTargetedSync => 13,
        }
    }
}

/// The capabilities of one resource type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceTypeCapabilities {
    /// The resource type id.
    pub resource_type: String,
    /// Its display name.
    pub display_name: String,
    /// Its description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The traits of its resources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub traits: Vec<TraitKind>,
    /// Whether the type has no entitlements or grants to list.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_entitlements_and_grants: bool,
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
#[non_exhaustive]
pub struct Capabilities {
    /// The connector.
    pub connector: ConnectorMetadata,
    /// What the connector can do as a whole: every capability of a type, plus
    /// [`Capability::Actions`] and [`Capability::ServiceModeTargetedSync`], sorted.
    pub connector_capabilities: Vec<Capability>,
    /// Per resource type, sorted by type id (as upstream's Hello).
    pub resource_types: Vec<ResourceTypeCapabilities>,
    /// The declared actions.
    pub actions: Vec<ActionSchema>,
}

impl ResourceTypeCapabilities {
    /// The resource type these capabilities are of.
    pub fn resource_type(&self) -> ResourceType {
        let mut rt = ResourceType::new(&self.resource_type, &self.display_name);
        rt.description = self.description.clone();
        rt.traits = self.traits.clone();
        rt.skip_entitlements_and_grants = self.skip_entitlements_and_grants;
        rt
    }
}

/// Computes the capabilities document of `connector`: the one function behind the CLI's
/// `capabilities` JSON and service mode's Hello.
pub fn capabilities(connector: &dyn Connector) -> Capabilities {
    let mut resource_types: Vec<ResourceTypeCapabilities> = connector
        .syncers()
        .iter()
        .map(|s| type_capabilities(s.as_ref()))
        .collect();
    resource_types.sort_by(|a, b| a.resource_type.cmp(&b.resource_type));
    let actions: Vec<ActionSchema> = connector.actions().iter().map(|a| a.schema()).collect();
    let mut all: std::collections::BTreeSet<Capability> = resource_types
        .iter()
        .flat_map(|t| t.capabilities.iter().copied())
        .collect();
    if !actions.is_empty() {
        all.insert(Capability::Actions);
    }
    if all.contains(&Capability::TargetedSync) {
        all.insert(Capability::ServiceModeTargetedSync);
    }
    Capabilities {
        connector: connector.metadata(),
        connector_capabilities: all.into_iter().collect(),
        resource_types,
        actions,
    }
}

fn type_capabilities(s: &dyn ResourceSyncer) -> ResourceTypeCapabilities {
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
        description: rt.description,
        traits: rt.traits,
        skip_entitlements_and_grants: rt.skip_entitlements_and_grants,
        capabilities: caps,
        credential_options,
        account_schema,
        grant_only_entitlements,
    }
}
