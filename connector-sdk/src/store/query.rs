//! SQL queries shared by the writer and the reader.

use std::collections::BTreeMap;

use prost::Message;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Entitlement, Grant, Resource, ResourceId, ResourceType};

use super::c1z::sql_error;
use super::changes::ResourceChange;
use super::convert::{self, GrantRow};
use super::proto;

/// One row of `v1_sync_runs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncRun {
    /// The KSUID.
    pub sync_id: String,
    /// Start time, as stored (local wall clock).
    pub started_at: String,
    /// End time; `None` for an unfinished sync.
    pub ended_at: Option<String>,
    /// `full`, `partial`, …
    pub sync_type: String,
    /// The sync's checkpoint token.
    pub sync_token: String,
    /// For a partial sync, the full sync it refines (`''` otherwise).
    #[serde(default)]
    pub parent_sync_id: String,
}

/// The key of a finished sync's token under which the SDK keeps the sync's warnings.
pub(crate) const WARNINGS_KEY: &str = "rust_connector_sdk_warnings";
/// The key of a sync's token under which the SDK keeps the sync's [`SyncScope`] when the
/// sync was narrowed.
pub(crate) const SCOPE_KEY: &str = "rust_connector_sdk_scope";

/// What a narrowed sync covered, recorded in its token (next to its warnings) so readers
/// can say "partial sync of 2 resources". A default scope is a full sync.
///
/// ```
/// use connector_sdk::store::SyncScope;
/// let scope = SyncScope { targeted: vec!["bid:r:user/1".into(), "bid:r:user/2".into()], ..Default::default() };
/// assert_eq!(scope.describe(), "partial sync of 2 resources");
/// assert_eq!(SyncScope::default().describe(), "full sync");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncScope {
    /// Only these resource types were listed (empty: all).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_types: Vec<String>,
    /// Resources only: no entitlements, no grants.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_entitlements_and_grants: bool,
    /// Entitlements but no grants.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_grants: bool,
    /// Grants stored unexpanded.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_expand_grants: bool,
    /// A targeted sync of these resources (their BIDs, `bid:r:…`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targeted: Vec<String>,
}

impl SyncScope {
    /// Whether nothing was narrowed.
    pub fn is_full(&self) -> bool {
        *self == SyncScope::default()
    }

    /// A short description: "full sync", "partial sync of 2 resources", "sync of user,
    /// group; no grants"…
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.targeted.is_empty() {
            let n = self.targeted.len();
            parts.push(format!(
                "partial sync of {n} resource{}",
                if n == 1 { "" } else { "s" }
            ));
        } else if !self.resource_types.is_empty() {
            parts.push(format!("sync of {}", self.resource_types.join(", ")));
        } else {
            parts.push("full sync".to_string());
        }
        if self.skip_entitlements_and_grants {
            parts.push("resources only".into());
        } else if self.skip_grants {
            parts.push("no grants".into());
        }
        if self.skip_expand_grants {
            parts.push("grants unexpanded".into());
        }
        parts.join("; ")
    }
}

impl SyncRun {
    /// The warnings the sync recorded (kept in its token when it finished; the first 100).
    pub fn warnings(&self) -> Vec<String> {
        serde_json::from_str::<serde_json::Value>(&self.sync_token)
            .ok()
            .and_then(|v| serde_json::from_value(v.get(WARNINGS_KEY)?.clone()).ok())
            .unwrap_or_default()
    }

    /// What the sync covered, when it was narrowed (`None`: a full sync, or a file from
    /// another SDK).
    pub fn scope(&self) -> Option<SyncScope> {
        serde_json::from_str::<serde_json::Value>(&self.sync_token)
            .ok()
            .and_then(|v| serde_json::from_value(v.get(SCOPE_KEY)?.clone()).ok())
    }

    /// Whether this is a full sync (`sync_type = 'full'`).
    pub fn is_full(&self) -> bool {
        self.sync_type == "full"
    }

    /// Whether this sync listed resources only (`sync_type = 'resources_only'`).
    pub fn is_resources_only(&self) -> bool {
        self.sync_type == "resources_only"
    }
}

/// Counts of one sync, serialised exactly as upstream's cached `stats` column.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStats {
    /// Resource types.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resource_types: u64,
    /// Resources of declared types.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub resources: u64,
    /// Entitlements.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub entitlements: u64,
    /// Grants.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub grants: u64,
    /// Resources per declared type, zeros included.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resources_by_resource_type: BTreeMap<String, u64>,
    /// Grants per type of the granted entitlement's resource.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grants_by_resource_type: BTreeMap<String, u64>,
    /// Entitlements per resource type.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub entitlements_by_resource_type: BTreeMap<String, u64>,
    /// Assets.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub assets: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What changed between two syncs: ids added and removed, and resources changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffReport {
    /// The older sync.
    pub from_sync: String,
    /// The newer sync.
    pub to_sync: String,
    /// Resource ids (`type:id`) only in the newer sync.
    pub resources_added: Vec<String>,
    /// Resource ids only in the older sync.
    pub resources_removed: Vec<String>,
    /// Resources in both syncs whose record changed (status, profile, display name…),
    /// with the fields that changed, by id.
    #[serde(default)]
    pub resources_changed: Vec<ResourceChange>,
    /// Entitlement ids only in the newer sync.
    pub entitlements_added: Vec<String>,
    /// Entitlement ids only in the older sync.
    pub entitlements_removed: Vec<String>,
    /// Grant ids only in the newer sync.
    pub grants_added: Vec<String>,
    /// Grant ids only in the older sync.
    pub grants_removed: Vec<String>,
}

pub(super) fn has_column(conn: &Connection, table: &str, column: &str) -> Result<bool> {
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_info({table})"))
        .map_err(sql_error)?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(1))
        .map_err(sql_error)?;
    for n in names {
        if n.map_err(sql_error)? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Every sync in the file, oldest first. Tolerates files from older SDKs without
/// `sync_type`.
pub(crate) fn sync_runs(conn: &Connection) -> Result<Vec<SyncRun>> {
    let sync_type = if has_column(conn, "v1_sync_runs", "sync_type")? {
        "sync_type"
    } else {
        "'full'"
    };
    let parent = if has_column(conn, "v1_sync_runs", "parent_sync_id")? {
        "parent_sync_id"
    } else {
        "''"
    };
    let mut stmt = conn
        .prepare(&format!(
            "SELECT sync_id, CAST(started_at AS TEXT), CAST(ended_at AS TEXT), {sync_type}, sync_token, {parent} FROM v1_sync_runs ORDER BY id"
        ))
        .map_err(sql_error)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SyncRun {
                sync_id: r.get(0)?,
                started_at: r.get(1)?,
                ended_at: r.get(2)?,
                sync_type: r.get(3)?,
                sync_token: r.get(4)?,
                parent_sync_id: r.get(5)?,
            })
        })
        .map_err(sql_error)?;
    rows.collect::<std::result::Result<Vec<_>, _>>()
        .map_err(sql_error)
}

/// The sync a reader looks at by default: the latest finished *full* sync (as upstream's
/// store picks its default view, `ended_at DESC, sync_id DESC`), or, in a file holding no
/// finished full sync, the latest finished sync of any type.
pub(crate) fn latest_finished(conn: &Connection) -> Result<Option<SyncRun>> {
    let runs = sync_runs(conn)?;
    let latest = |full_only: bool| {
        runs.iter()
            .filter(|r| r.ended_at.is_some() && (!full_only || r.is_full()))
            .max_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id)))
            .cloned()
    };
    Ok(latest(true).or_else(|| latest(false)))
}

/// The latest finished sync of any type (full or partial).
pub(crate) fn latest_finished_any(conn: &Connection) -> Result<Option<SyncRun>> {
    Ok(sync_runs(conn)?
        .into_iter()
        .filter(|r| r.ended_at.is_some())
        .max_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id))))
}

pub(crate) fn resource_types(conn: &Connection, sync: &str) -> Result<Vec<ResourceType>> {
    let mut stmt = conn
        .prepare_cached("SELECT data FROM v1_resource_types WHERE sync_id = ?1 ORDER BY id")
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(params![sync], |r| r.get::<_, Vec<u8>>(0))
        .map_err(sql_error)?;
    let mut out = Vec::new();
    for data in rows {
        let p = proto::ResourceType::decode(data.map_err(sql_error)?.as_slice())
            .map_err(decode_error("resource type"))?;
        out.push(convert::resource_type_from_proto(&p));
    }
    Ok(out)
}

fn decode_error(what: &'static str) -> impl Fn(prost::DecodeError) -> Error {
    move |e| {
        Error::internal(format!(
            "a stored {what} is not a valid protobuf message: {e}"
        ))
    }
}

/// Resources of `sync` with rowid above `after`, at most `limit`, optionally of one type
/// and/or under one parent.
pub(crate) fn resources(
    conn: &Connection,
    sync: &str,
    resource_type: Option<&str>,
    parent: Option<&ResourceId>,
    after: i64,
    limit: i64,
) -> Result<Vec<(i64, Resource)>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, data FROM v1_resources WHERE sync_id = ?1 AND id > ?2
               AND (?3 IS NULL OR resource_type_id = ?3)
               AND (?4 IS NULL OR (parent_resource_type_id = ?4 AND parent_resource_id = ?5))
             ORDER BY id LIMIT ?6",
        )
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(
            params![
                sync,
                after,
                resource_type,
                parent.map(|p| &p.resource_type),
                parent.map(|p| &p.resource),
                limit
            ],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)),
        )
        .map_err(sql_error)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, data) = row.map_err(sql_error)?;
        let p = proto::Resource::decode(data.as_slice()).map_err(decode_error("resource"))?;
        out.push((id, convert::resource_from_proto(&p)?));
    }
    Ok(out)
}

pub(crate) fn resource(conn: &Connection, sync: &str, id: &ResourceId) -> Result<Option<Resource>> {
    let data: Option<Vec<u8>> = conn
        .query_row(
            "SELECT data FROM v1_resources WHERE sync_id = ?1 AND external_id = ?2",
            params![sync, id.to_string()],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_error)?;
    data.map(|d| {
        let p = proto::Resource::decode(d.as_slice()).map_err(decode_error("resource"))?;
        convert::resource_from_proto(&p)
    })
    .transpose()
}

pub(crate) fn entitlements(
    conn: &Connection,
    sync: &str,
    resource: Option<&ResourceId>,
) -> Result<Vec<Entitlement>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT data FROM v1_entitlements WHERE sync_id = ?1
               AND (?2 IS NULL OR (resource_type_id = ?2 AND resource_id = ?3)) ORDER BY id",
        )
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(
            params![
                sync,
                resource.map(|r| &r.resource_type),
                resource.map(|r| &r.resource)
            ],
            |r| r.get::<_, Vec<u8>>(0),
        )
        .map_err(sql_error)?;
    let mut out = Vec::new();
    for data in rows {
        let p = proto::Entitlement::decode(data.map_err(sql_error)?.as_slice())
            .map_err(decode_error("entitlement"))?;
        out.push(convert::entitlement_from_proto(&p)?);
    }
    Ok(out)
}

pub(crate) fn entitlement(conn: &Connection, sync: &str, id: &str) -> Result<Option<Entitlement>> {
    let data: Option<Vec<u8>> = conn
        .query_row(
            "SELECT data FROM v1_entitlements WHERE sync_id = ?1 AND external_id = ?2",
            params![sync, id],
            |r| r.get(0),
        )
        .optional()
        .map_err(sql_error)?;
    data.map(|d| {
        let p = proto::Entitlement::decode(d.as_slice()).map_err(decode_error("entitlement"))?;
        convert::entitlement_from_proto(&p)
    })
    .transpose()
}

/// Which grants to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GrantQuery<'a> {
    pub(crate) entitlement: Option<&'a str>,
    pub(crate) principal: Option<&'a ResourceId>,
    pub(crate) resource: Option<&'a ResourceId>,
    pub(crate) only_expandable: bool,
    pub(crate) id: Option<&'a str>,
}

pub(crate) fn grants(conn: &Connection, sync: &str, q: &GrantQuery<'_>) -> Result<Vec<Grant>> {
    let has_expansion = has_column(conn, "v1_grants", "expansion")?;
    let expansion = if has_expansion { "expansion" } else { "NULL" };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT data, {expansion}, entitlement_id, resource_type_id, resource_id,
                    principal_resource_type_id, principal_resource_id
               FROM v1_grants WHERE sync_id = ?1
               AND (?2 IS NULL OR entitlement_id = ?2)
               AND (?3 IS NULL OR (principal_resource_type_id = ?3 AND principal_resource_id = ?4))
               AND (?5 IS NULL OR (resource_type_id = ?5 AND resource_id = ?6))
               AND (?7 = 0 OR {expansion} IS NOT NULL)
               AND (?8 IS NULL OR external_id = ?8)
             ORDER BY id"
        ))
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(
            params![
                sync,
                q.entitlement,
                q.principal.map(|p| &p.resource_type),
                q.principal.map(|p| &p.resource),
                q.resource.map(|p| &p.resource_type),
                q.resource.map(|p| &p.resource),
                q.only_expandable as i64,
                q.id,
            ],
            |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?,
                    GrantRow {
                        entitlement_id: r.get(2)?,
                        resource: ResourceId::new(r.get::<_, String>(3)?, r.get::<_, String>(4)?),
                        principal: ResourceId::new(r.get::<_, String>(5)?, r.get::<_, String>(6)?),
                    },
                ))
            },
        )
        .map_err(sql_error)?;
    let mut out = Vec::new();
    for row in rows {
        let (data, expansion, row) = row.map_err(sql_error)?;
        let p = proto::Grant::decode(data.as_slice()).map_err(decode_error("grant"))?;
        out.push(convert::grant_from_proto(&p, expansion.as_deref(), &row)?);
    }
    Ok(out)
}

fn count(conn: &Connection, sql: &str, sync: &str) -> Result<u64> {
    conn.query_row(sql, params![sync], |r| r.get::<_, i64>(0))
        .map(|n| n as u64)
        .map_err(sql_error)
}

fn grouped(conn: &Connection, sql: &str, sync: &str) -> Result<BTreeMap<String, u64>> {
    let mut stmt = conn.prepare(sql).map_err(sql_error)?;
    let rows = stmt
        .query_map(params![sync], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map_err(sql_error)?;
    rows.collect::<std::result::Result<_, _>>()
        .map_err(sql_error)
}

/// Counts of one sync, computed from the tables as upstream does.
pub(crate) fn stats(conn: &Connection, sync: &str) -> Result<SyncStats> {
    let mut by_type = grouped(
        conn,
        "SELECT r.resource_type_id, COUNT(*) FROM v1_resources r
          WHERE r.sync_id = ?1 AND r.resource_type_id IN (SELECT external_id FROM v1_resource_types WHERE sync_id = ?1)
          GROUP BY r.resource_type_id",
        sync,
    )?;
    for rt in resource_types(conn, sync)? {
        by_type.entry(rt.id).or_insert(0);
    }
    Ok(SyncStats {
        resource_types: count(
            conn,
            "SELECT COUNT(*) FROM v1_resource_types WHERE sync_id = ?1",
            sync,
        )?,
        resources: by_type.values().sum(),
        entitlements: count(
            conn,
            "SELECT COUNT(*) FROM v1_entitlements WHERE sync_id = ?1",
            sync,
        )?,
        grants: count(
            conn,
            "SELECT COUNT(*) FROM v1_grants WHERE sync_id = ?1",
            sync,
        )?,
        resources_by_resource_type: by_type,
        grants_by_resource_type: grouped(
            conn,
            "SELECT resource_type_id, COUNT(*) FROM v1_grants WHERE sync_id = ?1 GROUP BY resource_type_id",
            sync,
        )?,
        entitlements_by_resource_type: grouped(
            conn,
            "SELECT resource_type_id, COUNT(*) FROM v1_entitlements WHERE sync_id = ?1 GROUP BY resource_type_id",
            sync,
        )?,
        assets: count(
            conn,
            "SELECT COUNT(*) FROM v1_assets WHERE sync_id = ?1",
            sync,
        )?,
    })
}

fn ids_only_in(conn: &Connection, table: &str, a: &str, b: &str) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare(&format!(
            "SELECT external_id FROM {table} WHERE sync_id = ?1
             EXCEPT SELECT external_id FROM {table} WHERE sync_id = ?2 ORDER BY 1"
        ))
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(params![a, b], |r| r.get::<_, String>(0))
        .map_err(sql_error)?;
    rows.collect::<std::result::Result<_, _>>()
        .map_err(sql_error)
}

/// Ids added and removed, and resources changed, from sync `from` to sync `to`.
pub(crate) fn diff(conn: &Connection, from: &str, to: &str) -> Result<DiffReport> {
    Ok(DiffReport {
        from_sync: from.to_string(),
        to_sync: to.to_string(),
        resources_added: ids_only_in(conn, "v1_resources", to, from)?,
        resources_removed: ids_only_in(conn, "v1_resources", from, to)?,
        resources_changed: super::changes::changed_resources(conn, from, to)?,
        entitlements_added: ids_only_in(conn, "v1_entitlements", to, from)?,
        entitlements_removed: ids_only_in(conn, "v1_entitlements", from, to)?,
        grants_added: ids_only_in(conn, "v1_grants", to, from)?,
        grants_removed: ids_only_in(conn, "v1_grants", from, to)?,
    })
}

/// Grants whose entitlement or principal was not synced, and resources whose parent was
/// not: `(what, grant or resource id, missing id)`, at most `limit` of each, with totals.
pub(crate) fn dangling(
    conn: &Connection,
    sync: &str,
    limit: i64,
) -> Result<Vec<(String, u64, Vec<String>)>> {
    let checks = [
        (
            "grants whose entitlement was not synced",
            "FROM v1_grants g WHERE g.sync_id = ?1 AND NOT EXISTS
               (SELECT 1 FROM v1_entitlements e WHERE e.sync_id = ?1 AND e.external_id = g.entitlement_id)",
            "g.external_id || ' -> ' || g.entitlement_id",
        ),
        (
            "grants whose principal was not synced",
            "FROM v1_grants g WHERE g.sync_id = ?1 AND NOT EXISTS
               (SELECT 1 FROM v1_resources r WHERE r.sync_id = ?1
                  AND r.external_id = g.principal_resource_type_id || ':' || g.principal_resource_id)",
            "g.external_id || ' -> ' || g.principal_resource_type_id || ':' || g.principal_resource_id",
        ),
        (
            "resources whose parent was not synced",
            "FROM v1_resources c WHERE c.sync_id = ?1 AND c.parent_resource_id IS NOT NULL AND NOT EXISTS
               (SELECT 1 FROM v1_resources p WHERE p.sync_id = ?1
                  AND p.external_id = c.parent_resource_type_id || ':' || c.parent_resource_id)",
            "c.external_id || ' -> ' || c.parent_resource_type_id || ':' || c.parent_resource_id",
        ),
    ];
    let mut out = Vec::new();
    for (what, from, shown) in checks {
        let total = count(conn, &format!("SELECT COUNT(*) {from}"), sync)?;
        if total == 0 {
            continue;
        }
        let mut stmt = conn
            .prepare(&format!("SELECT {shown} {from} LIMIT {limit}"))
            .map_err(sql_error)?;
        let examples = stmt
            .query_map(params![sync], |r| r.get::<_, String>(0))
            .map_err(sql_error)?
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(sql_error)?;
        out.push((what.to_string(), total, examples));
    }
    Ok(out)
}
