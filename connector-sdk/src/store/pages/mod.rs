//! Paged reads of a `.c1z` for browsing (the access explorer): every list is one SQL page,
//! keyset-paged on the row id over an index the schema has, so a file of a million grants
//! is browsed as fast as a small one.
//!
//! | list | index used |
//! |---|---|
//! | resources of a type | `idx_resources_resource_type_id_v1` (`resource_type_id`, then rowid) |
//! | entitlements of a resource | `idx_entitlements_resource_id_v1` |
//! | grants held by a principal | `idx_grants_principal_id_v1` |
//! | holders of an entitlement | `idx_grants_entitlement_sync_grant_v1` (`entitlement_id, sync_id, id`) |
//! | grants on a resource | `idx_grants_resource_type_id_resource_id_v1` |
//! | one grant of an entitlement to a principal | `idx_grants_entitlement_id_principal_id_v1` |
//! | diffs | the rowid, joined on `(external_id, sync_id)` |

use prost::Message;
use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, ToSql};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Entitlement, Grant, Resource, ResourceId, ResourceType};

use super::c1z::sql_error;
use super::convert::{self, GrantRow};
use super::proto;
use super::query;
use super::reader::C1zReader;

mod browse;

/// One page of a list, in row order, with the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowPage<T> {
    /// The items of this page (at most the limit asked for).
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next: Option<i64>,
}

/// A resource type and how many resources of it the sync holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TypeCount {
    /// The type.
    pub resource_type: ResourceType,
    /// Resources of it.
    pub resources: u64,
}

/// Which grants to page through; each variant is answered from its own index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantsOf<'a> {
    /// The holders of one entitlement id.
    Entitlement(&'a str),
    /// Everything one principal holds.
    Principal(&'a ResourceId),
    /// The grants of the entitlements on one resource.
    Resource(&'a ResourceId),
}

/// One kind of change between two syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffKind {
    /// Resources only in the newer sync.
    ResourcesAdded,
    /// Resources only in the older sync.
    ResourcesRemoved,
    /// Resources in both whose stored record differs (status, profile, name…).
    ResourcesChanged,
    /// Entitlements only in the newer sync.
    EntitlementsAdded,
    /// Entitlements only in the older sync.
    EntitlementsRemoved,
    /// Grants only in the newer sync.
    GrantsAdded,
    /// Grants only in the older sync.
    GrantsRemoved,
}

impl DiffKind {
    /// Every kind, in display order.
    pub const ALL: [DiffKind; 7] = [
        DiffKind::GrantsAdded,
        DiffKind::GrantsRemoved,
        DiffKind::ResourcesAdded,
        DiffKind::ResourcesRemoved,
        DiffKind::ResourcesChanged,
        DiffKind::EntitlementsAdded,
        DiffKind::EntitlementsRemoved,
    ];

    /// The kebab-case name used in URLs, e.g. `grants-added`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::ResourcesAdded => "resources-added",
            DiffKind::ResourcesRemoved => "resources-removed",
            DiffKind::ResourcesChanged => "resources-changed",
            DiffKind::EntitlementsAdded => "entitlements-added",
            DiffKind::EntitlementsRemoved => "entitlements-removed",
            DiffKind::GrantsAdded => "grants-added",
            DiffKind::GrantsRemoved => "grants-removed",
        }
    }

    /// Parses [`as_str`](Self::as_str)'s names.
    pub fn parse(name: &str) -> Option<DiffKind> {
        DiffKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    fn table(self) -> &'static str {
        match self {
            DiffKind::ResourcesAdded | DiffKind::ResourcesRemoved | DiffKind::ResourcesChanged => {
                "v1_resources"
            }
            DiffKind::EntitlementsAdded | DiffKind::EntitlementsRemoved => "v1_entitlements",
            DiffKind::GrantsAdded | DiffKind::GrantsRemoved => "v1_grants",
        }
    }

    /// Whether rows come from the older sync.
    fn removed(self) -> bool {
        matches!(
            self,
            DiffKind::ResourcesRemoved | DiffKind::EntitlementsRemoved | DiffKind::GrantsRemoved
        )
    }
}

/// One change between two syncs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DiffItem {
    /// A resource added or removed.
    Resource {
        /// The resource as stored in the sync that has it.
        resource: Box<Resource>,
    },
    /// A resource in both syncs whose record changed.
    Changed {
        /// In the older sync.
        before: Box<Resource>,
        /// In the newer sync.
        after: Box<Resource>,
    },
    /// An entitlement added or removed.
    Entitlement {
        /// The entitlement as stored in the sync that has it.
        entitlement: Entitlement,
    },
    /// A grant added or removed.
    Grant {
        /// The grant as stored in the sync that has it.
        grant: Grant,
    },
}

/// How many changes of each kind two syncs differ by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffCounts {
    /// The older sync.
    pub from_sync: String,
    /// The newer sync.
    pub to_sync: String,
    /// `(kind, count)` for every [`DiffKind`], in [`DiffKind::ALL`] order.
    pub counts: Vec<(DiffKind, u64)>,
}

/// The SQL function `explorer_match(data, needle)`: whether a stored resource's display
/// name, id, login or an email contains `needle` (already lower-case), ignoring case.
const MATCH_FN: &str = "explorer_match";

fn register_match(conn: &Connection) -> Result<()> {
    conn.create_scalar_function(
        MATCH_FN,
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let data = ctx.get_raw(0).as_blob().unwrap_or_default();
            let needle = ctx.get::<String>(1)?;
            Ok(proto::Resource::decode(data)
                .ok()
                .and_then(|p| convert::resource_from_proto(&p).ok())
                .is_some_and(|r| resource_matches(&r, &needle)))
        },
    )
    .map_err(sql_error)
}

/// Whether `needle` (lower-case) is in the resource's name, id, login or an email.
pub(crate) fn resource_matches(r: &Resource, needle: &str) -> bool {
    let hit = |s: &str| s.to_lowercase().contains(needle);
    hit(&r.display_name)
        || hit(&r.id.resource)
        || r.user
            .as_ref()
            .is_some_and(|u| hit(&u.login) || u.emails.iter().any(|e| hit(&e.address)))
}

fn decode_error(what: &'static str) -> impl Fn(prost::DecodeError) -> Error {
    move |e| {
        Error::internal(format!(
            "a stored {what} is not a valid protobuf message: {e}"
        ))
    }
}

fn decode_resource(data: &[u8]) -> Result<Resource> {
    let p = proto::Resource::decode(data).map_err(decode_error("resource"))?;
    convert::resource_from_proto(&p)
}

fn decode_entitlement(data: &[u8]) -> Result<Entitlement> {
    let p = proto::Entitlement::decode(data).map_err(decode_error("entitlement"))?;
    convert::entitlement_from_proto(&p)
}

/// Rows `(rowid, blob)` of a query whose first two columns are those.
fn blob_rows(conn: &Connection, sql: &str, args: &[&dyn ToSql]) -> Result<Vec<(i64, Vec<u8>)>> {
    let mut stmt = conn.prepare_cached(sql).map_err(sql_error)?;
    let rows = stmt
        .query_map(args, |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(sql_error)?;
    rows.collect::<std::result::Result<_, _>>()
        .map_err(sql_error)
}

/// Cuts `rows` (fetched with `limit + 1`) to a page.
fn page_of<T>(mut rows: Vec<(i64, T)>, limit: u32) -> RowPage<T> {
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|(id, _)| *id)
    } else {
        None
    };
    RowPage {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}

fn count(conn: &Connection, sql: &str, args: &[&dyn ToSql]) -> Result<u64> {
    conn.prepare_cached(sql)
        .map_err(sql_error)?
        .query_row(args, |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(sql_error)
}

/// The grant columns read by [`grant_rows`]; `{x}` is the expansion column or `NULL`.
const GRANT_COLUMNS: &str = "id, data, {x}, entitlement_id, resource_type_id, resource_id,
    principal_resource_type_id, principal_resource_id";

fn grant_rows(conn: &Connection, sql: &str, args: &[&dyn ToSql]) -> Result<Vec<(i64, Grant)>> {
    let x = if query::has_column(conn, "v1_grants", "expansion")? {
        "expansion"
    } else {
        "NULL"
    };
    let sql = sql.replace("{cols}", &GRANT_COLUMNS.replace("{x}", x));
    let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
    let rows = stmt
        .query_map(args, |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Option<Vec<u8>>>(2)?,
                GrantRow {
                    entitlement_id: r.get(3)?,
                    resource: ResourceId::new(r.get::<_, String>(4)?, r.get::<_, String>(5)?),
                    principal: ResourceId::new(r.get::<_, String>(6)?, r.get::<_, String>(7)?),
                },
            ))
        })
        .map_err(sql_error)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, data, expansion, row) = row.map_err(sql_error)?;
        let p = proto::Grant::decode(data.as_slice()).map_err(decode_error("grant"))?;
        out.push((
            id,
            convert::grant_from_proto(&p, expansion.as_deref(), &row)?,
        ));
    }
    Ok(out)
}

/// Resources of one type (`?4`), optionally matching `?5`, after row `?2`.
const SQL_RESOURCES_OF_TYPE: &str = "SELECT id, data FROM v1_resources
    WHERE resource_type_id = ?4 AND sync_id = ?1 AND id > ?2
      AND (?5 IS NULL OR explorer_match(data, ?5)) ORDER BY id LIMIT ?3";
/// Resources of every type (`?4` is NULL), optionally matching `?5`: a row-id range scan.
const SQL_RESOURCES: &str = "SELECT id, data FROM v1_resources
    WHERE ?4 IS NULL AND sync_id = ?1 AND id > ?2
      AND (?5 IS NULL OR explorer_match(data, ?5)) ORDER BY id LIMIT ?3";
const SQL_ENTITLEMENTS_OF_RESOURCE: &str = "SELECT id, data FROM v1_entitlements
    WHERE resource_type_id = ?1 AND resource_id = ?2 AND sync_id = ?3 AND id > ?4
    ORDER BY id LIMIT ?5";
const SQL_GRANTS_OF_ENTITLEMENT: &str = "SELECT {cols} FROM v1_grants
    WHERE entitlement_id = ?1 AND sync_id = ?2 AND id > ?3 ORDER BY id LIMIT ?4";
const SQL_GRANTS_OF_PRINCIPAL: &str = "SELECT {cols} FROM v1_grants
    WHERE principal_resource_type_id = ?1 AND principal_resource_id = ?2
      AND sync_id = ?3 AND id > ?4 ORDER BY id LIMIT ?5";
const SQL_GRANTS_ON_RESOURCE: &str = "SELECT {cols} FROM v1_grants
    WHERE resource_type_id = ?1 AND resource_id = ?2 AND sync_id = ?3 AND id > ?4
    ORDER BY id LIMIT ?5";
const SQL_GRANT_OF: &str = "SELECT {cols} FROM v1_grants
    WHERE entitlement_id = ?1 AND principal_resource_type_id = ?2
      AND principal_resource_id = ?3 AND sync_id = ?4 ORDER BY id LIMIT 1";

#[cfg(test)]
mod tests;
