//! Grant-only entitlements ([`Provisioner::grant_only`]): declared in the capabilities,
//! granted twice by the kit without a revoke, and refused with `Unimplemented` before the
//! connector is called, through the handle (what service mode calls) and the CLI runner.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use connector_sdk::cli::{AppInfo, BuildContext, ConnectorConfig, EXIT_FAILURE, run_with};
use connector_sdk::handle::ConnectorHandle;
use connector_sdk::prelude::*;
use connector_sdk::testing::{assert_conformance, check_provisioning_idempotent};

/// The tenant: who holds which team entitlement (`team:t1:owner`, …), and how many times
/// the connector's `revoke` was called.
#[derive(Default)]
struct Tenant {
    held: Mutex<BTreeSet<(String, String)>>,
    revokes: AtomicU32,
}

fn user_type() -> ResourceType {
    ResourceType::new("user", "User").with_trait(TraitKind::User)
}

fn team_type() -> ResourceType {
    ResourceType::new("team", "Team").with_trait(TraitKind::Group)
}

fn user(id: &str) -> Resource {
    Resource::new(&user_type(), id, id).with_user_trait(UserTrait::default())
}

fn team() -> Resource {
    Resource::new(&team_type(), "t1", "Docs").with_group_trait(GroupTrait::default())
}

struct Users;
struct Teams(Arc<Tenant>);

#[async_trait]
impl ResourceSyncer for Users {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }
    async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
        Ok(Page::last(vec![user("u1"), user("u2")]))
    }
}

#[async_trait]
impl ResourceSyncer for Teams {
    fn resource_type(&self) -> ResourceType {
        team_type()
    }
    async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
        Ok(Page::last(vec![team()]))
    }
    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        Ok(Page::last(
            ["member", "owner"]
                .iter()
                .map(|s| Entitlement::assignment(&req.resource, *s).grantable_to(["user"]))
                .collect(),
        ))
    }
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let held = self.0.held.lock().unwrap().clone();
        Ok(Page::last(
            held.iter()
                .map(|(slug, u)| {
                    Grant::new(
                        &Entitlement::assignment(&req.resource, slug),
                        ResourceId::new("user", u),
                    )
                })
                .collect(),
        ))
    }
    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }
}

#[async_trait]
impl Provisioner for Teams {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let key = (
            req.entitlement.slug().to_string(),
            req.principal.id.resource.clone(),
        );
        Ok(if self.0.held.lock().unwrap().insert(key) {
            req.granted()
        } else {
            GrantOutcome::AlreadyExists
        })
    }
    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        self.0.revokes.fetch_add(1, Ordering::SeqCst);
        let slug = req.grant.entitlement_id().rsplit(':').next().unwrap_or("");
        let key = (slug.to_string(), req.grant.principal().resource.clone());
        Ok(if self.0.held.lock().unwrap().remove(&key) {
            RevokeOutcome::Revoked
        } else {
            RevokeOutcome::AlreadyRevoked
        })
    }
    /// Teamboard's API can make an owner but has no call to demote one.
    fn grant_only(&self) -> GrantOnly {
        GrantOnly::slugs(["owner"])
    }
}

struct Board(Arc<Tenant>);

#[async_trait]
impl Connector for Board {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("board", "Board")
    }
    async fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![Arc::new(Users), Arc::new(Teams(self.0.clone()))]
    }
}

fn owner() -> Entitlement {
    Entitlement::assignment(&team(), "owner").grantable_to(["user"])
}

fn member() -> Entitlement {
    Entitlement::assignment(&team(), "member").grantable_to(["user"])
}

#[tokio::test]
async fn the_kit_grants_a_grant_only_entitlement_twice_without_revoking() {
    let tenant = Arc::new(Tenant::default());
    let board = Board(tenant.clone());
    assert_conformance(&board).await;
    check_provisioning_idempotent(&board, &user("u1"), &owner())
        .await
        .unwrap();
    assert_eq!(tenant.revokes.load(Ordering::SeqCst), 0);
    assert!(
        tenant
            .held
            .lock()
            .unwrap()
            .contains(&("owner".into(), "u1".into()))
    );
    // A revocable entitlement still gets the full grant/grant/revoke/revoke round.
    check_provisioning_idempotent(&board, &user("u1"), &member())
        .await
        .unwrap();
    assert_eq!(tenant.revokes.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_revoke_of_a_grant_only_entitlement_is_unimplemented_without_calling_the_connector() {
    let tenant = Arc::new(Tenant::default());
    let handle = ConnectorHandle::new(Board(tenant.clone())).unwrap();
    let held = handle
        .grant(GrantRequest::new(&user("u2"), &owner()))
        .await
        .unwrap();
    assert!(matches!(held, GrantOutcome::Granted(_)));
    let grant = Grant::new(&owner(), ResourceId::new("user", "u2"));
    let err = handle.revoke(RevokeRequest::new(&grant)).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unimplemented);
    assert!(
        err.to_string().contains("team:t1:owner is grant-only")
            && err.to_string().contains("team:t1:owner:user:u2"),
        "{err}"
    );
    assert_eq!(tenant.revokes.load(Ordering::SeqCst), 0);
    assert_eq!(tenant.held.lock().unwrap().len(), 1);

    let grant = Grant::new(&member(), ResourceId::new("user", "u2"));
    let outcome = handle.revoke(RevokeRequest::new(&grant)).await.unwrap();
    assert_eq!(outcome, RevokeOutcome::AlreadyRevoked);
    assert_eq!(tenant.revokes.load(Ordering::SeqCst), 1);
}

#[test]
fn the_capabilities_list_the_grant_only_slugs() {
    let handle = ConnectorHandle::new(Board(Arc::default())).unwrap();
    let caps = serde_json::to_value(handle.capabilities()).unwrap();
    let types = caps["resource_types"].as_array().unwrap();
    let team = types.iter().find(|t| t["resource_type"] == "team").unwrap();
    assert_eq!(
        team["grant_only_entitlements"],
        serde_json::json!(["owner"])
    );
    let user = types.iter().find(|t| t["resource_type"] == "user").unwrap();
    assert!(user.get("grant_only_entitlements").is_none(), "{user}");
    assert_eq!(
        serde_json::to_value(GrantOnly::all()).unwrap(),
        serde_json::json!(["*"])
    );
}

/// The tenant the CLI runner's connector is built on (the runner builds one per run).
fn cli_tenant() -> &'static Arc<Tenant> {
    static TENANT: OnceLock<Arc<Tenant>> = OnceLock::new();
    TENANT.get_or_init(Arc::default)
}

#[derive(clap::Args, Debug)]
struct BoardArgs {}

impl ConnectorConfig for BoardArgs {
    fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
        Ok(Box::new(Board(cli_tenant().clone())))
    }
}

const APP: AppInfo = AppInfo {
    name: "baton-board",
    version: "0.1.0",
    about: "Syncs Board",
};

async fn cli(args: &[&str]) -> ExitCode {
    let mut argv = vec!["baton-board".into()];
    argv.extend(args.iter().map(Into::into));
    run_with::<BoardArgs>(APP, argv).await
}

#[tokio::test]
async fn the_cli_runner_refuses_the_revoke_before_the_connector() {
    let tenant = cli_tenant();
    tenant.held.lock().unwrap().extend([
        ("owner".into(), "u1".into()),
        ("member".into(), "u1".into()),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    let file = file.to_str().unwrap();
    assert_eq!(
        cli(&["--file", file, "--no-progress"]).await,
        ExitCode::SUCCESS
    );

    let code = cli(&[
        "--file",
        file,
        "-p",
        "--revoke-grant",
        "team:t1:owner:user:u1",
    ])
    .await;
    assert_eq!(code, ExitCode::from(EXIT_FAILURE));
    assert_eq!(tenant.revokes.load(Ordering::SeqCst), 0);
    assert!(
        tenant
            .held
            .lock()
            .unwrap()
            .contains(&("owner".into(), "u1".into()))
    );

    let code = cli(&[
        "--file",
        file,
        "-p",
        "--revoke-grant",
        "team:t1:member:user:u1",
    ])
    .await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert_eq!(tenant.revokes.load(Ordering::SeqCst), 1);
}

/// Service mode: ConductorOne's revoke task of a grant-only entitlement fails with
/// gRPC UNIMPLEMENTED (12), and the connector is not called.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_task_of_a_grant_only_entitlement_is_unimplemented() {
    use connector_sdk::service::fake::FakeC1;
    use connector_sdk::service::proto as convert;
    use connector_sdk::service::proto::FinalState;
    use connector_sdk::service::{ServiceConfig, StatusHandle, run_service};
    use connector_sdk::sync::StopSignal;
    use std::time::Duration;

    let tenant = Arc::new(Tenant::default());
    tenant
        .held
        .lock()
        .unwrap()
        .insert(("owner".into(), "u1".into()));
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("grant-only");
    let (owner_grant, _) =
        convert::grant_to_proto(&Grant::new(&owner(), ResourceId::new("user", "u1")));
    let refused = c1.enqueue_revoke(owner_grant);
    let (member_grant, _) =
        convert::grant_to_proto(&Grant::new(&member(), ResourceId::new("user", "u1")));
    let revoked = c1.enqueue_revoke(member_grant);
    let mut config = ServiceConfig::new(&creds.client_id, creds.client_secret.clone());
    config.extra_ca_pem = Some(c1.ca_pem().as_bytes().to_vec());
    config.provisioning = true;
    let stop = StopSignal::new();
    let run = tokio::spawn(run_service(
        ConnectorHandle::new(Board(tenant.clone())).unwrap(),
        config,
        stop.clone(),
        StatusHandle::default(),
    ));
    let f = c1
        .wait_for_finish(&refused, Duration::from_secs(30))
        .await
        .unwrap();
    let done = c1
        .wait_for_finish(&revoked, Duration::from_secs(30))
        .await
        .unwrap();
    stop.trigger();
    run.await.unwrap().unwrap();
    let status = f.status.clone().unwrap_or_default();
    assert!(matches!(f.final_state, Some(FinalState::Error(_))), "{f:?}");
    assert_eq!(status.code, 12, "{status:?}");
    assert!(status.message.contains("grant-only"), "{}", status.message);
    assert!(
        matches!(done.final_state, Some(FinalState::Success(_))),
        "{done:?}"
    );
    // Only the member revoke reached the connector.
    assert_eq!(tenant.revokes.load(Ordering::SeqCst), 1);
}
