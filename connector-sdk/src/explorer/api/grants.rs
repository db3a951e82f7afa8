//! Grants in the API: a resource's grants (held, given, by principal), an entitlement and
//! its holders, each grant with how it is held.

use crate::model::{Grant, ResourceId};
use crate::store::{Access, C1zReader, GrantsOf, RowPage};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::*;

/// One step of an inherited path, with names.
#[derive(Serialize)]
pub(super) struct StepView {
    entitlement: EntitlementLink,
    resource: ResourceLink,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_id: Option<String>,
}

/// One grant with names and how it is held.
#[derive(Serialize)]
pub(super) struct GrantView {
    grant_id: String,
    entitlement: EntitlementLink,
    /// The resource the entitlement is on.
    resource: ResourceLink,
    principal: ResourceLink,
    /// Held directly (as the connector listed it).
    direct: bool,
    /// Inherited paths, each from the principal outward.
    paths: Vec<Vec<StepView>>,
    /// Members of the principal inherit the grant.
    expandable: bool,
}

pub(super) fn grant_view(
    r: &C1zReader,
    names: &mut Names<'_>,
    g: &Grant,
) -> Result<GrantView, ApiError> {
    let Access { direct, paths } = r.access(g)?;
    let paths = paths
        .into_iter()
        .map(|p| {
            p.into_iter()
                .map(|s| {
                    Ok(StepView {
                        entitlement: names.entitlement(&s.entitlement_id)?,
                        resource: names.resource(&s.resource)?,
                        grant_id: s.grant_id,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(GrantView {
        grant_id: g.id().to_string(),
        entitlement: names.entitlement(g.entitlement_id())?,
        resource: names.resource(g.entitlement_resource())?,
        principal: names.resource(g.principal())?,
        direct,
        paths,
        expandable: g.expandable.is_some(),
    })
}

pub(super) fn grants_page(
    r: &C1zReader,
    page: RowPage<Grant>,
) -> Result<Paged<GrantView>, ApiError> {
    let mut names = Names::new(r);
    Ok(Paged {
        items: page
            .items
            .iter()
            .map(|g| grant_view(r, &mut names, g))
            .collect::<Result<_, _>>()?,
        next: page.next,
    })
}

/// Which grant list of a resource to answer.
#[derive(Clone, Copy)]
pub(crate) enum ResourceGrants {
    /// Grants of the entitlements on the resource.
    On,
    /// Grants the resource holds as a principal, with paths.
    Held,
}

/// GET /api/resources/{type}/{id}/grants and …/access: grants on a resource, or what a
/// principal holds and through what.
pub(crate) async fn resource_grants(
    which: ResourceGrants,
    state: AppState,
    path: Result<Path<(String, String)>, PathRejection>,
    raw: Option<String>,
) -> Response {
    let (Path((t, id)), params) = match (path, Params::parse(raw.as_deref())) {
        (Err(e), _) => return path_error(e),
        (_, Err(e)) => return e.into_response(),
        (Ok(p), Ok(q)) => (p, q),
    };
    answer(state, move |r| {
        let rid = ResourceId::new(t, id);
        let (after, limit) = (params.after()?, params.limit()?);
        find_resource(r, &rid)?;
        let of = match which {
            ResourceGrants::On => GrantsOf::Resource(&rid),
            ResourceGrants::Held => GrantsOf::Principal(&rid),
        };
        grants_page(r, r.grants_page(of, after, limit)?)
    })
    .await
}

#[derive(Serialize)]
pub(super) struct EntitlementView {
    entitlement: crate::model::Entitlement,
    resource: ResourceLink,
    holders: u64,
}

/// GET /api/entitlements/{id}: one entitlement with its resource and holder count.
pub(crate) async fn entitlement(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let Path(id) = match path {
        Ok(p) => p,
        Err(e) => return path_error(e),
    };
    answer(state, move |r| {
        let e = find_entitlement(r, &id)?;
        let mut names = Names::new(r);
        Ok(EntitlementView {
            resource: names.resource(e.resource())?,
            holders: r.grant_count(GrantsOf::Entitlement(&id))?,
            entitlement: e,
        })
    })
    .await
}

pub(super) fn find_entitlement(
    r: &C1zReader,
    id: &str,
) -> Result<crate::model::Entitlement, ApiError> {
    r.entitlement(id)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no entitlement {id} in sync {} of this file",
            r.sync().sync_id
        ))
    })
}

/// GET /api/entitlements/{id}/holders: who holds an entitlement and how, paged.
pub(crate) async fn holders(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (Path(id), params) = match (path, Params::parse(raw.as_deref())) {
        (Err(e), _) => return path_error(e),
        (_, Err(e)) => return e.into_response(),
        (Ok(p), Ok(q)) => (p, q),
    };
    answer(state, move |r| {
        let (after, limit) = (params.after()?, params.limit()?);
        find_entitlement(r, &id)?;
        grants_page(r, r.grants_page(GrantsOf::Entitlement(&id), after, limit)?)
    })
    .await
}
