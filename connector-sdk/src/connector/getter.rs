//! The [`ResourceGetter`] trait: fetching one resource by id, for targeted syncs.

use async_trait::async_trait;

use crate::context::SyncContext;
use crate::error::Result;
use crate::model::{Resource, ResourceId};

/// What [`ResourceGetter::get`] is asked for. `#[non_exhaustive]`: new fields can be added
/// without breaking connectors; build it with [`GetRequest::new`] and destructure with `..`.
///
/// ```
/// use connector_sdk::getter::GetRequest;
/// use connector_sdk::model::ResourceId;
/// let req = GetRequest::new(&ResourceId::new("user", "u1"), None);
/// let GetRequest { id, parent, .. } = req;
/// assert_eq!((id.resource.as_str(), parent), ("u1", None));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GetRequest {
    /// The resource to fetch.
    pub id: ResourceId,
    /// Its parent, for child types, as the caller names it.
    pub parent: Option<ResourceId>,
    /// The sync this call belongs to (a targeted sync), or a detached context.
    pub context: SyncContext,
}

impl GetRequest {
    /// A request for `id` (under `parent`), outside any sync.
    pub fn new(id: &ResourceId, parent: Option<&ResourceId>) -> Self {
        GetRequest {
            id: id.clone(),
            parent: parent.cloned(),
            context: SyncContext::detached(),
        }
    }

    /// This request, made within `context`.
    pub fn in_context(mut self, context: SyncContext) -> Self {
        self.context = context;
        self
    }
}

/// Fetches one resource of a type by id (e.g. SCIM `GET /Users/{id}`), so a targeted sync
/// (`--sync-resources`) can re-read a few resources after a provisioning change without
/// listing everything. Advertised as `CAPABILITY_TARGETED_SYNC`.
///
/// The resource returned must be what [`list`](crate::ResourceSyncer::list) returns for
/// the same id (the conformance kit checks it); `req.parent` is the parent the caller
/// names, for child types.
#[async_trait]
pub trait ResourceGetter: Send + Sync {
    /// The resource `id`, or an error of kind [`NotFound`](crate::ErrorKind::NotFound)
    /// when it no longer exists.
    async fn get(&self, req: GetRequest) -> Result<Resource>;
}
