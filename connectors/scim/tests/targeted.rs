//! Targeted syncs (`--sync-resources`, ConductorOne's refresh after provisioning): a user
//! or a group read by id (`GET /Users/{id}`, `GET /Groups/{id}`); a membership granted
//! through the connector is in the partial sync, read from the group (Slack) or from the
//! user (Zoom-style groups on the user); a user's role grants come with the user.

mod common;

use common::{Shape, Tenant, seed};
use connector_scim::groups::group_member_entitlement;
use connector_sdk::bid::ResourceBid;
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::store::C1zReader;
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{holders_in, types_with_getter};

fn targeted(ids: &[(&str, &str)]) -> SyncOptions {
    SyncOptions::default().with_targeted(
        ids.iter()
            .map(|(rt, id)| ResourceBid::new(ResourceId::new(*rt, *id)))
            .collect(),
    )
}

#[tokio::test]
async fn a_granted_membership_is_in_the_targeted_sync_from_either_side() {
    for groups_on_user in [false, true] {
        let shape = Shape {
            groups_on_user,
            ..Shape::default()
        };
        let t = Tenant::start(shape, seed()).await;
        let mut provider = common::upstream("slack");
        if groups_on_user {
            // Zoom's shape with Slack's key auth: groups on the user, by id.
            let path = |p: &str| connector_scim::path::Path::parse(p).unwrap();
            provider.user.has_groups_on_user = true;
            provider.user.user_group = Some(connector_scim::provider::UserGroupMapping {
                path: path("groups"),
                name: path("display"),
                id: path("value"),
            });
        }
        let c = t.connector(provider);
        assert_eq!(types_with_getter(&c), ["user", "group"]);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sync.c1z");
        sync_to_file(&c, &file, &SyncOptions::default(), None)
            .await
            .unwrap();
        let full = C1zReader::open(&file).unwrap().sync().sync_id.clone();
        assert!(holders_in(&file, "group:G2:member", false).is_empty());

        let cy = Resource::with_id(ResourceId::new("user", "U3"), "Cy");
        let g2 = Resource::with_id(ResourceId::new("group", "G2"), "Empty");
        let out = syncer_for(&c, "group")
            .unwrap()
            .provisioner()
            .unwrap()
            .grant(GrantRequest::new(&cy, &group_member_entitlement(&g2)))
            .await
            .unwrap();
        assert!(matches!(out, GrantOutcome::Granted(_)), "{out:?}");

        let report = sync_to_file(
            &c,
            &file,
            &targeted(&[("user", "U3"), ("group", "G2")]),
            None,
        )
        .await
        .unwrap();
        assert!(report.completed);
        assert_eq!(report.stats.resources, 2, "{:?}", report.stats);
        let partial = C1zReader::open(&file).unwrap().with_latest_sync().unwrap();
        assert_eq!(partial.sync().sync_type, "partial");
        assert_eq!(partial.sync().parent_sync_id, full);
        assert_eq!(
            holders_in(&file, "group:G2:member", true),
            ["U3"],
            "groups on user: {groups_on_user}"
        );
    }
}
