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

/// Deletes resources of one type (e.g. removes a teammate).
#[async_trait]
pub trait ResourceDeleter: Send + Sync {
    /// Deletes the resource `id`. Deleting what does not exist is [`DeleteOutcome::AlreadyDeleted`].
    async fn delete(&self, id: &ResourceId) -> Result<DeleteOutcome>;
}
