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
    /// Grants [`GrantRequest::entitlement`] (on a resource of this syncer's type) to
    /// [`GrantRequest::principal`].
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome>;

    /// Revokes [`RevokeRequest::grant`].
    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome>;
}

/// What [`Provisioner::grant`] is asked for.
///
/// The fields are public to read and to destructure with `..`; the struct is
/// `#[non_exhaustive]` so the SDK can add fields without breaking connectors.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GrantRequest {
    /// Who receives the entitlement.
    pub principal: Resource,
    /// What is granted.
    pub entitlement: Entitlement,
}

impl GrantRequest {
    /// A request to grant `entitlement` to `principal`.
    pub fn new(principal: &Resource, entitlement: &Entitlement) -> Self {
        GrantRequest {
            principal: principal.clone(),
            entitlement: entitlement.clone(),
        }
    }
}

/// What [`Provisioner::revoke`] is asked for. `#[non_exhaustive]` like [`GrantRequest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RevokeRequest {
    /// The grant to remove.
    pub grant: Grant,
}

impl RevokeRequest {
    /// A request to revoke `grant`.
    pub fn new(grant: &Grant) -> Self {
        RevokeRequest {
            grant: grant.clone(),
        }
    }
}
