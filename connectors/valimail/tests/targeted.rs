//! Targeted syncs (`--sync-resources`, C1's refresh after provisioning, service-mode spec
//! §8.3): both types can be fetched by id; a member type granted through the connector is
//! in the partial sync of the user and the member type; the member-type getter's answers,
//! on the simulated tenant and on servers that answer Valimail's filter otherwise.

use connector_sdk::getter::GetRequest;

use connector_sdk::bid::ResourceBid;
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::store::C1zReader;
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{fast_retry, holders_in, types_with_getter};
use connector_valimail::member_types::{member_entitlement, member_type_resource};
use connector_valimail::simulator::ValimailSimulator;
use connector_valimail::{Valimail, ValimailClient, ValimailConfig};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USERS: &str = "/accounts/acme/scim/v2/Users";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User";
const BOB: &str = "2906d4927bf178077519";

async fn get(c: &Valimail, value: &str) -> Result<Resource> {
    let s = syncer_for(c, "member_type").unwrap();
    s.getter()
        .unwrap()
        .get(GetRequest::new(
            &ResourceId::new("member_type", value),
            None,
        ))
        .await
}

fn requests(sim: &ValimailSimulator) -> u64 {
    let st = sim.state();
    st.requests - st.auth_calls
}

#[tokio::test]
async fn every_provisioning_type_and_principal_type_has_a_getter() {
    let sim = ValimailSimulator::start().await;
    let c = Valimail::new(sim.config()).unwrap();
    let with_getter: Vec<String> = types_with_getter(&c);
    assert_eq!(with_getter, ["user", "member_type"]);
}

#[tokio::test]
async fn a_granted_member_type_is_in_the_targeted_sync_of_the_user_and_the_type() {
    let sim = ValimailSimulator::start().await;
    let c = Valimail::new(sim.config()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    sync_to_file(&c, &file, &SyncOptions::default(), None)
        .await
        .unwrap();
    let full = C1zReader::open(&file).unwrap().sync().sync_id.clone();

    let bob = Resource::with_id(ResourceId::new("user", BOB), "Bob");
    let owner = member_entitlement(&member_type_resource("owner"));
    let out = syncer_for(&c, "member_type")
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(&bob, &owner))
        .await
        .unwrap();
    assert!(matches!(out, GrantOutcome::Granted(_)), "{out:?}");

    let options = SyncOptions::default().with_targeted(vec![
        ResourceBid::new(ResourceId::new("user", BOB)),
        ResourceBid::new(ResourceId::new("member_type", "owner")),
    ]);
    let report = sync_to_file(&c, &file, &options, None).await.unwrap();
    assert!(report.completed);
    assert_eq!(report.stats.resources, 2, "{:?}", report.stats);

    let holders = |latest: bool| holders_in(&file, "member_type:owner:member", latest);
    let partial = C1zReader::open(&file).unwrap().with_latest_sync().unwrap();
    assert_eq!(partial.sync().sync_type, "partial");
    assert_eq!(partial.sync().parent_sync_id, full);
    // Every owner, Bob included: a member type's grants come from all users.
    assert_eq!(holders(true), [BOB, "49c398b12b", "7a7a7a7a7a"]);
    assert!(!holders(false).contains(&BOB.to_string()));
    let user = partial
        .resource(&ResourceId::new("user", BOB))
        .unwrap()
        .unwrap();
    assert_eq!(user.user.unwrap().profile["member_type"], json!("owner"));
}

#[tokio::test]
async fn member_types_are_fetched_with_the_fewest_requests_and_missing_ones_are_not_found() {
    let sim = ValimailSimulator::start().await;
    let c = Valimail::new(sim.config()).unwrap();
    // The static types exist in every account: no request.
    for v in ["owner", "member", "marketer"] {
        assert_eq!(get(&c, v).await.unwrap(), member_type_resource(v));
    }
    assert_eq!(requests(&sim), 0);
    // A seen value ("Admin" on Ed) is found with one filtered request.
    assert_eq!(
        get(&c, "admin").await.unwrap(),
        member_type_resource("admin")
    );
    assert_eq!(requests(&sim), 1);
    // An id the listing never produces is NotFound without a request.
    for v in ["Admin", " admin", ""] {
        let err = get(&c, v).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{v:?}");
    }
    assert_eq!(requests(&sim), 1);
    // A value no user has: the filter finds nobody, then every user is read (9 users,
    // pages of 4) before answering NotFound.
    let err = get(&c, "auditor").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    assert_eq!(requests(&sim), 1 + 1 + 3);
    // Once no user holds it any more, a value is gone.
    sim.state().users.retain(|u| u.id != "6f7e8d9c0b");
    assert_eq!(
        get(&c, "admin").await.unwrap_err().kind(),
        ErrorKind::NotFound
    );

    // In a targeted sync, a gone member type is a warning.
    let dir = tempfile::tempdir().unwrap();
    let options = SyncOptions::default().with_targeted(vec![ResourceBid::new(ResourceId::new(
        "member_type",
        "admin",
    ))]);
    let report = sync_to_file(&c, &dir.path().join("s.c1z"), &options, None)
        .await
        .unwrap();
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("bid:r:member_type/admin") && w.contains("gone")),
        "{:?}",
        report.warnings
    );
}

async fn server() -> (MockServer, Valimail) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": "tok", "expires-at": "2099-10-31T18:26:50Z"})),
        )
        .mount(&server)
        .await;
    let config = ValimailConfig::new(
        SecretString::from("client-1"),
        SecretString::from("app-1"),
        "acme",
        Some(&server.uri()),
    )
    .unwrap();
    let c = Valimail::with_client(ValimailClient::with_retry(config, fast_retry()).unwrap());
    (server, c)
}

fn scim(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(body.to_string().into_bytes(), "application/scim+json")
}

fn list(users: &[(&str, &str)]) -> Value {
    let resources: Vec<Value> = users
        .iter()
        .map(|(id, m)| json!({"id": id, "userName": format!("{id}@x.com"), EXT: {"memberType": m}}))
        .collect();
    json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "totalResults": resources.len(), "Resources": resources})
}

/// The filtered request (it has a `filter`) answered with `filter`, the enumeration
/// (startIndex without filter) with `everyone`.
async fn answers(server: &MockServer, filter: ResponseTemplate, everyone: Value) {
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(wiremock::matchers::query_param_contains(
            "filter",
            "memberType",
        ))
        .respond_with(filter)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("startIndex", "1"))
        .and(query_param("count", "100"))
        .respond_with(scim(200, everyone))
        .mount(server)
        .await;
}

#[tokio::test]
async fn the_getter_checks_what_the_filter_answers_and_falls_back_to_every_user() {
    let everyone = list(&[("u1", "owner"), ("u2", "Auditor")]);
    let cases: Vec<(&str, ResponseTemplate)> = vec![
        // Valimail refuses the filter on the extension attribute.
        (
            "refused",
            scim(
                400,
                json!({"status": "400", "scimType": "invalidFilter", "detail": "Unsupported filter"}),
            ),
        ),
        ("not implemented", ResponseTemplate::new(501)),
        // A case-sensitive comparison finds no "auditor" among "Auditor".
        ("case-sensitive", scim(200, list(&[]))),
        // The filter ignored: the first user, who is not an auditor.
        ("ignored", scim(200, list(&[("u1", "owner")]))),
    ];
    for (what, filter) in cases {
        let (server, c) = server().await;
        answers(&server, filter, everyone.clone()).await;
        assert_eq!(
            get(&c, "auditor").await.unwrap(),
            member_type_resource("auditor"),
            "{what}"
        );
        let err = get(&c, "reviewer").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
    }
    // A server that filters as documented: one request, no enumeration.
    let (server, c) = server().await;
    answers(&server, scim(200, list(&[("u2", "Auditor")])), json!({})).await;
    assert_eq!(
        get(&c, "auditor").await.unwrap(),
        member_type_resource("auditor")
    );
    let listed = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == USERS)
        .count();
    assert_eq!(listed, 1);
}

#[tokio::test]
async fn a_gateway_answer_is_an_error_never_a_missing_member_type() {
    for (what, answer) in [
        (
            "HTML 404",
            ResponseTemplate::new(404).set_body_string("<html><h1>404 Not Found</h1></html>"),
        ),
        ("empty 404", ResponseTemplate::new(404)),
        ("empty 200", ResponseTemplate::new(200)),
        (
            "HTML 200",
            ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
        ),
    ] {
        let (server, c) = server().await;
        Mock::given(method("GET"))
            .and(path(USERS))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = get(&c, "auditor").await.unwrap_err();
        assert_ne!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
        if what.contains("404") {
            assert_eq!(err.kind(), ErrorKind::Unavailable, "{what}: {err}");
            assert_eq!(err.http_status(), Some(404), "{what}");
        }
        // A targeted sync fails rather than recording the member type as gone.
        let dir = tempfile::tempdir().unwrap();
        let options = SyncOptions::default().with_targeted(vec![ResourceBid::new(
            ResourceId::new("member_type", "auditor"),
        )]);
        let err = sync_to_file(&c, &dir.path().join("s.c1z"), &options, None)
            .await
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
    }
}
