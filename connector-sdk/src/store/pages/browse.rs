//! The paged queries of [`C1zReader`]: resources, entitlements and grants a page at a time, searches, and the rows of a diff.

use crate::error::{Error, Result};
use crate::model::{Entitlement, Grant, Resource, ResourceId};
use rusqlite::{OptionalExtension, ToSql, params};

use super::*;

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
pub(super) fn diff_sql(kind: DiffKind, columns: &str, paged: bool) -> String {
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
