//! Grant and revoke tasks.

use crate::error::ErrorKind;
use crate::model::ResourceId;
use crate::provision::GrantRequest;
use crate::provision::RevokeRequest;
use crate::provision::{GrantOutcome, RevokeOutcome};
use crate::store::convert;

use super::*;

pub(super) async fn grant(ctx: &TaskContext, t: GrantTask) -> TaskResult {
    let (Some(ent), Some(principal)) = (t.entitlement, t.principal) else {
        return Err(malformed("grant"));
    };
    let (entitlement, principal) = match (
        convert::entitlement_from_proto(&ent),
        convert::resource_from_proto(&principal),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        (Err(e), _) | (_, Err(e)) => {
            return Err(Failure::new(
                ErrorKind::InvalidArgument,
                format!("malformed grant task: {e}\ntask failed and is non-retryable"),
                true,
            ));
        }
    };
    let outcome = ctx
        .connector
        .grant(GrantRequest::new(&principal, &entitlement))
        .await
        .map_err(Failure::permanent)?;
    Ok(match outcome {
        GrantOutcome::Granted(grants) => {
            let grants = grants.iter().map(grant_proto).collect();
            let resp = GrantResponse {
                annotations: Vec::new(),
                grants,
            };
            Success::of(names::GRANT_RESPONSE, &resp)
        }
        GrantOutcome::AlreadyExists => {
            let ann = vec![proto::any(
                names::GRANT_ALREADY_EXISTS,
                &GrantAlreadyExists {},
            )];
            let resp = GrantResponse {
                annotations: ann.clone(),
                grants: Vec::new(),
            };
            Success::of(names::GRANT_RESPONSE, &resp).annotated(ann)
        }
    })
}

pub(super) fn grant_proto(g: &crate::model::Grant) -> Grant {
    let (mut p, expansion) = convert::grant_to_proto(g);
    if let Some(bytes) = expansion {
        p.annotations.push(Any {
            type_url: format!("{}GrantExpandable", crate::store::proto::TYPE_URL_PREFIX),
            value: bytes,
        });
    }
    p
}

/// The grant a revoke task names, as the model's.
fn revoked_grant(g: &Grant) -> std::result::Result<crate::model::Grant, Failure> {
    let id_of = |r: Option<&proto::ResourceId>| {
        r.map(resource_id)
            .unwrap_or_else(|| ResourceId::new("", ""))
    };
    let row = convert::GrantRow {
        entitlement_id: g
            .entitlement
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_default(),
        resource: id_of(
            g.entitlement
                .as_ref()
                .and_then(|e| e.resource.as_ref())
                .and_then(|r| r.id.as_ref()),
        ),
        principal: id_of(g.principal.as_ref().and_then(|p| p.id.as_ref())),
    };
    if row.entitlement_id.is_empty()
        || row.resource.resource.is_empty()
        || row.principal.resource.is_empty()
    {
        return Err(malformed("revoke"));
    }
    convert::grant_from_proto(g, None, &row).map_err(|e| {
        Failure::new(
            ErrorKind::InvalidArgument,
            format!("malformed revoke task: {e}\ntask failed and is non-retryable"),
            true,
        )
    })
}

pub(super) async fn revoke(ctx: &TaskContext, t: RevokeTask) -> TaskResult {
    let Some(g) = t.grant else {
        return Err(malformed("revoke"));
    };
    let grant = revoked_grant(&g)?;
    // Grant-only entitlements are refused by the handle, before the connector is called.
    let outcome = ctx
        .connector
        .revoke(RevokeRequest::new(&grant))
        .await
        .map_err(Failure::permanent)?;
    let resp = RevokeResponse {
        annotations: Vec::new(),
    };
    Ok(match outcome {
        RevokeOutcome::Revoked => Success::of(names::REVOKE_RESPONSE, &resp),
        RevokeOutcome::AlreadyRevoked => {
            let ann = vec![proto::any(
                names::GRANT_ALREADY_REVOKED,
                &GrantAlreadyRevoked {},
            )];
            let resp = RevokeResponse {
                annotations: ann.clone(),
            };
            Success::of(names::REVOKE_RESPONSE, &resp).annotated(ann)
        }
    })
}
