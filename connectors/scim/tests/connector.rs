//! The connector against the simulated SCIM application (the SDK's tenant in a provider
//! file's shape) and, for answers the tenant never gives (a 409 to an add, records
//! without an id, `requestDefaults` checked on the wire, refused credentials), wiremock:
//! targeted reads, paging, accounts and actions, credentials and secrets. Sync, grant and
//! revoke across the shipped providers' shapes are in `tenant.rs`.

mod common;

use common::{connector, get, grant, group, start, user};
use connector_scim::groups::group_member_entitlement;
use connector_scim::simulator::{ScimSimulator, SimState, shape_for};
use connector_scim::{Credentials, Scim, ScimApi, ScimConfig};
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::testing::scim::{Population, TotalResults};
use connector_sdk::testing::{assert_conformance, fast_retry};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn users_map_status_email_name_and_login_with_the_primary_email_filter_in_both_dialects() {
    for provider in [common::upstream("slack"), common::shipped("slack")] {
        let sim = start(&provider, |s| s).await;
        let c = connector(&sim, provider);
        let ada = get(&c, "user", "U1").await.unwrap();
        let trait_ = ada.user.as_ref().unwrap();
        // baton-scim's bare filter never parses and it falls back to emails[0]; here it works.
        assert_eq!(trait_.primary_email(), Some("ada@example.com"));
        assert_eq!(trait_.login, "ada@example.com");
        assert_eq!(trait_.status, UserStatus::Enabled);
        assert_eq!(ada.display_name, "Ada Lovelace");
        let cy = get(&c, "user", "U3").await.unwrap();
        assert_eq!(cy.user.unwrap().status, UserStatus::Disabled);
        let err = get(&c, "user", "nobody").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        let err = get(&c, "group", "nobody").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert_eq!(
            get(&c, "group", "G1").await.unwrap().display_name,
            "Engineering"
        );
        // A dot-segment id never becomes another path.
        let err = get(&c, "user", "..").await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }
}

#[tokio::test]
async fn a_409_on_add_is_already_a_member() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Groups/G1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "G1", "displayName": "E", "members": []})),
        )
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Groups/G1"))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"status": "409", "detail": "member exists"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = common::keyed(
        common::upstream("tesorio"),
        &format!("{}/scim/v2", server.uri()),
    );
    let ent = group_member_entitlement(&group("G1"));
    assert_eq!(
        grant(&c, &user("U1"), &ent).await,
        GrantOutcome::AlreadyExists
    );
}

/// Every user of a listing, page by page as the engine asks.
async fn list_all(c: &Scim) -> Vec<String> {
    let users = syncer_for(c, "user").unwrap();
    let mut token: Option<PageToken> = None;
    let mut ids = Vec::new();
    for _ in 0..20 {
        let page = users
            .list(ListRequest::new(
                None,
                match token.take() {
                    Some(t) => PageRequest::after(t),
                    None => PageRequest::first(),
                },
            ))
            .await
            .unwrap();
        ids.extend(page.items.iter().map(|r| r.id.resource.clone()));
        match page.next {
            Some(n) => token = Some(n),
            None => return ids,
        }
    }
    panic!("more than 20 pages: {ids:?}");
}

#[tokio::test]
async fn a_missing_total_ends_the_listing_at_the_first_empty_page() {
    let provider = common::upstream("slack");
    let shape = shape_for(&provider)
        .total_results(TotalResults::Missing)
        .max_page(2);
    let mut state = SimState::seeded(shape);
    state.populate(&Population::new(4, 0, 0));
    let sim = ScimSimulator::start(state).await;
    let c = connector(&sim, provider);
    assert_eq!(
        list_all(&c).await,
        ["U1", "U2", "U3", "u000003", "u000004", "u000005", "u000006"]
    );
}

/// Records the tenant never serves (no id, an id that is not a string) are warnings; the
/// good ones around them are synced.
#[tokio::test]
async fn a_bad_record_does_not_fail_the_page() {
    let server = MockServer::start().await;
    let page =
        |start: u64, items: Value| {
            let n = items.as_array().map_or(0, Vec::len);
            Mock::given(method("GET"))
                .and(path("/scim/v1/Users"))
                .and(query_param("startIndex", start.to_string()))
                .respond_with(ResponseTemplate::new(200).set_body_json(
                    json!({"startIndex": start, "itemsPerPage": n, "Resources": items}),
                ))
        };
    let good =
        |id: &str| json!({"id": id, "userName": format!("{id}@example.com"), "active": true});
    page(1, json!([good("U1"), good("U2")]))
        .mount(&server)
        .await;
    page(
        3,
        json!([{"userName": "no-id@example.com", "active": true},
               {"id": {"not": "a string"}, "active": "yes"}]),
    )
    .mount(&server)
    .await;
    page(5, json!([good("U3")])).mount(&server).await;
    page(6, json!([])).mount(&server).await;
    let c = common::keyed(
        common::upstream("slack"),
        &format!("{}/scim/v1", server.uri()),
    );
    assert_eq!(list_all(&c).await, ["U1", "U2", "U3"]);
}

#[tokio::test]
async fn accounts_are_created_deleted_enabled_and_disabled_where_the_file_allows() {
    let sim = start(&common::shipped("slack"), |s| s).await;
    let c = connector(&sim, common::shipped("slack"));
    let users = syncer_for(&c, "user").unwrap();
    let am = users
        .account_manager()
        .expect("slack provisions with core attributes");
    let mut info = AccountInfo {
        login: Some("new@example.com".into()),
        ..AccountInfo::default()
    };
    info.profile.insert("first_name".into(), "New".into());
    let created = am
        .create_account(AccountRequest::new(
            info.clone(),
            CredentialOption::NoPassword,
        ))
        .await
        .unwrap();
    let AccountOutcome::Created { resource, .. } = created else {
        panic!("{created:?}");
    };
    assert_eq!(resource.user.as_ref().unwrap().login, "new@example.com");
    let again = am
        .create_account(AccountRequest::new(info, CredentialOption::NoPassword))
        .await
        .unwrap();
    assert!(
        matches!(again, AccountOutcome::AlreadyExists { .. }),
        "{again:?}"
    );
    let actions = c.actions();
    let disable = actions
        .iter()
        .find(|a| a.schema().name == "disable_user")
        .unwrap();
    let mut args = Profile::new();
    args.insert("user_id".into(), resource.id.resource.clone().into());
    let out = connector_sdk::action::invoke_action(disable.as_ref(), &args)
        .await
        .unwrap();
    assert_eq!(out["active"], Value::Bool(false));
    let d = users.deleter().unwrap();
    assert_eq!(
        d.delete(DeleteRequest::new(&resource.id)).await.unwrap(),
        DeleteOutcome::Deleted
    );
    assert_eq!(
        d.delete(DeleteRequest::new(&resource.id)).await.unwrap(),
        DeleteOutcome::AlreadyDeleted
    );
    // A file without provisioning offers none of it.
    let c = connector(&sim, common::shipped("whimsical"));
    assert!(syncer_for(&c, "user").unwrap().account_manager().is_none());
    assert!(c.actions().is_empty());
}

#[tokio::test]
async fn request_defaults_and_the_api_key_go_on_every_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/Users"))
        .and(query_param("tenant", "t1"))
        .and(query_param("startIndex", "1"))
        .and(header("x-org", "acme"))
        .and(header("authorization", "Token k3y"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Resources": []})))
        .expect(1)
        .mount(&server)
        .await;
    let text = format!(
        r#"apiEndpoint: "{}/api"
auth: {{authType: apiKey, apiKeyPrefix: Token}}
requestDefaults:
  headers: {{x-org: "${{ORG}}"}}
  queryParams: {{tenant: t1}}
user: {{id: id, firstName: name.givenName, lastName: name.familyName, primaryEmail: "emails[0].value", active: active}}
pagination: {{totalResults: totalResults, itemsPerPage: itemsPerPage, startIndex: startIndex}}
"#,
        server.uri()
    );
    let p = connector_scim::Provider::parse("own.yaml", &text).unwrap();
    let creds = Credentials {
        api_key: Some("k3y".to_string().into()),
        ..Credentials::default()
    };
    let env = |k: &str| (k == "ORG").then(|| "acme".to_string());
    let config = ScimConfig::with_env(p, creds, None, &env).unwrap();
    let c = Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap());
    c.validate().await.unwrap();
}

#[tokio::test]
async fn a_missing_credential_names_its_flag() {
    let config = ScimConfig::with_env(
        common::upstream("slack"),
        Credentials::default(),
        None,
        &|_| None,
    )
    .unwrap();
    let err = ScimApi::new(&config).unwrap_err().to_string();
    assert!(
        err.contains("--api-key (BATON_API_KEY) is required"),
        "{err}"
    );
    let zoom = ScimConfig::with_env(
        common::upstream("zoom"),
        Credentials::default(),
        None,
        &|_| None,
    )
    .unwrap();
    let err = ScimApi::new(&zoom).unwrap_err().to_string();
    assert!(
        err.contains("--scim-client-id (BATON_SCIM_CLIENT_ID)"),
        "{err}"
    );
}

/// No credential reaches the logs (at trace level) or an error: the API key through a
/// whole sync and a refused request, the client secret through a refused token request.
#[tokio::test]
async fn secrets_never_reach_logs_or_errors() {
    use connector_sdk::testing::{LogCapture, assert_no_secret};
    let logs = LogCapture::start();
    let key: secrecy::SecretString = "k3y-SECRET".to_string().into();
    let sim = start(&common::upstream("slack"), |s| s).await;
    assert_conformance(&connector(&sim, common::upstream("slack"))).await;

    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "bad token"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_client"})))
        .mount(&server)
        .await;
    let creds = Credentials {
        api_key: Some(key.clone()),
        ..Credentials::default()
    };
    let base = format!("{}/scim/v1", server.uri());
    let config =
        ScimConfig::with_env(common::upstream("slack"), creds, Some(&base), &|_| None).unwrap();
    let c = Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap());
    let err = c.validate().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("--api-key"), "{shown}");
    assert_no_secret(&shown, &[&key]);

    let secret: secrecy::SecretString = "csecret-SECRET".to_string().into();
    let mut zoom = common::upstream("zoom");
    zoom.auth.auth_url = Some(format!("{}/oauth/token", server.uri()));
    let creds = Credentials {
        client_id: Some("cid".to_string().into()),
        client_secret: Some(secret.clone()),
        ..Credentials::default()
    };
    let config = ScimConfig::with_env(zoom, creds, Some(&base), &|_| None).unwrap();
    assert_no_secret(&format!("{config:?}"), &[&secret]);
    let c = Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap());
    let err = c.validate().await.unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(shown.contains("auth.authUrl"), "{shown}");
    assert_no_secret(&shown, &[&secret]);
    assert_no_secret(&logs.text(), &[&key, &secret]);
}

/// With a total, the first page hands out every other page to fetch at once, stepping by
/// the page length the server used (here it caps pages at 2).
#[tokio::test]
async fn pages_after_the_first_are_handed_out_at_once() {
    let tesorio = common::shipped("tesorio");
    let mut state = SimState::seeded(shape_for(&tesorio).max_page(2));
    state.populate(&Population::new(6, 0, 0));
    let sim = ScimSimulator::start(state).await;
    let c = connector(&sim, tesorio);
    let first = syncer_for(&c, "user")
        .unwrap()
        .list(ListRequest::new(None, PageRequest::first()))
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    assert_eq!(first.next, None);
    let handed: Vec<String> = first.parallel.map(|t| t.as_str().to_string()).collect();
    assert_eq!(handed, ["p:3", "p:5", "p:7", "p:9"]);
    let report = assert_conformance(&c).await;
    assert_eq!(report.resources_by_type["user"], 9);
}

/// The role listing reads every user: with a total of a billion it stops at the first
/// empty page, a window of requests past the real ones, not a billion.
#[tokio::test]
async fn a_lying_total_costs_the_role_scan_a_window_of_requests() {
    let slack = common::shipped("slack");
    let shape = shape_for(&slack)
        .max_page(2)
        .total_results(TotalResults::Inflated(1_000_000_000));
    let mut state = SimState::seeded(shape);
    state.populate(&Population::new(4, 0, 0).roles(2));
    let sim = ScimSimulator::start(state).await;
    let c = connector(&sim, slack);
    let page = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        syncer_for(&c, "role")
            .unwrap()
            .list(ListRequest::new(None, PageRequest::first())),
    )
    .await
    .expect("the role scan ends")
    .unwrap();
    let mut roles: Vec<String> = page.items.iter().map(|r| r.id.resource.clone()).collect();
    roles.sort();
    assert_eq!(roles, ["admin", "member", "role-0", "role-1"]);
    // Four pages of users (seven users, pages of two), then at most a window of empty ones.
    let lists = sim.state().count("GET Users");
    assert!((4..=20).contains(&lists), "{lists} listings");
}
