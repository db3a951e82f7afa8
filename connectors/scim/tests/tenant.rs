//! The connector against the SDK's simulated SCIM tenant, in the shape each provider file
//! documents: Slack's v1 paths (baton-scim's file, which removes by `replace`, and the
//! shipped one), a generic SCIM 2.0 application (the shipped Jellyfish file), and Zoom's
//! groups on the user with a fetched token; every one with PATCH answered 204 and 200
//! with the resource. Full sync and the conformance kit, group and role grant and revoke,
//! idempotent provisioning, and targeted syncs.

mod common;

use common::{connector, grant, group, revoke, role, start, user};
use connector_scim::groups::group_member_entitlement;
use connector_scim::roles::role_member_entitlement;
use connector_scim::simulator::{ScimSimulator, SimState, shape_for};
use connector_scim::{Credentials, Provider, Scim, ScimApi, ScimConfig};
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::testing::scim::PatchAnswer;
use connector_sdk::testing::{
    assert_conformance, check_provisioning_idempotent, check_targeted_refresh, fast_retry,
    types_with_getter,
};
use serde_json::json;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ANSWERS: [PatchAnswer; 2] = [PatchAnswer::NoContent, PatchAnswer::Resource];

/// The files read from the group side: (name, file).
fn group_side() -> Vec<(&'static str, Provider)> {
    vec![
        ("baton-scim's slack.yaml", common::upstream("slack")),
        ("shipped slack", common::shipped("slack")),
        ("shipped jellyfish", common::shipped("jellyfish")),
    ]
}

/// Starts the seeded tenant for `provider` with PATCH answered `answer`.
async fn tenant(provider: &Provider, answer: PatchAnswer) -> (ScimSimulator, Scim) {
    let sim = start(provider, |s| s.patch_answer(answer)).await;
    let c = connector(&sim, provider.clone());
    (sim, c)
}

#[tokio::test]
async fn the_kit_passes_for_every_shape_and_patch_answer() {
    for (name, provider) in group_side() {
        for answer in ANSWERS {
            let (sim, c) = tenant(&provider, answer).await;
            let report = assert_conformance(&c).await;
            let what = format!("{name}, {answer:?}");
            assert_eq!(report.resources_by_type["user"], 3, "{what}");
            assert_eq!(report.resources_by_type["group"], 2, "{what}");
            assert_eq!(report.resources_by_type["role"], 2, "{what}");
            // Users and groups read back by id (GET /Users/{id}, /Groups/{id}) agree.
            assert_eq!(report.fetched_by_id, 5, "{what}");
            // Memberships (2) and roles (2).
            assert_eq!(report.grants, 4, "{what}");
            let base = sim.state().shape.base_path.clone();
            assert!(
                sim.state()
                    .log
                    .iter()
                    .any(|r| r.starts_with(&format!("GET {base}/Users/U1"))),
                "{what}: the kit reads a user by id"
            );
            assert_eq!(sim.state().count("unauthenticated"), 0, "{what}");
            assert!(sim.state().patches.is_empty(), "{what}: the kit only reads");
        }
    }
}

#[tokio::test]
async fn provisioning_is_idempotent_and_leaves_the_tenant_as_found() {
    for (name, provider) in group_side() {
        for answer in ANSWERS {
            let (sim, c) = tenant(&provider, answer).await;
            let what = format!("{name}, {answer:?}");
            // Engineering keeps members throughout. (Emptied, a group is served without
            // `members`, which the connector reads as "not known", not "no members": a
            // second revoke is sent again and reported Revoked.)
            check_provisioning_idempotent(&c, &user("U3"), &group_member_entitlement(&group("G1")))
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let mut patches = 2;
            if provider.provisioning.add_user_role.is_some() {
                check_provisioning_idempotent(
                    &c,
                    &user("U3"),
                    &role_member_entitlement(&role("admin")),
                )
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
                patches += 2;
            }
            let st = sim.state();
            assert_eq!(st.members("G1"), ["U1", "U2"], "{what}");
            assert!(st.roles("U3").is_empty(), "{what}");
            // The second grant and the second revoke send nothing.
            assert_eq!(st.patches.len(), patches, "{what}: {:?}", st.patches);
        }
    }
}

#[tokio::test]
async fn a_group_revoke_removes_one_member_whatever_op_the_file_names() {
    for (name, provider) in group_side() {
        for answer in ANSWERS {
            let (sim, c) = tenant(&provider, answer).await;
            let what = format!("{name}, {answer:?}");
            let base = sim.state().shape.base_path.clone();
            let ent = group_member_entitlement(&group("G1"));
            match grant(&c, &user("U3"), &ent).await {
                GrantOutcome::Granted(g) => {
                    assert_eq!(g[0].id(), "group:G1:member:user:U3", "{what}")
                }
                other => panic!("{what}: {other:?}"),
            }
            assert_eq!(sim.state().members("G1"), ["U1", "U2", "U3"], "{what}");
            assert_eq!(
                revoke(&c, &user("U1"), &ent).await,
                RevokeOutcome::Revoked,
                "{what}"
            );
            assert_eq!(sim.state().members("G1"), ["U2", "U3"], "{what}");
            let patches = sim.state().patches.clone();
            assert_eq!(patches[0].0, format!("{base}/Groups/G1"), "{what}");
            assert_eq!(
                patches[0].1,
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                       "Operations": [{"op": "add", "path": "members", "value": [{"value": "U3"}]}]}),
                "{what}"
            );
            // baton-scim's `replace` would send "every other member"; the removal names
            // the one member (a strict tenant refuses the value form).
            assert_eq!(
                patches[1].1["Operations"],
                json!([{"op": "remove", "path": "members[value eq \"U1\"]"}]),
                "{what}"
            );
            let sent = patches[1].1.to_string();
            assert!(
                !sent.contains("U2") && !sent.contains("U3"),
                "{what}: {sent}"
            );
            // Again: nothing to do, nothing sent.
            assert_eq!(
                revoke(&c, &user("U1"), &ent).await,
                RevokeOutcome::AlreadyRevoked,
                "{what}"
            );
            assert_eq!(
                grant(&c, &user("U3"), &ent).await,
                GrantOutcome::AlreadyExists,
                "{what}"
            );
            assert_eq!(sim.state().patches.len(), 2, "{what}");
            // Only users are members.
            let err = syncer_for(&c, "group")
                .unwrap()
                .provisioner()
                .unwrap()
                .grant(GrantRequest::new(&group("G2"), &ent))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{what}");
        }
    }
}

#[tokio::test]
async fn a_role_grant_sends_the_value_and_a_revoke_names_the_role() {
    for provider in [common::upstream("slack"), common::shipped("slack")] {
        for answer in ANSWERS {
            let (sim, c) = tenant(&provider, answer).await;
            let what = format!("{}, {answer:?}", provider.file);
            let member = role_member_entitlement(&role("member"));
            assert!(
                matches!(
                    grant(&c, &user("U1"), &member).await,
                    GrantOutcome::Granted(_)
                ),
                "{what}"
            );
            assert_eq!(sim.state().roles("U1"), ["admin", "member"], "{what}");
            let admin = role_member_entitlement(&role("admin"));
            assert_eq!(
                revoke(&c, &user("U1"), &admin).await,
                RevokeOutcome::Revoked,
                "{what}"
            );
            assert_eq!(sim.state().roles("U1"), ["member"], "{what}");
            let patches = sim.state().patches.clone();
            assert_eq!(patches[0].0, "/scim/v1/Users/U1", "{what}");
            assert_eq!(
                patches[0].1["Operations"],
                json!([{"op": "add", "path": "roles", "value": [{"value": "member"}]}]),
                "{what}"
            );
            assert_eq!(
                patches[1].1["Operations"],
                json!([{"op": "remove", "path": "roles[value eq \"admin\"]"}]),
                "{what}"
            );
            assert_eq!(
                revoke(&c, &user("U1"), &admin).await,
                RevokeOutcome::AlreadyRevoked,
                "{what}"
            );
            assert_eq!(
                grant(&c, &user("U1"), &member).await,
                GrantOutcome::AlreadyExists,
                "{what}"
            );
            assert_eq!(sim.state().patches.len(), 2, "{what}");
        }
    }
}

/// ConductorOne's refresh after provisioning: a membership (and, where the file grants
/// roles, a role) granted through the connector is in the targeted sync of the user and
/// the group.
#[tokio::test]
async fn a_granted_membership_or_role_is_in_the_targeted_sync() {
    for (name, provider) in group_side() {
        for answer in ANSWERS {
            let (_sim, c) = tenant(&provider, answer).await;
            assert_eq!(types_with_getter(&c), ["user", "group"], "{name}");
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
            assert_eq!(report.stats.resources, 2, "{name}: {:?}", report.stats);
            if provider.provisioning.add_user_role.is_some() {
                let dir = tempfile::tempdir().unwrap();
                check_targeted_refresh(
                    &c,
                    &dir.path().join("sync.c1z"),
                    &cy,
                    &role_member_entitlement(&role("admin")),
                    std::slice::from_ref(&cy.id),
                )
                .await;
            }
        }
    }
}

/// Zoom: a Server-to-Server OAuth token fetched from `authUrl` (basic client credentials,
/// Zoom's account-credentials grant, which the tenant's own token endpoint does not speak:
/// wiremock answers it) and sent as the bearer token; groups listed on each user, found by
/// a displayName filter; grants from the user's side.
#[tokio::test]
async fn zoom_reads_groups_on_the_user_with_a_fetched_token() {
    // The shipped file reads a group's id on the user; baton-scim's reads only its name.
    for (file, by_name) in [
        (common::shipped("zoom"), false),
        (common::upstream("zoom"), true),
    ] {
        for answer in ANSWERS {
            let what = format!("{} (by name: {by_name}), {answer:?}", file.file);
            let tokens = MockServer::start().await;
            Mock::given(method("POST"))
                .and(path("/oauth/token"))
                .and(header("authorization", "Basic Y2lkOmNzZWNyZXQtU0VDUkVU"))
                .and(body_string(
                    "grant_type=account_credentials&account_id=acc-1",
                ))
                .respond_with(ResponseTemplate::new(200).set_body_json(
                    json!({"access_token": "zoom-tok", "token_type": "bearer", "expires_in": 3600}),
                ))
                .expect(1)
                .mount(&tokens)
                .await;
            let shape = shape_for(&file).bearer("zoom-tok").patch_answer(answer);
            assert_eq!(shape.base_path, "/scim2");
            assert!(shape.groups_on_user);
            let sim = ScimSimulator::start(SimState::seeded(shape)).await;
            let mut provider = file.clone();
            provider.auth.auth_url = Some(format!("{}/oauth/token", tokens.uri()));
            let creds = Credentials {
                client_id: Some("cid".to_string().into()),
                client_secret: Some("csecret-SECRET".to_string().into()),
                account_id: Some("acc-1".into()),
                ..Credentials::default()
            };
            let config =
                ScimConfig::with_env(provider, creds, Some(&sim.base_url()), &|_| None).unwrap();
            let c = Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap());
            let report = assert_conformance(&c).await;
            assert_eq!(report.resources_by_type["group"], 2, "{what}");
            // Ada and Bob are in Engineering, read from the users' side; two roles.
            assert_eq!(report.grants, 2 + 2, "{what}");
            {
                let st = sim.state();
                assert_eq!(st.count("unauthenticated"), 0, "{what}");
                let found_by_name = st.log.iter().any(|r| {
                    r.starts_with("GET /scim2/Groups?") && r.contains("filter=displayName")
                });
                assert_eq!(found_by_name, by_name, "{what}: {:?}", st.log);
            }
            // Grant from the user's side: read the user, then PATCH the group.
            let ent = group_member_entitlement(&group("G2"));
            assert!(
                matches!(grant(&c, &user("U3"), &ent).await, GrantOutcome::Granted(_)),
                "{what}"
            );
            assert_eq!(sim.state().members("G2"), ["U3"], "{what}");
            assert_eq!(
                grant(&c, &user("U3"), &ent).await,
                GrantOutcome::AlreadyExists,
                "{what}"
            );
            assert_eq!(
                revoke(&c, &user("U3"), &ent).await,
                RevokeOutcome::Revoked,
                "{what}"
            );
            assert!(sim.state().members("G2").is_empty(), "{what}");
            check_provisioning_idempotent(&c, &user("U1"), &ent)
                .await
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let dir = tempfile::tempdir().unwrap();
            let cy = Resource::with_id(ResourceId::new("user", "U3"), "Cy");
            let g2 = Resource::with_id(ResourceId::new("group", "G2"), "Empty");
            check_targeted_refresh(
                &c,
                &dir.path().join("sync.c1z"),
                &cy,
                &ent,
                &[cy.id.clone(), g2.id.clone()],
            )
            .await;
        }
    }
}
