//! [`SyncStore`]: writes syncs into a `.c1z`, keeping the file's earlier syncs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use prost::Message;
use rusqlite::{Connection, params};

use crate::error::{Error, Result};
use crate::model::{Entitlement, Grant, Resource, ResourceId, ResourceType, grant_id};

use super::c1z::{self, Access, sql_error};
use super::convert;
use super::limits::StoreLimits;
use super::query::{self, GrantQuery, SyncRun, SyncScope, SyncStats};
use super::workdir::WorkDir;

/// How many finished full syncs a file keeps (upstream's default retention).
pub(crate) const KEEP_SYNCS: usize = 2;

/// A `.c1z` being written: an uncompressed working copy in a working folder of `TMPDIR`
/// (removed when the store is dropped, or by a later store if this process is killed), saved to the
/// output path on [`checkpoint`](SyncStore::checkpoint) and [`finish`](SyncStore::finish).
///
/// ```
/// use connector_sdk::store::{SyncStore, C1zReader};
/// use connector_sdk::model::*;
///
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("sync.c1z");
/// let mut store = SyncStore::open(&path).unwrap();
/// store.start_sync().unwrap();
/// let user = ResourceType::new("user", "User").with_trait(TraitKind::User);
/// store.put_resource_types(&[user.clone()]).unwrap();
/// store.put_resources(&[Resource::new(&user, "u1", "Ada").with_user_trait(UserTrait::default())]).unwrap();
/// store.finish().unwrap();
///
/// let reader = C1zReader::open(&path).unwrap();
/// assert_eq!(reader.resources(None).unwrap().len(), 1);
/// ```
pub struct SyncStore {
    out: PathBuf,
    // Declared before `dir`: the database closes before its folder is removed.
    conn: Connection,
    dir: WorkDir,
    sync_id: Option<String>,
    types: BTreeMap<String, ResourceType>,
}

impl std::fmt::Debug for SyncStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncStore")
            .field("out", &self.out)
            .field("sync_id", &self.sync_id)
            .finish_non_exhaustive()
    }
}

impl SyncStore {
    /// Opens the c1z at `out` for writing, keeping its syncs; a missing file starts empty.
    /// Fails on a file that is not a readable c1z (it is never overwritten then). Uses the
    /// default [`StoreLimits`]; see [`open_with`](Self::open_with).
    pub fn open(out: &Path) -> Result<Self> {
        Self::open_with(out, &StoreLimits::default())
    }

    /// [`open`](Self::open) within `limits`. The existing file is checked as
    /// [`C1zReader::open_with`](super::C1zReader::open_with) checks one, before anything
    /// is written to it: a planted trigger or view makes the open fail (naming it), so it
    /// can never tamper with the syncs written after. Rows this sync writes are held to
    /// [`StoreLimits::max_row_size`] too. Something other than a regular file at
    /// `<out>.tmp` (where saves are written before the rename), such as a planted
    /// symbolic link, is refused too.
    pub fn open_with(out: &Path, limits: &StoreLimits) -> Result<Self> {
        let dir = WorkDir::create()?;
        let db = dir.path().join("db");
        c1z::check_tmp(out)?;
        c1z::decompress(out, &db, limits)?;
        let conn = c1z::open_checked(&db, out, limits, Access::ReadWrite)?;
        Ok(SyncStore {
            out: out.to_path_buf(),
            dir,
            conn,
            sync_id: None,
            types: BTreeMap::new(),
        })
    }

    /// The output path.
    pub fn path(&self) -> &Path {
        &self.out
    }

    /// The current sync id, once started or resumed.
    pub fn sync_id(&self) -> Option<&str> {
        self.sync_id.as_deref()
    }

    /// The syncs in the file, oldest first.
    pub fn syncs(&self) -> Result<Vec<SyncRun>> {
        query::sync_runs(&self.conn)
    }

    fn current(&self) -> Result<&str> {
        self.sync_id
            .as_deref()
            .ok_or_else(|| Error::internal("sync store: no sync started"))
    }

    /// Starts a new full sync (removing unfinished ones left by earlier runs).
    pub fn start_sync(&mut self) -> Result<String> {
        self.start("full", "")
    }

    /// Starts a resources-only sync (no entitlements, no grants), recorded as upstream
    /// records one: `sync_type = 'resources_only'`, so readers that default to the last
    /// full sync keep showing its grants.
    pub fn start_resources_only_sync(&mut self) -> Result<String> {
        self.start("resources_only", "")
    }

    /// Starts a partial sync (a targeted sync of a few resources), stored as upstream
    /// stores one: `sync_type = 'partial'`, with the latest finished full sync of the file
    /// as `parent_sync_id` (`''` when the file holds none). Readers keep showing the full
    /// sync unless asked for this one.
    pub fn start_partial_sync(&mut self) -> Result<String> {
        let parent = self
            .syncs()?
            .into_iter()
            .filter(|r| r.ended_at.is_some() && r.is_full())
            .max_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id)))
            .map(|r| r.sync_id)
            .unwrap_or_default();
        self.start("partial", &parent)
    }

    fn start(&mut self, sync_type: &str, parent: &str) -> Result<String> {
        let unfinished: Vec<String> = self
            .syncs()?
            .into_iter()
            .filter(|r| r.ended_at.is_none())
            .map(|r| r.sync_id)
            .collect();
        self.delete_syncs(&unfinished)?;
        let id = c1z::ksuid();
        self.conn
            .execute(
                "INSERT INTO v1_sync_runs (sync_id, started_at, ended_at, sync_token, sync_type, parent_sync_id, linked_sync_id, supports_diff, grants_backfilled)
                 VALUES (?1, ?2, NULL, '', ?3, ?4, '', 0, 1)",
                params![id, c1z::sqlite_time(SystemTime::now()), sync_type, parent],
            )
            .map_err(sql_error)?;
        self.sync_id = Some(id.clone());
        Ok(id)
    }

    /// Continues the unfinished sync `sync_id` (after a crash or a run-duration limit).
    pub fn resume_sync(&mut self, sync_id: &str) -> Result<()> {
        let run = self
            .syncs()?
            .into_iter()
            .find(|r| r.sync_id == sync_id && r.ended_at.is_none())
            .ok_or_else(|| Error::not_found(format!("no unfinished sync {sync_id} to resume")))?;
        self.types = query::resource_types(&self.conn, &run.sync_id)?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect();
        self.sync_id = Some(run.sync_id);
        Ok(())
    }

    /// Stores resource types (upserting by id).
    pub fn put_resource_types(&mut self, types: &[ResourceType]) -> Result<()> {
        let sync = self.current()?.to_string();
        let now = c1z::sqlite_time(SystemTime::now());
        let tx = self.conn.transaction().map_err(sql_error)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO v1_resource_types (external_id, data, sync_id, discovered_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
                )
                .map_err(sql_error)?;
            for t in types {
                let data = convert::resource_type_to_proto(t).encode_to_vec();
                stmt.execute(params![t.id, data, sync, now])
                    .map_err(sql_error)?;
            }
        }
        tx.commit().map_err(sql_error)?;
        for t in types {
            self.types.insert(t.id.clone(), t.clone());
        }
        Ok(())
    }

    /// Stores resources (upserting by `type:id`).
    pub fn put_resources(&mut self, resources: &[Resource]) -> Result<()> {
        let sync = self.current()?.to_string();
        let now = c1z::sqlite_time(SystemTime::now());
        let tx = self.conn.transaction().map_err(sql_error)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO v1_resources (resource_type_id, external_id, parent_resource_type_id, parent_resource_id, data, sync_id, discovered_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
                )
                .map_err(sql_error)?;
            for r in resources {
                let data = convert::resource_to_proto(r).encode_to_vec();
                stmt.execute(params![
                    r.id.resource_type,
                    r.id.to_string(),
                    r.parent.as_ref().map(|p| &p.resource_type),
                    r.parent.as_ref().map(|p| &p.resource),
                    data,
                    sync,
                    now
                ])
                .map_err(sql_error)?;
            }
        }
        tx.commit().map_err(sql_error)
    }

    /// Stores the entitlements of `resource` (embedded in each, as upstream does).
    pub fn put_entitlements(
        &mut self,
        resource: &Resource,
        entitlements: &[Entitlement],
    ) -> Result<()> {
        let sync = self.current()?.to_string();
        let now = c1z::sqlite_time(SystemTime::now());
        let tx = self.conn.transaction().map_err(sql_error)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO v1_entitlements (resource_type_id, resource_id, external_id, data, sync_id, discovered_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data",
                )
                .map_err(sql_error)?;
            for e in entitlements {
                let data =
                    convert::entitlement_to_proto(e, Some(resource), &self.types).encode_to_vec();
                stmt.execute(params![
                    e.resource().resource_type,
                    e.resource().resource,
                    e.id(),
                    data,
                    sync,
                    now
                ])
                .map_err(sql_error)?;
            }
        }
        tx.commit().map_err(sql_error)
    }

    /// Stores grants, with the expansion columns of `c1z-format.md` §2.7.
    pub fn put_grants(&mut self, grants: &[Grant]) -> Result<()> {
        let sync = self.current()?.to_string();
        let now = c1z::sqlite_time(SystemTime::now());
        let tx = self.conn.transaction().map_err(sql_error)?;
        {
            let mut stmt = tx
                .prepare_cached(
                    "INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id,
                                            external_id, expansion, needs_expansion, data, sync_id, discovered_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                     ON CONFLICT (external_id, sync_id) DO UPDATE SET data = excluded.data,
                        expansion = excluded.expansion, needs_expansion = excluded.needs_expansion",
                )
                .map_err(sql_error)?;
            for g in grants {
                let (p, expansion) = convert::grant_to_proto(g);
                let needs = expansion.is_some() as i64;
                stmt.execute(params![
                    g.entitlement_resource().resource_type,
                    g.entitlement_resource().resource,
                    g.entitlement_id(),
                    g.principal().resource_type,
                    g.principal().resource,
                    g.id(),
                    expansion,
                    needs,
                    p.encode_to_vec(),
                    sync,
                    now
                ])
                .map_err(sql_error)?;
            }
        }
        tx.commit().map_err(sql_error)
    }

    /// Resources of the current sync with rowid above `after`, at most `limit`, in rowid
    /// order: the engine walks them to list children, entitlements and grants.
    pub fn resources_after(&self, after: i64, limit: i64) -> Result<Vec<(i64, Resource)>> {
        query::resources(&self.conn, self.current()?, None, None, after, limit)
    }

    /// Records `token` as the sync's checkpoint and saves the file (sync still unfinished).
    pub fn checkpoint(&mut self, token: &str) -> Result<()> {
        let sync = self.current()?.to_string();
        self.conn
            .execute(
                "UPDATE v1_sync_runs SET sync_token = ?1 WHERE sync_id = ?2",
                params![token, sync],
            )
            .map_err(sql_error)?;
        self.save()
    }

    /// Expands grants marked expandable (`c1z-format.md` §2.7): every principal holding a
    /// source entitlement receives the grant's entitlement, transitively unless shallow,
    /// with cycles handled. Returns how many grants were derived.
    pub fn expand_grants(&mut self) -> Result<u64> {
        let sync = self.current()?.to_string();
        let expandable = query::grants(
            &self.conn,
            &sync,
            &GrantQuery {
                only_expandable: true,
                ..Default::default()
            },
        )?;
        if expandable.is_empty() {
            return Ok(0);
        }
        // Direct holders of every entitlement involved, as (principal, is_direct).
        let mut holders: HashMap<String, BTreeMap<ResourceId, bool>> = HashMap::new();
        let mut involved: BTreeSet<String> = BTreeSet::new();
        for g in &expandable {
            involved.insert(g.entitlement_id().to_string());
            if let Some(x) = &g.expandable {
                involved.extend(
                    x.entitlement_ids
                        .iter()
                        .filter(|s| !s.trim().is_empty())
                        .cloned(),
                );
            }
        }
        for ent in &involved {
            let direct = query::grants(
                &self.conn,
                &sync,
                &GrantQuery {
                    entitlement: Some(ent),
                    ..Default::default()
                },
            )?;
            holders.insert(
                ent.clone(),
                direct
                    .into_iter()
                    .filter(|g| g.sources.is_empty())
                    .map(|g| (g.principal().clone(), true))
                    .collect(),
            );
        }
        let derived = derive_grants(&expandable, &mut holders, involved.len());
        // Write: new grants are immutable with sources; existing direct grants gain sources.
        let ent_resources: HashMap<String, ResourceId> = expandable
            .iter()
            .map(|g| {
                (
                    g.entitlement_id().to_string(),
                    g.entitlement_resource().clone(),
                )
            })
            .collect();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for ((ent, principal), sources) in derived {
            let id = grant_id(&ent, &principal);
            if !seen.insert(id.clone()) {
                continue;
            }
            let existing = query::grants(
                &self.conn,
                &sync,
                &GrantQuery {
                    id: Some(&id),
                    ..Default::default()
                },
            )?
            .pop();
            let grant = match existing {
                Some(mut g) => {
                    if g.sources.is_empty() {
                        g.sources.insert(ent.clone(), true);
                    }
                    g.sources.extend(sources);
                    g
                }
                None => {
                    let Some(res) = ent_resources.get(&ent) else {
                        continue;
                    };
                    let mut g = Grant::from_parts(&id, &ent, res.clone(), principal).immutable();
                    g.sources = sources;
                    g
                }
            };
            out.push(grant);
        }
        let n = out.len() as u64;
        for chunk in out.chunks(1000) {
            self.put_grants(chunk)?;
        }
        Ok(n)
    }

    /// Grants and resources referring to things the sync does not hold:
    /// `(what, how many, examples)`.
    pub fn dangling(&self, examples: i64) -> Result<Vec<(String, u64, Vec<String>)>> {
        query::dangling(&self.conn, self.current()?, examples)
    }

    /// Ends the sync: `ended_at`, token, cached stats, retention of the two latest finished
    /// syncs, then saves the file.
    pub fn finish(&mut self) -> Result<SyncStats> {
        self.finish_with_warnings(&[])
    }

    /// [`finish`](Self::finish), keeping the sync's `warnings` in its token
    /// (`{"version":1,"rust_connector_sdk_warnings":[…]}`; upstream ignores the extra key),
    /// where [`SyncRun::warnings`] reads them back.
    pub fn finish_with_warnings(&mut self, warnings: &[String]) -> Result<SyncStats> {
        self.finish_with(warnings, &SyncScope::default())
    }

    /// [`finish_with_warnings`](Self::finish_with_warnings), also recording what a narrowed
    /// sync covered (`"rust_connector_sdk_scope"` in the token, read back by
    /// [`SyncRun::scope`]; nothing is recorded for a full scope).
    ///
    /// Retention keeps the two latest finished full syncs, and the partial syncs whose
    /// parent is one of them.
    pub fn finish_with(&mut self, warnings: &[String], scope: &SyncScope) -> Result<SyncStats> {
        let sync = self.current()?.to_string();
        let stats = query::stats(&self.conn, &sync)?;
        let stats_json = serde_json::to_string(&stats)?;
        let mut token = serde_json::json!({"version": 1});
        if !warnings.is_empty() {
            token[query::WARNINGS_KEY] = serde_json::json!(warnings);
        }
        if !scope.is_full() {
            token[query::SCOPE_KEY] = serde_json::to_value(scope)?;
        }
        let token = token.to_string();
        self.conn
            .execute(
                "UPDATE v1_sync_runs SET ended_at = ?1, sync_token = ?4, supports_diff = 1, stats = ?2 WHERE sync_id = ?3",
                params![c1z::sqlite_time(SystemTime::now()), stats_json, sync, token],
            )
            .map_err(sql_error)?;
        let mut finished: Vec<SyncRun> = self
            .syncs()?
            .into_iter()
            .filter(|r| r.ended_at.is_some() && r.sync_type == "full")
            .collect();
        finished.sort_by(|a, b| (&b.ended_at, &b.sync_id).cmp(&(&a.ended_at, &a.sync_id)));
        let mut drop_ids: Vec<String> = finished
            .iter()
            .skip(KEEP_SYNCS)
            .map(|r| r.sync_id.clone())
            .collect();
        // Partial syncs refine a kept full sync; those of a dropped (or missing) one go.
        let kept: BTreeSet<&str> = finished
            .iter()
            .take(KEEP_SYNCS)
            .map(|r| r.sync_id.as_str())
            .collect();
        drop_ids.extend(
            self.syncs()?
                .into_iter()
                .filter(|r| {
                    r.ended_at.is_some()
                        && !r.is_full()
                        && r.sync_id != sync
                        && !kept.contains(r.parent_sync_id.as_str())
                })
                .map(|r| r.sync_id),
        );
        drop_ids.extend(
            self.syncs()?
                .into_iter()
                .filter(|r| r.ended_at.is_none())
                .map(|r| r.sync_id),
        );
        if !drop_ids.is_empty() {
            self.delete_syncs(&drop_ids)?;
            self.conn.execute_batch("VACUUM").map_err(sql_error)?;
        }
        self.save()?;
        Ok(stats)
    }

    fn delete_syncs(&mut self, ids: &[String]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let tx = self.conn.transaction().map_err(sql_error)?;
        for id in ids {
            for table in [
                "v1_resource_types",
                "v1_resources",
                "v1_entitlements",
                "v1_grants",
                "v1_assets",
                "v1_connector_sessions",
                "v1_sync_runs",
            ] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE sync_id = ?1"),
                    params![id],
                )
                .map_err(sql_error)?;
            }
        }
        tx.commit().map_err(sql_error)
    }

    /// Compresses the working database to the output file, atomically.
    fn save(&mut self) -> Result<()> {
        // TRUNCATE journal mode with no open transaction: the main file is complete.
        let db = self.dir.path().join("db");
        c1z::compress(&db, &self.out)
    }
}

/// Derived grants of `expandable`, to a fixed point (cycles end it): (entitlement id,
/// principal) → sources {source entitlement: held directly}. `holders` (each
/// entitlement's holders, direct or derived) grows as grants are derived.
fn derive_grants(
    expandable: &[Grant],
    holders: &mut HashMap<String, BTreeMap<ResourceId, bool>>,
    involved: usize,
) -> BTreeMap<(String, ResourceId), BTreeMap<String, bool>> {
    let mut derived: BTreeMap<(String, ResourceId), BTreeMap<String, bool>> = BTreeMap::new();
    let mut changed = true;
    let mut rounds = 0;
    while changed && rounds <= involved + 1 {
        changed = false;
        rounds += 1;
        for g in expandable {
            let Some(x) = &g.expandable else { continue };
            let dest = g.entitlement_id().to_string();
            for src in x.entitlement_ids.iter().filter(|s| !s.trim().is_empty()) {
                let members: Vec<(ResourceId, bool)> = holders
                    .get(src)
                    .map(|m| {
                        m.iter()
                            .filter(|(_, direct)| !x.shallow || **direct)
                            .map(|(p, d)| (p.clone(), *d))
                            .collect()
                    })
                    .unwrap_or_default();
                for (p, is_direct) in members {
                    // A cycle would make a group a member of itself: skip that.
                    if p == *g.principal() || p == *g.entitlement_resource() {
                        continue;
                    }
                    if !x.resource_type_ids.is_empty()
                        && !x.resource_type_ids.contains(&p.resource_type)
                    {
                        continue;
                    }
                    let entry = derived.entry((dest.clone(), p.clone())).or_default();
                    if entry.insert(src.clone(), is_direct).is_none() {
                        changed = true;
                    }
                    let dest_holders = holders.entry(dest.clone()).or_default();
                    if let std::collections::btree_map::Entry::Vacant(v) = dest_holders.entry(p) {
                        v.insert(false);
                        changed = true;
                    }
                }
            }
        }
    }
    derived
}
