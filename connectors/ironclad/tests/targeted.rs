//! Targeted syncs (`--sync-resources`, C1's refresh after provisioning, service-mode spec
//! §8.3) on the simulated tenant: users and groups can be fetched by id (SCIM
//! `GET /Users/{id}`, `GET /Groups/{id}`), read-only or not; a membership granted through
//! the connector is in the partial sync of the user and the group; a vanished group is a
//! warning.

use connector_sdk::getter::GetRequest;

use connector_ironclad::groups::member_entitlement;
use connector_ironclad::simulator::IroncladSimulator;
use connector_ironclad::{Ironclad, IroncladClient};
use connector_sdk::bid::ResourceBid;
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::scim::Member;
use connector_sdk::store::C1zReader;
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{fast_retry, holders_in, types_with_getter};

const SAM: &str = "6660d37dec0eac3deffb6814";

fn connector(sim: &IroncladSimulator, read_only: bool) -> Ironclad {
    let mut config = sim.config(read_only);
    config.rate_limit = None;
    let retry = fast_retry();
    Ironclad::with_client(
        IroncladClient::with_retry(&config, retry).unwrap(),
        read_only,
    )
}

fn targeted(ids: &[(&str, &str)]) -> SyncOptions {
    SyncOptions::default().with_targeted(
        ids.iter()
            .map(|(rt, id)| ResourceBid::new(ResourceId::new(*rt, *id)))
            .collect(),
    )
}

/// The members of `group` in the file's default view, or its latest sync.
fn members(file: &std::path::Path, group: &str, latest: bool) -> Vec<String> {
    holders_in(file, &format!("group:{group}:member"), latest)
}

#[tokio::test]
async fn both_types_have_a_getter_read_only_or_not() {
    let sim = IroncladSimulator::start().await;
    for read_only in [false, true] {
        let c = connector(&sim, read_only);
        let with_getter: Vec<String> = types_with_getter(&c);
        assert_eq!(with_getter, ["user", "group"], "read-only {read_only}");
    }
}

#[tokio::test]
async fn a_membership_is_in_the_targeted_sync_of_the_user_and_the_group() {
    let sim = IroncladSimulator::start().await;
    let c = connector(&sim, false);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    sync_to_file(&c, &file, &SyncOptions::default(), None)
        .await
        .unwrap();
    let full = C1zReader::open(&file).unwrap().sync().sync_id.clone();
    assert!(members(&file, "g-empty", false).is_empty());

    let group = syncer_for(&c, "group")
        .unwrap()
        .getter()
        .unwrap()
        .get(GetRequest::new(&ResourceId::new("group", "g-empty"), None))
        .await
        .unwrap();
    let sam = Resource::with_id(ResourceId::new("user", SAM), "Sam");
    let out = syncer_for(&c, "group")
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(&sam, &member_entitlement(&group)))
        .await
        .unwrap();
    assert!(matches!(out, GrantOutcome::Granted(_)), "{out:?}");

    let report = sync_to_file(
        &c,
        &file,
        &targeted(&[("user", SAM), ("group", "g-empty")]),
        None,
    )
    .await
    .unwrap();
    assert!(report.completed);
    assert_eq!(report.stats.resources, 2, "{:?}", report.stats);
    let partial = C1zReader::open(&file).unwrap().with_latest_sync().unwrap();
    assert_eq!(partial.sync().sync_type, "partial");
    assert_eq!(partial.sync().parent_sync_id, full);
    assert_eq!(members(&file, "g-empty", true), [SAM]);
    assert!(members(&file, "g-empty", false).is_empty());
}

#[tokio::test]
async fn read_only_refreshes_a_change_made_elsewhere_and_a_deleted_group_is_a_warning() {
    let sim = IroncladSimulator::start().await;
    let c = connector(&sim, true);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    sync_to_file(&c, &file, &SyncOptions::default(), None)
        .await
        .unwrap();
    // Sam joins Admins in Ironclad itself; g-empty is deleted.
    {
        let mut st = sim.state();
        st.groups
            .iter_mut()
            .find(|g| g.id == "g-admins")
            .unwrap()
            .members
            .push(Member::user(SAM));
        st.groups.retain(|g| g.id != "g-empty");
    }
    let report = sync_to_file(
        &c,
        &file,
        &targeted(&[("user", SAM), ("group", "g-admins"), ("group", "g-empty")]),
        None,
    )
    .await
    .unwrap();
    assert!(report.completed);
    assert_eq!(
        members(&file, "g-admins", true),
        ["6660d37dec0eac3deffb6810", SAM]
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("bid:r:group/g-empty") && w.contains("gone")),
        "{:?}",
        report.warnings
    );
}
