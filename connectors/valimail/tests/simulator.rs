//! The connector against its simulated tenant: the conformance kit, idempotent
//! provisioning, and changes visible in the next sync.

use connector_sdk::action::invoke_action;
use connector_sdk::connector::action_for;
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{assert_conformance, check_provisioning_idempotent};
use connector_valimail::Valimail;
use connector_valimail::client::member_type;
use connector_valimail::member_types::{member_entitlement, member_type_resource};
use connector_valimail::simulator::ValimailSimulator;
use serde_json::json;

#[tokio::test]
async fn the_simulated_tenant_passes_the_conformance_kit() {
    let sim = ValimailSimulator::start().await;
    let c = Valimail::new(sim.config()).unwrap();
    let report = assert_conformance(&c).await;
    assert_eq!(report.resources_by_type["user"], 9);
    // GET /Users/{id} agrees with the listing for every user, and fetching each of the
    // four member types by value with the listing.
    assert_eq!(report.fetched_by_id, 9 + 4);
    // owner, member, marketer and the unknown "admin"
    assert_eq!(report.resources_by_type["member_type"], 4);
    // every user with a member type holds exactly one
    assert_eq!(report.grants, 8);
    // pages are capped at 4 by the simulator: 9 users take 3 pages
    assert!(report.pages >= 3);
}

#[tokio::test]
async fn provisioning_is_idempotent_on_the_simulator() {
    let sim = ValimailSimulator::start().await;
    let c = Valimail::new(sim.config()).unwrap();
    let bob = Resource::with_id(ResourceId::new("user", "2906d4927bf178077519"), "Bob");
    let marketer = member_entitlement(&member_type_resource("marketer"));
    check_provisioning_idempotent(&c, &bob, &marketer)
        .await
        .unwrap();
    // Revoking marketer put Bob back on the baseline.
    let bob_now = sim.user("2906d4927bf178077519").unwrap();
    assert_eq!(member_type(&bob_now).as_deref(), Some("member"));
}

#[tokio::test]
async fn grants_actions_and_new_accounts_show_up_in_the_next_sync() {
    let sim = ValimailSimulator::start().await;
    let c = Valimail::new(sim.config()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("valimail.c1z");
    let options = SyncOptions::default();
    sync_to_file(&c, &file, &options, None).await.unwrap();

    let syncer = connector_sdk::connector::syncer_for(&c, "member_type").unwrap();
    let bob = Resource::with_id(ResourceId::new("user", "2906d4927bf178077519"), "Bob");
    let owner = member_entitlement(&member_type_resource("owner"));
    syncer
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(&bob, &owner))
        .await
        .unwrap();
    let h = action_for(&c, "disable_user").unwrap();
    invoke_action(
        h.as_ref(),
        json!({"user_id": "49c398b12b"}).as_object().unwrap(),
    )
    .await
    .unwrap();
    let users = connector_sdk::connector::syncer_for(&c, "user").unwrap();
    let info = AccountInfo {
        email: Some("new@acme.example".into()),
        profile: json!({"first_name": "New", "last_name": "Hire", "member_type": "marketer"})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    };
    users
        .account_manager()
        .unwrap()
        .create_account(AccountRequest::new(
            info.clone(),
            CredentialOption::NoPassword,
        ))
        .await
        .unwrap();

    sync_to_file(&c, &file, &options, None).await.unwrap();
    let reader = C1zReader::open(&file).unwrap();
    let owners: Vec<String> = reader
        .grants(&GrantFilter::default().with_entitlement("member_type:owner:member"))
        .unwrap()
        .iter()
        .map(|g| g.principal().resource.clone())
        .collect();
    assert!(
        owners.contains(&"2906d4927bf178077519".to_string()),
        "{owners:?}"
    );
    let ada = reader
        .resource(&ResourceId::new("user", "49c398b12b"))
        .unwrap()
        .unwrap();
    assert_eq!(ada.user.unwrap().status, UserStatus::Disabled);
    let diff = reader.diff_with_previous().unwrap();
    assert_eq!(diff.resources_added.len(), 1, "{diff:?}");
    assert!(
        diff.grants_removed
            .contains(&"member_type:member:member:user:2906d4927bf178077519".to_string())
    );
}

#[tokio::test]
async fn wrong_credentials_and_slug_give_clear_errors() {
    let sim = ValimailSimulator::start().await;
    let mut config = sim.config();
    config.app_id = secrecy::SecretString::from("wrong-app-id-SECRET");
    let err = Valimail::new(config).unwrap().validate().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(!format!("{err} {err:?}").contains("SECRET"));
    let mut config = sim.config();
    config.slug = "someone-else".into();
    let err = Valimail::new(config).unwrap().validate().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("--valimail-slug"), "{err}");
}

/// A tenant that answers PATCH with 204 No Content: grant, revoke and the actions succeed
/// and the change is in the tenant, and the actions report the state read back.
#[tokio::test]
async fn a_tenant_answering_patch_with_204_is_provisioned_without_errors() {
    let mut state = connector_valimail::simulator::SimState::seeded();
    state.shape.patch = connector_sdk::testing::scim::PatchAnswer::NoContent;
    let sim = ValimailSimulator::start_with(state).await;
    let c = Valimail::new(sim.config()).unwrap();
    let bob = Resource::with_id(ResourceId::new("user", "2906d4927bf178077519"), "Bob");
    let owner = member_entitlement(&member_type_resource("owner"));
    check_provisioning_idempotent(&c, &bob, &owner)
        .await
        .unwrap();
    assert_eq!(
        member_type(&sim.user("2906d4927bf178077519").unwrap()).as_deref(),
        Some("member")
    );
    for (action, active) in [("disable_user", false), ("enable_user", true)] {
        let h = action_for(&c, action).unwrap();
        let out = invoke_action(
            h.as_ref(),
            json!({"user_id": "2906d4927bf178077519"})
                .as_object()
                .unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(out["active"], active, "{action}");
        assert_eq!(
            sim.user("2906d4927bf178077519").unwrap().active,
            Some(active)
        );
    }
}
