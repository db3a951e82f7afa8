//! Grant and revoke tasks.

use crate::error::{Error, ErrorKind};
use crate::model::ResourceId;
use crate::provision::GrantRequest;
use crate::provision::RevokeRequest;
use crate::provision::{GrantOutcome, RevokeOutcome};
use crate::store::convert;

use super::*;

pub(super) fn connector_failure(e: &Error) -> Outcome {
    Outcome::Failure(Failure::from_error(e, true))
}

pub(super) async fn grant(ctx: &TaskContext, t: GrantTask) -> Outcome {
    let (Some(ent), Some(principal)) = (t.entitlement, t.principal) else {
        return malformed("grant");
    };
    let (entitlement, principal) = match (
        convert::entitlement_from_proto(&ent),
        convert::resource_from_proto(&principal),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        (Err(e), _) | (_, Err(e)) => {
            return Outcome::Failure(Failure::new(
                ErrorKind::InvalidArgument,
                format!("malformed grant task: {e}\ntask failed and is non-retryable"),
                true,
            ));
        }
    };
    let result = ctx
        .connector
        .grant(GrantRequest::new(&principal, &entitlement))
        .await;
    match result {
        Ok(GrantOutcome::Granted(grants)) => {
            let grants = grants.iter().map(grant_proto).collect();
            let resp = GrantResponse {
                annotations: Vec::new(),
                grants,
            };
            Outcome::success(names::GRANT_RESPONSE, &resp, Vec::new())
        }
        Ok(GrantOutcome::AlreadyExists) => {
            let ann = vec![proto::any(
                names::GRANT_ALREADY_EXISTS,
                &GrantAlreadyExists {},
            )];
            let resp = GrantResponse {
                annotations: ann.clone(),
                grants: Vec::new(),
            };
            Outcome::success(names::GRANT_RESPONSE, &resp, ann)
        }
        Err(e) => connector_failure(&e),
    }
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

pub(super) async fn revoke(ctx: &TaskContext, t: RevokeTask) -> Outcome {
    let Some(g) = t.grant else {
        return malformed("revoke");
    };
    let row = convert::GrantRow {
        entitlement_id: g
            .entitlement
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_default(),
        resource: g
            .entitlement
            .as_ref()
            .and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref())
            .map(resource_id)
            .unwrap_or_else(|| ResourceId::new("", "")),
        principal: g
            .principal
            .as_ref()
            .and_then(|p| p.id.as_ref())
            .map(resource_id)
            .unwrap_or_else(|| ResourceId::new("", "")),
    };
    if row.entitlement_id.is_empty()
        || row.resource.resource.is_empty()
        || row.principal.resource.is_empty()
    {
        return malformed("revoke");
    }
    let grant = match convert::grant_from_proto(&g, None, &row) {
        Ok(g) => g,
        Err(e) => {
            return Outcome::Failure(Failure::new(
                ErrorKind::InvalidArgument,
                format!("malformed revoke task: {e}\ntask failed and is non-retryable"),
                true,
            ));
        }
    };
    // Grant-only entitlements are refused by the handle, before the connector is called.
    let result = ctx.connector.revoke(RevokeRequest::new(&grant)).await;
    match result {
        Ok(RevokeOutcome::Revoked) => Outcome::success(
            names::REVOKE_RESPONSE,
            &RevokeResponse {
                annotations: Vec::new(),
            },
            Vec::new(),
        ),
        Ok(RevokeOutcome::AlreadyRevoked) => {
            let ann = vec![proto::any(
                names::GRANT_ALREADY_REVOKED,
                &GrantAlreadyRevoked {},
            )];
            Outcome::success(
                names::REVOKE_RESPONSE,
                &RevokeResponse {
                    annotations: ann.clone(),
                },
                ann,
            )
        }
        Err(e) => connector_failure(&e),
    }
}
