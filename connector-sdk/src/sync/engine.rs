//! The engine's phases.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::{Deserialize, Serialize};

use crate::connector::Connector;
use crate::context::SyncContext;
use crate::error::{Error, ErrorKind, Result};
use crate::flags::flag_and_env;
use crate::handle::checked_types;
use crate::model::{Entitlement, Grant, Resource, ResourceType};
use crate::page::{
    DrivenPage, DriverOptions, Identified, ListingDriver, PAGING_ERROR, Page, PageRequest,
    PageToken,
};
use crate::store::SyncScope;
use crate::syncer::{EntitlementsRequest, GrantsRequest, ListRequest, ResourceSyncer};

use super::store_thread::StoreHandle;
use super::{Phase, Progress, ProgressFn, SyncOptions, SyncReport};

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
    let store = StoreHandle::open(path.to_path_buf()).await?;
    let resumable = if options.resume && !targeted {
        let wanted = scope.clone();
        store
            .call(move |s| {
                Ok(s.syncs()?
                    .into_iter()
                    .rev()
                    .find(|r| r.ended_at.is_none() && r.is_full())
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
        None => (store.call(|s| s.start_sync()).await?, State::default()),
    };
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
                getter.get(&bid.id, bid.parent.as_ref()).await
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

    fn syncer(&self, type_id: &str) -> Option<&Arc<dyn ResourceSyncer>> {
        self.syncers.get(type_id)
    }

    /// Validates and stores one page of resources listed under `parent`.
    async fn store_resources(
        &self,
        rt: &ResourceType,
        parent: Option<&Resource>,
        mut items: Vec<Resource>,
    ) -> Result<()> {
        for r in &mut items {
            if let Some(p) = parent {
                match &r.parent {
                    None => r.parent = Some(p.id.clone()),
                    Some(named) if *named != p.id => {
                        return Err(Error::internal(format!(
                            "connector bug: resource {} was listed under {} but names parent {named}",
                            r.id, p.id
                        )));
                    }
                    Some(_) => {}
                }
            }
            r.validate(rt).map_err(|e| {
                Error::internal(format!(
                    "connector returned an invalid resource: {}",
                    e.message()
                ))
            })?;
            for child in &r.child_types {
                if !self.types.contains_key(child) {
                    self.warn(format!(
                        "resource {} declares child type {child:?}, which the connector does not sync",
                        r.id
                    ));
                }
            }
        }
        let n = items.len() as u64;
        self.store.call(move |s| s.put_resources(&items)).await?;
        self.rows_added.notify_waiters();
        {
            let mut p = lock(&self.progress);
            *p.resources_by_type.entry(rt.id.clone()).or_default() += n;
            p.pages += 1;
        }
        self.report_progress();
        Ok(())
    }

    async fn top_level(&self) -> Result<()> {
        let pending: Vec<(String, Option<PageToken>)> = {
            let st = lock(&self.state);
            self.types
                .keys()
                .filter(|t| self.selected(t))
                .filter_map(|t| match st.top_level.get(t) {
                    Some(l) if l.done => None,
                    Some(l) => Some((t.clone(), l.token.clone().map(PageToken::new))),
                    None => Some((t.clone(), None)),
                })
                .collect()
        };
        let mut queue: VecDeque<_> = pending.into();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < self.options.workers.max(1) {
                let Some((type_id, token)) = queue.pop_front() else {
                    break;
                };
                running.push(self.list_top_level(type_id, token));
            }
            match running.next().await {
                Some(r) => r?,
                None => return Ok(()),
            }
        }
    }

    async fn list_top_level(&self, type_id: String, token: Option<PageToken>) -> Result<()> {
        let (Some(syncer), Some(rt)) = (self.syncer(&type_id), self.types.get(&type_id)) else {
            return Ok(());
        };
        let completed = self
            .drain(
                format!("{type_id} resources"),
                token,
                true,
                |req| syncer.list(ListRequest::new(None, req).in_context(self.context.clone())),
                |page| {
                    let type_id = &type_id;
                    async move {
                        self.store_resources(rt, None, page.items).await?;
                        // With handed-out pages still pending, a resume restarts this listing.
                        lock(&self.state).top_level.insert(
                            type_id.clone(),
                            Listed {
                                done: false,
                                token: if page.settled {
                                    page.resume_at.map(|t| t.as_str().to_string())
                                } else {
                                    None
                                },
                            },
                        );
                        self.checkpoint(false).await
                    }
                },
            )
            .await
            .map_err(|e| {
                // The driver's own errors already name the listing.
                if e.context_pairs().iter().any(|(k, _)| *k == PAGING_ERROR) {
                    e
                } else {
                    e.context(format!("listing {type_id} resources"))
                }
            })?;
        if completed {
            lock(&self.state).top_level.insert(
                type_id.clone(),
                Listed {
                    done: true,
                    token: None,
                },
            );
        }
        Ok(())
    }

    /// Walks stored resources above `after` in rowid order, `workers` at a time, advancing
    /// the phase's watermark as the lowest unfinished resource completes.
    async fn scan(&self, kind: Scan, after: i64) -> Result<()> {
        // More resources than workers may be in progress; connector calls wait for permits.
        let window = self.options.workers.max(1) * 2;
        let upstream_done = || match kind {
            Scan::Children => self.listing_done.load(Ordering::SeqCst),
            Scan::Details => self.children_done.load(Ordering::SeqCst),
        };
        let mut cursor = after;
        let mut buffer: VecDeque<(i64, Resource)> = VecDeque::new();
        let mut in_flight: BTreeSet<i64> = BTreeSet::new();
        let mut running = FuturesUnordered::new();
        loop {
            while running.len() < window && !self.stopped() {
                if buffer.is_empty() {
                    let from = cursor;
                    let batch = self
                        .store
                        .call(move |s| s.resources_after(from, SCAN_BATCH))
                        .await?;
                    if let Some((last, _)) = batch.last() {
                        cursor = *last;
                    }
                    buffer.extend(batch);
                }
                let Some((rowid, resource)) = buffer.pop_front() else {
                    break;
                };
                in_flight.insert(rowid);
                let work = async move {
                    let result = match kind {
                        Scan::Children => self.children_of(resource).await,
                        Scan::Details => self.details_of(resource).await,
                    };
                    (rowid, result)
                };
                running.push(work);
            }
            if running.is_empty() {
                if self.stopped() {
                    return Ok(());
                }
                // Nothing to do now: finished if the phase feeding this one is, else wait
                // for more rows (re-checking at least every 50 ms).
                let was_done = upstream_done();
                let from = cursor;
                let more = self.store.call(move |s| s.resources_after(from, 1)).await?;
                if more.is_empty() && was_done {
                    return Ok(());
                }
                if more.is_empty() {
                    let _ = tokio::time::timeout(
                        std::time::Duration::from_millis(50),
                        self.rows_added.notified(),
                    )
                    .await;
                }
                continue;
            }
            let Some((rowid, result)) = running.next().await else {
                continue;
            };
            result?;
            in_flight.remove(&rowid);
            let low = in_flight
                .first()
                .copied()
                .into_iter()
                .chain(buffer.front().map(|(id, _)| *id))
                .min();
            let done_through = low.map_or(cursor, |l| l - 1);
            {
                let mut st = lock(&self.state);
                match kind {
                    Scan::Children => st.children_done_through = done_through,
                    Scan::Details => st.details_done_through = done_through,
                }
            }
            self.checkpoint(false).await?;
        }
    }

    /// A per-resource `NotFound` becomes a warning, up to the configured limit.
    fn tolerate_not_found(&self, result: Result<()>, what: String) -> Result<()> {
        match result {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                let mut n = lock(&self.not_found);
                *n += 1;
                if *n > self.options.max_not_found {
                    return Err(Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "{} resources vanished during the sync (more than the limit of {}); last: {what}: {}",
                            *n,
                            self.options.max_not_found,
                            e.message()
                        ),
                    ));
                }
                drop(n);
                self.warn(format!("{what}: {} (skipped)", e.message()));
                Ok(())
            }
            other => other,
        }
    }

    async fn children_of(&self, parent: Resource) -> Result<()> {
        for child_type in &parent.child_types {
            let (Some(syncer), Some(rt)) = (self.syncer(child_type), self.types.get(child_type))
            else {
                continue;
            };
            if !self.selected(child_type) {
                continue;
            }
            let what = format!("listing {child_type} resources under {}", parent.id);
            let parent = &parent;
            let result = self
                .drain(
                    format!("{child_type} resources under {}", parent.id),
                    None,
                    false,
                    |req| {
                        syncer.list(
                            ListRequest::new(Some(&parent.id), req)
                                .in_context(self.context.clone()),
                        )
                    },
                    |page| self.store_resources(rt, Some(parent), page.items),
                )
                .await
                .map(drop);
            self.tolerate_not_found(result, what.clone()).map_err(|e| {
                if e.kind() == ErrorKind::NotFound {
                    e
                } else {
                    e.context(what)
                }
            })?;
        }
        Ok(())
    }

    async fn details_of(&self, resource: Resource) -> Result<()> {
        let Some(rt) = self.types.get(&resource.id.resource_type) else {
            return Ok(());
        };
        if rt.skip_entitlements_and_grants || self.options.skip_entitlements_and_grants {
            return Ok(());
        }
        let skip_grants = self.options.skip_grants;
        let Some(syncer) = self.syncer(&rt.id) else {
            return Ok(());
        };
        let resource = Arc::new(resource);
        let what = format!("listing entitlements and grants of {}", resource.id);
        let result = async {
            let r: &Resource = &resource;
            self.drain(
                format!("entitlements of {}", r.id),
                None,
                false,
                |req| {
                    syncer.entitlements(
                        EntitlementsRequest::new(r, req).in_context(self.context.clone()),
                    )
                },
                |page| {
                    let r = resource.clone();
                    async move {
                        let items = page.items;
                        items.iter().try_for_each(|e| check_entitlement(e, &r))?;
                        let n = items.len() as u64;
                        self.store
                            .call(move |s| s.put_entitlements(&r, &items))
                            .await?;
                        self.count_page(n, 0);
                        Ok(())
                    }
                },
            )
            .await?;
            if skip_grants {
                return Ok(());
            }
            self.drain(
                format!("grants of {}", r.id),
                None,
                false,
                |req| syncer.grants(GrantsRequest::new(r, req).in_context(self.context.clone())),
                |page| async move {
                    let items = page.items;
                    let declared = self.grant_types.get(&rt.id).map_or(&[][..], Vec::as_slice);
                    items.iter().try_for_each(|g| check_grant(g, r, declared))?;
                    let n = items.len() as u64;
                    self.store.call(move |s| s.put_grants(&items)).await?;
                    self.count_page(0, n);
                    Ok(())
                },
            )
            .await?;
            Ok(())
        }
        .await;
        self.tolerate_not_found(result, what.clone()).map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                e
            } else {
                e.context(what)
            }
        })
    }

    /// Drains one listing through the SDK's listing driver: each page is fetched under a
    /// worker permit (handed-out pages up to `workers` at once), guarded, and handed to
    /// `on_page`; the driver's warnings become sync warnings. A `stoppable` listing ends
    /// early when the sync is asked to stop; returns whether the listing completed.
    async fn drain<'s, T, Fetch, FetchFut, OnPage, OnPageFut>(
        &'s self,
        name: String,
        token: Option<PageToken>,
        stoppable: bool,
        mut fetch: Fetch,
        mut on_page: OnPage,
    ) -> Result<bool>
    where
        T: Identified + Send + 's,
        Fetch: FnMut(PageRequest) -> FetchFut + Send,
        FetchFut: Future<Output = Result<Page<T>>> + Send + 's,
        OnPage: FnMut(DrivenPage<T>) -> OnPageFut,
        OnPageFut: Future<Output = Result<()>>,
    {
        let permits = &self.permits;
        let guarded_fetch = move |req: PageRequest| {
            let call = fetch(req);
            async move {
                let _permit = permits
                    .acquire()
                    .await
                    .map_err(|_| Error::internal("sync stopped"))?;
                call.await
            }
        };
        let mut driver = ListingDriver::resuming(
            name,
            guarded_fetch,
            DriverOptions::with_window(self.options.workers),
            token,
        );
        loop {
            if stoppable && self.stopped() {
                return Ok(false);
            }
            let Some(page) = driver.next_page().await else {
                return Ok(true);
            };
            let mut page = page?;
            if let Some(w) = page.warning.take() {
                self.warn(w);
            }
            on_page(page).await?;
        }
    }

    fn count_page(&self, entitlements: u64, grants: u64) {
        {
            let mut p = lock(&self.progress);
            p.entitlements += entitlements;
            p.grants += grants;
            p.pages += 1;
        }
        self.report_progress();
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

/// Checks the narrowing options against the connector's types: an unknown type id in
/// `--sync-resource-types`, or a targeted resource of an unknown type or of a type that
/// cannot be fetched by id, is an error naming the flag.
fn check_scope(
    options: &SyncOptions,
    syncers: &BTreeMap<String, Arc<dyn ResourceSyncer>>,
) -> Result<()> {
    let known = || syncers.keys().cloned().collect::<Vec<_>>().join(", ");
    for t in &options.resource_types {
        if !syncers.contains_key(t) {
            return Err(Error::invalid_argument(format!(
                "{}: unknown resource type {t:?}; this connector syncs [{}]",
                flag_and_env("sync-resource-types"),
                known()
            )));
        }
    }
    for bid in &options.targeted {
        let Some(syncer) = syncers.get(&bid.id.resource_type) else {
            return Err(Error::invalid_argument(format!(
                "{}: {bid} is of unknown resource type {:?}; this connector syncs [{}]",
                flag_and_env("sync-resources"),
                bid.id.resource_type,
                known()
            )));
        };
        if syncer.getter().is_none() {
            let fetchable: Vec<_> = syncers
                .iter()
                .filter(|(_, s)| s.getter().is_some())
                .map(|(t, _)| t.clone())
                .collect();
            return Err(Error::invalid_argument(format!(
                "{}: resources of type {:?} cannot be fetched one by one (targeted sync supports [{}])",
                flag_and_env("sync-resources"),
                bid.id.resource_type,
                fetchable.join(", ")
            )));
        }
    }
    Ok(())
}

/// A listed entitlement must be well formed and belong to the resource it was listed for.
fn check_entitlement(e: &Entitlement, resource: &Resource) -> Result<()> {
    e.validate().map_err(|err| {
        Error::internal(format!(
            "connector returned an invalid entitlement: {}",
            err.message()
        ))
    })?;
    if e.resource() != &resource.id {
        return Err(Error::internal(format!(
            "connector bug: entitlement {} is on {}, but was listed for {}",
            e.id(),
            e.resource(),
            resource.id
        )));
    }
    Ok(())
}

/// A listed grant must be well formed and be of an entitlement on the resource it was
/// listed for, or on a resource of a type its syncer declares in
/// [`ResourceSyncer::emits_grants_for`] (`declared`).
fn check_grant(g: &Grant, resource: &Resource, declared: &[String]) -> Result<()> {
    g.validate().map_err(|err| {
        Error::internal(format!(
            "connector returned an invalid grant: {}",
            err.message()
        ))
    })?;
    match crate::syncer::undeclared_grant(g, &resource.id, declared) {
        Some(message) => Err(Error::internal(format!("connector bug: {message}"))),
        None => Ok(()),
    }
}
