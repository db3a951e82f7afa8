//! The JSON API under `/api/`: every handler reads the file through the shared
//! [`C1zReader`] on a blocking thread and answers one page at most.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::model::{Resource, ResourceId};
use crate::store::{C1zReader, GrantsOf};

use super::error::ApiError;
use super::params::Params;
use super::pool::Pool;

mod diff;
mod grants;

pub(crate) use diff::*;
pub(crate) use grants::*;

/// What every handler shares: the open file.
pub(crate) struct Shared {
    /// The readers; each SQLite connection is used by one request at a time.
    pub(crate) readers: Arc<Pool>,
    /// The file's name, shown in the page's title.
    pub(crate) file_name: String,
}

/// The state handed to handlers.
pub(crate) type AppState = Arc<Shared>;

/// The largest JSON answer: a page of rows that big (a crafted file's huge names or
/// profiles) is refused with a message rather than sent.
pub(crate) const MAX_ANSWER: usize = 32 * 1024 * 1024;

/// Runs `f` on a free reader within the request deadline and answers its value as JSON
/// (at most [`MAX_ANSWER`] bytes).
async fn answer<T, F>(state: AppState, f: F) -> Response
where
    T: Serialize + Send + 'static,
    F: FnOnce(&C1zReader) -> Result<T, ApiError> + Send + 'static,
{
    let value = match state.readers.run(f).await {
        Ok(v) => v,
        Err(e) => return e.into_response(),
    };
    match serde_json::to_vec(&value) {
        Ok(body) if body.len() > MAX_ANSWER => ApiError::unavailable(format!(
            "the answer would be {} MiB, over the explorer's {} MiB; ask for fewer items (a smaller limit)",
            body.len() / (1024 * 1024),
            MAX_ANSWER / (1024 * 1024)
        ))
        .into_response(),
        Ok(body) => (
            [(axum::http::header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Err(e) => {
            ApiError::from(crate::Error::internal(format!("the answer failed: {e}"))).into_response()
        }
    }
}

fn path_error(e: PathRejection) -> Response {
    ApiError::bad_request(format!("malformed path: {}", e.body_text())).into_response()
}

/// A page of rows with the cursor of the next one.
#[derive(Serialize)]
struct Paged<T> {
    items: Vec<T>,
    /// Pass as `after` for the next page; `null` on the last.
    next: Option<i64>,
}

/// A link to a resource: its `type:id` key and name.
#[derive(Serialize, Clone)]
struct ResourceLink {
    key: String,
    resource_type: String,
    display_name: String,
}

/// A link to an entitlement.
#[derive(Serialize, Clone)]
struct EntitlementLink {
    id: String,
    display_name: String,
}

/// Names of resources and entitlements, looked up once per request.
struct Names<'a> {
    reader: &'a C1zReader,
    sync: String,
    resources: HashMap<ResourceId, String>,
    entitlements: HashMap<String, String>,
}

impl<'a> Names<'a> {
    fn new(reader: &'a C1zReader) -> Self {
        Names::in_sync(reader, &reader.sync().sync_id)
    }

    fn in_sync(reader: &'a C1zReader, sync: &str) -> Self {
        Names {
            reader,
            sync: sync.to_string(),
            resources: HashMap::new(),
            entitlements: HashMap::new(),
        }
    }

    fn resource(&mut self, id: &ResourceId) -> Result<ResourceLink, ApiError> {
        let name = match self.resources.get(id) {
            Some(n) => n.clone(),
            None => {
                let n = self
                    .reader
                    .resource_in(&self.sync, id)?
                    .map(|r| r.display_name)
                    .unwrap_or_default();
                self.resources.insert(id.clone(), n.clone());
                n
            }
        };
        Ok(ResourceLink {
            key: id.to_string(),
            resource_type: id.resource_type.clone(),
            display_name: name,
        })
    }

    fn entitlement(&mut self, id: &str) -> Result<EntitlementLink, ApiError> {
        let name = match self.entitlements.get(id) {
            Some(n) => n.clone(),
            None => {
                let n = self
                    .reader
                    .entitlement_in(&self.sync, id)?
                    .map(|e| e.display_name)
                    .unwrap_or_default();
                self.entitlements.insert(id.to_string(), n.clone());
                n
            }
        };
        Ok(EntitlementLink {
            id: id.to_string(),
            display_name: name,
        })
    }
}

/// GET /api/file: the file and the sync shown.
pub(crate) async fn file(State(state): State<AppState>) -> Response {
    let name = state.file_name.clone();
    answer(state, move |r| {
        Ok(serde_json::json!({
            "file": name,
            "sync": r.sync(),
            "syncs": r.syncs()?.len(),
            "read_only": true,
        }))
    })
    .await
}

#[derive(Serialize)]
struct TypeRow {
    id: String,
    display_name: String,
    traits: Vec<&'static str>,
    description: String,
    resources: u64,
}

/// GET /api/resource-types: the types with their resource counts.
pub(crate) async fn resource_types(State(state): State<AppState>) -> Response {
    answer(state, |r| {
        let items: Vec<TypeRow> = r
            .resource_type_counts()?
            .into_iter()
            .map(|t| TypeRow {
                traits: t.resource_type.traits.iter().map(|k| k.as_str()).collect(),
                id: t.resource_type.id,
                display_name: t.resource_type.display_name,
                description: t.resource_type.description,
                resources: t.resources,
            })
            .collect();
        Ok(serde_json::json!({ "items": items }))
    })
    .await
}

/// One resource in a list.
#[derive(Serialize)]
struct ResourceRow {
    key: String,
    resource_type: String,
    id: String,
    display_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<String>,
}

fn status_name(r: &Resource) -> Option<String> {
    r.user
        .as_ref()
        .and_then(|u| serde_json::to_value(u.status).ok())
        .and_then(|v| v.as_str().map(str::to_string))
}

impl From<Resource> for ResourceRow {
    fn from(r: Resource) -> Self {
        let email = r.user.as_ref().and_then(|u| {
            u.emails
                .iter()
                .find(|e| e.primary)
                .or(u.emails.first())
                .map(|e| e.address.clone())
        });
        ResourceRow {
            key: r.id.to_string(),
            status: status_name(&r),
            resource_type: r.id.resource_type,
            id: r.id.resource,
            display_name: r.display_name,
            email,
            parent: r.parent.map(|p| p.to_string()),
        }
    }
}

/// GET /api/resources?type=&q=&after=&limit=: resources, paged, searchable by name,
/// email, login or id.
pub(crate) async fn resources(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let params = match Params::parse(raw.as_deref()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    answer(state, move |r| {
        let (after, limit) = (params.after()?, params.limit()?);
        let page = r.resources_page(params.text("type"), params.text("q"), after, limit)?;
        Ok(Paged {
            items: page.items.into_iter().map(ResourceRow::from).collect(),
            next: page.next,
        })
    })
    .await
}

fn find_resource(r: &C1zReader, id: &ResourceId) -> Result<Resource, ApiError> {
    r.resource(id)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no resource {id} in sync {} of this file",
            r.sync().sync_id
        ))
    })
}

#[derive(Serialize)]
struct ResourceView {
    key: String,
    resource_type_name: String,
    resource: Resource,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent: Option<ResourceLink>,
    /// Entitlements on the resource.
    entitlements: u64,
    /// Grants of those entitlements.
    grants: u64,
    /// Grants the resource holds as a principal.
    access: u64,
}

/// GET /api/resources/{type}/{id}: one resource with its counts.
pub(crate) async fn resource(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let Path((t, id)) = match path {
        Ok(p) => p,
        Err(e) => return path_error(e),
    };
    answer(state, move |r| {
        let rid = ResourceId::new(t, id);
        let resource = find_resource(r, &rid)?;
        let mut names = Names::new(r);
        let resource_type_name = r
            .resource_types()?
            .into_iter()
            .find(|x| x.id == rid.resource_type)
            .map(|x| x.display_name)
            .unwrap_or_default();
        Ok(ResourceView {
            key: rid.to_string(),
            resource_type_name,
            status: status_name(&resource),
            parent: resource
                .parent
                .as_ref()
                .map(|p| names.resource(p))
                .transpose()?,
            entitlements: r.entitlement_count(&rid)?,
            grants: r.grant_count(GrantsOf::Resource(&rid))?,
            access: r.grant_count(GrantsOf::Principal(&rid))?,
            resource,
        })
    })
    .await
}

#[derive(Serialize)]
struct EntitlementRow {
    id: String,
    display_name: String,
    slug: String,
    purpose: crate::model::Purpose,
    description: String,
    holders: u64,
}

/// GET /api/resources/{type}/{id}/entitlements: the entitlements on a resource, paged.
pub(crate) async fn resource_entitlements(
    State(state): State<AppState>,
    path: Result<Path<(String, String)>, PathRejection>,
    RawQuery(raw): RawQuery,
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
        let page = r.entitlements_page(&rid, after, limit)?;
        let items = page
            .items
            .into_iter()
            .map(|e| {
                Ok(EntitlementRow {
                    holders: r.grant_count(GrantsOf::Entitlement(e.id()))?,
                    id: e.id().to_string(),
                    slug: e.slug().to_string(),
                    display_name: e.display_name,
                    purpose: e.purpose,
                    description: e.description,
                })
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        Ok(Paged {
            items,
            next: page.next,
        })
    })
    .await
}

/// Any other path: a JSON 404.
pub(crate) async fn not_found(uri: axum::http::Uri) -> Response {
    ApiError::not_found(format!(
        "no such page: {}; the page is at / and the API under /api/",
        uri.path()
    ))
    .into_response()
}
