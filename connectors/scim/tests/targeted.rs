//! Targeted syncs (`--sync-resources`, ConductorOne's refresh after provisioning): a user
//! or a group read by id (`GET /Users/{id}`, `GET /Groups/{id}`); a membership granted
//! through the connector is in the partial sync, read from the group (Slack) or from the
//! user (Zoom-style groups on the user); a user's role grants come with the user.

mod common;

use common::{Shape, Tenant, seed};
use connector_scim::groups::group_member_entitlement;
use connector_sdk::prelude::*;
use connector_sdk::testing::{check_targeted_refresh, types_with_getter};

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
        let cy = Resource::with_id(ResourceId::new("user", "U3"), "Cy");
        let g2 = Resource::with_id(ResourceId::new("group", "G2"), "Empty");
        let report = check_targeted_refresh(
            &c,
            &dir.path().join("sync.c1z"),
            &cy,
            &group_member_entitlement(&g2),
            &[cy.id.clone(), g2.id.clone()],
        )
        .await;
        assert_eq!(report.stats.resources, 2, "{:?}", report.stats);
    }
}

#[tokio::test]
async fn a_granted_role_is_in_the_targeted_sync_of_the_user() {
    let t = Tenant::start(Shape::default(), seed()).await;
    let c = t.connector(common::upstream("slack"));
    let dir = tempfile::tempdir().unwrap();
    let cy = Resource::with_id(ResourceId::new("user", "U3"), "Cy");
    let admin = Resource::with_id(ResourceId::new("role", "admin"), "admin");
    check_targeted_refresh(
        &c,
        &dir.path().join("sync.c1z"),
        &cy,
        &connector_scim::roles::role_member_entitlement(&admin),
        std::slice::from_ref(&cy.id),
    )
    .await;
}
