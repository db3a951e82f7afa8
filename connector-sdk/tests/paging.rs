//! The one listing driver, through its three users: `stream_pages`, the sync engine and
//! the conformance kit. Repeated pages, lying totals and handed-out pages in every kind of
//! listing (top-level, child, entitlements, grants).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use connector_sdk::page::{DriverOptions, ListingDriver, PAGING_ERROR, stream_pages};
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{ConformanceOptions, check_conformance};
use futures::TryStreamExt;

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("u{i}")).collect()
}

/// A SCIM-like collection of `len` items, 1-based `startIndex`, pages of `count`.
fn scim_page(len: usize, count: usize, start: usize) -> Vec<String> {
    ids((start - 1).min(len)..(start - 1 + count).min(len))
}

#[tokio::test]
async fn a_repeated_page_under_a_declared_total_is_asked_again_then_fails_naming_the_gap() {
    let calls = AtomicUsize::new(0);
    let err = stream_pages("users", |req: PageRequest| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            Ok(match req.token.as_ref().map(PageToken::as_str) {
                None => Page::new(ids(0..2), Some(PageToken::new("3"))).with_total(Some(6)),
                // A caching proxy answers page 2 with page 1, every time.
                _ => Page::new(ids(0..2), Some(PageToken::new("5"))).with_total(Some(6)),
            })
        }
    })
    .try_collect::<Vec<String>>()
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("listing users"), "{msg}");
    assert!(msg.contains("token \"3\""), "{msg}");
    assert!(msg.contains("u0, u1"), "{msg}");
    assert!(
        msg.contains("declared 6 items and 2 have been read (4 missing)"),
        "{msg}"
    );
    assert!(err.context_pairs().iter().any(|(k, _)| *k == PAGING_ERROR));
    // The first page, the repeated page, and two more tries of it.
    assert_eq!(calls.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn a_page_repeated_once_is_asked_again_and_nothing_is_lost() {
    let repeats = AtomicUsize::new(1);
    let out: Vec<String> = stream_pages("users", |req: PageRequest| {
        let repeat = req.token.is_some() && repeats.fetch_sub(1, Ordering::SeqCst) == 1;
        async move {
            let start: usize = req.token.map_or(1, |t| t.as_str().parse().unwrap());
            let start = if repeat { 1 } else { start };
            let items = scim_page(5, 2, start);
            let next = (start + 1 < 5).then(|| PageToken::new((start + 2).to_string()));
            Ok(Page::new(items, next).with_total(Some(5)))
        }
    })
    .try_collect()
    .await
    .unwrap();
    assert_eq!(out, ids(0..5));
}

#[tokio::test]
async fn a_repeated_page_without_a_total_ends_the_listing_with_a_warning() {
    let fetch = |req: PageRequest| async move {
        Ok(match req.token {
            None => Page::new(ids(0..2), Some(PageToken::new("p2"))),
            Some(_) => Page::new(ids(0..2), Some(PageToken::new("p3"))),
        })
    };
    let mut driver = ListingDriver::new("users", fetch, DriverOptions::default());
    let mut items = Vec::new();
    let mut warnings = Vec::new();
    while let Some(page) = driver.next_page().await {
        let page = page.unwrap();
        items.extend(page.items);
        warnings.extend(page.warning);
    }
    assert_eq!(items, ids(0..2));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("may be missing"), "{warnings:?}");
    assert!(warnings[0].contains("token \"p2\""), "{warnings:?}");
}

/// A SCIM server with `len` users behind a first page claiming `claimed` results, pages
/// handed out by the first page (as Ironclad's listing does).
async fn lying_total(len: usize, claimed: u64, window: usize) -> (Vec<String>, usize, Vec<String>) {
    let calls = AtomicUsize::new(0);
    let in_flight = AtomicUsize::new(0);
    let max_in_flight = AtomicUsize::new(0);
    let pager = ScimPager::new(100);
    let fetch = |req: PageRequest| {
        calls.fetch_add(1, Ordering::SeqCst);
        let (in_flight, max_in_flight) = (&in_flight, &max_in_flight);
        async move {
            let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(2)).await;
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let r = pager.request(req.token.as_ref())?;
            let items = scim_page(len, 100, r.start_index as usize);
            Ok(pager.page(r, items, Some(claimed)))
        }
    };
    let mut driver = ListingDriver::new("users", fetch, DriverOptions::with_window(window));
    let (mut items, mut warnings) = (Vec::new(), Vec::new());
    while let Some(page) = driver.next_page().await {
        let page = page.unwrap();
        items.extend(page.items);
        warnings.extend(page.warning);
    }
    drop(driver);
    assert!(max_in_flight.load(Ordering::SeqCst) <= window);
    items.sort_by_key(|s| s[1..].parse::<usize>().unwrap());
    (items, calls.load(Ordering::SeqCst), warnings)
}

#[tokio::test]
async fn a_total_of_a_billion_costs_a_bounded_window_of_requests() {
    let (items, calls, warnings) = lying_total(230, 1_000_000_000, 8).await;
    assert_eq!(items, ids(0..230));
    // 3 real pages, then at most a window of pages past the end.
    assert!(calls <= 3 + 8, "{calls} requests");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("ended after 230 items although the API declared 1000000000"));
    // An honest total: no waste, no warning.
    let (items, calls, warnings) = lying_total(230, 230, 8).await;
    assert_eq!((items.len(), calls, warnings.len()), (230, 3, 0));
}

#[tokio::test]
async fn a_server_ignoring_start_index_under_a_huge_total_fails_instead_of_looping() {
    let calls = AtomicUsize::new(0);
    let pager = ScimPager::new(2);
    let fetch = |req: PageRequest| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let r = pager.request(req.token.as_ref())?;
            Ok(pager.page(r, ids(0..2), Some(1_000_000_000)))
        }
    };
    let err = ListingDriver::new("users", fetch, DriverOptions::with_window(4))
        .into_stream()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("999999998 missing"), "{err}");
    // The first page, then at most the window of handed-out pages, each asked three times.
    assert!(calls.load(Ordering::SeqCst) <= 1 + 4 * 3, "{calls:?}");
}

/// Users, groups with child projects, members and project grants: every listing hands out
/// its pages when it knows its total.
struct Tenant {
    users: usize,
    groups: usize,
    projects_per_group: usize,
    page: usize,
    /// Answer the second page of the user listing with the first, this many times.
    repeat_user_page: AtomicUsize,
    /// Whether listings say their total.
    totals: bool,
}

impl Tenant {
    fn new(users: usize) -> Self {
        Tenant {
            users,
            groups: 2,
            projects_per_group: 7,
            page: 3,
            repeat_user_page: AtomicUsize::new(0),
            totals: true,
        }
    }

    /// A page of `items` made by `make(i)` for i in 0..len, offset paged; the first page
    /// hands out the others when totals are on, else follows `next`.
    fn page<T>(
        &self,
        token: Option<&PageToken>,
        len: usize,
        make: impl Fn(usize) -> T,
    ) -> Result<Page<T>> {
        let pager = OffsetPager::new(self.page as u32);
        let offset = pager.offset(token)? as usize;
        let items: Vec<T> = (offset..(offset + self.page).min(len)).map(make).collect();
        if !self.totals {
            let next = pager.next(offset as u64, items.len(), None);
            return Ok(Page::new(items, next));
        }
        let handed = if token.is_none() {
            pager.remaining(items.len() as u64, len as u64)
        } else {
            Default::default()
        };
        Ok(Page::last(items)
            .with_parallel(handed)
            .with_total(Some(len as u64)))
    }
}

fn user_type() -> ResourceType {
    ResourceType::new("user", "User").with_trait(TraitKind::User)
}
fn group_type() -> ResourceType {
    ResourceType::new("group", "Group").with_trait(TraitKind::Group)
}
fn project_type() -> ResourceType {
    ResourceType::new("project", "Project")
}

struct Users(Arc<Tenant>);
struct Groups(Arc<Tenant>);
struct Projects(Arc<Tenant>);

fn user(i: usize) -> Resource {
    Resource::new(&user_type(), format!("u{i}"), format!("User {i}"))
        .with_user_trait(UserTrait::default().with_email(format!("u{i}@example.com"), true))
}

#[async_trait]
impl ResourceSyncer for Users {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let t = &self.0;
        let token = page.token;
        // The second page is at offset `page`.
        let second = token
            .as_ref()
            .is_some_and(|x| x.as_str() == t.page.to_string());
        if second
            && t.repeat_user_page
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            // A cache answers with the first page again.
            let mut first = t.page(None, t.users, user)?;
            first.next = token;
            first.parallel = Default::default();
            return Ok(first);
        }
        t.page(token.as_ref(), t.users, user)
    }
}

#[async_trait]
impl ResourceSyncer for Groups {
    fn resource_type(&self) -> ResourceType {
        group_type()
    }
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        self.0.page(page.token.as_ref(), self.0.groups, |i| {
            Resource::new(&group_type(), format!("g{i}"), format!("Group {i}"))
                .with_group_trait(GroupTrait::default())
                .with_child_type("project")
        })
    }
    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let r = &req.resource;
        Ok(Page::last(vec![
            Entitlement::new(r, "member", Purpose::Assignment).grantable_to(["user"]),
        ]))
    }
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (r, page) = (&req.resource, req.page);
        let e = Entitlement::new(r, "member", Purpose::Assignment);
        self.0.page(page.token.as_ref(), self.0.users, |i| {
            Grant::new(&e, ResourceId::new("user", format!("u{i}")))
        })
    }
}

#[async_trait]
impl ResourceSyncer for Projects {
    fn resource_type(&self) -> ResourceType {
        project_type()
    }
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let (parent, page) = (req.parent.as_ref(), req.page);
        let Some(parent) = parent else {
            return Ok(Page::empty());
        };
        let parent = parent.clone();
        self.0
            .page(page.token.as_ref(), self.0.projects_per_group, |i| {
                Resource::new(
                    &project_type(),
                    format!("{}-p{i}", parent.resource),
                    format!("Project {i}"),
                )
                .with_parent(parent.clone())
            })
    }
}

struct TenantConnector(Arc<Tenant>);

#[async_trait]
impl Connector for TenantConnector {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("paged", "Paged")
    }
    async fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![
            Arc::new(Users(self.0.clone())),
            Arc::new(Groups(self.0.clone())),
            Arc::new(Projects(self.0.clone())),
        ]
    }
}

fn opts() -> SyncOptions {
    SyncOptions::default().with_checkpoint_interval(Duration::ZERO)
}

#[tokio::test]
async fn grants_and_child_listings_with_handed_out_pages_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.c1z");
    let tenant = Arc::new(Tenant::new(31));
    let report = sync_to_file(&TenantConnector(tenant), &path, &opts(), None)
        .await
        .unwrap();
    assert_eq!(report.warning_count, 0, "{:?}", report.warnings);
    let reader = C1zReader::open(&path).unwrap();
    assert_eq!(reader.resources(Some("user")).unwrap().len(), 31);
    assert_eq!(reader.resources(Some("project")).unwrap().len(), 2 * 7);
    // 31 members in each of 2 groups, listed 3 a page, 10 of those pages handed out.
    assert_eq!(reader.grants(&GrantFilter::default()).unwrap().len(), 62);
}

#[tokio::test]
async fn a_repeated_page_fails_the_sync_and_keeps_the_last_good_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.c1z");
    let mut tenant = Tenant::new(10);
    tenant.totals = false;
    tenant.page = 3;
    sync_to_file(&TenantConnector(Arc::new(tenant)), &path, &opts(), None)
        .await
        .unwrap();
    let good = C1zReader::open(&path)
        .unwrap()
        .resources(None)
        .unwrap()
        .len();

    // Without a total a page repeated three times (asked twice more) ends the listing,
    // with a warning that is kept.
    let mut tenant = Tenant::new(10);
    tenant.totals = false;
    tenant.repeat_user_page = AtomicUsize::new(3);
    let options = opts().with_resume(false);
    let report = sync_to_file(&TenantConnector(Arc::new(tenant)), &path, &options, None)
        .await
        .unwrap();
    // (the members of the missing users are then reported as dangling too)
    assert!(
        report.warnings[0].contains("listing user resources ended at a page (token \"3\")"),
        "{:?}",
        report.warnings
    );
    let reader = C1zReader::open(&path).unwrap();
    let last = reader.syncs().unwrap().pop().unwrap();
    assert_eq!(last.warnings(), report.warnings);
    assert_eq!(reader.resources(Some("user")).unwrap().len(), 3);

    // With a total, the page is asked for again; twice repeated is recovered...
    let mut tenant = Tenant::new(10);
    tenant.repeat_user_page = AtomicUsize::new(2);
    tenant.totals = true;
    // (handed-out pages come from the first page, so a repeat there is a repeat of page 1)
    let report = sync_to_file(&TenantConnector(Arc::new(tenant)), &path, &options, None)
        .await
        .unwrap();
    assert_eq!(report.warning_count, 0, "{:?}", report.warnings);
    assert_eq!(
        C1zReader::open(&path)
            .unwrap()
            .resources(None)
            .unwrap()
            .len(),
        good
    );

    // ...three times is an error naming the gap, and the file keeps the last good sync.
    let mut tenant = Tenant::new(10);
    tenant.repeat_user_page = AtomicUsize::new(3);
    let err = sync_to_file(&TenantConnector(Arc::new(tenant)), &path, &options, None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("token \"3\"") && msg.contains("missing"),
        "{msg}"
    );
    assert_eq!(
        C1zReader::open(&path)
            .unwrap()
            .resources(None)
            .unwrap()
            .len(),
        good
    );
}

#[tokio::test]
async fn the_kit_reads_handed_out_pages_without_false_violations() {
    let tenant = Arc::new(Tenant {
        page: 100,
        projects_per_group: 250,
        ..Tenant::new(250)
    });
    let report = check_conformance(&TenantConnector(tenant), &ConformanceOptions::default())
        .await
        .unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(report.resources_by_type["user"], 250);
    assert_eq!(report.resources_by_type["project"], 500);
    assert_eq!(report.grants, 500);

    // And it reports a repeated page that leaves a gap.
    let tenant = Arc::new(Tenant {
        page: 100,
        repeat_user_page: AtomicUsize::new(5),
        ..Tenant::new(250)
    });
    let failure = check_conformance(&TenantConnector(tenant), &ConformanceOptions::default())
        .await
        .unwrap_err();
    assert!(!failure.of("pagination terminates").is_empty(), "{failure}");
}
