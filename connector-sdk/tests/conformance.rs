//! The conformance kit passes a correct connector and catches each kind of defect, naming
//! the offending id.

use std::sync::Arc;

use connector_sdk::prelude::*;
use connector_sdk::testing::{
    ConformanceFailure, ConformanceOptions, MemoryConnector, assert_conformance, check_conformance,
    check_provisioning_idempotent,
};

#[derive(Clone, Copy, Debug)]
enum Defect {
    RepeatedToken,
    EndlessPages,
    DuplicateId,
    MissingTrait,
    DanglingPrincipal,
    DanglingEntitlement,
    DanglingParent,
    WrongParent,
    MalformedEntitlementId,
    EntitlementOnOtherResource,
    UnknownChildType,
    NotGrantableTo,
    ListingFails,
}

/// The in-memory connector with one defect injected into its answers.
struct Faulty {
    inner: MemoryConnector,
    defect: Defect,
}

struct FaultySyncer {
    inner: Arc<dyn ResourceSyncer>,
    defect: Defect,
}

#[async_trait]
impl ResourceSyncer for FaultySyncer {
    fn resource_type(&self) -> ResourceType {
        self.inner.resource_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let (parent, page) = (req.parent.as_ref(), req.page);
        let rt = self.resource_type().id;
        let requested = page.token.clone();
        let mut out = self.inner.list(ListRequest::new(parent, page)).await?;
        match (self.defect, rt.as_str()) {
            (Defect::RepeatedToken, "user") => {
                if let (Some(req), Some(_)) = (requested, &out.next) {
                    out.next = Some(req);
                }
            }
            (Defect::EndlessPages, "user") => {
                let n: u64 = requested
                    .map(|t| t.as_str().parse().unwrap_or(0))
                    .unwrap_or(0);
                let rt = self.resource_type();
                out = Page::new(
                    vec![
                        Resource::new(&rt, format!("x{n}"), "X")
                            .with_user_trait(UserTrait::default()),
                    ],
                    Some(PageToken::new((n + 1).to_string())),
                );
            }
            (Defect::DuplicateId, "user") if requested.is_some() => {
                if let Some(first) = out.items.first_mut() {
                    first.id.resource = "u1".into();
                }
            }
            (Defect::MissingTrait, "user") => {
                for r in &mut out.items {
                    if r.id.resource == "u3" {
                        r.user = None;
                    }
                }
            }
            (Defect::DanglingParent, "user") => {
                for r in &mut out.items {
                    if r.id.resource == "u2" {
                        r.parent = Some(ResourceId::new("org", "o-missing"));
                    }
                }
            }
            (Defect::WrongParent, "document") => {
                for r in &mut out.items {
                    r.parent = Some(ResourceId::new("folder", "f2"));
                }
            }
            (Defect::UnknownChildType, "folder") => {
                for r in &mut out.items {
                    r.child_types.push("attachment".into());
                }
            }
            (Defect::ListingFails, "group") => {
                return Err(Error::new(ErrorKind::Unavailable, "upstream timed out"));
            }
            _ => {}
        }
        Ok(out)
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let (resource, page) = (&req.resource, req.page);
        let mut out = self
            .inner
            .entitlements(EntitlementsRequest::new(resource, page))
            .await?;
        match self.defect {
            Defect::MalformedEntitlementId if resource.id.resource == "g2" => {
                out.items = vec![Entitlement::from_parts(
                    "member-of-g2",
                    resource.id.clone(),
                    "member",
                )];
            }
            Defect::EntitlementOnOtherResource if resource.id.resource == "g2" => {
                let other = Resource::with_id(ResourceId::new("group", "g1"), "G1");
                out.items = vec![Entitlement::assignment(&other, "owner")];
            }
            _ => {}
        }
        Ok(out)
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (resource, page) = (&req.resource, req.page);
        let mut out = self
            .inner
            .grants(GrantsRequest::new(resource, page.clone()))
            .await?;
        if resource.id.resource == "g1" && page.token.is_none() {
            let member = Entitlement::assignment(resource, "member");
            match self.defect {
                Defect::DanglingPrincipal => out
                    .items
                    .push(Grant::new(&member, ResourceId::new("user", "ghost"))),
                Defect::DanglingEntitlement => {
                    let owner = Entitlement::assignment(resource, "owner");
                    out.items
                        .push(Grant::new(&owner, ResourceId::new("user", "u1")));
                }
                Defect::NotGrantableTo => out
                    .items
                    .push(Grant::new(&member, ResourceId::new("group", "g2"))),
                _ => {}
            }
        }
        Ok(out)
    }
}

#[async_trait]
impl Connector for Faulty {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("faulty", "Faulty")
    }
    async fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        self.inner
            .syncers()
            .into_iter()
            .map(|inner| {
                Arc::new(FaultySyncer {
                    inner,
                    defect: self.defect,
                }) as Arc<dyn ResourceSyncer>
            })
            .collect()
    }
}

async fn failure(defect: Defect) -> ConformanceFailure {
    let c = Faulty {
        inner: MemoryConnector::seeded().with_page_size(2),
        defect,
    };
    let options = ConformanceOptions {
        max_pages_per_listing: 50,
    };
    match check_conformance(&c, &options).await {
        Ok(report) => panic!("{defect:?} went unnoticed: {report:?}"),
        Err(f) => f,
    }
}

/// Asserts the failure has a violation of `check` naming `id`, and that its message does too.
fn expect(f: &ConformanceFailure, check: &str, id: &str) {
    let hits = f.of(check);
    assert!(
        hits.iter().any(|v| v.id == id),
        "expected a {check:?} violation on {id:?}, got:\n{f}"
    );
    assert!(f.to_string().contains(id), "{f}");
}

#[tokio::test]
async fn the_memory_connector_conforms() {
    for size in [1, 2, 3, 100] {
        let c = MemoryConnector::seeded().with_page_size(size);
        let report = assert_conformance(&c).await;
        assert_eq!(report.resource_types, 4);
        assert_eq!(report.resources, 12);
        assert_eq!(report.resources_by_type["document"], 3);
        // 2 group member entitlements + 3 document read entitlements
        assert_eq!(report.entitlements, 5);
        // 3 + 1 memberships, 2 + 1 + 1 document readers
        assert_eq!(report.grants, 8);
    }
}

#[tokio::test]
async fn small_pages_take_more_requests() {
    let one = assert_conformance(&MemoryConnector::seeded().with_page_size(1)).await;
    let hundred = assert_conformance(&MemoryConnector::seeded().with_page_size(100)).await;
    assert!(
        one.pages > hundred.pages,
        "{} vs {}",
        one.pages,
        hundred.pages
    );
}

#[tokio::test]
async fn catches_a_repeated_page_token() {
    expect(
        &failure(Defect::RepeatedToken).await,
        "pagination terminates",
        "user resources",
    );
}

#[tokio::test]
async fn catches_a_listing_that_never_ends() {
    let f = failure(Defect::EndlessPages).await;
    expect(&f, "pagination terminates", "user resources");
    assert!(f.to_string().contains("50 pages"), "{f}");
}

#[tokio::test]
async fn catches_a_duplicate_id() {
    expect(&failure(Defect::DuplicateId).await, "unique ids", "user:u1");
}

#[tokio::test]
async fn catches_a_missing_trait() {
    expect(
        &failure(Defect::MissingTrait).await,
        "trait present",
        "user:u3",
    );
}

#[tokio::test]
async fn catches_a_dangling_grant_principal() {
    expect(
        &failure(Defect::DanglingPrincipal).await,
        "dangling grant principal",
        "group:g1:member:user:ghost",
    );
}

#[tokio::test]
async fn catches_a_dangling_grant_entitlement() {
    expect(
        &failure(Defect::DanglingEntitlement).await,
        "dangling grant entitlement",
        "group:g1:owner:user:u1",
    );
}

#[tokio::test]
async fn catches_a_dangling_parent() {
    expect(
        &failure(Defect::DanglingParent).await,
        "dangling parent",
        "user:u2",
    );
}

#[tokio::test]
async fn catches_a_child_naming_another_parent() {
    expect(
        &failure(Defect::WrongParent).await,
        "parent matches",
        "document:d1",
    );
}

#[tokio::test]
async fn catches_a_malformed_entitlement_id() {
    expect(
        &failure(Defect::MalformedEntitlementId).await,
        "well-formed ids",
        "member-of-g2",
    );
}

#[tokio::test]
async fn catches_an_entitlement_listed_for_another_resource() {
    expect(
        &failure(Defect::EntitlementOnOtherResource).await,
        "belongs to its resource",
        "group:g1:owner",
    );
}

#[tokio::test]
async fn catches_an_unknown_child_type() {
    expect(
        &failure(Defect::UnknownChildType).await,
        "child types exist",
        "folder:f1",
    );
}

#[tokio::test]
async fn catches_a_grant_to_a_principal_type_not_allowed() {
    expect(
        &failure(Defect::NotGrantableTo).await,
        "grantable to principal",
        "group:g1:member:group:g2",
    );
}

#[tokio::test]
async fn reports_a_failing_listing() {
    let f = failure(Defect::ListingFails).await;
    expect(&f, "listing succeeds", "group resources");
    assert!(f.to_string().contains("upstream timed out"), "{f}");
}

#[tokio::test]
#[should_panic(expected = "conformance check")]
async fn assert_conformance_panics_with_the_list() {
    let c = Faulty {
        inner: MemoryConnector::seeded(),
        defect: Defect::MissingTrait,
    };
    assert_conformance(&c).await;
}

#[tokio::test]
async fn provisioning_is_idempotent() {
    let c = MemoryConnector::seeded();
    let group = Resource::with_id(ResourceId::new("group", "g2"), "Finance");
    let member = Entitlement::assignment(&group, "member");
    let principal = Resource::with_id(ResourceId::new("user", "u5"), "Ed");
    check_provisioning_idempotent(&c, &principal, &member)
        .await
        .unwrap();
    assert!(!c.snapshot().groups["g2"].members.contains("u5"));
}

/// The sync engine refuses an entitlement listed for another resource, as the kit does,
/// naming both resources; the last finished sync stays what readers see. (An id that only
/// breaks the `rt:rid:slug` convention is the kit's business: the engine accepts ids
/// other tools wrote.)
#[tokio::test]
async fn the_sync_engine_refuses_an_entitlement_listed_for_another_resource() {
    use connector_sdk::sync::{SyncOptions, sync_to_file};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let options = SyncOptions::default();
    let good = sync_to_file(&MemoryConnector::seeded(), &path, &options, None)
        .await
        .unwrap();
    let c = Faulty {
        inner: MemoryConnector::seeded().with_page_size(2),
        defect: Defect::EntitlementOnOtherResource,
    };
    let err = sync_to_file(&c, &path, &options, None)
        .await
        .expect_err("a defective listing must fail the sync");
    assert!(
        err.to_string().contains(
            "connector bug: entitlement group:g1:owner is on group:g1, but was listed for group:g2"
        ),
        "{err}"
    );
    let reader = connector_sdk::store::C1zReader::open(&path).unwrap();
    assert_eq!(reader.sync().sync_id, good.sync_id);
}
