//! The [`ResourceGetter`] trait: fetching one resource by id, for targeted syncs.

use async_trait::async_trait;

use crate::error::Result;
use crate::model::{Resource, ResourceId};

/// Fetches one resource of a type by id (e.g. SCIM `GET /Users/{id}`), so a targeted sync
/// (`--sync-resources`) can re-read a few resources after a provisioning change without
/// listing everything. Advertised as `CAPABILITY_TARGETED_SYNC`.
///
/// The resource returned must be what [`list`](crate::ResourceSyncer::list) returns for
/// the same id (the conformance kit checks it); `parent` is the parent the caller names,
/// for child types.
#[async_trait]
pub trait ResourceGetter: Send + Sync {
    /// The resource `id`, or an error of kind [`NotFound`](crate::ErrorKind::NotFound)
    /// when it no longer exists.
    async fn get(&self, id: &ResourceId, parent: Option<&ResourceId>) -> Result<Resource>;
}
