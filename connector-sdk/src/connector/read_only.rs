//! [`ReadOnly`]: a syncer that lists and reads but never changes the SaaS.
//!
//! A connector with a read-only switch (`--ironclad-read-only`, a credential that may only
//! read) wraps its syncers instead of threading a flag through every constructor: the
//! wrapper delegates listing and targeted reads and answers `None` for the provisioner,
//! the account manager and the deleter, so the capabilities document, the CLI and service
//! mode all see a connector that cannot write.
//!
//! ```
//! use std::sync::Arc;
//! use connector_sdk::read_only::ReadOnly;
//! use connector_sdk::testing::MemoryConnector;
//! use connector_sdk::Connector;
//!
//! let syncers = ReadOnly::wrap_all(MemoryConnector::seeded().syncers());
//! assert!(syncers.iter().all(|s| s.provisioner().is_none() && s.account_manager().is_none()));
//! ```

use std::sync::Arc;

use async_trait::async_trait;

use crate::account::AccountManager;
use crate::delete::ResourceDeleter;
use crate::error::Result;
use crate::getter::ResourceGetter;
use crate::model::{Entitlement, Grant, Resource, ResourceType};
use crate::page::Page;
use crate::provision::Provisioner;
use crate::syncer::{EntitlementsRequest, GrantsRequest, ListRequest, ResourceSyncer};

/// A syncer with its write capabilities removed.
pub struct ReadOnly(Arc<dyn ResourceSyncer>);

impl ReadOnly {
    /// Wraps one syncer.
    pub fn wrap(syncer: Arc<dyn ResourceSyncer>) -> Arc<dyn ResourceSyncer> {
        Arc::new(ReadOnly(syncer))
    }

    /// Wraps every syncer of a connector.
    pub fn wrap_all(syncers: Vec<Arc<dyn ResourceSyncer>>) -> Vec<Arc<dyn ResourceSyncer>> {
        syncers.into_iter().map(ReadOnly::wrap).collect()
    }
}

#[async_trait]
impl ResourceSyncer for ReadOnly {
    fn resource_type(&self) -> ResourceType {
        self.0.resource_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        self.0.list(req).await
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        self.0.entitlements(req).await
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        self.0.grants(req).await
    }

    /// The wrapped syncer's principal-side grant types: reading is unchanged.
    fn emits_grants_for(&self) -> Vec<String> {
        self.0.emits_grants_for()
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        None
    }

    fn account_manager(&self) -> Option<&dyn AccountManager> {
        None
    }

    fn deleter(&self) -> Option<&dyn ResourceDeleter> {
        None
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        self.0.getter()
    }
}
