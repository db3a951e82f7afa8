//! The [`ResourceDeleter`] trait: deprovisioning.

use async_trait::async_trait;

use crate::error::Result;
use crate::model::ResourceId;

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteOutcome {
    /// The resource was deleted.
    Deleted,
    /// The resource did not exist; nothing was changed.
    AlreadyDeleted,
}

/// What [`ResourceDeleter::delete`] is asked for. `#[non_exhaustive]`: build it with
/// [`DeleteRequest::new`], destructure with `..`.
///
/// ```
/// use connector_sdk::delete::DeleteRequest;
/// use connector_sdk::model::ResourceId;
/// let DeleteRequest { id, .. } = DeleteRequest::new(&ResourceId::new("teammate", "kim"));
/// assert_eq!(id.resource, "kim");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeleteRequest {
    /// The resource to delete.
    pub id: ResourceId,
}

impl DeleteRequest {
    /// A request to delete `id`.
    pub fn new(id: &ResourceId) -> Self {
        DeleteRequest { id: id.clone() }
    }
}

/// Deletes resources of one type (e.g. removes a teammate).
#[async_trait]
pub trait ResourceDeleter: Send + Sync {
    /// Deletes the resource `req.id`. Deleting what does not exist is
    /// [`DeleteOutcome::AlreadyDeleted`].
    async fn delete(&self, req: DeleteRequest) -> Result<DeleteOutcome>;
}
