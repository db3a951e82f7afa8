//! The engine's phases.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::connector::Connector;
use crate::context::SyncContext;
use crate::error::{Error, ErrorKind, Result};
use crate::getter::GetRequest;
use crate::handle::checked_types;
use crate::model::ResourceType;
use crate::store::SyncScope;
use crate::syncer::ResourceSyncer;

use super::store_thread::StoreHandle;
use super::{Phase, Progress, ProgressFn, SyncOptions, SyncReport};

mod checks;
mod listings;

use checks::*;

/// Rows fetched from the store at a time when walking resources.
const SCAN_BATCH: i64 = 256;
/// Warnings kept in the report (all are counted).
const MAX_WARNINGS_KEPT: usize = 100;

/// The checkpoint saved as the unfinished sync's token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Checkpoint {
    version: u32,
    rust_connector_sdk: State,
    /// The scope of the interrupted sync: a run with another scope starts over.
    #[serde(default)]
    rust_connector_sdk_scope: SyncScope,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct State {
    /// Top-level listings: type id -> next token (`None` = not started), or done.
    top_level: BTreeMap<String, Listed>,
    /// Whether phase 2 is complete.
    top_level_done: bool,
    /// Child listings are done for every resource with rowid at or below this.
    children_done_through: i64,
    children_done: bool,
    /// Entitlements and grants are done for every resource with rowid at or below this.
    details_done_through: i64,
    details_done: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Listed {
    done: bool,
    token: Option<String>,
}

#[derive(Clone, Copy)]
enum Scan {
    Children,
    Details,
}

struct Engine<'a> {
    syncers: BTreeMap<String, Arc<dyn ResourceSyncer>>,
    types: BTreeMap<String, ResourceType>,
    /// Per type, the other types whose entitlements its grants may be of
    /// ([`ResourceSyncer::emits_grants_for`]).
    grant_types: BTreeMap<String, Vec<String>>,
    /// Handed to every listing call of this sync (sync id, deadline, per-sync cache).
    context: SyncContext,
    store: StoreHandle,
    options: &'a SyncOptions,
    progress_fn: Option<&'a ProgressFn>,
    progress: Mutex<Progress>,
    warnings: Mutex<(Vec<String>, u64)>,
    not_found: Mutex<u64>,
    state: Mutex<State>,
    last_checkpoint: Mutex<Instant>,
    started: Instant,
    stop: AtomicBool,
    /// Connector calls in flight at once, across every phase.
    permits: tokio::sync::Semaphore,
    /// Set when the top-level listings are done (child listings may then finish).
    listing_done: AtomicBool,
    /// Set when child listings are done (entitlement and grant listings may then finish).
    children_done: AtomicBool,
    /// Woken whenever resources are stored, so scans waiting for more rows look again.
    rows_added: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The sync to run in `store`: an unfinished one of the same scope to resume (unless
/// `options.resume` is off or the sync is targeted), else a new one of the right type
/// (partial, resources-only or full). Its id, its saved state, and whether it resumed.
async fn open_sync(
    store: &StoreHandle,
    options: &SyncOptions,
    scope: &SyncScope,
) -> Result<(String, State, bool)> {
    let targeted = !options.targeted.is_empty();
    let resumable = if options.resume && !targeted {
        let wanted = scope.clone();
        store
            .call(move |s| {
                Ok(s.syncs()?
                    .into_iter()
                    .rev()
                    .find(|r| r.ended_at.is_none() && (r.is_full() || r.is_resources_only()))
                    .and_then(|r| {
                        serde_json::from_str::<Checkpoint>(&r.sync_token)
                            .ok()
                            .filter(|c| c.rust_connector_sdk_scope == wanted)
                            .map(|c| (r.sync_id, c.rust_connector_sdk))
                    }))
            })
            .await?
    } else {
        None
    };
    let resumed = resumable.is_some();
    let (sync_id, state) = match resumable {
        Some((id, state)) => {
            let resume_id = id.clone();
            store.call(move |s| s.resume_sync(&resume_id)).await?;
            tracing::info!(sync_id = %id, "resuming an interrupted sync");
            (id, state)
        }
        None if targeted => (
            store.call(|s| s.start_partial_sync()).await?,
            State::default(),
        ),
        // Upstream records a sync without entitlements and grants as `resources_only`.
        None if options.skip_entitlements_and_grants => (
            store.call(|s| s.start_resources_only_sync()).await?,
            State::default(),
        ),
        None => (store.call(|s| s.start_sync()).await?, State::default()),
    };
    Ok((sync_id, state, resumed))
}

/// Syncs `connector` into the `.c1z` at `path`, resuming an unfinished sync found there
/// (unless `options.resume` is false). The file keeps its previous finished sync.
pub async fn sync_to_file(
    connector: &dyn Connector,
    path: &Path,
    options: &SyncOptions,
    progress: Option<&ProgressFn>,
) -> Result<SyncReport> {
    let started = Instant::now();
    let mut syncers = BTreeMap::new();
    let mut types = BTreeMap::new();
    let mut ordered = Vec::new();
    let list = connector.syncers();
    for (s, rt) in list.iter().zip(checked_types(&list)?) {
        types.insert(rt.id.clone(), rt.clone());
        syncers.insert(rt.id.clone(), s.clone());
        ordered.push(rt);
    }
    let grant_types = syncers
        .iter()
        .map(|(t, s)| (t.clone(), s.emits_grants_for()))
        .collect();
    check_scope(options, &syncers)?;
    if !options.resource_types.is_empty() {
        ordered.retain(|rt| options.resource_types.contains(&rt.id));
    }
    let targeted = !options.targeted.is_empty();
    let scope = options.scope();
    let store = StoreHandle::open(path.to_path_buf(), options.store_limits).await?;
    let (sync_id, state, resumed) = open_sync(&store, options, &scope).await?;
    let mut context = SyncContext::new(sync_id.clone());
    if let Some(max) = options.max_duration {
        context = context.with_deadline(started + max);
    }
    let engine = Engine {
        syncers,
        types,
        grant_types,
        context,
        store,
        options,
        progress_fn: progress,
        progress: Mutex::new(Progress::default()),
        warnings: Mutex::new((Vec::new(), 0)),
        not_found: Mutex::new(0),
        state: Mutex::new(state),
        last_checkpoint: Mutex::new(Instant::now()),
        started,
        stop: AtomicBool::new(false),
        permits: tokio::sync::Semaphore::new(options.workers.max(1)),
        listing_done: AtomicBool::new(false),
        children_done: AtomicBool::new(false),
        rows_added: tokio::sync::Notify::new(),
    };
    let ran = if targeted {
        engine.run_targeted(ordered).await
    } else {
        engine.run(ordered).await
    };
    match ran {
        Ok(()) if engine.stop.load(Ordering::SeqCst) => {
            engine.checkpoint(true).await?;
            let (warnings, warning_count) = lock(&engine.warnings).clone();
            Ok(SyncReport {
                sync_id,
                completed: false,
                resumed,
                stats: Default::default(),
                expanded_grants: 0,
                warnings,
                warning_count,
                pages: lock(&engine.progress).pages,
                duration: started.elapsed(),
                scope: options.scope(),
            })
        }
        Ok(()) => engine.finish(sync_id, resumed).await,
        Err(e) => {
            // Save what is stored so a rerun resumes instead of starting over.
            if let Err(ce) = engine.checkpoint(true).await {
                tracing::warn!(error = %ce, "could not save a checkpoint after the sync failed");
            }
            Err(e)
        }
    }
}

impl Engine<'_> {
    /// Runs the listing phases together: top-level listings, child listings and
    /// entitlement/grant listings overlap, sharing one budget of `workers` connector calls.
    /// Each scan finishes once the phase feeding it is done and no rows are left.
    async fn run(&self, ordered: Vec<ResourceType>) -> Result<()> {
        self.set_phase(Phase::ResourceTypes);
        self.store
            .call(move |s| s.put_resource_types(&ordered))
            .await?;
        self.set_phase(Phase::Resources);
        let listing = async {
            if !lock(&self.state).top_level_done {
                self.top_level().await?;
                if self.stopped() {
                    return Ok(());
                }
                lock(&self.state).top_level_done = true;
                self.checkpoint(false).await?;
            }
            self.listing_done.store(true, Ordering::SeqCst);
            self.rows_added.notify_waiters();
            self.set_phase(Phase::ChildResources);
            Ok::<(), Error>(())
        };
        let children = async {
            if !lock(&self.state).children_done {
                let after = lock(&self.state).children_done_through;
                self.scan(Scan::Children, after).await?;
                if self.stopped() {
                    return Ok(());
                }
                lock(&self.state).children_done = true;
                self.checkpoint(false).await?;
            }
            self.children_done.store(true, Ordering::SeqCst);
            self.rows_added.notify_waiters();
            self.set_phase(Phase::EntitlementsAndGrants);
            Ok::<(), Error>(())
        };
        let details = async {
            if !lock(&self.state).details_done {
                let after = lock(&self.state).details_done_through;
                self.scan(Scan::Details, after).await?;
                if self.stopped() {
                    return Ok(());
                }
                lock(&self.state).details_done = true;
                self.checkpoint(false).await?;
            }
            Ok::<(), Error>(())
        };
        futures::try_join!(listing, children, details)?;
        Ok(())
    }

    /// Whether `--sync-resource-types` lets resources of `type_id` be listed.
    fn selected(&self, type_id: &str) -> bool {
        self.options.resource_types.is_empty()
            || self.options.resource_types.iter().any(|t| t == type_id)
    }

    /// A targeted sync: every named resource fetched by id, stored with its entitlements
    /// and grants (not its children). A resource that is gone is a warning.
    async fn run_targeted(&self, ordered: Vec<ResourceType>) -> Result<()> {
        self.set_phase(Phase::ResourceTypes);
        self.store
            .call(move |s| s.put_resource_types(&ordered))
            .await?;
        self.set_phase(Phase::Resources);
        let mut fetched = Vec::new();
        for bid in &self.options.targeted {
            if self.stopped() {
                return Ok(());
            }
            let (Some(syncer), Some(rt)) = (
                self.syncer(&bid.id.resource_type),
                self.types.get(&bid.id.resource_type),
            ) else {
                continue;
            };
            let Some(getter) = syncer.getter() else {
                continue;
            };
            let got = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .map_err(|_| Error::internal("sync stopped"))?;
                getter
                    .get(
                        GetRequest::new(&bid.id, bid.parent.as_ref())
                            .in_context(self.context.clone()),
                    )
                    .await
            };
            let mut resource = match got {
                Ok(r) => r,
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    self.warn(format!(
                        "{bid}: the resource is gone ({}); nothing stored for it",
                        e.message()
                    ));
                    continue;
                }
                Err(e) => return Err(e.context(format!("fetching {bid}"))),
            };
            if resource.id != bid.id {
                return Err(Error::internal(format!(
                    "connector bug: fetching {} returned resource {}",
                    bid.id, resource.id
                )));
            }
            if resource.parent.is_none() {
                resource.parent = bid.parent.clone();
            }
            self.store_resources(rt, None, vec![resource.clone()])
                .await?;
            fetched.push(resource);
        }
        self.set_phase(Phase::EntitlementsAndGrants);
        for resource in fetched {
            if self.stopped() {
                return Ok(());
            }
            self.details_of(resource).await?;
        }
        Ok(())
    }

    fn stopped(&self) -> bool {
        if self.options.stop.is_triggered() {
            self.stop.store(true, Ordering::SeqCst);
        }
        if let Some(max) = self.options.max_duration
            && self.started.elapsed() >= max
        {
            self.stop.store(true, Ordering::SeqCst);
        }
        self.stop.load(Ordering::SeqCst)
    }

    fn set_phase(&self, phase: Phase) {
        lock(&self.progress).phase = Some(phase);
        self.report_progress();
    }

    fn report_progress(&self) {
        if let Some(f) = self.progress_fn {
            let snapshot = lock(&self.progress).clone();
            f(&snapshot);
        }
    }

    fn warn(&self, message: String) {
        tracing::warn!("{message}");
        let mut w = lock(&self.warnings);
        w.1 += 1;
        if w.0.len() < MAX_WARNINGS_KEPT {
            w.0.push(message);
        }
        lock(&self.progress).warnings = w.1;
    }

    /// Saves the checkpoint when `force` or when the interval has passed.
    async fn checkpoint(&self, force: bool) -> Result<()> {
        {
            let mut last = lock(&self.last_checkpoint);
            if !force && last.elapsed() < self.options.checkpoint_interval {
                return Ok(());
            }
            *last = Instant::now();
        }
        let token = serde_json::to_string(&Checkpoint {
            version: 1,
            rust_connector_sdk: lock(&self.state).clone(),
            rust_connector_sdk_scope: self.options.scope(),
        })?;
        self.store.call(move |s| s.checkpoint(&token)).await
    }

    async fn finish(self, sync_id: String, resumed: bool) -> Result<SyncReport> {
        let mut expanded = 0;
        if self.options.expand_grants {
            self.set_phase(Phase::GrantExpansion);
            expanded = self.store.call(|s| s.expand_grants()).await?;
        }
        self.set_phase(Phase::Finishing);
        let dangling = self.store.call(|s| s.dangling(5)).await?;
        for (what, total, examples) in dangling {
            self.warn(format!("{total} {what}, e.g. {}", examples.join(", ")));
        }
        let (warnings, warning_count) = lock(&self.warnings).clone();
        let kept = warnings.clone();
        let scope = self.options.scope();
        let stats = self
            .store
            .call(move |s| s.finish_with(&kept, &scope))
            .await?;
        Ok(SyncReport {
            sync_id,
            completed: true,
            resumed,
            stats,
            expanded_grants: expanded,
            warnings,
            warning_count,
            pages: lock(&self.progress).pages,
            duration: self.started.elapsed(),
            scope: self.options.scope(),
        })
    }
}
