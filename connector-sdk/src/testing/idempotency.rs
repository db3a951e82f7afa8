//! [`check_provisioning_idempotent`]: grant twice, revoke twice, through the
//! [`ConnectorHandle`] the runtimes call (its checks, such as `grantable_to`, included).

use crate::connector::Connector;
use crate::handle::ConnectorHandle;
use crate::model::{Entitlement, Grant, Resource};
use crate::provision::{GrantOutcome, GrantRequest, RevokeOutcome, RevokeRequest};

/// Grants `entitlement` to `principal` twice and revokes it twice through the connector's
/// [`ConnectorHandle`] (as the CLI and service mode do), and checks the second of each
/// reports "already exists" / "already revoked".
///
/// Leaves the tenant as it found it when the principal did not hold the entitlement. An
/// entitlement the provisioner declares grant-only
/// ([`Provisioner::grant_only`](crate::provision::Provisioner::grant_only)) is granted
/// twice and not revoked (the SDK never asks the connector to revoke it), so the principal
/// keeps it.
pub async fn check_provisioning_idempotent(
    connector: &dyn Connector,
    principal: &Resource,
    entitlement: &Entitlement,
) -> std::result::Result<(), String> {
    let handle = ConnectorHandle::of_parts(connector).map_err(|e| e.to_string())?;
    let syncer = crate::connector::syncer_for(connector, &entitlement.resource().resource_type)
        .map_err(|e| e.to_string())?;
    let prov = syncer.provisioner().ok_or_else(|| {
        format!(
            "resource type {:?} has no provisioner",
            entitlement.resource().resource_type
        )
    })?;
    let first = handle
        .grant(GrantRequest::new(principal, entitlement))
        .await
        .map_err(|e| {
            format!(
                "first grant of {} to {} failed: {e}",
                entitlement.id(),
                principal.id
            )
        })?;
    let grant = match first {
        GrantOutcome::Granted(gs) => gs
            .into_iter()
            .find(|g| g.principal() == &principal.id)
            .unwrap_or_else(|| Grant::new(entitlement, principal.id.clone())),
        _ => Grant::new(entitlement, principal.id.clone()),
    };
    match handle
        .grant(GrantRequest::new(principal, entitlement))
        .await
    {
        Ok(GrantOutcome::AlreadyExists) => {}
        other => {
            return Err(format!(
                "second grant of {} to {} should report AlreadyExists, got {other:?}",
                entitlement.id(),
                principal.id
            ));
        }
    }
    if prov.grant_only().covers(entitlement.slug()) {
        return Ok(());
    }
    match handle.revoke(RevokeRequest::new(&grant)).await {
        Ok(RevokeOutcome::Revoked) => {}
        other => {
            return Err(format!(
                "revoke of {} should report Revoked, got {other:?}",
                grant.id()
            ));
        }
    }
    match handle.revoke(RevokeRequest::new(&grant)).await {
        Ok(RevokeOutcome::AlreadyRevoked) => Ok(()),
        other => Err(format!(
            "second revoke of {} should report AlreadyRevoked, got {other:?}",
            grant.id()
        )),
    }
}
