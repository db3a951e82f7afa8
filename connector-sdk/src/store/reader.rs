//! [`C1zReader`]: reads a `.c1z` (ours or upstream's).

use std::path::Path;

use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::model::{Entitlement, Grant, Resource, ResourceId, ResourceType};

use super::c1z::{self, Access, FileKind};
use super::limits::StoreLimits;
use super::query::{self, DiffReport, GrantQuery, SyncRun, SyncStats};
use super::workdir::WorkDir;

/// Which grants to list; all fields are optional and combine with AND. Start from
/// `GrantFilter::default()` (every grant) and narrow it with the `with_*` methods; the
/// struct is `#[non_exhaustive]` so more criteria can be added without breaking callers.
///
/// ```
/// use connector_sdk::model::ResourceId;
/// use connector_sdk::store::GrantFilter;
///
/// let filter = GrantFilter::default()
///     .with_entitlement("team:t-docs:member")
///     .with_principal(ResourceId::new("user", "u2"));
/// assert_eq!(filter.entitlement.as_deref(), Some("team:t-docs:member"));
/// assert!(filter.resource.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GrantFilter {
    /// Grants of this entitlement id.
    pub entitlement: Option<String>,
    /// Grants held by this principal.
    pub principal: Option<ResourceId>,
    /// Grants of entitlements on this resource.
    pub resource: Option<ResourceId>,
}

impl GrantFilter {
    /// Only grants of the entitlement with this id (`team:t-docs:member`).
    pub fn with_entitlement(mut self, id: impl Into<String>) -> Self {
        self.entitlement = Some(id.into());
        self
    }

    /// Only grants held by this principal.
    pub fn with_principal(mut self, principal: ResourceId) -> Self {
        self.principal = Some(principal);
        self
    }

    /// Only grants of entitlements on this resource.
    pub fn with_resource(mut self, resource: ResourceId) -> Self {
        self.resource = Some(resource);
        self
    }
}

/// A `.c1z` opened read-only, looking at one sync: by default the latest finished *full*
/// sync (as upstream's store picks its default view), so a targeted (partial) sync written
/// since does not hide the rest of the tenant; [`with_sync`](Self::with_sync) and
/// [`with_latest_sync`](Self::with_latest_sync) look at another.
///
/// ```no_run
/// use connector_sdk::store::C1zReader;
/// let reader = C1zReader::open("sync.c1z".as_ref())?;
/// for rt in reader.resource_types()? {
///     println!("{}: {} resources", rt.id, reader.resources(Some(&rt.id))?.len());
/// }
/// # Ok::<(), connector_sdk::Error>(())
/// ```
pub struct C1zReader {
    // Declared before `dir`: the database closes before its folder is removed.
    conn: Connection,
    sync: SyncRun,
    // Shared by the readers of one decompressed copy (`another_reader`); removed with the last.
    dir: std::sync::Arc<WorkDir>,
    // What `another_reader` opens its connection with: the same checks and limits.
    source: std::path::PathBuf,
    limits: StoreLimits,
}

impl std::fmt::Debug for C1zReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("C1zReader")
            .field("sync", &self.sync.sync_id)
            .finish_non_exhaustive()
    }
}

/// Whether `path` exists (a dangling link does not), `None` when that cannot be told.
fn fs_exists(path: &Path) -> Option<bool> {
    match std::fs::metadata(path) {
        Ok(_) => Some(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(false),
        Err(_) => None,
    }
}

impl C1zReader {
    /// Opens `path` at its latest finished full sync (or, with no full sync in it, its
    /// latest finished sync of any type), within the default [`StoreLimits`]. Fails with
    /// a clear message on a missing file, a file that is not a c1z, a truncated one,
    /// upstream's newer v3 format, or a file with no finished sync; and on a hostile one
    /// (see [`open_with`](Self::open_with)).
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, &StoreLimits::default())
    }

    /// [`open`](Self::open) within `limits`. The file is untrusted: one that is not a
    /// regular file (a FIFO, a socket, a device) is refused without blocking; one that
    /// decompresses beyond [`StoreLimits::max_decoded_size`] stops there, its partial
    /// copy removed; one whose database holds a view, a trigger or anything but the
    /// format's tables and indexes is refused before any query runs on it, naming the
    /// offending objects; and a query meeting a row over [`StoreLimits::max_row_size`]
    /// fails with an error instead of loading it.
    pub fn open_with(path: &Path, limits: &StoreLimits) -> Result<Self> {
        let dir = WorkDir::create()?;
        let db = dir.path().join("db");
        if fs_exists(path) == Some(false) {
            return Err(Error::not_found(format!(
                "{} does not exist; run a sync first (it writes --file, default sync.c1z)",
                path.display()
            )));
        }
        if c1z::decompress(path, &db, limits)? == FileKind::Empty {
            return Err(Error::not_found(format!(
                "{} is empty: it holds no sync",
                path.display()
            )));
        }
        let conn = c1z::open_checked(&db, path, limits, Access::ReadOnly)?;
        let sync = query::latest_finished(&conn)
            .map_err(|e| e.context(format!("reading {}", path.display())))?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "{} holds no finished sync; run the sync again to completion",
                    path.display()
                ))
            })?;
        Ok(C1zReader {
            dir: std::sync::Arc::new(dir),
            conn,
            sync,
            source: path.to_path_buf(),
            limits: *limits,
        })
    }

    /// Another reader of the same decompressed copy, at the same sync, with its own
    /// read-only connection: a server answers requests on several at once without a
    /// second copy of the file. The copy is removed with the last reader.
    pub fn another_reader(&self) -> Result<Self> {
        // Hardened and checked as the first connection was.
        let conn = c1z::open_checked(
            &self.dir.path().join("db"),
            &self.source,
            &self.limits,
            Access::ReadOnly,
        )?;
        Ok(C1zReader {
            conn,
            sync: self.sync.clone(),
            dir: self.dir.clone(),
            source: self.source.clone(),
            limits: self.limits,
        })
    }

    /// The connection, for tests of the explorer's deadline.
    #[cfg(test)]
    pub(crate) fn conn_for_tests(&self) -> &Connection {
        &self.conn
    }

    /// A handle that stops the query running on this reader's connection (from another
    /// thread: a request past its deadline).
    pub(crate) fn interrupt_handle(&self) -> rusqlite::InterruptHandle {
        self.conn.get_interrupt_handle()
    }

    /// Looks at sync `sync_id` instead of the latest finished one.
    pub fn with_sync(mut self, sync_id: &str) -> Result<Self> {
        self.sync = self
            .syncs()?
            .into_iter()
            .find(|r| r.sync_id == sync_id)
            .ok_or_else(|| Error::not_found(format!("the file holds no sync {sync_id}")))?;
        Ok(self)
    }

    /// Looks at the latest finished sync of any type, partial syncs included.
    pub fn with_latest_sync(mut self) -> Result<Self> {
        if let Some(run) = query::latest_finished_any(&self.conn)? {
            self.sync = run;
        }
        Ok(self)
    }

    /// The open database, for the paged queries of sibling modules.
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The sync being read.
    pub fn sync(&self) -> &SyncRun {
        &self.sync
    }

    /// Every sync in the file, oldest first.
    pub fn syncs(&self) -> Result<Vec<SyncRun>> {
        query::sync_runs(&self.conn)
    }

    /// The resource types.
    pub fn resource_types(&self) -> Result<Vec<ResourceType>> {
        query::resource_types(&self.conn, &self.sync.sync_id)
    }

    /// The resources, optionally of one type.
    pub fn resources(&self, resource_type: Option<&str>) -> Result<Vec<Resource>> {
        Ok(query::resources(
            &self.conn,
            &self.sync.sync_id,
            resource_type,
            None,
            0,
            i64::MAX,
        )?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
    }

    /// The children of `parent`.
    pub fn children(&self, parent: &ResourceId) -> Result<Vec<Resource>> {
        Ok(query::resources(
            &self.conn,
            &self.sync.sync_id,
            None,
            Some(parent),
            0,
            i64::MAX,
        )?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
    }

    /// One resource.
    pub fn resource(&self, id: &ResourceId) -> Result<Option<Resource>> {
        query::resource(&self.conn, &self.sync.sync_id, id)
    }

    /// The entitlements, optionally of one resource.
    pub fn entitlements(&self, resource: Option<&ResourceId>) -> Result<Vec<Entitlement>> {
        query::entitlements(&self.conn, &self.sync.sync_id, resource)
    }

    /// One entitlement.
    pub fn entitlement(&self, id: &str) -> Result<Option<Entitlement>> {
        query::entitlement(&self.conn, &self.sync.sync_id, id)
    }

    /// The principals granted `entitlement` in the sync being read, sorted: who holds it
    /// (after a targeted sync, read it with [`C1zReader::with_latest_sync`]).
    pub fn holders(&self, entitlement: &str) -> Result<Vec<ResourceId>> {
        let mut out: Vec<ResourceId> = self
            .grants(&GrantFilter {
                entitlement: Some(entitlement.to_string()),
                ..GrantFilter::default()
            })?
            .iter()
            .map(|g| g.principal().clone())
            .collect();
        out.sort_by(|a, b| (&a.resource_type, &a.resource).cmp(&(&b.resource_type, &b.resource)));
        Ok(out)
    }

    /// The grants matching `filter`.
    pub fn grants(&self, filter: &GrantFilter) -> Result<Vec<Grant>> {
        query::grants(
            &self.conn,
            &self.sync.sync_id,
            &GrantQuery {
                entitlement: filter.entitlement.as_deref(),
                principal: filter.principal.as_ref(),
                resource: filter.resource.as_ref(),
                ..Default::default()
            },
        )
    }

    /// One grant.
    pub fn grant(&self, id: &str) -> Result<Option<Grant>> {
        Ok(query::grants(
            &self.conn,
            &self.sync.sync_id,
            &GrantQuery {
                id: Some(id),
                ..Default::default()
            },
        )?
        .pop())
    }

    /// Counts, computed from the tables.
    pub fn stats(&self) -> Result<SyncStats> {
        query::stats(&self.conn, &self.sync.sync_id)
    }

    /// What changed from the previous finished sync to the one being read. Fails when the
    /// file holds only one finished sync.
    pub fn diff_with_previous(&self) -> Result<DiffReport> {
        let mut finished: Vec<SyncRun> = self
            .syncs()?
            .into_iter()
            .filter(|r| r.ended_at.is_some() && r.sync_id != self.sync.sync_id)
            // A full sync is compared with the previous full sync, not a partial one.
            .filter(|r| !self.sync.is_full() || r.is_full())
            .filter(|r| (&r.ended_at, &r.sync_id) < (&self.sync.ended_at, &self.sync.sync_id))
            .collect();
        finished.sort_by(|a, b| (&a.ended_at, &a.sync_id).cmp(&(&b.ended_at, &b.sync_id)));
        let prev = finished.pop().ok_or_else(|| {
            Error::not_found(
                "the file holds no earlier finished sync to compare with; run a second sync",
            )
        })?;
        self.diff(&prev.sync_id, &self.sync.sync_id)
    }

    /// What changed from sync `from` to sync `to`.
    pub fn diff(&self, from: &str, to: &str) -> Result<DiffReport> {
        query::diff(&self.conn, from, to)
    }
}
