//! The Ironclad connector against wiremock servers and its simulator: the test plan of
//! `shared/specs/ironclad.md` §7 and its edge cases (§8, named `edge_NN_…`).

use std::time::Duration;

use connector_ironclad::groups::{group_type, member_entitlement};
use connector_ironclad::simulator::{IroncladSimulator, SimState};
use connector_ironclad::{Ironclad, IroncladClient, IroncladConfig};
use connector_sdk::connector::{Capability, capabilities, syncer_for};
use connector_sdk::http::RetryPolicy;
use connector_sdk::prelude::*;
use connector_sdk::scim::{Member, MemberId};
use futures::TryStreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const AS_USER: &str = "admin@acme.example";

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(10),
    }
}

fn config(uri: &str, read_only: bool) -> IroncladConfig {
    let mut c = IroncladConfig::new(
        SecretString::from("cid"),
        SecretString::from("csecret-SECRET"),
        "na1",
        AS_USER,
        read_only,
        Some(uri),
    )
    .unwrap();
    c.rate_limit = None;
    c
}

fn connector(uri: &str, read_only: bool) -> Ironclad {
    Ironclad::with_client(
        IroncladClient::with_retry(&config(uri, read_only), fast()).unwrap(),
        read_only,
    )
}

fn sim_connector(sim: &IroncladSimulator, read_only: bool) -> Ironclad {
    let mut c = sim.config(read_only);
    c.rate_limit = None;
    Ironclad::with_client(IroncladClient::with_retry(&c, fast()).unwrap(), read_only)
}

async fn token(server: &MockServer, expires_in: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "access_token": "tok", "expires_in": expires_in}),
        ))
        .mount(server)
        .await;
}

/// A server with a token endpoint and group `g1` of `members`.
async fn group_g1_server(members: Value) -> MockServer {
    let server = MockServer::start().await;
    token(&server, 3600).await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Groups/g1"))
        .respond_with(scim(200, json!({"id": "g1", "members": members})))
        .mount(&server)
        .await;
    server
}

fn scim(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(body.to_string().into_bytes(), "application/json")
}

fn users_page(ids: &[&str], total: usize) -> Value {
    json!({"totalResults": total, "Resources": ids.iter().map(|i| json!({"id": i, "userName": format!("{i}@x.com")})).collect::<Vec<_>>()})
}

async fn list(c: &Ironclad, rt: &str) -> Result<Vec<Resource>> {
    let s = syncer_for(c, rt).unwrap();
    stream_pages("t", move |req| {
        let s = s.clone();
        async move { s.list(ListRequest::new(None, req)).await }
    })
    .try_collect()
    .await
}

async fn requests(server: &MockServer, m: &str, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .collect()
}

fn group_res(id: &str) -> Resource {
    Resource::new(&group_type(), id, id).with_group_trait(GroupTrait::default())
}

fn user_res(id: &str) -> Resource {
    Resource::with_id(ResourceId::new("user", id), id)
}

#[tokio::test]
async fn the_token_request_is_byte_exact_for_both_modes() {
    for (read_only, scope) in [
        (true, "scim.users.readUsers+scim.groups.readGroups"),
        (
            false,
            "scim.users.readUsers+scim.groups.readGroups+scim.groups.updateGroups+scim.users.createUsers+scim.users.deleteUsers",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .and(header("content-type", "application/x-www-form-urlencoded"))
            .and(body_string(format!("grant_type=client_credentials&client_id=cid&client_secret=csecret-SECRET&scope={scope}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "tok", "expires_in": 3600})))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(path("/scim/v2/Users"))
            .respond_with(scim(200, users_page(&[], 0)))
            .mount(&server)
            .await;
        let c = connector(&server.uri(), read_only);
        c.validate().await.unwrap();
        c.validate().await.unwrap(); // cached token: no second mint
    }
}

#[tokio::test]
async fn every_scim_call_carries_the_as_user_and_the_token() {
    let server = MockServer::start().await;
    token(&server, 3600).await;
    Mock::given(path("/scim/v2/Users"))
        .and(header("x-as-user-email", AS_USER))
        .and(header("authorization", "Bearer tok"))
        .respond_with(scim(200, users_page(&["a"], 1)))
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Groups"))
        .and(header("x-as-user-email", AS_USER))
        .and(query_param("excludedAttributes", "members"))
        .respond_with(scim(
            200,
            json!({"totalResults": 1, "Resources": [{"id": "g1", "displayName": "G"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Groups/g1"))
        .and(header("x-as-user-email", AS_USER))
        .respond_with(scim(
            200,
            json!({"id": "g1", "displayName": "G", "members": [{"value": "a", "type": "User"}]}),
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let report = connector_sdk::sync::sync_to_file(
        &connector(&server.uri(), true),
        &dir.path().join("i.c1z"),
        &Default::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.stats.grants, 1);
    for r in server.received_requests().await.unwrap() {
        if r.url.path().starts_with("/scim") {
            assert_eq!(
                r.headers.get("x-as-user-email").unwrap(),
                AS_USER,
                "{}",
                r.url
            );
        }
    }
}

#[tokio::test]
async fn edge_04_05_token_errors_are_surfaced_with_hints() {
    for (status, body, kind, needle) in [
        (
            403,
            json!({"error": "unauthorized_client", "error_description": "unauthorized"}),
            ErrorKind::Unauthenticated,
            "client id and secret",
        ),
        (
            400,
            json!({"error": "invalid_scope"}),
            ErrorKind::InvalidArgument,
            "register the requested scopes",
        ),
        (
            401,
            json!({"error": "invalid_client", "error_description": "invalid client"}),
            ErrorKind::Unauthenticated,
            "client id and secret",
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
        let err = connector(&server.uri(), false)
            .validate()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{status}");
        assert!(err.to_string().contains(needle), "{err}");
        assert!(!format!("{err} {err:?}").contains("SECRET"), "{err}");
        assert!(requests(&server, "GET", "/scim/v2/Users").await.is_empty());
    }
}

/// The simulator's token endpoint refuses as Ironclad does (the answers above): its client
/// with a wrong secret 403 `unauthorized_client`, another client 401 `invalid_client`.
#[tokio::test]
async fn the_simulators_token_endpoint_refuses_as_ironclad_does() {
    let sim = IroncladSimulator::start().await;
    for (id, secret, status) in [("ic-client", "wrong", 403), ("someone", "ic-secret", 401)] {
        let mut c = sim.config(false);
        c.client_id = SecretString::from(id);
        c.client_secret = SecretString::from(secret);
        c.rate_limit = None;
        let client = IroncladClient::with_retry(&c, fast()).unwrap();
        let err = Ironclad::with_client(client, false)
            .validate()
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(status), "{err}");
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    }
    assert!(sim_connector(&sim, false).validate().await.is_ok());
}

#[tokio::test]
async fn edge_03_a_401_remints_once_and_a_second_401_is_unauthenticated() {
    let server = MockServer::start().await;
    let seq = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(path("/oauth/token"))
        .respond_with(move |_: &Request| {
            let n = seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": format!("t{n}"), "expires_in": 21600}))
        })
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Users"))
        .and(header("authorization", "Bearer t1"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(json!({"code": "UNAUTHORIZED", "message": "token has expired"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Users"))
        .and(header("authorization", "Bearer t2"))
        .respond_with(scim(200, users_page(&["a"], 1)))
        .mount(&server)
        .await;
    let c = connector(&server.uri(), true);
    assert_eq!(list(&c, "user").await.unwrap().len(), 1);
    assert_eq!(requests(&server, "POST", "/oauth/token").await.len(), 2);
    // Everything 401: one re-mint, then Unauthenticated with Ironclad's message.
    let server = MockServer::start().await;
    token(&server, 3600).await;
    Mock::given(path("/scim/v2/Users"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"code": "UNAUTHORIZED", "message": "token has been revoked"}),
            ),
        )
        .mount(&server)
        .await;
    let err = list(&connector(&server.uri(), true), "user")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.api_message(), Some("token has been revoked"));
    assert_eq!(requests(&server, "GET", "/scim/v2/Users").await.len(), 2);
}

#[tokio::test]
async fn a_429_with_and_without_retry_after_then_success() {
    for ra in [Some("1"), None] {
        let server = MockServer::start().await;
        token(&server, 3600).await;
        let mut limited = ResponseTemplate::new(429);
        if let Some(v) = ra {
            limited = limited.insert_header("retry-after", v);
        }
        Mock::given(path("/scim/v2/Users"))
            .respond_with(limited)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path("/scim/v2/Users"))
            .respond_with(scim(200, users_page(&["a"], 1)))
            .mount(&server)
            .await;
        let t0 = std::time::Instant::now();
        assert_eq!(
            list(&connector(&server.uri(), true), "user")
                .await
                .unwrap()
                .len(),
            1
        );
        if ra.is_some() {
            assert!(t0.elapsed() >= Duration::from_millis(950));
        }
    }
}

#[tokio::test]
async fn edge_06_users_page_by_100_end_on_an_empty_page_and_fail_on_a_repeat_short_of_the_total() {
    // totalResults larger than the data: an empty page ends the listing.
    let server = MockServer::start().await;
    token(&server, 3600).await;
    let hundred: Vec<String> = (0..100).map(|i| format!("a{i}")).collect();
    let refs: Vec<&str> = hundred.iter().map(String::as_str).collect();
    Mock::given(path("/scim/v2/Users"))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "100"))
        .respond_with(scim(200, users_page(&refs, 500)))
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Users"))
        .and(query_param("startIndex", "101"))
        .respond_with(scim(200, users_page(&["b1"], 500)))
        .mount(&server)
        .await;
    // Any other start: nothing (the total of 500 was too large).
    Mock::given(path("/scim/v2/Users"))
        .respond_with(scim(200, users_page(&[], 500)))
        .mount(&server)
        .await;
    assert_eq!(
        list(&connector(&server.uri(), true), "user")
            .await
            .unwrap()
            .len(),
        101
    );
    // A server repeating its first page while its total says 10,000: the page is asked
    // for again twice, then the listing fails naming the gap (never a quiet short listing).
    let server = MockServer::start().await;
    token(&server, 3600).await;
    Mock::given(path("/scim/v2/Users"))
        .respond_with(scim(200, users_page(&refs, 10_000)))
        .mount(&server)
        .await;
    let err = list(&connector(&server.uri(), true), "user")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("9900 missing"), "{err}");
    assert_eq!(requests(&server, "GET", "/scim/v2/Users").await.len(), 4);
}

#[tokio::test]
async fn edge_07_an_empty_tenant_has_nothing_and_no_error() {
    let server = MockServer::start().await;
    token(&server, 3600).await;
    Mock::given(path("/scim/v2/Users"))
        .respond_with(scim(200, json!({"totalResults": 0})))
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Groups"))
        .respond_with(scim(200, json!({"totalResults": 0, "Resources": []})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let r = connector_sdk::sync::sync_to_file(
        &connector(&server.uri(), true),
        &dir.path().join("e.c1z"),
        &Default::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(r.stats.resources, 0);
}

#[tokio::test]
async fn edge_08_09_10_members_come_inline_deduplicated_users_only_even_unknown_ones() {
    let sim = IroncladSimulator::start().await;
    let c = sim_connector(&sim, true);
    let s = syncer_for(&c, "group").unwrap();
    let grants = |id: &str| {
        let s = s.clone();
        let r = group_res(id);
        async move {
            s.grants(GrantsRequest::new(&r, PageRequest::first()))
                .await
                .unwrap()
                .items
                .into_iter()
                .map(|g| g.principal().resource.clone())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        grants("g-legal").await,
        ["6660d37dec0eac3deffb6811", "6660d37dec0eac3deffb6812"],
        "duplicate dropped"
    );
    assert!(grants("g-empty").await.is_empty(), "no members key");
    assert_eq!(
        grants("74906dd6-f2c6-4442-8875-57846f15b0aa").await,
        ["74906dd6-f2c6-4442-8875-57846f15b061"],
        "Group member skipped"
    );
    sim.state().groups[0]
        .members
        .push(Member::new("ghost-user"));
    assert!(
        grants("g-admins").await.contains(&"ghost-user".to_string()),
        "granted by id even when not listed"
    );
    let err = s
        .grants(GrantsRequest::new(&group_res("gone"), PageRequest::first()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn edge_11_12_13_14_user_mapping_handles_missing_fields_unicode_and_id_shapes() {
    let sim = IroncladSimulator::start().await;
    let users = list(&sim_connector(&sim, true), "user").await.unwrap();
    let by = |id: &str| users.iter().find(|u| u.id.resource == id).unwrap();
    assert_eq!(by("6660d37dec0eac3deffb6812").display_name, "Zoë 李");
    let alex = by("6660d37dec0eac3deffb6811").user.clone().unwrap();
    assert_eq!(alex.profile["title"], "Vice President");
    assert_eq!(alex.profile["department"], "Legal");
    assert_eq!(alex.profile["provider"], "saml");
    assert_eq!(alex.primary_email(), Some("alex.doe@acme.example"));
    let no_name = by("6660d37dec0eac3deffb6815");
    assert_eq!(no_name.display_name, "no.name@acme.example");
    assert_eq!(
        no_name.user.as_ref().unwrap().primary_email(),
        Some("no.name@acme.example"),
        "userName added as the email"
    );
    assert_eq!(no_name.user.as_ref().unwrap().status, UserStatus::Enabled);
    assert!(
        users
            .iter()
            .any(|u| u.id.resource == "74906dd6-f2c6-4442-8875-57846f15b061"),
        "UUID ids kept as is"
    );
    // A userName that is not an email: login only.
    let server = MockServer::start().await;
    token(&server, 3600).await;
    Mock::given(path("/scim/v2/Users"))
        .respond_with(scim(
            200,
            json!({"totalResults": 1, "Resources": [{"id": "x", "userName": "not-an-email"}]}),
        ))
        .mount(&server)
        .await;
    let u = list(&connector(&server.uri(), true), "user")
        .await
        .unwrap()
        .remove(0);
    assert!(u.user.as_ref().unwrap().emails.is_empty());
    assert_eq!(u.user.as_ref().unwrap().login, "not-an-email");
}

#[tokio::test]
async fn grant_and_revoke_bodies_are_byte_exact_and_accept_200_and_204() {
    for status in [200, 204] {
        let server = group_g1_server(json!([{"value": "old"}])).await;
        let add = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"new"}]}]}"#;
        let remove = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members","value":[{"value":"old"}]}]}"#;
        let reply = if status == 200 {
            scim(200, json!({"id": "g1"}))
        } else {
            ResponseTemplate::new(204)
        };
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Groups/g1"))
            .and(body_string(add))
            .respond_with(reply.clone())
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Groups/g1"))
            .and(body_string(remove))
            .respond_with(reply)
            .expect(1)
            .mount(&server)
            .await;
        let c = connector(&server.uri(), false);
        let p = syncer_for(&c, "group").unwrap();
        let prov = p.provisioner().unwrap();
        let ent = member_entitlement(&group_res("g1"));
        assert!(matches!(
            prov.grant(GrantRequest::new(&user_res("new"), &ent))
                .await
                .unwrap(),
            GrantOutcome::Granted(_)
        ));
        assert_eq!(
            prov.revoke(RevokeRequest::new(&Grant::new(
                &ent,
                ResourceId::new("user", "old")
            )))
            .await
            .unwrap(),
            RevokeOutcome::Revoked
        );
        // Already a member / not a member: no PATCH (the expects above would fail on a third call).
        assert_eq!(
            prov.grant(GrantRequest::new(&user_res("old"), &ent))
                .await
                .unwrap(),
            GrantOutcome::AlreadyExists
        );
        assert_eq!(
            prov.revoke(RevokeRequest::new(&Grant::new(
                &ent,
                ResourceId::new("user", "nobody")
            )))
            .await
            .unwrap(),
            RevokeOutcome::AlreadyRevoked
        );
    }
}

/// Whatever a successful PATCH carries (the group, nothing, an empty 200, a body that is
/// not a group) the change was applied; 409 on add and 404 on remove mean there was
/// nothing to do; anything else is an error with the server's detail.
#[tokio::test]
async fn membership_patch_answers_of_every_kind_map_to_outcomes() {
    let replies: Vec<(&str, ResponseTemplate)> = vec![
        (
            "group",
            scim(200, json!({"id": "g1", "members": [{"value": "new"}]})),
        ),
        ("204", ResponseTemplate::new(204)),
        ("empty 200", ResponseTemplate::new(200)),
        ("text 200", ResponseTemplate::new(200).set_body_string("OK")),
    ];
    for (what, reply) in replies {
        let server = group_g1_server(json!([{"value": "old"}])).await;
        Mock::given(method("PATCH"))
            .respond_with(reply)
            .expect(2)
            .mount(&server)
            .await;
        let c = connector(&server.uri(), false);
        let s = syncer_for(&c, "group").unwrap();
        let prov = s.provisioner().unwrap();
        let ent = member_entitlement(&group_res("g1"));
        assert!(
            matches!(
                prov.grant(GrantRequest::new(&user_res("new"), &ent)).await,
                Ok(GrantOutcome::Granted(_))
            ),
            "grant answered {what}"
        );
        assert_eq!(
            prov.revoke(RevokeRequest::new(&Grant::new(
                &ent,
                ResourceId::new("user", "old")
            )))
            .await
            .unwrap_or_else(|e| panic!("revoke answered {what}: {e}")),
            RevokeOutcome::Revoked
        );
    }
    let server = group_g1_server(json!([{"value": "old"}])).await;
    Mock::given(method("PATCH"))
        .and(wiremock::matchers::body_string_contains("\"op\":\"add\""))
        .and(wiremock::matchers::body_string_contains(
            "\"value\":\"dup\"",
        ))
        .respond_with(scim(409, json!({"status": "409"})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(wiremock::matchers::body_string_contains("\"op\":\"add\""))
        .respond_with(scim(
            403,
            json!({"status": "403", "detail": "scope missing"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(wiremock::matchers::body_string_contains(
            "\"op\":\"remove\"",
        ))
        .respond_with(scim(
            404,
            json!({"status": "404", "detail": "Resource g1 not found"}),
        ))
        .mount(&server)
        .await;
    let c = connector(&server.uri(), false);
    let s = syncer_for(&c, "group").unwrap();
    let prov = s.provisioner().unwrap();
    let ent = member_entitlement(&group_res("g1"));
    assert_eq!(
        prov.grant(GrantRequest::new(&user_res("dup"), &ent))
            .await
            .unwrap(),
        GrantOutcome::AlreadyExists
    );
    assert_eq!(
        prov.revoke(RevokeRequest::new(&Grant::new(
            &ent,
            ResourceId::new("user", "old")
        )))
        .await
        .unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
    let err = prov
        .grant(GrantRequest::new(&user_res("other"), &ent))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("scope missing"), "{err}");
}

#[tokio::test]
async fn a_revoke_never_sends_a_remove_without_a_member() {
    // Type level: a MemberId cannot be empty, and the body holds exactly one member.
    assert!(MemberId::new("").is_err());
    // Behaviour: the simulator empties a group on a bare remove (strict RFC); revoking one
    // member keeps every other member, over both the value form and the filter fallback.
    let sim = IroncladSimulator::start_with(SimState::large(20, 1, 10)).await;
    let c = sim_connector(&sim, false);
    let prov = syncer_for(&c, "group").unwrap();
    let members = sim.state().members("g00000");
    assert_eq!(members.len(), 10);
    let ent = member_entitlement(&group_res("g00000"));
    for m in &members[..3] {
        prov.provisioner()
            .unwrap()
            .revoke(RevokeRequest::new(&Grant::new(
                &ent,
                ResourceId::new("user", m.clone()),
            )))
            .await
            .unwrap();
    }
    assert_eq!(sim.state().members("g00000"), members[3..].to_vec());
    // An empty principal id is refused before any request.
    let before = sim.state().count("PATCH Group");
    let err = prov
        .provisioner()
        .unwrap()
        .revoke(RevokeRequest::new(&Grant::from_parts(
            "x",
            "group:g00000:member",
            ResourceId::new("group", "g00000"),
            ResourceId::new("user", ""),
        )))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert_eq!(sim.state().count("PATCH Group"), before);
}

#[tokio::test]
async fn a_strict_server_gets_the_filter_form_after_refusing_the_value_form() {
    let server = group_g1_server(json!([{"value": "u\"1"}])).await;
    Mock::given(method("PATCH"))
        .and(wiremock::matchers::body_string_contains("\"value\":[{"))
        .respond_with(scim(400, json!({"status": "400", "scimType": "invalidValue", "detail": "remove carries no value"})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(wiremock::matchers::body_string_contains(
            r#"members[value eq \"u\\\"1\"]"#,
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(&server.uri(), false);
    let ent = member_entitlement(&group_res("g1"));
    let out = syncer_for(&c, "group")
        .unwrap()
        .provisioner()
        .unwrap()
        .revoke(RevokeRequest::new(&Grant::new(
            &ent,
            ResourceId::new("user", "u\"1"),
        )))
        .await
        .unwrap();
    assert_eq!(out, RevokeOutcome::Revoked);
    for r in requests(&server, "PATCH", "/scim/v2/Groups/g1").await {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        let op = &body["Operations"][0];
        assert!(
            op["value"].as_array().is_some_and(|v| !v.is_empty())
                || op["path"].as_str().unwrap().starts_with("members["),
            "{body}"
        );
        assert_ne!(op["op"], "replace");
    }
}

#[tokio::test]
async fn edge_16_generated_passwords_meet_the_policy_at_any_requested_length() {
    use connector_ironclad::users::password_length;
    assert_eq!(password_length(0), 24);
    assert_eq!(password_length(8), 16);
    assert_eq!(password_length(30), 30);
    assert_eq!(password_length(500), 64);
    let sim = IroncladSimulator::start().await;
    let c = sim_connector(&sim, false);
    let s = syncer_for(&c, "user").unwrap();
    let am = s.account_manager().unwrap();
    for (i, len) in [1u32, 16, 40, 100].into_iter().enumerate() {
        let info = AccountInfo {
            email: Some(format!("new{i}@acme.example")),
            profile: json!({"first_name": "New", "last_name": format!("User{i}")})
                .as_object()
                .unwrap()
                .clone(),
            ..Default::default()
        };
        // The simulator refuses weak passwords, so success proves the policy.
        match am
            .create_account(AccountRequest::new(
                info.clone(),
                CredentialOption::RandomPassword { length: len },
            ))
            .await
            .unwrap()
        {
            AccountOutcome::Created { credentials, .. } => {
                let p = credentials[0].secret.expose_secret();
                assert_eq!(p.chars().count(), password_length(len));
                assert!(!format!("{:?}", credentials[0]).contains(p));
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn edge_18_a_409_on_create_returns_the_existing_user_without_a_password() {
    let sim = IroncladSimulator::start().await;
    let c = sim_connector(&sim, false);
    let s = syncer_for(&c, "user").unwrap();
    let info = AccountInfo {
        email: Some("ALEX.DOE@acme.example".into()),
        profile: json!({"first_name": "Alex", "last_name": "Doe"})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    };
    match s
        .account_manager()
        .unwrap()
        .create_account(AccountRequest::new(
            info.clone(),
            CredentialOption::RandomPassword { length: 24 },
        ))
        .await
        .unwrap()
    {
        AccountOutcome::AlreadyExists { resource } => {
            assert_eq!(resource.id.resource, "6660d37dec0eac3deffb6811")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn edge_17_19_error_quirks_surface_the_detail_without_panics() {
    let server = MockServer::start().await;
    token(&server, 3600).await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .respond_with(scim(400, json!({"schema": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "400", "scimType": "invalidValue", "detail": "SCIM provisioning requires a single SAML configuration"})))
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Groups"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .mount(&server)
        .await;
    let c = connector(&server.uri(), false);
    let info = AccountInfo {
        email: Some("n@x.com".into()),
        profile: json!({"first_name": "N", "last_name": "X"})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    };
    let err = syncer_for(&c, "user")
        .unwrap()
        .account_manager()
        .unwrap()
        .create_account(AccountRequest::new(
            info.clone(),
            CredentialOption::RandomPassword { length: 24 },
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.to_string().contains("single SAML configuration"),
        "{err}"
    );
    let err = list(&c, "group").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.http_status(), Some(502));
}

#[tokio::test]
async fn edge_01_a_bad_as_user_gets_a_permission_hint() {
    let sim = IroncladSimulator::start().await;
    let c = sim_connector(&sim, true);
    // The as-user loses admin rights after the connector was configured.
    sim.state().admins = vec!["someone.else@acme.example".into()];
    let err = c.validate().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(
        err.to_string()
            .contains("--as-user-email (BATON_AS_USER_EMAIL)"),
        "{err}"
    );
}

#[tokio::test]
async fn read_only_mode_requests_read_scopes_and_advertises_no_provisioning() {
    let sim = IroncladSimulator::start().await;
    let c = sim_connector(&sim, true);
    let caps = capabilities(&c);
    // Read-only still reads: sync, and targeted sync of single users and groups.
    for t in &caps.resource_types {
        assert_eq!(
            t.capabilities,
            vec![Capability::Sync, Capability::TargetedSync],
            "{t:?}"
        );
    }
    assert!(syncer_for(&c, "group").unwrap().provisioner().is_none());
    let full = capabilities(&sim_connector(&sim, false));
    assert!(
        full.resource_types
            .iter()
            .any(|t| t.capabilities.contains(&Capability::Provision))
    );
    assert!(
        !full
            .resource_types
            .iter()
            .any(|t| t.capabilities.contains(&Capability::ResourceDelete)),
        "no deprovisioning"
    );
}

#[tokio::test]
async fn the_simulated_tenant_passes_the_conformance_kit_and_provisioning_is_idempotent() {
    let sim = IroncladSimulator::start().await;
    let c = sim_connector(&sim, false);
    let report = connector_sdk::testing::assert_conformance(&c).await;
    assert_eq!(report.resources_by_type["user"], 6);
    assert_eq!(report.resources_by_type["group"], 4);
    // Every user and group read back by id (GET /Users/{id}, /Groups/{id}) agrees.
    assert_eq!(report.fetched_by_id, 10);
    let ent = member_entitlement(&group_res("g-empty"));
    connector_sdk::testing::check_provisioning_idempotent(
        &c,
        &user_res("6660d37dec0eac3deffb6814"),
        &ent,
    )
    .await
    .unwrap();
    assert!(sim.state().members("g-empty").is_empty());
}

/// The kit reads listings through the SDK's one driver, handed-out pages included: a
/// 250-user tenant (three pages, two handed out by the first) has no false violation.
#[tokio::test]
async fn the_kit_reads_a_250_user_tenant_through_handed_out_pages() {
    let sim = IroncladSimulator::start_with(SimState::large(250, 5, 300)).await;
    let c = sim_connector(&sim, true);
    let report = connector_sdk::testing::assert_conformance(&c).await;
    assert_eq!(report.resources_by_type["user"], 250);
    assert_eq!(report.resources_by_type["group"], 5);
}

#[tokio::test]
async fn edge_02_revoking_the_as_users_own_admin_membership_warns_and_still_revokes() {
    let sim = IroncladSimulator::start().await;
    let c = sim_connector(&sim, false);
    let groups = syncer_for(&c, "group").unwrap();
    let p = groups.provisioner().unwrap();
    let ent = member_entitlement(&group_res("g-admins"));
    let admin = "6660d37dec0eac3deffb6810";
    let alex = "6660d37dec0eac3deffb6811";
    p.grant(GrantRequest::new(&user_res(alex), &ent))
        .await
        .unwrap();

    let logs = connector_sdk::testing::LogCapture::start();
    let other = p
        .revoke(RevokeRequest::new(&Grant::new(
            &ent,
            ResourceId::new("user", alex),
        )))
        .await
        .unwrap();
    assert_eq!(other, RevokeOutcome::Revoked);
    assert!(
        !logs.text().contains("WARN"),
        "warned for another user: {}",
        logs.text()
    );

    let own = p
        .revoke(RevokeRequest::new(&Grant::new(
            &ent,
            ResourceId::new("user", admin),
        )))
        .await
        .unwrap();
    assert_eq!(own, RevokeOutcome::Revoked, "the revoke is allowed");
    let text = logs.text();
    let warning = text
        .lines()
        .find(|l| l.contains("WARN"))
        .unwrap_or_else(|| panic!("no warning: {text}"));
    assert!(warning.contains("as-user's own membership"), "{warning}");
    assert!(
        warning.contains("Admins") && warning.contains(AS_USER),
        "{warning}"
    );
    assert!(warning.contains("BATON_AS_USER_EMAIL"), "{warning}");
    assert!(sim.state().members("g-admins").is_empty());
    assert_eq!(
        sim.state().count("GET Users"),
        1,
        "the as-user is looked up once, not per revoke"
    );
}
