//! Principal-side grants: a user syncer that reads each user's roles emits the grants of
//! the roles' entitlements ([`ResourceSyncer::emits_grants_for`]). The kit and the engine
//! accept them for declared types, store them exactly as grants listed under the role,
//! and still catch undeclared types and dangling entitlements or principals.

use std::sync::Arc;

use connector_sdk::handle::ConnectorHandle;
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{ConformanceOptions, assert_conformance, check_conformance};

/// Who holds which role: (user, role).
const HOLDINGS: &[(&str, &str)] = &[
    ("u1", "admin"),
    ("u1", "viewer"),
    ("u2", "viewer"),
    ("u3", "admin"),
    ("u3", "billing"),
    ("u3", "viewer"),
];
const USERS: &[&str] = &["u1", "u2", "u3", "u4"];
const ROLES: &[&str] = &["admin", "billing", "viewer"];

/// Where the grants are listed, and which defect is injected.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Under each role (the usual way).
    OwnerSide,
    /// Under each user, with `emits_grants_for = ["role"]`.
    PrincipalSide,
    /// Under each user, without the declaration.
    Undeclared,
    /// Principal-side, plus a grant of a role that is not listed.
    MissingEntitlement,
    /// Principal-side, plus a grant to a user that is not listed.
    MissingPrincipal,
    /// Principal-side, declaring a type no syncer lists.
    UnknownType,
}

fn user_type() -> ResourceType {
    ResourceType::new("user", "User").with_trait(TraitKind::User)
}

fn role_type() -> ResourceType {
    ResourceType::new("role", "Role").with_trait(TraitKind::Role)
}

fn role(id: &str) -> Resource {
    Resource::new(&role_type(), id, id).with_role_trait(RoleTrait::default())
}

fn assigned(role_id: &str) -> Entitlement {
    Entitlement::assignment(&role(role_id), "assigned").grantable_to(["user"])
}

struct Users(Mode);
struct Roles(Mode);

#[async_trait]
impl ResourceSyncer for Users {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }

    async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
        Ok(Page::last(
            USERS
                .iter()
                .map(|u| Resource::new(&user_type(), *u, *u).with_user_trait(UserTrait::default()))
                .collect(),
        ))
    }

    /// One page per role the user holds, as the API pages them (one role per page).
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        if self.0 == Mode::OwnerSide {
            return Ok(Page::empty());
        }
        let user = &req.resource.id;
        let mut held: Vec<&str> = HOLDINGS
            .iter()
            .filter(|(u, _)| *u == user.resource)
            .map(|(_, r)| *r)
            .collect();
        let mut extra = Vec::new();
        if user.resource == "u2" {
            match self.0 {
                Mode::MissingEntitlement => held.push("ghost"),
                Mode::MissingPrincipal => extra.push(Grant::new(
                    &assigned("admin"),
                    ResourceId::new("user", "u-gone"),
                )),
                _ => {}
            }
        }
        let at: usize = req
            .page
            .token
            .as_ref()
            .map_or(0, |t| t.as_str().parse().unwrap_or(0));
        let Some(role_id) = held.get(at) else {
            return Ok(Page::empty());
        };
        let mut items = vec![Grant::new(&assigned(role_id), user.clone())];
        if at == 0 {
            items.extend(extra);
        }
        let next = (at + 1 < held.len()).then(|| PageToken::new((at + 1).to_string()));
        Ok(Page::new(items, next))
    }

    fn emits_grants_for(&self) -> Vec<String> {
        match self.0 {
            Mode::OwnerSide | Mode::Undeclared => Vec::new(),
            Mode::UnknownType => vec!["role".into(), "team".into()],
            _ => vec!["role".into()],
        }
    }
}

#[async_trait]
impl ResourceSyncer for Roles {
    fn resource_type(&self) -> ResourceType {
        role_type()
    }

    async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
        Ok(Page::last(ROLES.iter().map(|r| role(r)).collect()))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        Ok(Page::last(vec![assigned(&req.resource.id.resource)]))
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        if self.0 != Mode::OwnerSide {
            return Ok(Page::empty());
        }
        let r = &req.resource.id.resource;
        Ok(Page::last(
            HOLDINGS
                .iter()
                .filter(|(_, role)| role == r)
                .map(|(u, _)| Grant::new(&assigned(r), ResourceId::new("user", *u)))
                .collect(),
        ))
    }
}

struct Directory(Mode);

#[async_trait]
impl Connector for Directory {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("directory", "Directory")
    }
    async fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![Arc::new(Users(self.0)), Arc::new(Roles(self.0))]
    }
}

fn opts() -> SyncOptions {
    SyncOptions::default().with_workers(2)
}

fn all_grants(path: &std::path::Path) -> Vec<Grant> {
    let mut grants = C1zReader::open(path)
        .unwrap()
        .grants(&GrantFilter::default())
        .unwrap();
    grants.sort_by(|a, b| a.id().cmp(b.id()));
    grants
}

#[tokio::test]
async fn principal_side_grants_pass_the_kit() {
    let report = assert_conformance(&Directory(Mode::PrincipalSide)).await;
    assert_eq!(report.grants, HOLDINGS.len());
    // Every role grant came from a user's listing, one page per role held.
    assert_eq!(report.entitlements, ROLES.len());
    let owner = assert_conformance(&Directory(Mode::OwnerSide)).await;
    assert_eq!(owner.grants, report.grants);
}

#[tokio::test]
async fn principal_side_grants_are_stored_like_owner_side_ones() {
    let dir = tempfile::tempdir().unwrap();
    let principal = dir.path().join("principal.c1z");
    let owner = dir.path().join("owner.c1z");
    let report = sync_to_file(&Directory(Mode::PrincipalSide), &principal, &opts(), None)
        .await
        .unwrap();
    assert!(report.completed);
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    assert_eq!(report.stats.grants, HOLDINGS.len() as u64);
    sync_to_file(&Directory(Mode::OwnerSide), &owner, &opts(), None)
        .await
        .unwrap();

    let from_users = all_grants(&principal);
    assert_eq!(from_users, all_grants(&owner));
    let ids: Vec<&str> = from_users.iter().map(|g| g.id()).collect();
    assert!(ids.contains(&"role:billing:assigned:user:u3"), "{ids:?}");

    // Read back by the role they are of, not by the user they were listed under.
    let reader = C1zReader::open(&principal).unwrap();
    let admins: Vec<String> = reader
        .grants(&GrantFilter::default().with_resource(ResourceId::new("role", "admin")))
        .unwrap()
        .iter()
        .map(|g| g.principal().resource.clone())
        .collect();
    assert_eq!(admins.len(), 2);
    assert!(admins.contains(&"u1".to_string()) && admins.contains(&"u3".to_string()));
    let u3: Vec<String> = reader
        .grants(&GrantFilter::default().with_principal(ResourceId::new("user", "u3")))
        .unwrap()
        .iter()
        .map(|g| g.entitlement_id().to_string())
        .collect();
    assert_eq!(u3.len(), 3, "{u3:?}");
    assert!(u3.iter().all(|e| e.starts_with("role:")));
}

#[tokio::test]
async fn an_undeclared_type_fails_naming_the_declaration() {
    let failure = check_conformance(&Directory(Mode::Undeclared), &ConformanceOptions::default())
        .await
        .unwrap_err();
    let v = failure.of("belongs to its resource");
    assert_eq!(v.len(), HOLDINGS.len(), "{failure}");
    assert!(
        v.iter().any(|v| v.id == "role:admin:assigned:user:u1"
            && v.message.contains("emits_grants_for")
            && v.message.contains("\"user\" syncer")),
        "{failure}"
    );

    let dir = tempfile::tempdir().unwrap();
    let err = sync_to_file(
        &Directory(Mode::Undeclared),
        &dir.path().join("s.c1z"),
        &opts(),
        None,
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(
        msg.contains("connector bug")
            && msg.contains("ResourceSyncer::emits_grants_for")
            && msg.contains("add \"role\""),
        "{msg}"
    );
}

#[tokio::test]
async fn a_missing_entitlement_or_principal_is_still_caught() {
    let failure = check_conformance(
        &Directory(Mode::MissingEntitlement),
        &ConformanceOptions::default(),
    )
    .await
    .unwrap_err();
    let v = failure.of("dangling grant entitlement");
    assert_eq!(v.len(), 1, "{failure}");
    assert_eq!(v[0].id, "role:ghost:assigned:user:u2");
    assert_eq!(failure.violations.len(), 1, "{failure}");

    let failure = check_conformance(
        &Directory(Mode::MissingPrincipal),
        &ConformanceOptions::default(),
    )
    .await
    .unwrap_err();
    let v = failure.of("dangling grant principal");
    assert_eq!(v.len(), 1, "{failure}");
    assert_eq!(v[0].id, "role:admin:assigned:user:u-gone");

    // The engine's dangling-reference check covers them: the sync warns, naming the grant.
    let dir = tempfile::tempdir().unwrap();
    let report = sync_to_file(
        &Directory(Mode::MissingEntitlement),
        &dir.path().join("s.c1z"),
        &opts(),
        None,
    )
    .await
    .unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("grants whose entitlement was not synced")
                && w.contains("role:ghost:assigned:user:u2")),
        "{:?}",
        report.warnings
    );
    let report = sync_to_file(
        &Directory(Mode::MissingPrincipal),
        &dir.path().join("p.c1z"),
        &opts(),
        None,
    )
    .await
    .unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("grants whose principal was not synced")
                && w.contains("user:u-gone")),
        "{:?}",
        report.warnings
    );
}

#[tokio::test]
async fn declaring_a_type_no_syncer_lists_is_a_connector_bug() {
    let err = ConnectorHandle::new(Directory(Mode::UnknownType)).unwrap_err();
    assert!(
        err.to_string()
            .contains("emits_grants_for names resource type \"team\""),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let err = sync_to_file(
        &Directory(Mode::UnknownType),
        &dir.path().join("s.c1z"),
        &opts(),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("\"team\""), "{err}");
    let failure = check_conformance(
        &Directory(Mode::UnknownType),
        &ConformanceOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(failure.has("grant types declared"), "{failure}");
}

#[tokio::test]
async fn the_capabilities_do_not_change() {
    let principal = ConnectorHandle::new(Directory(Mode::PrincipalSide)).unwrap();
    let owner = ConnectorHandle::new(Directory(Mode::OwnerSide)).unwrap();
    assert_eq!(
        serde_json::to_value(principal.capabilities()).unwrap(),
        serde_json::to_value(owner.capabilities()).unwrap()
    );
}

/// A read-only connector (`ReadOnly` wrapping its syncers) keeps the declaration: the
/// same grants are accepted and stored.
#[tokio::test]
async fn a_read_only_wrapper_keeps_the_declaration() {
    use connector_sdk::read_only::ReadOnly;

    struct ReadOnlyDirectory;
    #[async_trait]
    impl Connector for ReadOnlyDirectory {
        fn metadata(&self) -> ConnectorMetadata {
            ConnectorMetadata::new("directory", "Directory")
        }
        async fn validate(&self) -> Result<()> {
            Ok(())
        }
        fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
            ReadOnly::wrap_all(Directory(Mode::PrincipalSide).syncers())
        }
    }
    let report = assert_conformance(&ReadOnlyDirectory).await;
    assert_eq!(report.grants, HOLDINGS.len());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.c1z");
    sync_to_file(&ReadOnlyDirectory, &path, &opts(), None)
        .await
        .unwrap();
    assert_eq!(all_grants(&path).len(), HOLDINGS.len());
}
