//! The engine's listings: top-level, child, entitlement and grant listings over the one
//! listing driver, the scan of stored resources that feeds them, and storing what they bring.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::error::{Error, ErrorKind, Result};
use crate::model::{Resource, ResourceType};
use crate::page::{
    DrivenPage, DriverOptions, Identified, ListingDriver, PAGING_ERROR, Page, PageRequest,
    PageToken,
};
use crate::syncer::{EntitlementsRequest, GrantsRequest, ListRequest, ResourceSyncer};

use super::*;

impl Engine<'_> {
    pub(super) fn syncer(&self, type_id: &str) -> Option<&Arc<dyn ResourceSyncer>> {
        self.syncers.get(type_id)
    }

    /// Validates and stores one page of resources listed under `parent`.
    pub(super) async fn store_resources(
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

    pub(super) async fn top_level(&self) -> Result<()> {
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

    pub(super) async fn list_top_level(
        &self,
        type_id: String,
        token: Option<PageToken>,
    ) -> Result<()> {
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
    pub(super) async fn scan(&self, kind: Scan, after: i64) -> Result<()> {
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
    pub(super) fn tolerate_not_found(&self, result: Result<()>, what: String) -> Result<()> {
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

    pub(super) async fn children_of(&self, parent: Resource) -> Result<()> {
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

    pub(super) async fn details_of(&self, resource: Resource) -> Result<()> {
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
    pub(super) async fn drain<'s, T, Fetch, FetchFut, OnPage, OnPageFut>(
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

    pub(super) fn count_page(&self, entitlements: u64, grants: u64) {
        {
            let mut p = lock(&self.progress);
            p.entitlements += entitlements;
            p.grants += grants;
            p.pages += 1;
        }
        self.report_progress();
    }
}
