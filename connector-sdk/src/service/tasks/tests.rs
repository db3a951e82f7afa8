//! Tests of `service/tasks.rs`.

use super::sync::*;
use super::*;

fn rid(t: &str, r: &str) -> proto::ResourceId {
    proto::ResourceId {
        resource_type: t.into(),
        resource: r.into(),
        baton_resource: false,
    }
}

#[test]
fn a_sync_full_task_narrows_the_sync_as_asked() {
    let base = SyncOptions {
        skip_grants: true,
        resource_types: vec!["stale".into()],
        ..SyncOptions::default()
    };
    let task = SyncFullTask {
        skip_expand_grants: true,
        skip_entitlements_and_grants: true,
        sync_resource_type_ids: vec!["user".into(), " ".into()],
        targeted_sync_resources: vec![
            Resource {
                id: Some(rid("user", "u1")),
                ..Default::default()
            },
            Resource {
                id: Some(rid("item", "i/1")),
                parent_resource_id: Some(rid("vault", "v1")),
                ..Default::default()
            },
        ],
        ..Default::default()
    };
    let o = sync_options_for(&task, &base, StopSignal::new()).unwrap();
    assert!(!o.expand_grants && o.skip_entitlements_and_grants && !o.skip_grants);
    assert!(!o.resume);
    assert_eq!(o.resource_types, ["user"]);
    let bids: Vec<String> = o.targeted.iter().map(ToString::to_string).collect();
    assert_eq!(bids, ["bid:r:user/u1", "bid:r:vault/v1/item/i\\/1"]);
    assert_eq!(
        o.scope().describe(),
        "partial sync of 2 resources; resources only; grants unexpanded"
    );

    // A task that names no types keeps the binary's --sync-resource-types (spec §8.2).
    let plain = sync_options_for(&SyncFullTask::default(), &base, StopSignal::new()).unwrap();
    assert_eq!(plain.resource_types, ["stale"]);
    assert!(!plain.skip_grants && !plain.skip_entitlements_and_grants);
    let all = SyncOptions::default();
    let plain = sync_options_for(&SyncFullTask::default(), &all, StopSignal::new()).unwrap();
    assert!(plain.scope().is_full(), "{:?}", plain.scope());

    let bad = SyncFullTask {
        targeted_sync_resources: vec![Resource::default()],
        ..Default::default()
    };
    let err = sync_options_for(&bad, &base, StopSignal::new()).unwrap_err();
    assert!(err.message().contains("targeted_sync_resources"), "{err}");
}
