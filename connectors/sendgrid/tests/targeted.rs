//! Targeted syncs (`--sync-resources`, C1's refresh after provisioning, service-mode spec
//! §8.3) on the simulated account: every type with a provisionable entitlement, and every
//! principal type of one, can be fetched by id; a grant made through the connector is in
//! the partial sync of its principal and scope; the scope getter's answers.

use connector_sdk::getter::GetRequest;
use std::path::Path;

use connector_sdk::bid::ResourceBid;
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::store::C1zReader;
use connector_sdk::sync::{SyncOptions, SyncReport, sync_to_file};
use connector_sdk::testing::{fast_retry, holders_in, types_with_getter};
use connector_sendgrid::scope_list::SCOPES;
use connector_sendgrid::scopes::{assigned_entitlement, scope_resource};
use connector_sendgrid::simulator::{SendgridSimulator, SimState};
use connector_sendgrid::{Sendgrid, SendgridClient, SendgridConfig};
use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn sim_connector(sim: &SendgridSimulator) -> Sendgrid {
    Sendgrid::with_client(
        SendgridClient::with_retry(&sim.config(), fast_retry()).unwrap(),
        false,
    )
}

fn mock_connector(server: &MockServer) -> Sendgrid {
    let config = SendgridConfig::new(
        SecretString::from("SG.k"),
        "global",
        false,
        Some(&server.uri()),
    )
    .unwrap();
    Sendgrid::with_client(
        SendgridClient::with_retry(&config, fast_retry()).unwrap(),
        false,
    )
}

fn bid(rt: &str, id: &str) -> ResourceBid {
    ResourceBid::new(ResourceId::new(rt, id))
}

async fn targeted(c: &Sendgrid, file: &Path, bids: Vec<ResourceBid>) -> SyncReport {
    let options = SyncOptions::default().with_targeted(bids);
    sync_to_file(c, file, &options, None).await.unwrap()
}

#[tokio::test]
async fn every_provisioning_type_and_principal_type_has_a_getter() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let with_getter: Vec<String> = types_with_getter(&c);
    assert_eq!(with_getter, ["teammate", "scope", "subuser"]);
}

#[tokio::test]
async fn a_grant_is_in_the_targeted_sync_of_its_principal_and_scope() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    sync_to_file(&c, &file, &SyncOptions::default(), None)
        .await
        .unwrap();
    let full = C1zReader::open(&file).unwrap().sync().sync_id.clone();
    let kim_id = "kim@acme.example".to_string();
    assert!(!holders_in(&file, "scope:mail.send:assigned", false).contains(&kim_id));

    let kim = Resource::with_id(
        ResourceId::new("teammate", "kim@acme.example"),
        "kim@acme.example",
    );
    let out = syncer_for(&c, "scope")
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &kim,
            &assigned_entitlement(&scope_resource("mail.send")),
        ))
        .await
        .unwrap();
    assert!(matches!(out, GrantOutcome::Granted(_)), "{out:?}");

    // C1's refresh: the principal and the entitlement's resource, by id.
    sim.state().requests.clear();
    let report = targeted(
        &c,
        &file,
        vec![
            bid("teammate", "kim@acme.example"),
            bid("scope", "mail.send"),
        ],
    )
    .await;
    assert!(report.completed);
    assert_eq!(report.stats.resources, 2, "{:?}", report.stats);
    {
        let st = sim.state();
        // The teammate read by id, its detail (its scopes) and its subuser access; the
        // scope costs nothing; nothing is listed.
        assert_eq!(st.count("GET teammate"), 2, "{:?}", st.requests);
        assert_eq!(st.count("GET subuser_access"), 1, "{:?}", st.requests);
        assert_eq!(st.requests.values().sum::<u64>(), 3, "{:?}", st.requests);
    }

    let r = C1zReader::open(&file).unwrap();
    assert_eq!(
        r.sync().sync_id,
        full,
        "the default view stays the full sync"
    );
    let partial = r.with_latest_sync().unwrap();
    assert_eq!(partial.sync().sync_type, "partial");
    assert_eq!(partial.sync().parent_sync_id, full);
    // The partial holds what the two named resources list: Kim's grants (the owner and
    // admins, who hold every scope, were not refreshed).
    assert_eq!(
        holders_in(&file, "scope:mail.send:assigned", true),
        ["kim@acme.example"]
    );
    // Refreshing the teammate also refreshes the scopes it already held, and its access.
    assert_eq!(
        holders_in(&file, "scope:user.profile.read:assigned", true),
        ["kim@acme.example"]
    );
    assert_eq!(
        holders_in(&file, "teammate:kim@acme.example:access", true),
        ["1240"]
    );
    assert!(!holders_in(&file, "scope:mail.send:assigned", false).contains(&kim_id));

    // The teammate alone is enough to see the new grant.
    targeted(&c, &file, vec![bid("teammate", "kim@acme.example")]).await;
    assert_eq!(
        holders_in(&file, "scope:mail.send:assigned", true),
        ["kim@acme.example"]
    );
}

#[tokio::test]
async fn a_targeted_refresh_costs_the_same_on_a_thousand_teammates() {
    let sim = SendgridSimulator::start_with(SimState::large(1000, 10)).await;
    let c = sim_connector(&sim);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    let report = targeted(
        &c,
        &file,
        vec![
            bid("teammate", "t7@acme.example"),
            bid("scope", "mail.send"),
        ],
    )
    .await;
    assert!(report.completed);
    let st = sim.state();
    assert_eq!(st.served, 3, "{:?}", st.requests);
    assert_eq!(st.count("GET teammates"), 0);
}

#[tokio::test]
async fn the_scope_getter_answers_from_the_static_list_without_a_request() {
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let s = syncer_for(&c, "scope").unwrap();
    let getter = s.getter().unwrap();
    for scope in SCOPES {
        let id = ResourceId::new("scope", scope);
        assert_eq!(
            getter.get(GetRequest::new(&id, None)).await.unwrap(),
            scope_resource(scope)
        );
    }
    // Unknown, auto-assigned, newer families and another case are not synced scopes.
    for missing in [
        "no.such.scope",
        "2fa_required",
        "mc.contacts.read",
        "Mail.Send",
        "",
    ] {
        let err = getter
            .get(GetRequest::new(&ResourceId::new("scope", missing), None))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{missing:?}: {err}");
    }
    assert_eq!(sim.state().served, 0);

    // In a targeted sync, an unknown scope is a warning, not a failure.
    let dir = tempfile::tempdir().unwrap();
    let report = targeted(
        &c,
        &dir.path().join("s.c1z"),
        vec![bid("scope", "no.such.scope")],
    )
    .await;
    assert!(report.completed);
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("bid:r:scope/no.such.scope") && w.contains("gone")),
        "{:?}",
        report.warnings
    );
}

#[tokio::test]
async fn a_deleted_teammate_is_not_found_and_a_gateway_answer_is_not() {
    // SendGrid's own 404 (JSON `errors`): the teammate is gone.
    let sim = SendgridSimulator::start().await;
    let c = sim_connector(&sim);
    let s = syncer_for(&c, "teammate").unwrap();
    let err = s
        .getter()
        .unwrap()
        .get(GetRequest::new(
            &ResourceId::new("teammate", "gone@acme.example"),
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");

    // A gateway's HTML 404, an empty 404, a 200 without the teammate or with another
    // one's detail: errors, never "gone" (a warning), never a teammate without scopes,
    // never Jane's scopes as Kim's.
    for (status, body, kind) in [
        (
            404,
            "<html><body><h1>404 Not Found</h1>nginx</body></html>",
            ErrorKind::Unavailable,
        ),
        (404, "", ErrorKind::Unavailable),
        (200, "{}", ErrorKind::Internal),
        (200, "", ErrorKind::Internal),
        (
            200,
            r#"{"username": "jane@acme.example", "scopes": ["mail.send"]}"#,
            ErrorKind::Internal,
        ),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/v3/teammates/kim@acme.example"))
            .respond_with(ResponseTemplate::new(status).set_body_string(body))
            .mount(&server)
            .await;
        let c = mock_connector(&server);
        let s = syncer_for(&c, "teammate").unwrap();
        let id = ResourceId::new("teammate", "kim@acme.example");
        let err = s
            .getter()
            .unwrap()
            .get(GetRequest::new(&id, None))
            .await
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::NotFound, "{status} {body:?}: {err}");
        if status == 404 {
            assert_eq!(err.kind(), kind, "{status} {body:?}: {err}");
            assert_eq!(err.http_status(), Some(404));
        }
        let err = s
            .grants(GrantsRequest::new(
                &Resource::with_id(id.clone(), "kim"),
                PageRequest::first(),
            ))
            .await
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::NotFound, "{status} {body:?}: {err}");
        // A targeted sync fails instead of recording the teammate as gone.
        let dir = tempfile::tempdir().unwrap();
        let options = SyncOptions::default().with_targeted(vec![ResourceBid::new(id)]);
        let err = sync_to_file(&c, &dir.path().join("s.c1z"), &options, None)
            .await
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::NotFound, "{status} {body:?}: {err}");
    }

    // SendGrid's documented 404 body is still "gone".
    let server = MockServer::start().await;
    Mock::given(path("/v3/teammates/kim@acme.example"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"errors": [{"message": "username not found", "field": "username"}]}),
        ))
        .mount(&server)
        .await;
    let c = mock_connector(&server);
    let err = syncer_for(&c, "teammate")
        .unwrap()
        .getter()
        .unwrap()
        .get(GetRequest::new(
            &ResourceId::new("teammate", "kim@acme.example"),
            None,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
}
