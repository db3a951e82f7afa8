//! The syncs in the file and what changed between two of them.

use crate::store::{C1zReader, DiffItem, DiffKind, FieldChange, SyncRun, field_changes};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::*;

#[derive(Serialize)]
pub(super) struct SyncRow {
    #[serde(flatten)]
    run: SyncRun,
    warnings: usize,
    current: bool,
}

/// GET /api/syncs: the syncs in the file, oldest first.
pub(crate) async fn syncs(State(state): State<AppState>) -> Response {
    answer(state, |r| {
        let current = r.sync().sync_id.clone();
        let items: Vec<SyncRow> = r
            .syncs()?
            .into_iter()
            .map(|s| SyncRow {
                warnings: s.warnings().len(),
                current: s.sync_id == current,
                run: s,
            })
            .collect();
        Ok(serde_json::json!({ "items": items, "current": current }))
    })
    .await
}

/// `from` and `to` of a diff: the given ones, or the previous finished sync and the one
/// being read.
pub(super) fn diff_syncs(r: &C1zReader, params: &Params) -> Result<(String, String), ApiError> {
    let to = params
        .text("to")
        .map(str::to_string)
        .unwrap_or_else(|| r.sync().sync_id.clone());
    if let Some(from) = params.text("from") {
        return Ok((from.to_string(), to));
    }
    let runs = r.syncs()?;
    let end = runs
        .iter()
        .find(|s| s.sync_id == to)
        .ok_or_else(|| ApiError::not_found(format!("the file holds no sync {to}")))?
        .clone();
    let prev = runs
        .into_iter()
        .filter(|s| s.ended_at.is_some() && s.sync_id != to)
        .filter(|s| (&s.ended_at, &s.sync_id) < (&end.ended_at, &end.sync_id))
        .max_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id)))
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "the file holds no finished sync before {to} to compare with; sync again to see what changes"
            ))
        })?;
    Ok((prev.sync_id, to))
}

/// GET /api/diff?from=&to=: how many changes of each kind (default: the previous finished
/// sync to the one being read).
pub(crate) async fn diff(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let params = match Params::parse(raw.as_deref()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    answer(state, move |r| {
        let (from, to) = diff_syncs(r, &params)?;
        let counts = r.diff_counts(&from, &to)?;
        let kinds: Vec<Value> = counts
            .counts
            .iter()
            .map(|(k, n)| serde_json::json!({ "kind": k.as_str(), "count": n }))
            .collect();
        Ok(serde_json::json!({ "from": from, "to": to, "kinds": kinds }))
    })
    .await
}

#[derive(Serialize)]
pub(super) struct DiffRow {
    /// `added`, `removed` or `changed`.
    change: &'static str,
    /// `resource`, `entitlement` or `grant`.
    what: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<ResourceLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    entitlement: Option<EntitlementLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<ResourceLink>,
    #[serde(skip_serializing_if = "Option::is_none")]
    grant_id: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<FieldChange>,
}

/// GET /api/diff/{kind}?from=&to=&after=&limit=: one kind of change, paged.
pub(crate) async fn diff_kind(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    RawQuery(raw): RawQuery,
) -> Response {
    let (Path(kind), params) = match (path, Params::parse(raw.as_deref())) {
        (Err(e), _) => return path_error(e),
        (_, Err(e)) => return e.into_response(),
        (Ok(p), Ok(q)) => (p, q),
    };
    let Some(kind) = DiffKind::parse(&kind) else {
        let known: Vec<&str> = DiffKind::ALL.iter().map(|k| k.as_str()).collect();
        return ApiError::not_found(format!(
            "no kind of change {kind:?}; one of {}",
            known.join(", ")
        ))
        .into_response();
    };
    answer(state, move |r| {
        let (after, limit) = (params.after()?, params.limit()?);
        let (from, to) = diff_syncs(r, &params)?;
        let page = r.diff_page(&from, &to, kind, after, limit)?;
        let removed = matches!(
            kind,
            DiffKind::GrantsRemoved | DiffKind::ResourcesRemoved | DiffKind::EntitlementsRemoved
        );
        let change = if removed {
            "removed"
        } else if kind == DiffKind::ResourcesChanged {
            "changed"
        } else {
            "added"
        };
        let mut names = Names::in_sync(r, if removed { &from } else { &to });
        let empty = || DiffRow {
            change,
            what: "resource",
            resource: None,
            entitlement: None,
            principal: None,
            grant_id: None,
            fields: Vec::new(),
        };
        let items = page
            .items
            .into_iter()
            .map(|item| {
                Ok(match item {
                    DiffItem::Resource { resource } => DiffRow {
                        resource: Some(ResourceLink {
                            key: resource.id.to_string(),
                            resource_type: resource.id.resource_type.clone(),
                            display_name: resource.display_name,
                        }),
                        ..empty()
                    },
                    DiffItem::Changed { before, after } => DiffRow {
                        fields: field_changes(&before, &after),
                        resource: Some(ResourceLink {
                            key: after.id.to_string(),
                            resource_type: after.id.resource_type.clone(),
                            display_name: after.display_name,
                        }),
                        ..empty()
                    },
                    DiffItem::Entitlement { entitlement } => DiffRow {
                        what: "entitlement",
                        resource: Some(names.resource(entitlement.resource())?),
                        entitlement: Some(EntitlementLink {
                            id: entitlement.id().to_string(),
                            display_name: entitlement.display_name,
                        }),
                        ..empty()
                    },
                    DiffItem::Grant { grant } => DiffRow {
                        what: "grant",
                        resource: Some(names.resource(grant.entitlement_resource())?),
                        entitlement: Some(names.entitlement(grant.entitlement_id())?),
                        principal: Some(names.resource(grant.principal())?),
                        grant_id: Some(grant.id().to_string()),
                        ..empty()
                    },
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(serde_json::json!({
            "from": from,
            "to": to,
            "kind": kind.as_str(),
            "items": items,
            "next": page.next,
        }))
    })
    .await
}
