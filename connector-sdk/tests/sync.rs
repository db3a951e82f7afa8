//! The sync engine and the `.c1z` store together: round trip, expansion, validation,
//! interruption and resume, two syncs in one file.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use connector_sdk::page::stream_pages;
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter, SyncStore};
use connector_sdk::sync::{Progress, ProgressFn, SyncOptions, sync_to_file};
use connector_sdk::testing::{MemoryConnector, TenantState};
use futures::TryStreamExt;

fn opts() -> SyncOptions {
    SyncOptions::default().with_checkpoint_interval(Duration::ZERO)
}

/// Everything a connector lists, drained directly (no engine, no store).
async fn drain(
    c: &dyn Connector,
) -> (
    Vec<ResourceType>,
    Vec<Resource>,
    Vec<Entitlement>,
    Vec<Grant>,
) {
    let syncers = c.syncers();
    let by_type: BTreeMap<String, Arc<dyn ResourceSyncer>> = syncers
        .iter()
        .map(|s| (s.resource_type().id, s.clone()))
        .collect();
    let mut resources: Vec<Resource> = Vec::new();
    let mut queue: Vec<(String, Option<ResourceId>)> =
        by_type.keys().map(|t| (t.clone(), None)).collect();
    while let Some((t, parent)) = queue.pop() {
        let s = by_type[&t].clone();
        let listed: Vec<Resource> = stream_pages("r", |req| {
            let s = s.clone();
            let parent = parent.clone();
            async move { s.list(ListRequest::new(parent.as_ref(), req)).await }
        })
        .try_collect()
        .await
        .unwrap();
        for r in listed {
            for child in &r.child_types {
                queue.push((child.clone(), Some(r.id.clone())));
            }
            resources.push(r);
        }
    }
    let (mut ents, mut grants) = (Vec::new(), Vec::new());
    for r in &resources {
        let s = by_type[&r.id.resource_type].clone();
        if s.resource_type().skip_entitlements_and_grants {
            continue;
        }
        let e: Vec<Entitlement> =
            stream_pages("e", |req| s.entitlements(EntitlementsRequest::new(r, req)))
                .try_collect()
                .await
                .unwrap();
        let g: Vec<Grant> = stream_pages("g", |req| s.grants(GrantsRequest::new(r, req)))
            .try_collect()
            .await
            .unwrap();
        ents.extend(e);
        grants.extend(g);
    }
    let types = syncers.iter().map(|s| s.resource_type()).collect();
    (types, resources, ents, grants)
}

fn sorted<T: Clone, K: Ord>(v: &[T], key: impl Fn(&T) -> K) -> Vec<T> {
    let mut v = v.to_vec();
    v.sort_by_key(|x| key(x));
    v
}

/// Everything the latest sync of a file holds, sorted by id.
fn contents(
    path: &Path,
) -> (
    Vec<ResourceType>,
    Vec<Resource>,
    Vec<Entitlement>,
    Vec<Grant>,
) {
    let r = C1zReader::open(path).unwrap();
    (
        sorted(&r.resource_types().unwrap(), |t| t.id.clone()),
        sorted(&r.resources(None).unwrap(), |x| x.id.clone()),
        sorted(&r.entitlements(None).unwrap(), |x| x.id().to_string()),
        sorted(&r.grants(&GrantFilter::default()).unwrap(), |x| {
            x.id().to_string()
        }),
    )
}

#[tokio::test]
async fn round_trip_equals_what_the_connector_listed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let c = MemoryConnector::seeded();
    let options = opts().with_expand_grants(false);
    let report = sync_to_file(&c, &path, &options, None).await.unwrap();
    assert!(report.completed);
    assert_eq!(report.warning_count, 0, "{:?}", report.warnings);

    let (types, resources, ents, grants) = drain(&c).await;
    let (s_types, s_resources, s_ents, s_grants) = contents(&path);
    assert_eq!(s_types, sorted(&types, |t| t.id.clone()));
    assert_eq!(s_resources, sorted(&resources, |x| x.id.clone()));
    assert_eq!(s_ents, sorted(&ents, |x| x.id().to_string()));
    assert_eq!(s_grants, sorted(&grants, |x| x.id().to_string()));
    assert_eq!(report.stats.resources, 12);
    assert_eq!(report.stats.resources_by_resource_type["document"], 3);
    assert_eq!(report.stats.grants, 8);
}

#[tokio::test]
async fn group_grants_expand_to_members() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let report = sync_to_file(&MemoryConnector::seeded(), &path, &opts(), None)
        .await
        .unwrap();
    // d1 is readable by g1 (u1, u2, u3), d3 by g2 (u4).
    assert_eq!(report.expanded_grants, 4);
    let reader = C1zReader::open(&path).unwrap();
    let g = reader
        .grant("document:d1:read:user:u2")
        .unwrap()
        .expect("derived grant");
    assert!(g.immutable);
    assert_eq!(g.sources.get("group:g1:member"), Some(&true));
    assert_eq!(g.entitlement_resource(), &ResourceId::new("document", "d1"));
    // The direct grant to the group keeps its expansion data (stored in the expansion column).
    let direct = reader.grant("document:d1:read:group:g1").unwrap().unwrap();
    assert_eq!(
        direct.expandable.unwrap().entitlement_ids,
        vec!["group:g1:member"]
    );
    assert_eq!(report.stats.grants, 12);
}

#[tokio::test]
async fn expansion_terminates_on_cycles_and_honours_shallow() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.c1z");
    let mut store = SyncStore::open(&path).unwrap();
    store.start_sync().unwrap();
    let group = ResourceType::new("group", "Group").with_trait(TraitKind::Group);
    let user = ResourceType::new("user", "User").with_trait(TraitKind::User);
    store
        .put_resource_types(&[group.clone(), user.clone()])
        .unwrap();
    let g = |id: &str| Resource::new(&group, id, id).with_group_trait(GroupTrait::default());
    let (a, b, c) = (g("a"), g("b"), g("c"));
    store
        .put_resources(&[
            a.clone(),
            b.clone(),
            c.clone(),
            Resource::new(&user, "u1", "u1").with_user_trait(UserTrait::default()),
            Resource::new(&user, "u2", "u2").with_user_trait(UserTrait::default()),
        ])
        .unwrap();
    let member = |r: &Resource| Entitlement::assignment(r, "member");
    // a contains b, b contains a (a cycle); u1 in a, u2 in b; c shallowly contains a.
    store
        .put_grants(&[
            Grant::new(&member(&a), b.id.clone()).expandable(["group:b:member"]),
            Grant::new(&member(&b), a.id.clone()).expandable(["group:a:member"]),
            Grant::new(&member(&a), ResourceId::new("user", "u1")),
            Grant::new(&member(&b), ResourceId::new("user", "u2")),
            {
                let mut x = Grant::new(&member(&c), a.id.clone()).expandable(["group:a:member"]);
                x.expandable.as_mut().unwrap().shallow = true;
                x
            },
        ])
        .unwrap();
    let derived = store.expand_grants().unwrap();
    store.finish().unwrap();
    let reader = C1zReader::open(&path).unwrap();
    let holders = |ent: &str| -> Vec<String> {
        let mut v: Vec<String> = reader
            .grants(&GrantFilter::default().with_entitlement(ent))
            .unwrap()
            .iter()
            .map(|g| g.principal().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(holders("group:a:member"), ["group:b", "user:u1", "user:u2"]);
    assert_eq!(holders("group:b:member"), ["group:a", "user:u1", "user:u2"]);
    // shallow: only a's direct members (u1 and b), not u2 who is in a through b
    assert_eq!(holders("group:c:member"), ["group:a", "group:b", "user:u1"]);
    assert!(derived >= 3, "{derived}");
}

/// The in-memory connector, failing every call after `fail_after` pages.
struct Flaky {
    inner: MemoryConnector,
    pages: Arc<AtomicUsize>,
    fail_after: usize,
    delay: Duration,
}

struct FlakySyncer {
    inner: Arc<dyn ResourceSyncer>,
    pages: Arc<AtomicUsize>,
    fail_after: usize,
    delay: Duration,
}

impl FlakySyncer {
    async fn tick(&self) -> Result<()> {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.pages.fetch_add(1, Ordering::SeqCst) >= self.fail_after {
            return Err(Error::new(
                ErrorKind::Unavailable,
                "the process was killed here",
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl ResourceSyncer for FlakySyncer {
    fn resource_type(&self) -> ResourceType {
        self.inner.resource_type()
    }
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let (parent, page) = (req.parent.as_ref(), req.page);
        self.tick().await?;
        self.inner.list(ListRequest::new(parent, page)).await
    }
    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let (r, page) = (&req.resource, req.page);
        self.tick().await?;
        self.inner
            .entitlements(EntitlementsRequest::new(r, page))
            .await
    }
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (r, page) = (&req.resource, req.page);
        self.tick().await?;
        self.inner.grants(GrantsRequest::new(r, page)).await
    }
}

#[async_trait]
impl Connector for Flaky {
    fn metadata(&self) -> ConnectorMetadata {
        self.inner.metadata()
    }
    async fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        self.inner
            .syncers()
            .into_iter()
            .map(|inner| {
                Arc::new(FlakySyncer {
                    inner,
                    pages: self.pages.clone(),
                    fail_after: self.fail_after,
                    delay: self.delay,
                }) as Arc<dyn ResourceSyncer>
            })
            .collect()
    }
}

fn tenant() -> MemoryConnector {
    let mut s = TenantState::synthetic(40, 6, 5);
    s.folders.insert("f1".into(), "F".into());
    s.documents.insert(
        "d1".into(),
        connector_sdk::testing::memory::MemDocument {
            name: "D".into(),
            folder: "f1".into(),
            readers: [ResourceId::new("group", "g1")].into_iter().collect(),
        },
    );
    MemoryConnector::new(s).with_page_size(3)
}

#[tokio::test]
async fn a_sync_killed_part_way_resumes_to_the_same_result() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.c1z");
    sync_to_file(&tenant(), &reference, &opts(), None)
        .await
        .unwrap();
    let want = contents(&reference);

    // Kill at many points: during resources, child listings, entitlements and grants.
    for fail_after in [1, 5, 17, 25, 40, 60, 90] {
        let path = dir.path().join(format!("killed-{fail_after}.c1z"));
        let flaky = Flaky {
            inner: tenant(),
            pages: Arc::new(AtomicUsize::new(0)),
            fail_after,
            delay: Duration::ZERO,
        };
        let err = sync_to_file(&flaky, &path, &opts(), None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("killed"), "{err}");
        // The file holds the unfinished sync, and no finished one yet.
        assert!(C1zReader::open(&path).is_err());

        let report = sync_to_file(&tenant(), &path, &opts(), None).await.unwrap();
        assert!(report.resumed, "kill after {fail_after} pages");
        assert!(report.completed);
        assert_eq!(contents(&path), want, "kill after {fail_after} pages");
        // One finished sync: the unfinished one was completed, not duplicated.
        assert_eq!(C1zReader::open(&path).unwrap().syncs().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn a_dropped_sync_future_leaves_a_resumable_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let reference = dir.path().join("reference.c1z");
    sync_to_file(&tenant(), &reference, &opts(), None)
        .await
        .unwrap();
    let path = dir.path().join("dropped.c1z");
    let slow = Flaky {
        inner: tenant(),
        pages: Arc::new(AtomicUsize::new(0)),
        fail_after: usize::MAX,
        delay: Duration::from_millis(5),
    };
    // Like a killed process: the future is dropped at an arbitrary await point, once a few
    // pages are in (however slow the machine is).
    let pages = slow.pages.clone();
    let started = async {
        while pages.load(Ordering::SeqCst) < 6 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let options = opts();
    tokio::select! {
        _ = sync_to_file(&slow, &path, &options, None) => panic!("the sync should still have been running"),
        _ = started => {}
    }
    let report = sync_to_file(&tenant(), &path, &opts(), None).await.unwrap();
    assert!(report.resumed);
    assert_eq!(contents(&path), contents(&reference));
}

#[tokio::test]
async fn the_run_duration_limit_stops_and_the_next_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("limited.c1z");
    let options = opts().with_max_duration(Duration::ZERO);
    let first = sync_to_file(&tenant(), &path, &options, None)
        .await
        .unwrap();
    assert!(!first.completed);
    let second = sync_to_file(&tenant(), &path, &opts(), None).await.unwrap();
    assert!(second.completed && second.resumed);
    assert_eq!(first.sync_id, second.sync_id);
    assert_eq!(second.stats.resources, 40 + 6 + 1 + 1);
}

#[tokio::test]
async fn a_second_sync_keeps_the_first_for_diffing_and_retention_keeps_two() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let c = MemoryConnector::seeded();
    let first = sync_to_file(&c, &path, &opts(), None).await.unwrap();
    c.update(|s| {
        s.groups.get_mut("g2").unwrap().members.insert("u5".into());
        s.users.remove("u3");
        for g in s.groups.values_mut() {
            g.members.remove("u3");
        }
        s.users.get_mut("u4").unwrap().enabled = true;
        s.users.get_mut("u1").unwrap().name = "Ada King".into();
    });
    let second = sync_to_file(&c, &path, &opts(), None).await.unwrap();
    assert_ne!(first.sync_id, second.sync_id);
    let reader = C1zReader::open(&path).unwrap();
    assert_eq!(reader.sync().sync_id, second.sync_id);
    let diff = reader.diff_with_previous().unwrap();
    assert_eq!(diff.resources_removed, vec!["user:u3"]);
    // Changed resources, by id, with the fields that changed.
    let changed: Vec<(&str, Vec<&str>)> = diff
        .resources_changed
        .iter()
        .map(|c| {
            (
                c.id.as_str(),
                c.fields.iter().map(|f| f.field.as_str()).collect(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            ("group:g1", vec!["group.profile.member_count"]),
            ("group:g2", vec!["group.profile.member_count"]),
            ("user:u1", vec!["display_name", "user.name.family_name"]),
            ("user:u4", vec!["user.status"]),
        ]
    );
    let u4 = &diff
        .resources_changed
        .iter()
        .find(|c| c.id == "user:u4")
        .unwrap()
        .fields[0];
    assert_eq!(
        (u4.before.as_str(), u4.after.as_str()),
        (Some("disabled"), Some("enabled"))
    );
    assert_eq!(
        diff.resources_changed
            .iter()
            .find(|c| c.id == "user:u1")
            .unwrap()
            .display_name,
        "Ada King"
    );
    assert!(
        diff.grants_added
            .contains(&"group:g2:member:user:u5".to_string()),
        "{diff:?}"
    );
    assert!(
        diff.grants_removed
            .contains(&"group:g1:member:user:u3".to_string()),
        "{diff:?}"
    );
    let third = sync_to_file(&c, &path, &opts(), None).await.unwrap();
    let syncs = C1zReader::open(&path).unwrap().syncs().unwrap();
    let ids: Vec<&str> = syncs.iter().map(|s| s.sync_id.as_str()).collect();
    assert_eq!(ids, [second.sync_id.as_str(), third.sync_id.as_str()]);
}

/// The in-memory connector with the user trait dropped from one user, or a vanished group.
struct Broken {
    inner: MemoryConnector,
    missing_trait: bool,
}

struct BrokenSyncer {
    inner: Arc<dyn ResourceSyncer>,
    missing_trait: bool,
}

#[async_trait]
impl ResourceSyncer for BrokenSyncer {
    fn resource_type(&self) -> ResourceType {
        self.inner.resource_type()
    }
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let (parent, page) = (req.parent.as_ref(), req.page);
        let mut p = self.inner.list(ListRequest::new(parent, page)).await?;
        if self.missing_trait {
            for r in &mut p.items {
                if r.id.resource == "u2" {
                    r.user = None;
                }
            }
        }
        Ok(p)
    }
    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let (r, page) = (&req.resource, req.page);
        self.inner
            .entitlements(EntitlementsRequest::new(r, page))
            .await
    }
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (r, page) = (&req.resource, req.page);
        if !self.missing_trait && r.id.resource == "g2" {
            return Err(Error::not_found("group g2 was deleted during the sync"));
        }
        self.inner.grants(GrantsRequest::new(r, page)).await
    }
}

#[async_trait]
impl Connector for Broken {
    fn metadata(&self) -> ConnectorMetadata {
        self.inner.metadata()
    }
    async fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        self.inner
            .syncers()
            .into_iter()
            .map(|inner| {
                Arc::new(BrokenSyncer {
                    inner,
                    missing_trait: self.missing_trait,
                }) as Arc<dyn ResourceSyncer>
            })
            .collect()
    }
}

#[tokio::test]
async fn an_invalid_resource_fails_the_sync_and_keeps_the_previous_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let good = sync_to_file(&MemoryConnector::seeded(), &path, &opts(), None)
        .await
        .unwrap();
    let broken = Broken {
        inner: MemoryConnector::seeded(),
        missing_trait: true,
    };
    let err = sync_to_file(&broken, &path, &opts(), None)
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("user:u2") && msg.contains("user trait"),
        "{msg}"
    );
    // The earlier finished sync is still what readers see.
    let reader = C1zReader::open(&path).unwrap();
    assert_eq!(reader.sync().sync_id, good.sync_id);
    assert_eq!(reader.stats().unwrap(), good.stats);
}

#[tokio::test]
async fn a_vanished_resource_is_a_warning_up_to_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let c = Broken {
        inner: MemoryConnector::seeded(),
        missing_trait: false,
    };
    let report = sync_to_file(&c, &path, &opts(), None).await.unwrap();
    assert_eq!(report.warning_count, 1, "{:?}", report.warnings);
    assert!(
        report.warnings[0].contains("group:g2"),
        "{:?}",
        report.warnings
    );
    let strict = opts().with_max_not_found(0).with_resume(false);
    let err = sync_to_file(&c, &path, &strict, None).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("limit of 0"), "{err}");
}

#[tokio::test]
async fn progress_is_reported_per_phase_with_growing_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let seen: Arc<std::sync::Mutex<Vec<Progress>>> = Default::default();
    let sink = seen.clone();
    let f: ProgressFn = Arc::new(move |p: &Progress| sink.lock().unwrap().push(p.clone()));
    sync_to_file(&MemoryConnector::seeded(), &path, &opts(), Some(&f))
        .await
        .unwrap();
    let seen = seen.lock().unwrap();
    let phases: Vec<_> = seen.iter().filter_map(|p| p.phase).collect();
    for ph in [
        connector_sdk::sync::Phase::Resources,
        connector_sdk::sync::Phase::ChildResources,
        connector_sdk::sync::Phase::EntitlementsAndGrants,
        connector_sdk::sync::Phase::Finishing,
    ] {
        assert!(phases.contains(&ph), "{ph:?} missing");
    }
    let last = seen.last().unwrap();
    assert_eq!(last.resources_by_type.values().sum::<u64>(), 12);
    assert_eq!(last.grants, 8);
    assert!(seen.windows(2).all(|w| w[0].pages <= w[1].pages));
}

#[tokio::test]
async fn a_corrupt_output_file_is_refused_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    std::fs::write(&path, b"important data that is not a c1z").unwrap();
    let err = sync_to_file(&MemoryConnector::seeded(), &path, &opts(), None)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a c1z"), "{err}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"important data that is not a c1z"
    );
}

/// Users listed 3 a page; the first page hands back every other page as parallel tokens.
struct ParallelUsers {
    total: usize,
    calls: Arc<AtomicUsize>,
    fail_after: usize,
    /// The total the first page claims (a lying server claims more than `total`).
    claimed: usize,
}

#[async_trait]
impl ResourceSyncer for ParallelUsers {
    fn resource_type(&self) -> ResourceType {
        ResourceType::new("user", "User").with_trait(TraitKind::User)
    }
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        if self.calls.fetch_add(1, Ordering::SeqCst) >= self.fail_after {
            return Err(Error::new(ErrorKind::Unavailable, "killed"));
        }
        let pager = OffsetPager::new(3);
        let offset = pager.offset(page.token.as_ref())? as usize;
        let items: Vec<Resource> = (offset..(offset + 3).min(self.total))
            .map(|i| {
                Resource::new(&self.resource_type(), format!("u{i}"), "U")
                    .with_user_trait(UserTrait::default())
            })
            .collect();
        if page.token.is_none() {
            let rest: Vec<PageToken> = (1..self.claimed.div_ceil(3))
                .map(|p| PageToken::new((p * 3).to_string()))
                .collect();
            return Ok(Page::last(items).with_parallel(rest));
        }
        Ok(Page::last(items))
    }
}

struct ParallelConnector(Arc<ParallelUsers>);

#[async_trait]
impl Connector for ParallelConnector {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("parallel", "Parallel")
    }
    async fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![self.0.clone()]
    }
}

#[tokio::test]
async fn parallel_pages_are_all_fetched_and_a_kill_among_them_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let connector = |fail_after| {
        ParallelConnector(Arc::new(ParallelUsers {
            total: 31,
            calls: Arc::new(AtomicUsize::new(0)),
            fail_after,
            claimed: 31,
        }))
    };
    let path = dir.path().join("p.c1z");
    let report = sync_to_file(&connector(usize::MAX), &path, &opts(), None)
        .await
        .unwrap();
    assert_eq!(report.stats.resources, 31);
    let killed = dir.path().join("killed.c1z");
    assert!(
        sync_to_file(&connector(5), &killed, &opts(), None)
            .await
            .is_err()
    );
    let resumed = sync_to_file(&connector(usize::MAX), &killed, &opts(), None)
        .await
        .unwrap();
    assert!(resumed.resumed);
    assert_eq!(contents(&killed), contents(&path));
}

#[tokio::test]
async fn a_lying_total_cannot_fan_out_into_thousands_of_requests() {
    let dir = tempfile::tempdir().unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let liar = ParallelConnector(Arc::new(ParallelUsers {
        total: 31,
        calls: calls.clone(),
        fail_after: usize::MAX,
        claimed: 30_000,
    }));
    let report = sync_to_file(&liar, &dir.path().join("l.c1z"), &opts(), None)
        .await
        .unwrap();
    assert_eq!(report.stats.resources, 31);
    // 11 real pages, then at most one wasted page per worker before the rest are dropped.
    let n = calls.load(Ordering::SeqCst);
    assert!(n <= 11 + 2 * opts().workers, "{n} requests for 31 users");
}
