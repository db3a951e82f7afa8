//! The SendGrid connector against wiremock servers: the test plan of
//! `shared/specs/sendgrid.md` §7 and its edge cases (§8, named `edge_NN_…`).

use connector_sdk::delete::DeleteRequest;
use std::sync::Arc;
use std::time::Duration;

use connector_sdk::connector::syncer_for;
use connector_sdk::http::RetryPolicy;
use connector_sdk::prelude::*;
use connector_sendgrid::scopes::{assigned_entitlement, scope_resource};
use connector_sendgrid::simulator::{SendgridSimulator, SimState};
use connector_sendgrid::{Sendgrid, SendgridClient, SendgridConfig};
use futures::TryStreamExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_string, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY: &str = "SG.test-key-SECRET-9z";

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(10),
    }
}

fn connector(server_uri: &str, ignore_subusers: bool) -> Sendgrid {
    let config = SendgridConfig::new(
        SecretString::from(KEY),
        "global",
        ignore_subusers,
        Some(server_uri),
    )
    .unwrap();
    Sendgrid::with_client(
        SendgridClient::with_retry(&config, fast()).unwrap(),
        ignore_subusers,
    )
}

fn sim_connector(sim: &SendgridSimulator) -> Sendgrid {
    let config = sim.config();
    Sendgrid::with_client(SendgridClient::with_retry(&config, fast()).unwrap(), false)
}

async fn all<T: connector_sdk::page::Identified + Send + 'static>(
    f: impl FnMut(PageRequest) -> futures::future::BoxFuture<'static, Result<Page<T>>> + Send,
) -> Result<Vec<T>> {
    stream_pages("test", f).try_collect().await
}

async fn list(c: &Sendgrid, rt: &str) -> Result<Vec<Resource>> {
    let s = syncer_for(c, rt).unwrap();
    all(move |req| {
        let s = s.clone();
        Box::pin(async move { s.list(ListRequest::new(None, req)).await })
    })
    .await
}

async fn grants(c: &Sendgrid, r: &Resource) -> Result<Vec<Grant>> {
    let s = syncer_for(c, &r.id.resource_type).unwrap();
    let r = r.clone();
    all(move |req| {
        let (s, r) = (s.clone(), r.clone());
        Box::pin(async move { s.grants(GrantsRequest::new(&r, req)).await })
    })
    .await
}

/// The teammates holding `scope`, sorted: scope grants are listed from the teammate side.
async fn holders(c: &Sendgrid, scope: &str) -> Vec<String> {
    let ent = format!("scope:{scope}:assigned");
    let mut out = Vec::new();
    for t in list(c, "teammate").await.unwrap() {
        for g in grants(c, &t).await.unwrap() {
            if g.entitlement_id() == ent {
                out.push(g.principal().resource.clone());
            }
        }
    }
    out.sort();
    out
}

fn teammates_json(range: std::ops::Range<usize>) -> Value {
    json!({"result": range.map(|i| json!({"username": format!("t{i}@x.com"), "email": format!("t{i}@x.com"), "user_type": "teammate"})).collect::<Vec<_>>()})
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

fn teammate_res(username: &str) -> Resource {
    Resource::with_id(ResourceId::new("teammate", username), username)
}

#[tokio::test]
async fn edge_01_offsets_advance_by_the_page_length_0_500_1000() {
    let server = MockServer::start().await;
    for (offset, range) in [(0, 0..500), (500, 500..1000), (1000, 1000..1001)] {
        Mock::given(path("/v3/teammates"))
            .and(query_param("offset", offset.to_string()))
            .and(query_param("limit", "500"))
            .respond_with(ResponseTemplate::new(200).set_body_json(teammates_json(range)))
            .expect(1)
            .mount(&server)
            .await;
    }
    Mock::given(path("/v3/teammates/pending"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": []})))
        .mount(&server)
        .await;
    let teammates = list(&connector(&server.uri(), true), "teammate")
        .await
        .unwrap();
    assert_eq!(teammates.len(), 1001);
    // GET carries no body (upstream sent the literal `null`).
    for r in server.received_requests().await.unwrap() {
        assert!(r.body.is_empty(), "{} {} had a body", r.method, r.url);
    }
}

#[tokio::test]
async fn edge_02_pending_invites_are_disabled_teammates_that_cannot_get_scopes() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let teammates = list(&c, "teammate").await.unwrap();
    let pending = teammates
        .iter()
        .find(|t| t.id.resource == "pending:abcd123abc")
        .unwrap();
    let user = pending.user.as_ref().unwrap();
    assert_eq!(user.status, UserStatus::Disabled);
    assert_eq!(user.status_details, "invitation pending");
    assert_eq!(user.profile["scopes"], json!(["user.profile.read"]));
    assert!(grants(&c, pending).await.unwrap().is_empty());
    let scope = scope_resource("stats.read");
    let err = syncer_for(&c, "scope")
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(pending, &assigned_entitlement(&scope)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert!(err.to_string().contains("pending"), "{err}");
}

#[tokio::test]
async fn edge_03_owners_and_admins_hold_every_scope_and_are_never_patched() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    assert_eq!(
        holders(&c, "billing.update").await,
        [
            "admin.one@acme.example",
            "admin.two@acme.example",
            "owner_user"
        ]
    );
    let p = syncer_for(&c, "scope").unwrap();
    for who in ["owner_user", "admin.one@acme.example"] {
        let err = p
            .provisioner()
            .unwrap()
            .grant(GrantRequest::new(
                &teammate_res(who),
                &assigned_entitlement(&scope_resource("stats.read")),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::FailedPrecondition, "{who}");
        let grant = Grant::new(
            &assigned_entitlement(&scope_resource("stats.read")),
            ResourceId::new("teammate", who),
        );
        assert_eq!(
            p.provisioner()
                .unwrap()
                .revoke(RevokeRequest::new(&grant))
                .await
                .unwrap_err()
                .kind(),
            ErrorKind::FailedPrecondition
        );
    }
    assert_eq!(sim.state().count("PATCH teammate"), 0);
}

#[tokio::test]
async fn grant_and_revoke_send_the_full_scope_list_without_auto_scopes_and_are_idempotent() {
    let server = MockServer::start().await;
    let detail = |scopes: Vec<&str>| json!({"username": "jane@x.com", "email": "jane@x.com", "user_type": "teammate", "is_admin": false, "scopes": scopes});
    Mock::given(method("GET"))
        .and(path("/v3/teammates/jane@x.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(detail(vec![
            "user.profile.read",
            "2fa_required",
            "mc.contacts.read",
        ])))
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v3/teammates/jane@x.com"))
        .respond_with(ResponseTemplate::new(200).set_body_json(detail(vec![
            "user.profile.read",
            "2fa_required",
            "mc.contacts.read",
            "whitelabel.read",
        ])))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v3/teammates/jane@x.com"))
        .and(body_string(r#"{"is_admin":false,"scopes":["user.profile.read","mc.contacts.read","whitelabel.read"]}"#))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/v3/teammates/jane@x.com"))
        .and(body_string(
            r#"{"is_admin":false,"scopes":["user.profile.read","mc.contacts.read"]}"#,
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    let c = connector(&server.uri(), false);
    let p = syncer_for(&c, "scope").unwrap();
    let prov = p.provisioner().unwrap();
    let ent = assigned_entitlement(&scope_resource("whitelabel.read"));
    // First GET (no whitelabel.read) → PATCH adding it; second answer already has it.
    match prov
        .grant(GrantRequest::new(&teammate_res("jane@x.com"), &ent))
        .await
        .unwrap()
    {
        GrantOutcome::Granted(g) => assert_eq!(
            g.iter().map(|g| g.id()).collect::<Vec<_>>(),
            ["scope:whitelabel.read:assigned:teammate:jane@x.com"]
        ),
        other => panic!("{other:?}"),
    }
    let grant = Grant::new(&ent, ResourceId::new("teammate", "jane@x.com"));
    // Second GET still without it: revoke finds nothing to remove.
    assert_eq!(
        prov.revoke(RevokeRequest::new(&grant)).await.unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
    // Later GETs have it: revoke removes it, grant reports it held.
    assert_eq!(
        prov.grant(GrantRequest::new(&teammate_res("jane@x.com"), &ent))
            .await
            .unwrap(),
        GrantOutcome::AlreadyExists
    );
    assert_eq!(
        prov.revoke(RevokeRequest::new(&grant)).await.unwrap(),
        RevokeOutcome::Revoked
    );
}

#[tokio::test]
async fn edge_04_unknown_and_auto_scopes_are_not_synced_and_break_nothing() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let scopes = list(&c, "scope").await.unwrap();
    assert_eq!(scopes.len(), 197);
    assert!(
        !scopes
            .iter()
            .any(|s| s.id.resource == "mc.contacts.read" || s.id.resource == "2fa_required")
    );
    // Jane holds mc.contacts.read and 2fa_required; a grant keeps the first and never sends the second.
    let p = syncer_for(&c, "scope").unwrap();
    p.provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &teammate_res("jane@acme.example"),
            &assigned_entitlement(&scope_resource("stats.read")),
        ))
        .await
        .unwrap();
    let jane = sim.state().teammate("jane@acme.example").cloned().unwrap();
    assert!(jane.scopes.contains(&"mc.contacts.read".to_string()));
    assert!(jane.scopes.contains(&"stats.read".to_string()));
    assert!(
        jane.scopes.contains(&"2fa_required".to_string()),
        "kept by SendGrid itself"
    );
}

#[tokio::test]
async fn edge_05_one_grant_per_scope_and_teammate_and_one_detail_read_each() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let report = connector_sdk::testing::assert_conformance(&c).await;
    let teammates = sim.state().teammates.len() as u64;
    // The kit's `get` check reads each teammate once more by username, plus one probe of
    // a username that does not exist; scopes are fetched from the static list.
    assert_eq!(
        report.fetched_by_id,
        report.resources_by_type["teammate"]
            + report.resources_by_type["scope"]
            + report.resources_by_type["subuser"]
    );
    assert_eq!(
        sim.state().count("GET teammate"),
        teammates + teammates + 1,
        "one detail read per teammate in the sync"
    );
    // conformance already fails on a duplicate grant id; count what Jane's listing holds.
    let g = grants(&c, &teammate_res("jane@acme.example"))
        .await
        .unwrap();
    assert_eq!(
        g.iter()
            .filter(|g| g.entitlement_id() == "scope:user.profile.read:assigned")
            .count(),
        1
    );
    assert!(report.grants > 0);
}

#[tokio::test]
async fn edge_06_ignoring_subusers_skips_every_subuser_call() {
    let server = MockServer::start().await;
    Mock::given(path("/v3/teammates"))
        .respond_with(ResponseTemplate::new(200).set_body_json(teammates_json(0..2)))
        .mount(&server)
        .await;
    Mock::given(path("/v3/teammates/pending"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": []})))
        .mount(&server)
        .await;
    Mock::given(path("/v3/subusers"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"errors": [{"field": null, "message": "access forbidden"}]})),
        )
        .mount(&server)
        .await;
    for i in 0..2 {
        Mock::given(path(format!("/v3/teammates/t{i}@x.com")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"username": format!("t{i}@x.com"), "scopes": ["stats.read"]}),
            ))
            .mount(&server)
            .await;
    }
    let dir = tempfile::tempdir().unwrap();
    let ignoring = connector(&server.uri(), true);
    let report = connector_sdk::sync::sync_to_file(
        &ignoring,
        &dir.path().join("a.c1z"),
        &Default::default(),
        None,
    )
    .await
    .unwrap();
    assert_eq!(report.stats.resources_by_resource_type["subuser"], 0);
    assert_eq!(report.warning_count, 0, "{:?}", report.warnings);
    let all = server.received_requests().await.unwrap();
    assert!(
        !all.iter().any(|r| r.url.path().contains("subuser")),
        "no subuser calls when ignored"
    );
    // Without the flag the 403 fails the sync with a hint.
    let err = connector_sdk::sync::sync_to_file(
        &connector(&server.uri(), false),
        &dir.path().join("b.c1z"),
        &Default::default(),
        None,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("--ignore-subusers"), "{err}");
}

#[tokio::test]
async fn edge_07_a_4xx_is_never_success_whatever_its_body() {
    for (status, body) in [
        (
            404,
            r#"{"errors":[{"message":"username not found","field":"username"}]}"#,
        ),
        (404, ""),
        (400, r#"{"errors":[]}"#),
        (400, "not json"),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/v3/teammates/x@x.com"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        let c = connector(&server.uri(), false);
        let err = syncer_for(&c, "scope")
            .unwrap()
            .provisioner()
            .unwrap()
            .grant(GrantRequest::new(
                &teammate_res("x@x.com"),
                &assigned_entitlement(&scope_resource("stats.read")),
            ))
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(status), "{body}");
        assert!(!err.to_string().contains(".json"), "{err}");
        assert!(
            requests(&server, "PATCH", "/v3/teammates/x@x.com")
                .await
                .is_empty()
        );
    }
}

#[tokio::test]
async fn edge_08_an_unknown_region_is_a_config_error_and_401_hints_at_the_region() {
    let err = SendgridConfig::new(SecretString::from(KEY), "apac", false, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("--sendgrid-region (BATON_SENDGRID_REGION)"),
        "{err}"
    );
    let server = MockServer::start().await;
    Mock::given(path("/v3/teammates"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"errors": [{"field": null, "message": "authorization required"}]}),
        ))
        .mount(&server)
        .await;
    let err = connector(&server.uri(), false)
        .validate()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().contains("--sendgrid-region"), "{err}");
}

#[tokio::test]
async fn edge_09_usernames_with_at_plus_and_dots_are_percent_encoded() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let p = syncer_for(&c, "scope").unwrap();
    p.provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &teammate_res("john+ops@acme.example"),
            &assigned_entitlement(&scope_resource("alerts.read")),
        ))
        .await
        .unwrap();
    assert!(
        sim.state()
            .teammate("john+ops@acme.example")
            .unwrap()
            .scopes
            .contains(&"alerts.read".to_string())
    );
}

#[tokio::test]
async fn edge_10_a_429_waits_for_the_absolute_reset_then_succeeds() {
    let server = MockServer::start().await;
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    Mock::given(path("/v3/teammates"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-ratelimit-limit", "600")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_json(
                    json!({"errors": [{"field": null, "message": "too many requests"}]}),
                ),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v3/teammates"))
        .respond_with(ResponseTemplate::new(200).set_body_json(teammates_json(0..1)))
        .mount(&server)
        .await;
    let t0 = std::time::Instant::now();
    connector(&server.uri(), false).validate().await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "waited for the reset: {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn edge_11_concurrent_grants_to_one_teammate_do_not_lose_each_other() {
    let sim = SendgridSimulator::start().await;
    let c = Arc::new(sim_connector(&sim));
    let tasks: Vec<_> = [
        "alerts.read",
        "billing.read",
        "ips.read",
        "stats.global.read",
    ]
    .into_iter()
    .map(|scope| {
        let c = c.clone();
        tokio::spawn(async move {
            let p = syncer_for(c.as_ref(), "scope").unwrap();
            p.provisioner()
                .unwrap()
                .grant(GrantRequest::new(
                    &teammate_res("lee@acme.example"),
                    &assigned_entitlement(&scope_resource(scope)),
                ))
                .await
        })
    })
    .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let lee = sim.state().teammate("lee@acme.example").cloned().unwrap();
    assert_eq!(lee.scopes.len(), 4, "{:?}", lee.scopes);
}

#[tokio::test]
async fn edge_12_and_13_provisioning_reads_fresh_data_and_grants_work_without_list() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    list(&c, "scope").await.unwrap();
    sim.state()
        .teammates
        .iter_mut()
        .find(|t| t.username == "kim@acme.example")
        .unwrap()
        .scopes
        .push("alerts.read".into());
    // The grant sees the change made after the sync read the teammate.
    let out = syncer_for(&c, "scope")
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &teammate_res("kim@acme.example"),
            &assigned_entitlement(&scope_resource("alerts.read")),
        ))
        .await
        .unwrap();
    assert_eq!(out, GrantOutcome::AlreadyExists);
    // A fresh connector (a resumed sync) lists a teammate's scope grants with nothing
    // listed before: there is no per-sync map to rebuild.
    let fresh = sim_connector(&sim);
    let g = grants(&fresh, &teammate_res("kim@acme.example"))
        .await
        .unwrap();
    assert!(
        g.iter()
            .any(|g| g.entitlement_id() == "scope:alerts.read:assigned")
    );
}

#[tokio::test]
async fn edge_14_a_teammate_without_listed_scopes_has_no_grants() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let g = grants(&c, &teammate_res("lee@acme.example")).await.unwrap();
    assert!(
        !g.iter()
            .any(|g| g.entitlement_resource().resource_type == "scope"),
        "{g:?}"
    );
    // Nor does any scope list grants of its own.
    for s in connector_sendgrid::scope_list::SCOPES {
        assert!(grants(&c, &scope_resource(s)).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn edge_16_requests_grow_linearly_with_the_team() {
    let mut counts = Vec::new();
    for n in [100usize, 1000] {
        let sim = SendgridSimulator::start_with(SimState::large(n, 10)).await;
        let c = sim_connector(&sim);
        let dir = tempfile::tempdir().unwrap();
        let report = connector_sdk::sync::sync_to_file(
            &c,
            &dir.path().join("s.c1z"),
            &Default::default(),
            None,
        )
        .await
        .unwrap();
        assert_eq!(
            report.stats.resources_by_resource_type["teammate"],
            n as u64
        );
        let st = sim.state();
        // ceil(n/500) pages (+1 when the last is full) of the one teammate listing, one
        // detail (the teammate's scope grants) and one subuser-access call per teammate.
        assert!(
            st.count("GET teammates") <= n as u64 / 500 + 1,
            "{:?}",
            st.requests
        );
        assert_eq!(st.count("GET teammate"), n as u64);
        assert_eq!(st.count("GET subuser_access"), n as u64);
        counts.push(st.served);
    }
    let ratio = counts[1] as f64 / counts[0] as f64;
    assert!(
        (9.0..=11.0).contains(&ratio),
        "10x the team should cost about 10x the requests: {counts:?}"
    );
}

#[tokio::test]
async fn edge_17_validate_makes_a_real_call_and_explains_403() {
    let server = MockServer::start().await;
    Mock::given(path("/v3/teammates"))
        .and(query_param("limit", "1"))
        .and(query_param("offset", "0"))
        .respond_with(
            ResponseTemplate::new(403)
                .set_body_json(json!({"errors": [{"field": null, "message": "access forbidden"}]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = connector(&server.uri(), false)
        .validate()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("teammates read"), "{err}");
}

#[tokio::test]
async fn edge_18_subuser_access_pages_by_cursor_and_stops_on_null_or_a_stuck_cursor() {
    let server = MockServer::start().await;
    let page = |ids: &[u64], next: Value| json!({"subuser_access": ids.iter().map(|i| json!({"id": i, "username": format!("s{i}")})).collect::<Vec<_>>(), "_metadata": {"next_params": {"after_subuser_id": next}}});
    Mock::given(path("/v3/teammates/a@x.com/subuser_access"))
        .and(query_param("limit", "500"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[1, 2], json!(2))))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/v3/teammates/a@x.com/subuser_access"))
        .and(query_param("after_subuser_id", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[3], Value::Null)))
        .mount(&server)
        .await;
    for who in ["a@x.com", "b@x.com"] {
        Mock::given(path(format!("/v3/teammates/{who}")))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"username": who, "scopes": []})),
            )
            .mount(&server)
            .await;
    }
    // A server whose cursor never moves.
    Mock::given(path("/v3/teammates/b@x.com/subuser_access"))
        .respond_with(ResponseTemplate::new(200).set_body_json(page(&[7], json!(7))))
        .mount(&server)
        .await;
    let c = connector(&server.uri(), false);
    let ids: Vec<String> = grants(&c, &teammate_res("a@x.com"))
        .await
        .unwrap()
        .iter()
        .map(|g| g.principal().resource.clone())
        .collect();
    assert_eq!(ids, ["1", "2", "3"]);
    let stuck = grants(&c, &teammate_res("b@x.com")).await.unwrap();
    assert_eq!(stuck.len(), 1);
    // The repeat is asked for twice more (a cache may recover), then the listing ends.
    assert!(
        requests(&server, "GET", "/v3/teammates/b@x.com/subuser_access")
            .await
            .len()
            <= 4
    );
}

#[tokio::test]
async fn subusers_are_a_bare_array_with_disabled_state() {
    let sim = SendgridSimulator::start().await;
    let subs = list(&sim_connector(&sim), "subuser").await.unwrap();
    assert_eq!(subs.len(), 4);
    let legacy = subs.iter().find(|s| s.id.resource == "1299").unwrap();
    assert_eq!(legacy.display_name, "legacy");
    assert_eq!(legacy.user.as_ref().unwrap().status, UserStatus::Disabled);
}

#[tokio::test]
async fn invitations_and_deletions() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let users = syncer_for(&c, "teammate").unwrap();
    let am = users.account_manager().unwrap();
    let info = |email: &str, profile: Value| AccountInfo {
        email: Some(email.into()),
        profile: profile.as_object().unwrap().clone(),
        ..Default::default()
    };
    // Default scope, then explicit scopes, then an admin whose scopes are dropped.
    for (email, profile, want_scopes, admin) in [
        (
            "a@acme.example",
            json!({}),
            vec!["user.profile.read"],
            false,
        ),
        (
            "b@acme.example",
            json!({"scopes": ["stats.read", "alerts.read"]}),
            vec!["stats.read", "alerts.read"],
            false,
        ),
        (
            "c@acme.example",
            json!({"is_admin": true, "scopes": ["stats.read"]}),
            vec![],
            true,
        ),
    ] {
        match am
            .create_account(AccountRequest::new(
                info(email, profile),
                CredentialOption::NoPassword,
            ))
            .await
            .unwrap()
        {
            AccountOutcome::ActionRequired {
                resource: Some(r), ..
            } => assert!(r.id.resource.starts_with("pending:"), "{r:?}"),
            other => panic!("{other:?}"),
        }
        let st = sim.state();
        let inv = st.pending.iter().find(|p| p.email == email).unwrap();
        assert_eq!(inv.scopes, want_scopes);
        assert_eq!(inv.is_admin, admin);
    }
    // Inviting someone already invited or already a teammate reports it.
    assert!(matches!(
        am.create_account(AccountRequest::new(
            info("a@acme.example", json!({})),
            CredentialOption::NoPassword
        ))
        .await
        .unwrap(),
        AccountOutcome::AlreadyExists { .. }
    ));
    assert!(matches!(
        am.create_account(AccountRequest::new(
            info("KIM@acme.example", json!({})),
            CredentialOption::NoPassword
        ))
        .await
        .unwrap(),
        AccountOutcome::AlreadyExists { .. }
    ));
    // Delete a teammate and a pending invitation, twice each.
    let del = users.deleter().unwrap();
    for id in ["kim@acme.example", "pending:abcd123abc"] {
        assert_eq!(
            del.delete(DeleteRequest::new(&ResourceId::new("teammate", id)))
                .await
                .unwrap(),
            DeleteOutcome::Deleted
        );
        assert_eq!(
            del.delete(DeleteRequest::new(&ResourceId::new("teammate", id)))
                .await
                .unwrap(),
            DeleteOutcome::AlreadyDeleted
        );
    }
    assert!(sim.state().teammate("kim@acme.example").is_none());
    assert!(!sim.state().pending.iter().any(|p| p.token == "abcd123abc"));
}

#[tokio::test]
async fn the_capabilities_match_what_is_implemented() {
    let c = connector("http://127.0.0.1:9", false);
    let caps = connector_sdk::connector::capabilities(&c);
    let ids: Vec<&str> = caps
        .resource_types
        .iter()
        .map(|t| t.resource_type.as_str())
        .collect();
    // Sorted by type id, as upstream's Hello sends them.
    assert_eq!(ids, ["scope", "subuser", "teammate"]);
    use connector_sdk::connector::Capability::*;
    assert_eq!(
        caps.resource_types[2].capabilities,
        vec![Sync, AccountProvisioning, ResourceDelete, TargetedSync]
    );
    assert_eq!(
        caps.resource_types[0].capabilities,
        vec![Sync, Provision, TargetedSync]
    );
    assert_eq!(
        caps.resource_types[1].capabilities,
        vec![Sync, TargetedSync]
    );
    assert!(
        caps.connector_capabilities
            .contains(&ServiceModeTargetedSync)
    );
}

#[tokio::test]
async fn edge_19_the_api_key_appears_in_no_log_error_or_debug_output() {
    let logs = connector_sdk::testing::LogCapture::start();
    let server = MockServer::start().await;
    Mock::given(path("/v3/teammates"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let c = connector(&server.uri(), false);
    let err = c.validate().await.unwrap_err();
    let config = SendgridConfig::new(SecretString::from(KEY), "eu", false, None).unwrap();
    let all = format!("{err}\n{err:?}\n{c:?}\n{config:?}\n{}", logs.text());
    assert!(all.contains("retrying"), "logs captured");
    assert!(!all.contains("SECRET-9z"), "{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_team_under_a_rate_limit_syncs_without_failing() {
    use connector_sendgrid::simulator::SimRateLimit;
    let mut state = SimState::large(300, 20);
    state.rate_limit = Some(SimRateLimit {
        limit: 40,
        window: Duration::from_millis(200),
    });
    let sim = SendgridSimulator::start_with(state).await;
    // The default retry policy, as an operator runs it.
    let c = Sendgrid::new(sim.config()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let report =
        connector_sdk::sync::sync_to_file(&c, &dir.path().join("s.c1z"), &Default::default(), None)
            .await
            .unwrap();
    assert_eq!(report.stats.resources_by_resource_type["teammate"], 300);
    let st = sim.state();
    let rate_429 = st.rejected as f64 / (st.served + st.rejected) as f64;
    assert!(
        rate_429 < 0.05,
        "{} of {} requests refused",
        st.rejected,
        st.served + st.rejected
    );
}
