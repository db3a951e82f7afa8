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
use rusqlite::{Connection, OptionalExtension, ToSql, params};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Entitlement, Grant, Resource, ResourceId, ResourceType};

use super::c1z::sql_error;
use super::convert::{self, GrantRow};
use super::proto;
use super::query;
use super::reader::C1zReader;

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

impl C1zReader {
    /// The resource types with how many resources of each the sync holds.
    pub fn resource_type_counts(&self) -> Result<Vec<TypeCount>> {
        let sync = &self.sync().sync_id;
        let mut out = Vec::new();
        for rt in self.resource_types()? {
            let n = count(
                self.conn(),
                "SELECT COUNT(*) FROM v1_resources WHERE resource_type_id = ?1 AND sync_id = ?2",
                &[&rt.id, sync],
            )?;
            out.push(TypeCount {
                resource_type: rt,
                resources: n,
            });
        }
        Ok(out)
    }

    /// A page of resources after row `after` (0 for the first page), optionally of one
    /// type, optionally only those whose name, id, login or an email contains `search`
    /// (ignoring case).
    pub fn resources_page(
        &self,
        resource_type: Option<&str>,
        search: Option<&str>,
        after: i64,
        limit: u32,
    ) -> Result<RowPage<Resource>> {
        let conn = self.conn();
        let sync = &self.sync().sync_id;
        let needle = search
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty());
        register_match(conn)?;
        let sql = if resource_type.is_some() {
            SQL_RESOURCES_OF_TYPE
        } else {
            SQL_RESOURCES
        };
        let rows = blob_rows(
            conn,
            sql,
            &[sync, &after, &(limit as i64 + 1), &resource_type, &needle],
        )?;
        let rows = rows
            .into_iter()
            .map(|(id, d)| Ok((id, decode_resource(&d)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(rows, limit))
    }

    /// A page of the entitlements on `resource`.
    pub fn entitlements_page(
        &self,
        resource: &ResourceId,
        after: i64,
        limit: u32,
    ) -> Result<RowPage<Entitlement>> {
        let rows = blob_rows(
            self.conn(),
            SQL_ENTITLEMENTS_OF_RESOURCE,
            &[
                &resource.resource_type,
                &resource.resource,
                &self.sync().sync_id,
                &after,
                &(limit as i64 + 1),
            ],
        )?;
        let rows = rows
            .into_iter()
            .map(|(id, d)| Ok((id, decode_entitlement(&d)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(rows, limit))
    }

    /// How many entitlements are on `resource`.
    pub fn entitlement_count(&self, resource: &ResourceId) -> Result<u64> {
        count(
            self.conn(),
            "SELECT COUNT(*) FROM v1_entitlements
              WHERE resource_type_id = ?1 AND resource_id = ?2 AND sync_id = ?3",
            &[
                &resource.resource_type,
                &resource.resource,
                &self.sync().sync_id,
            ],
        )
    }

    /// A page of grants: an entitlement's holders, a principal's grants, or the grants on
    /// a resource.
    pub fn grants_page(&self, of: GrantsOf<'_>, after: i64, limit: u32) -> Result<RowPage<Grant>> {
        let sync = &self.sync().sync_id;
        let lim = limit as i64 + 1;
        let rows = match of {
            GrantsOf::Entitlement(e) => grant_rows(
                self.conn(),
                SQL_GRANTS_OF_ENTITLEMENT,
                &[&e, sync, &after, &lim],
            )?,
            GrantsOf::Principal(p) => grant_rows(
                self.conn(),
                SQL_GRANTS_OF_PRINCIPAL,
                &[&p.resource_type, &p.resource, sync, &after, &lim],
            )?,
            GrantsOf::Resource(r) => grant_rows(
                self.conn(),
                SQL_GRANTS_ON_RESOURCE,
                &[&r.resource_type, &r.resource, sync, &after, &lim],
            )?,
        };
        Ok(page_of(rows, limit))
    }

    /// How many grants [`grants_page`](Self::grants_page) pages through.
    pub fn grant_count(&self, of: GrantsOf<'_>) -> Result<u64> {
        let sync = &self.sync().sync_id;
        match of {
            GrantsOf::Entitlement(e) => count(
                self.conn(),
                "SELECT COUNT(*) FROM v1_grants WHERE entitlement_id = ?1 AND sync_id = ?2",
                &[&e, sync],
            ),
            GrantsOf::Principal(p) => count(
                self.conn(),
                "SELECT COUNT(*) FROM v1_grants
                  WHERE principal_resource_type_id = ?1 AND principal_resource_id = ?2 AND sync_id = ?3",
                &[&p.resource_type, &p.resource, sync],
            ),
            GrantsOf::Resource(r) => count(
                self.conn(),
                "SELECT COUNT(*) FROM v1_grants
                  WHERE resource_type_id = ?1 AND resource_id = ?2 AND sync_id = ?3",
                &[&r.resource_type, &r.resource, sync],
            ),
        }
    }

    /// The grant of `entitlement` to `principal`, if the sync has one (one index lookup).
    pub fn grant_of(&self, entitlement: &str, principal: &ResourceId) -> Result<Option<Grant>> {
        Ok(grant_rows(
            self.conn(),
            SQL_GRANT_OF,
            &[
                &entitlement,
                &principal.resource_type,
                &principal.resource,
                &self.sync().sync_id,
            ],
        )?
        .pop()
        .map(|(_, g)| g))
    }

    /// One resource as stored in sync `sync` (which need not be the one being read).
    pub fn resource_in(&self, sync: &str, id: &ResourceId) -> Result<Option<Resource>> {
        query::resource(self.conn(), sync, id)
    }

    /// One entitlement as stored in sync `sync`.
    pub fn entitlement_in(&self, sync: &str, id: &str) -> Result<Option<Entitlement>> {
        query::entitlement(self.conn(), sync, id)
    }

    fn check_sync(&self, sync: &str) -> Result<()> {
        let found: Option<i64> = self
            .conn()
            .query_row(
                "SELECT 1 FROM v1_sync_runs WHERE sync_id = ?1",
                params![sync],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql_error)?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::not_found(format!("the file holds no sync {sync}"))),
        }
    }

    /// How many changes of each kind there are from sync `from` to sync `to`.
    pub fn diff_counts(&self, from: &str, to: &str) -> Result<DiffCounts> {
        self.check_sync(from)?;
        self.check_sync(to)?;
        let mut counts = Vec::new();
        for kind in DiffKind::ALL {
            let sql = diff_sql(kind, "COUNT(*)", false);
            counts.push((kind, count(self.conn(), &sql, &[&from, &to])?));
        }
        Ok(DiffCounts {
            from_sync: from.to_string(),
            to_sync: to.to_string(),
            counts,
        })
    }

    /// A page of the changes of one kind from sync `from` to sync `to`.
    pub fn diff_page(
        &self,
        from: &str,
        to: &str,
        kind: DiffKind,
        after: i64,
        limit: u32,
    ) -> Result<RowPage<DiffItem>> {
        self.check_sync(from)?;
        self.check_sync(to)?;
        let conn = self.conn();
        let lim = limit as i64 + 1;
        let args: [&dyn ToSql; 4] = [&from, &to, &after, &lim];
        let rows: Vec<(i64, DiffItem)> = match kind {
            DiffKind::GrantsAdded | DiffKind::GrantsRemoved => {
                let sql = diff_sql(kind, "{cols}", true);
                grant_rows(conn, &sql, &args)?
                    .into_iter()
                    .map(|(id, grant)| (id, DiffItem::Grant { grant }))
                    .collect()
            }
            DiffKind::ResourcesChanged => {
                let sql = diff_sql(kind, "b.id, a.data, b.data", true);
                let mut stmt = conn.prepare_cached(&sql).map_err(sql_error)?;
                let rows = stmt
                    .query_map(&args[..], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, Vec<u8>>(1)?,
                            r.get::<_, Vec<u8>>(2)?,
                        ))
                    })
                    .map_err(sql_error)?
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(sql_error)?;
                rows.into_iter()
                    .map(|(id, a, b)| {
                        Ok((
                            id,
                            DiffItem::Changed {
                                before: Box::new(decode_resource(&a)?),
                                after: Box::new(decode_resource(&b)?),
                            },
                        ))
                    })
                    .collect::<Result<_>>()?
            }
            _ => {
                let sql = diff_sql(kind, "b.id, b.data", true);
                blob_rows(conn, &sql, &args)?
                    .into_iter()
                    .map(|(id, d)| {
                        Ok((
                            id,
                            if kind.table() == "v1_resources" {
                                DiffItem::Resource {
                                    resource: Box::new(decode_resource(&d)?),
                                }
                            } else {
                                DiffItem::Entitlement {
                                    entitlement: decode_entitlement(&d)?,
                                }
                            },
                        ))
                    })
                    .collect::<Result<_>>()?
            }
        };
        Ok(page_of(rows, limit))
    }
}

/// The SQL of one diff kind: `?1` = from, `?2` = to, and when `paged`, `?3` = after and
/// `?4` = limit. `b` is the row listed (in the newer sync, or the older for removals), `a`
/// its counterpart.
fn diff_sql(kind: DiffKind, columns: &str, paged: bool) -> String {
    let table = kind.table();
    let (listed, other) = if kind.removed() {
        ("?1", "?2")
    } else {
        ("?2", "?1")
    };
    let page = if paged {
        "AND b.id > ?3 ORDER BY b.id LIMIT ?4"
    } else {
        ""
    };
    if kind == DiffKind::ResourcesChanged {
        format!(
            "SELECT {columns} FROM {table} b JOIN {table} a
               ON a.external_id = b.external_id AND a.sync_id = ?1
             WHERE b.sync_id = ?2 AND a.data != b.data {page}"
        )
    } else {
        // `{cols}` (grant columns) name no table; `b` is the only one in the outer query.
        format!(
            "SELECT {columns} FROM {table} b WHERE b.sync_id = {listed} AND NOT EXISTS
               (SELECT 1 FROM {table} a WHERE a.external_id = b.external_id AND a.sync_id = {other})
             {page}"
        )
    }
}

#[cfg(test)]
mod tests;
