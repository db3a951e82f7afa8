//! The connector against wiremock answers shaped as the shipped providers document them:
//! Slack's v1 paths and its `replace` removal, Zoom's groups on the user and fetched token,
//! servers answering PATCH with 204 or with 200 and the resource; sync, group and role
//! grant and revoke, targeted reads, accounts, and the SDK's conformance kit.

mod common;

use common::{Shape, Tenant, User, seed};
use connector_scim::groups::group_member_entitlement;
use connector_scim::roles::role_member_entitlement;
use connector_scim::{Credentials, Scim, ScimApi, ScimConfig};
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::testing::{assert_conformance, check_provisioning_idempotent, fast_retry};
use serde_json::{Value, json};
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn user(id: &str) -> Resource {
    Resource::with_id(ResourceId::new("user", id), id)
}

fn group(id: &str) -> Resource {
    Resource::with_id(ResourceId::new("group", id), id)
}

fn role(id: &str) -> Resource {
    Resource::with_id(ResourceId::new("role", id), id)
}

fn slack_shape() -> Shape {
    Shape {
        root: "/scim/v1".into(),
        ..Shape::default()
    }
}

async fn get(c: &Scim, rt: &str, id: &str) -> Result<Resource> {
    syncer_for(c, rt)
        .unwrap()
        .getter()
        .unwrap()
        .get(GetRequest::new(&ResourceId::new(rt, id), None))
        .await
}

async fn grant(c: &Scim, principal: &Resource, ent: &Entitlement) -> GrantOutcome {
    syncer_for(c, &ent.resource().resource_type)
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(principal, ent))
        .await
        .unwrap()
}

async fn revoke(c: &Scim, principal: &Resource, ent: &Entitlement) -> RevokeOutcome {
    syncer_for(c, &ent.resource().resource_type)
        .unwrap()
        .provisioner()
        .unwrap()
        .revoke(RevokeRequest::new(&Grant::new(ent, principal.id.clone())))
        .await
        .unwrap()
}

#[tokio::test]
async fn slack_v1_passes_the_conformance_kit_with_baton_scims_and_the_shipped_file() {
    for provider in [common::upstream("slack"), common::shipped("slack")] {
        let t = Tenant::start(slack_shape(), seed()).await;
        let c = t.connector(provider);
        let report = assert_conformance(&c).await;
        assert_eq!(report.resources_by_type["user"], 3);
        assert_eq!(report.resources_by_type["group"], 2);
        assert_eq!(report.resources_by_type["role"], 2);
        // Users and groups read back by id (GET /Users/{id}, /Groups/{id}) agree.
        assert_eq!(report.fetched_by_id, 5);
        // Memberships (2) and roles (2).
        assert_eq!(report.grants, 4);
    }
}

#[tokio::test]
async fn users_map_status_email_name_and_login_with_the_primary_email_filter_in_both_dialects() {
    for provider in [common::upstream("slack"), common::shipped("slack")] {
        let t = Tenant::start(slack_shape(), seed()).await;
        let c = t.connector(provider);
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
async fn slack_group_revoke_by_replace_removes_one_member_and_never_sends_the_others() {
    let t = Tenant::start(slack_shape(), seed()).await;
    // baton-scim's slack.yaml: add, and remove by `replace`.
    let c = t.connector(common::upstream("slack"));
    let ent = group_member_entitlement(&group("G1"));
    match grant(&c, &user("U3"), &ent).await {
        GrantOutcome::Granted(g) => assert_eq!(g[0].id(), "group:G1:member:user:U3"),
        other => panic!("{other:?}"),
    }
    assert_eq!(t.members("G1"), ["U1", "U2", "U3"]);
    assert_eq!(revoke(&c, &user("U1"), &ent).await, RevokeOutcome::Revoked);
    assert_eq!(t.members("G1"), ["U2", "U3"]);
    let patches = t.patches();
    assert_eq!(patches[0].0, "/scim/v1/Groups/G1");
    assert_eq!(
        patches[0].1,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "add", "path": "members", "value": [{"value": "U3"}]}]})
    );
    assert_eq!(
        patches[1].1["Operations"],
        json!([{"op": "remove", "path": "members[value eq \"U1\"]"}])
    );
    let sent = patches[1].1.to_string();
    assert!(!sent.contains("U2") && !sent.contains("U3"), "{sent}");
    // Again: nothing to do, nothing sent.
    assert_eq!(
        revoke(&c, &user("U1"), &ent).await,
        RevokeOutcome::AlreadyRevoked
    );
    assert_eq!(
        grant(&c, &user("U3"), &ent).await,
        GrantOutcome::AlreadyExists
    );
    assert_eq!(t.patches().len(), 2);
    // Only users are members.
    let err = syncer_for(&c, "group")
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(&group("G2"), &ent))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn role_grant_sends_the_value_and_revoke_names_the_role() {
    let t = Tenant::start(slack_shape(), seed()).await;
    let c = t.connector(common::upstream("slack"));
    let member = role_member_entitlement(&role("member"));
    assert!(matches!(
        grant(&c, &user("U1"), &member).await,
        GrantOutcome::Granted(_)
    ));
    assert_eq!(t.roles("U1"), ["admin", "member"]);
    let admin = role_member_entitlement(&role("admin"));
    assert_eq!(
        revoke(&c, &user("U1"), &admin).await,
        RevokeOutcome::Revoked
    );
    assert_eq!(t.roles("U1"), ["member"]);
    let patches = t.patches();
    assert_eq!(patches[0].0, "/scim/v1/Users/U1");
    assert_eq!(
        patches[0].1["Operations"],
        json!([{"op": "add", "path": "roles", "value": [{"value": "member"}]}])
    );
    assert_eq!(
        patches[1].1["Operations"],
        json!([{"op": "remove", "path": "roles[value eq \"admin\"]"}])
    );
    assert_eq!(
        revoke(&c, &user("U1"), &admin).await,
        RevokeOutcome::AlreadyRevoked
    );
    assert_eq!(
        grant(&c, &user("U1"), &member).await,
        GrantOutcome::AlreadyExists
    );
}

#[tokio::test]
async fn provisioning_is_idempotent_with_patch_answered_204_or_200() {
    for no_content in [true, false] {
        let shape = Shape {
            patch_no_content: no_content,
            ..Shape::default()
        };
        let t = Tenant::start(shape, seed()).await;
        let c = t.connector(common::shipped("slack"));
        check_provisioning_idempotent(&c, &user("U3"), &group_member_entitlement(&group("G2")))
            .await
            .unwrap();
        check_provisioning_idempotent(&c, &user("U3"), &role_member_entitlement(&role("admin")))
            .await
            .unwrap();
        assert!(t.members("G2").is_empty() && t.roles("U3").is_empty());
        assert_eq!(t.patches().len(), 4, "204: {no_content}");
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
    let config = ScimConfig::with_env(
        common::upstream("tesorio"),
        Credentials {
            api_key: Some("k".to_string().into()),
            ..Credentials::default()
        },
        Some(&format!("{}/scim/v2", server.uri())),
        &|_| None,
    )
    .unwrap();
    let c = Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap());
    let ent = group_member_entitlement(&group("G1"));
    assert_eq!(
        grant(&c, &user("U1"), &ent).await,
        GrantOutcome::AlreadyExists
    );
}

/// Zoom: a Server-to-Server OAuth token fetched from `authUrl` (basic client credentials,
/// the account-credentials grant) and sent as a bearer token; groups listed on each user
/// by name only, found by a displayName filter.
#[tokio::test]
async fn zoom_reads_groups_on_the_user_with_a_fetched_token() {
    let shape = Shape {
        root: "/scim2".into(),
        groups_on_user: true,
        ..Shape::default()
    };
    let t = Tenant::start(shape, seed()).await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("authorization", "Basic Y2lkOmNzZWNyZXQtU0VDUkVU"))
        .and(body_string(
            "grant_type=account_credentials&account_id=acc-1",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "zoom-tok", "token_type": "bearer", "expires_in": 3600}),
        ))
        .with_priority(1)
        .expect(1)
        .mount(&t.server)
        .await;
    let mut provider = common::upstream("zoom");
    provider.auth.auth_url = Some(format!("{}/oauth/token", t.server.uri()));
    let creds = Credentials {
        client_id: Some("cid".to_string().into()),
        client_secret: Some("csecret-SECRET".to_string().into()),
        account_id: Some("acc-1".into()),
        ..Credentials::default()
    };
    let config = ScimConfig::with_env(provider, creds, Some(&t.base()), &|_| None).unwrap();
    let c = Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap());
    let report = assert_conformance(&c).await;
    assert_eq!(report.resources_by_type["group"], 2);
    // Ada and Bob are in Engineering, read from the users' side.
    assert_eq!(report.grants, 2 + 2);
    let requests = t.server.received_requests().await.unwrap();
    let scim: Vec<_> = requests
        .iter()
        .filter(|r| r.url.path().starts_with("/scim2"))
        .collect();
    assert!(
        scim.iter()
            .all(|r| r.headers["authorization"] == "Bearer zoom-tok")
    );
    assert!(
        scim.iter()
            .all(|r| r.headers["accept"] == "application/scim+json")
    );
    assert!(
        scim.iter().any(|r| r
            .url
            .query()
            .is_some_and(|q| q.contains("filter=displayName+eq"))),
        "groups found by name"
    );
    // Grant from the user's side: read the user, then PATCH the group.
    let ent = group_member_entitlement(&group("G2"));
    assert!(matches!(
        grant(&c, &user("U3"), &ent).await,
        GrantOutcome::Granted(_)
    ));
    assert_eq!(t.members("G2"), ["U3"]);
    assert_eq!(
        grant(&c, &user("U3"), &ent).await,
        GrantOutcome::AlreadyExists
    );
    assert_eq!(revoke(&c, &user("U3"), &ent).await, RevokeOutcome::Revoked);
    assert!(t.members("G2").is_empty());
}

#[tokio::test]
async fn a_missing_total_and_a_bad_record_do_not_fail_the_sync() {
    let shape = Shape {
        no_total: true,
        max_page: 2,
        ..Shape::default()
    };
    let mut state = seed();
    state.users.push(User::new("U4", "Di", "Dee"));
    state
        .raw_users
        .push(json!({"userName": "no-id@example.com", "active": true}));
    state
        .raw_users
        .push(json!({"id": {"not": "a string"}, "active": "yes"}));
    let t = Tenant::start(shape, state).await;
    let c = t.connector(common::upstream("slack"));
    let users = syncer_for(&c, "user").unwrap();
    let mut token = None;
    let mut ids = Vec::new();
    for _ in 0..10 {
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
            None => break,
        }
    }
    assert_eq!(ids, ["U1", "U2", "U3", "U4"]);
}

#[tokio::test]
async fn accounts_are_created_deleted_enabled_and_disabled_where_the_file_allows() {
    let t = Tenant::start(Shape::default(), seed()).await;
    let c = t.connector(common::shipped("slack"));
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
    let c = t.connector(common::shipped("whimsical"));
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
    let t = Tenant::start(slack_shape(), seed()).await;
    assert_conformance(&t.connector(common::upstream("slack"))).await;

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
    let shape = Shape {
        max_page: 2,
        ..Shape::default()
    };
    let mut state = seed();
    for i in 4..=9 {
        state
            .users
            .push(User::new(&format!("U{i}"), &format!("P{i}"), "Q"));
    }
    let t = Tenant::start(shape, state).await;
    let c = t.connector(common::shipped("tesorio"));
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
