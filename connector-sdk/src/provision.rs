//! The [`Provisioner`] trait: granting and revoking entitlements.

use async_trait::async_trait;

use crate::error::Result;
use crate::model::{Entitlement, Grant, Resource};

/// What a grant did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GrantOutcome {
    /// The principal now holds the entitlement; the grants that now exist (usually one).
    Granted(Vec<Grant>),
    /// The principal held the entitlement already; nothing was changed.
    AlreadyExists,
}

/// What a revoke did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeOutcome {
    /// The grant was removed.
    Revoked,
    /// The grant did not exist (any more); nothing was changed.
    AlreadyRevoked,
}

/// Grants and revokes the entitlements of one resource type.
///
/// Both operations are idempotent: granting what is held reports
/// [`GrantOutcome::AlreadyExists`], revoking what is not held reports
/// [`RevokeOutcome::AlreadyRevoked`]; neither is an error.
#[async_trait]
pub trait Provisioner: Send + Sync {
    /// Grants `entitlement` (on a resource of this syncer's type) to `principal`.
    async fn grant(&self, principal: &Resource, entitlement: &Entitlement) -> Result<GrantOutcome>;

    /// Revokes `grant`.
    async fn revoke(&self, grant: &Grant) -> Result<RevokeOutcome>;
}
