//! The Valimail connector against wiremock servers replaying the JSON shapes of
//! `shared/specs/valimail.md`: the test plan of §7 and the edge cases of §8 (named
//! `edge_NN_…` after their number in the spec).

use std::sync::Arc;
use std::time::Duration;

use connector_sdk::action::invoke_action;
use connector_sdk::connector::{action_for, syncer_for};
use connector_sdk::http::RetryPolicy;
use connector_sdk::prelude::*;
use connector_valimail::{Valimail, ValimailClient, ValimailConfig};
use futures::TryStreamExt;
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const USERS: &str = "/accounts/acme/scim/v2/Users";
const DOT: &str =
    "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User.memberType";
const EXT: &str = "urn:ietf:params:scim:schemas:extension:valimailuserextension:2.0:User";

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 5,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(10),
    }
}

fn connector_for(server: &MockServer, slug: &str) -> Valimail {
    let config = ValimailConfig::new(
        SecretString::from("client-1"),
        SecretString::from("app-1"),
        slug,
        Some(&server.uri()),
    )
    .unwrap();
    Valimail::with_client(ValimailClient::with_retry(config, fast()).unwrap())
}

async fn auth(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/auth"))
        .and(body_json(
            json!({"client-id": "client-1", "app-id": "app-1"}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"token": "tok", "expires-at": "2099-10-31T18:26:50.597068836Z"}),
            ),
        )
        .mount(server)
        .await;
}

async fn setup() -> (MockServer, Valimail) {
    let server = MockServer::start().await;
    auth(&server).await;
    let c = connector_for(&server, "acme");
    (server, c)
}

fn scim(status: u16, body: Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(body.to_string().into_bytes(), "application/scim+json")
}

fn u(id: &str, email: &str, member_type: Option<&str>, active: Option<bool>) -> Value {
    let mut v = json!({"id": id, "userName": email, "name": {"givenName": "G", "familyName": id}});
    if let Some(m) = member_type {
        v[EXT] = json!({"memberType": m});
    }
    if let Some(a) = active {
        v["active"] = a.into();
    }
    v
}

fn list(resources: Vec<Value>, total: Option<usize>) -> Value {
    let mut v = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"], "Resources": resources});
    if let Some(t) = total {
        v["totalResults"] = t.into();
    }
    v
}

async fn users_of(c: &Valimail) -> Result<Vec<Resource>> {
    let s = syncer_for(c, "user").unwrap();
    stream_pages("users", |req| {
        let s = s.clone();
        async move { s.list(ListRequest::new(None, req)).await }
    })
    .try_collect()
    .await
}

async fn hits(server: &MockServer, m: &str, p: &str) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method.as_str() == m && r.url.path() == p)
        .collect()
}

fn user_res(id: &str) -> Resource {
    Resource::with_id(ResourceId::new("user", id), id)
}

fn member_type_ent(value: &str) -> Entitlement {
    let r = connector_valimail::member_types::member_type_resource(value);
    connector_valimail::member_types::member_entitlement(&r)
}

async fn provisioner(c: &Valimail) -> Arc<dyn ResourceSyncer> {
    syncer_for(c, "member_type").unwrap()
}

// ---- §7 test plan and §8 edge cases ----

#[tokio::test]
async fn edge_01_auth_accepts_201_with_expires_at_underscore_and_any_fraction() {
    for (status, body) in [
        (
            200,
            json!({"token": "tok", "expires-at": "2099-10-31T18:26:50.597068836Z"}),
        ),
        (
            201,
            json!({"token": "tok", "expires_at": "2099-05-10T08:00:00Z"}),
        ),
        (
            201,
            json!({"token": "tok", "expires_at": "2099-05-10T08:00:00.5Z"}),
        ),
        (200, json!({"token": "tok"})),
    ] {
        let server = MockServer::start().await;
        Mock::given(path("/auth"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body.clone()))
            .mount(&server)
            .await;
        Mock::given(path(USERS))
            .and(header("authorization", "Bearer tok"))
            .respond_with(scim(200, list(vec![], Some(0))))
            .mount(&server)
            .await;
        let c = connector_for(&server, "acme");
        c.validate().await.unwrap_or_else(|e| panic!("{body}: {e}"));
        users_of(&c).await.unwrap();
        assert_eq!(
            hits(&server, "POST", "/auth").await.len(),
            1,
            "token cached: {body}"
        );
    }
}

#[tokio::test]
async fn auth_refusals_are_fatal_and_name_the_flags() {
    for status in [400, 401, 404, 422] {
        let server = MockServer::start().await;
        Mock::given(path("/auth"))
            .respond_with(ResponseTemplate::new(status).set_body_json(json!({"message": "nope"})))
            .mount(&server)
            .await;
        let err = connector_for(&server, "acme").validate().await.unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Unauthenticated | ErrorKind::InvalidArgument
            ),
            "{status}: {err}"
        );
        assert!(err.to_string().contains("--valimail-client-id"), "{err}");
        assert_eq!(
            hits(&server, "POST", "/auth").await.len(),
            1,
            "no retry on {status}"
        );
        assert_eq!(hits(&server, "GET", USERS).await.len(), 0);
    }
}

#[tokio::test]
async fn edge_02_a_401_reauthenticates_once_and_replays() {
    let server = MockServer::start().await;
    Mock::given(path("/auth"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": "old"})))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/auth"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"token": "new"})))
        .mount(&server)
        .await;
    Mock::given(path(USERS))
        .and(header("authorization", "Bearer old"))
        .respond_with(scim(401, json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "401", "scimType": "unauthorized", "detail": "Unauthorized"})))
        .mount(&server)
        .await;
    Mock::given(path(USERS))
        .and(header("authorization", "Bearer new"))
        .respond_with(scim(
            200,
            list(vec![u("a", "a@x.com", Some("owner"), None)], Some(1)),
        ))
        .mount(&server)
        .await;
    let c = connector_for(&server, "acme");
    assert_eq!(users_of(&c).await.unwrap().len(), 1);
    assert_eq!(hits(&server, "POST", "/auth").await.len(), 2);
}

#[tokio::test]
async fn a_second_401_is_unauthenticated() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(scim(
            401,
            json!({"status": "401", "scimType": "unauthorized", "detail": "Unauthorized"}),
        ))
        .mount(&server)
        .await;
    let err = users_of(&c).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(hits(&server, "GET", USERS).await.len(), 2);
}

#[tokio::test]
async fn a_429_waits_for_retry_after_or_backs_off_then_succeeds() {
    for retry_after in [Some("1"), None] {
        let (server, c) = setup().await;
        let mut limited = ResponseTemplate::new(429)
            .set_body_json(json!({"message": "Over Rate - Rate limit exceeded"}));
        if let Some(ra) = retry_after {
            limited = limited.insert_header("retry-after", ra);
        }
        Mock::given(path(USERS))
            .respond_with(limited)
            .up_to_n_times(1)
            .mount(&server)
            .await;
        Mock::given(path(USERS))
            .respond_with(scim(200, list(vec![], Some(0))))
            .mount(&server)
            .await;
        let t0 = std::time::Instant::now();
        users_of(&c).await.unwrap();
        if retry_after.is_some() {
            assert!(
                t0.elapsed() >= Duration::from_millis(950),
                "{:?}",
                t0.elapsed()
            );
        }
        assert_eq!(hits(&server, "GET", USERS).await.len(), 2);
    }
}

#[tokio::test]
async fn edge_03_a_server_without_pagination_returns_everything_once() {
    let (server, c) = setup().await;
    let all: Vec<Value> = (0..7)
        .map(|i| {
            u(
                &format!("{i:010x}"),
                &format!("u{i}@x.com"),
                Some("member"),
                None,
            )
        })
        .collect();
    // No startIndex/itemsPerPage in the reply, every user at once, whatever is asked.
    Mock::given(path(USERS))
        .respond_with(scim(200, json!({"totalResults": 7, "Resources": all})))
        .mount(&server)
        .await;
    assert_eq!(users_of(&c).await.unwrap().len(), 7);
    assert_eq!(hits(&server, "GET", USERS).await.len(), 1);
}

#[tokio::test]
async fn edge_03_capped_pages_of_two_under_a_count_of_100_are_all_read() {
    let (server, c) = setup().await;
    for start in [1, 3, 5] {
        let page: Vec<Value> = (start..(start + 2).min(6))
            .map(|i| u(&format!("id{i}"), &format!("u{i}@x.com"), None, None))
            .collect();
        Mock::given(path(USERS))
            .and(query_param("startIndex", start.to_string()))
            .and(query_param("count", "100"))
            .respond_with(scim(200, list(page, Some(5))))
            .mount(&server)
            .await;
    }
    let ids: Vec<String> = users_of(&c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.resource)
        .collect();
    assert_eq!(ids, ["id1", "id2", "id3", "id4", "id5"]);
}

#[tokio::test]
async fn edge_04_a_server_ignoring_start_index_with_a_huge_total_terminates() {
    let (server, c) = setup().await;
    let page: Vec<Value> = (0..100)
        .map(|i| u(&format!("id{i}"), &format!("u{i}@x.com"), None, None))
        .collect();
    Mock::given(path(USERS))
        .respond_with(scim(200, list(page, Some(1_000_000))))
        .mount(&server)
        .await;
    // It terminates, and loudly: the page is asked for again twice, then the listing fails
    // naming the gap instead of reporting 100 users as if they were all.
    let err = users_of(&c).await.unwrap_err();
    assert!(err.to_string().contains("999900 missing"), "{err}");
    assert_eq!(hits(&server, "GET", USERS).await.len(), 4);
}

#[tokio::test]
async fn edge_04_a_total_smaller_than_reality_is_a_stop_and_unknown_totals_page_on() {
    let (server, c) = setup().await;
    let full: Vec<Value> = (0..100)
        .map(|i| u(&format!("a{i}"), &format!("a{i}@x.com"), None, None))
        .collect();
    let short: Vec<Value> = (0..3)
        .map(|i| u(&format!("b{i}"), &format!("b{i}@x.com"), None, None))
        .collect();
    // No totalResults: keep paging while pages are full.
    Mock::given(path(USERS))
        .and(query_param("startIndex", "1"))
        .respond_with(scim(200, list(full.clone(), None)))
        .mount(&server)
        .await;
    Mock::given(path(USERS))
        .and(query_param("startIndex", "101"))
        .respond_with(scim(200, list(short, None)))
        .mount(&server)
        .await;
    assert_eq!(users_of(&c).await.unwrap().len(), 103);
    // A known total of 50: stop there.
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(scim(200, list(full, Some(50))))
        .mount(&server)
        .await;
    assert_eq!(users_of(&c).await.unwrap().len(), 100);
    assert_eq!(hits(&server, "GET", USERS).await.len(), 1);
}

#[tokio::test]
async fn edge_05_resources_missing_null_or_lower_case() {
    for body in [
        json!({"totalResults": 0}),
        json!({"totalResults": 0, "Resources": null}),
        json!({"totalResults": 1, "resources": [u("x", "x@x.com", None, None)]}),
    ] {
        let (server, c) = setup().await;
        Mock::given(path(USERS))
            .respond_with(scim(200, body.clone()))
            .mount(&server)
            .await;
        let n = users_of(&c).await.unwrap().len();
        assert_eq!(n as u64, body["totalResults"].as_u64().unwrap(), "{body}");
    }
}

#[tokio::test]
async fn edge_06_users_repeated_across_overlapping_pages_are_listed_once() {
    let (server, c) = setup().await;
    let page = |ids: &[&str]| {
        list(
            ids.iter()
                .map(|i| u(i, &format!("{i}@x.com"), None, None))
                .collect(),
            Some(4),
        )
    };
    Mock::given(path(USERS))
        .and(query_param("startIndex", "1"))
        .respond_with(scim(200, page(&["a", "b"])))
        .mount(&server)
        .await;
    Mock::given(path(USERS))
        .and(query_param("startIndex", "3"))
        .respond_with(scim(200, page(&["b", "c"])))
        .mount(&server)
        .await;
    Mock::given(path(USERS))
        .and(query_param("startIndex", "5"))
        .respond_with(scim(200, page(&[])))
        .mount(&server)
        .await;
    let ids: Vec<String> = users_of(&c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.resource)
        .collect();
    assert_eq!(ids, ["a", "b", "c"]);
}

#[tokio::test]
async fn edge_07_missing_fields_fall_back() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(scim(
            200,
            list(
                vec![
                    json!({"id": "n1", "userName": "only@x.com"}),
                    json!({"id": "n2", "userName": "given@x.com", "name": {"givenName": "Solo"}}),
                    json!({"id": "n3", "userName": ""}),
                ],
                Some(3),
            ),
        ))
        .mount(&server)
        .await;
    let users = users_of(&c).await.unwrap();
    let names: Vec<&str> = users.iter().map(|r| r.display_name.as_str()).collect();
    assert_eq!(names, ["only@x.com", "Solo", "n3"]);
    let ut = users[0].user.as_ref().unwrap();
    assert_eq!(ut.status, UserStatus::Enabled, "active missing → enabled");
    assert!(!ut.profile.contains_key("external_id"));
    assert!(!ut.profile.contains_key("member_type"));
}

#[tokio::test]
async fn edge_08_a_user_name_that_is_not_an_email_is_a_login_only() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(scim(
            200,
            list(
                vec![
                    u("a", "not an email", None, None),
                    u("b", "b@x.com", None, None),
                ],
                Some(2),
            ),
        ))
        .mount(&server)
        .await;
    let users = users_of(&c).await.unwrap();
    let a = users[0].user.as_ref().unwrap();
    assert_eq!(a.login, "not an email");
    assert!(a.emails.is_empty());
    assert_eq!(
        users[1].user.as_ref().unwrap().primary_email(),
        Some("b@x.com")
    );
}

#[tokio::test]
async fn edge_09_unicode_names_and_escaped_filter_literals() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .and(method("GET"))
        .respond_with(scim(200, list(vec![json!({"id": "z", "userName": "z@x.com", "name": {"givenName": "Zoë", "familyName": "李"}})], Some(1))))
        .mount(&server)
        .await;
    assert_eq!(users_of(&c).await.unwrap()[0].display_name, "Zoë 李");
    // CreateAccount conflict lookup escapes " and \ inside the filter literal.
    Mock::given(method("POST"))
        .and(path(USERS))
        .respond_with(scim(
            409,
            json!({"status": "409", "detail": "User with email exists"}),
        ))
        .mount(&server)
        .await;
    let info = AccountInfo {
        email: Some(r#"we"ird\@x.com"#.into()),
        profile: json!({"first_name": "Zoë", "last_name": "李"})
            .as_object()
            .unwrap()
            .clone(),
        ..Default::default()
    };
    let s = syncer_for(&c, "user").unwrap();
    let _ = s
        .account_manager()
        .unwrap()
        .create_account(AccountRequest::new(
            info.clone(),
            CredentialOption::NoPassword,
        ))
        .await;
    let lookups: Vec<String> = hits(&server, "GET", USERS)
        .await
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == "filter")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert_eq!(lookups, [r#"userName eq "we\"ird\\@x.com""#]);
    let post = &hits(&server, "POST", USERS).await[0];
    let sent: Value = serde_json::from_slice(&post.body).unwrap();
    assert_eq!(sent["name"]["givenName"], "Zoë");
    assert!(
        String::from_utf8(post.body.clone()).unwrap().contains("李"),
        "sent as UTF-8, not escaped"
    );
}

#[tokio::test]
async fn edge_10_unknown_member_types_are_lower_cased_resources() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(scim(
            200,
            list(
                vec![
                    u("a", "a@x.com", Some("Admin"), None),
                    u("b", "b@x.com", Some("OWNER"), None),
                ],
                Some(2),
            ),
        ))
        .mount(&server)
        .await;
    let s = provisioner(&c).await;
    let types = s
        .list(ListRequest::new(None, PageRequest::first()))
        .await
        .unwrap()
        .items;
    let ids: Vec<&str> = types.iter().map(|r| r.id.resource.as_str()).collect();
    assert_eq!(ids, ["owner", "member", "marketer", "admin"]);
    assert_eq!(types[3].display_name, "Admin");
    let owner = s
        .grants(GrantsRequest::new(&types[0], PageRequest::first()))
        .await
        .unwrap()
        .items;
    assert_eq!(
        owner.iter().map(|g| g.id()).collect::<Vec<_>>(),
        ["member_type:owner:member:user:b"]
    );
}

#[tokio::test]
async fn member_type_grants_include_inactive_users_and_skip_users_without_a_type() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(scim(
            200,
            list(
                vec![
                    u("on", "on@x.com", Some("member"), Some(true)),
                    u("off", "off@x.com", Some("member"), Some(false)),
                    u("none", "none@x.com", None, None),
                ],
                Some(3),
            ),
        ))
        .mount(&server)
        .await;
    let s = provisioner(&c).await;
    let member = connector_valimail::member_types::member_type_resource("member");
    s.list(ListRequest::new(None, PageRequest::first()))
        .await
        .unwrap();
    let grants: Vec<String> = s
        .grants(GrantsRequest::new(&member, PageRequest::first()))
        .await
        .unwrap()
        .items
        .iter()
        .map(|g| g.principal().resource.clone())
        .collect();
    assert_eq!(grants, ["on", "off"]);
}

#[tokio::test]
async fn grant_patch_body_is_byte_exact_with_the_dot_path_and_a_string_value() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/49c398b12b")))
        .respond_with(scim(200, u("49c398b12b", "a@x.com", Some("member"), None)))
        .mount(&server)
        .await;
    let expected = format!(
        r#"{{"Operations":[{{"op":"replace","path":"{DOT}","value":"owner"}}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}}"#
    );
    Mock::given(method("PATCH"))
        .and(path(format!("{USERS}/49c398b12b")))
        .and(header("content-type", "application/scim+json"))
        .and(body_string(expected))
        .respond_with(scim(200, u("49c398b12b", "a@x.com", Some("owner"), None)))
        .expect(1)
        .mount(&server)
        .await;
    let out = provisioner(&c)
        .await
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &user_res("49c398b12b"),
            &member_type_ent("owner"),
        ))
        .await
        .unwrap();
    match out {
        GrantOutcome::Granted(g) => {
            assert_eq!(g[0].id(), "member_type:owner:member:user:49c398b12b")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_grant_already_held_sends_no_patch() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/a")))
        .respond_with(scim(200, u("a", "a@x.com", Some("Owner"), None)))
        .mount(&server)
        .await;
    let out = provisioner(&c)
        .await
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(&user_res("a"), &member_type_ent("owner")))
        .await
        .unwrap();
    assert_eq!(out, GrantOutcome::AlreadyExists);
    assert!(
        hits(&server, "PATCH", &format!("{USERS}/a"))
            .await
            .is_empty()
    );
}

#[tokio::test]
async fn a_grant_to_a_missing_user_or_a_non_user_fails() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/gone")))
        .respond_with(scim(
            404,
            json!({"status": "404", "detail": "User with ID gone not found"}),
        ))
        .mount(&server)
        .await;
    let p = provisioner(&c).await;
    let err = p
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &user_res("gone"),
            &member_type_ent("owner"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let group = Resource::with_id(ResourceId::new("group", "g"), "g");
    let err = p
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(&group, &member_type_ent("owner")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn edge_11_revoke_resets_to_member_refuses_member_and_tolerates_404() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/o")))
        .respond_with(scim(200, u("o", "o@x.com", Some("owner"), None)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/m")))
        .respond_with(scim(200, u("m", "m@x.com", Some("member"), None)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/x")))
        .respond_with(scim(404, json!({"status": "404"})))
        .mount(&server)
        .await;
    let expected = format!(
        r#"{{"Operations":[{{"op":"replace","path":"{DOT}","value":"member"}}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}}"#
    );
    Mock::given(method("PATCH"))
        .and(path(format!("{USERS}/o")))
        .and(body_string(expected))
        .respond_with(scim(200, u("o", "o@x.com", Some("member"), None)))
        .expect(1)
        .mount(&server)
        .await;
    let s = provisioner(&c).await;
    let p = s.provisioner().unwrap();
    let owner_grant = Grant::new(&member_type_ent("owner"), ResourceId::new("user", "o"));
    assert_eq!(
        p.revoke(RevokeRequest::new(&owner_grant)).await.unwrap(),
        RevokeOutcome::Revoked
    );
    let member_grant = Grant::new(&member_type_ent("member"), ResourceId::new("user", "m"));
    let err = p
        .revoke(RevokeRequest::new(&member_grant))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    assert!(err.to_string().contains("disable_user"), "{err}");
    let gone = Grant::new(&member_type_ent("owner"), ResourceId::new("user", "x"));
    assert_eq!(
        p.revoke(RevokeRequest::new(&gone)).await.unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
    // The user holds another type now: nothing to revoke.
    let stale = Grant::new(&member_type_ent("marketer"), ResourceId::new("user", "m"));
    assert_eq!(
        p.revoke(RevokeRequest::new(&stale)).await.unwrap(),
        RevokeOutcome::AlreadyRevoked
    );
}

#[tokio::test]
async fn an_invalid_path_answer_retries_once_with_the_colon_form() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/a")))
        .respond_with(scim(200, u("a", "a@x.com", Some("member"), None)))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(wiremock::matchers::body_string_contains("User.memberType"))
        .respond_with(scim(
            400,
            json!({"status": "400", "scimType": "invalidPath", "detail": "Invalid path"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(wiremock::matchers::body_string_contains("User:memberType"))
        .respond_with(scim(200, u("a", "a@x.com", Some("owner"), None)))
        .mount(&server)
        .await;
    let out = provisioner(&c)
        .await
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(&user_res("a"), &member_type_ent("owner")))
        .await
        .unwrap();
    assert!(matches!(out, GrantOutcome::Granted(_)));
    assert_eq!(hits(&server, "PATCH", &format!("{USERS}/a")).await.len(), 2);
}

#[tokio::test]
async fn edge_12_marketer_not_enabled_is_an_invalid_argument_without_retry() {
    let (server, c) = setup().await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/a")))
        .respond_with(scim(200, u("a", "a@x.com", Some("member"), None)))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(scim(400, json!({"status": "400", "scimType": "invalidValue", "detail": "Marketer member type is not enabled for this account"})))
        .mount(&server)
        .await;
    let err = provisioner(&c)
        .await
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &user_res("a"),
            &member_type_ent("marketer"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        err.to_string()
            .contains("Marketer member type is not enabled"),
        "{err}"
    );
    assert_eq!(hits(&server, "PATCH", &format!("{USERS}/a")).await.len(), 1);
}

#[tokio::test]
async fn create_account_201_and_409_then_lookup() {
    let (server, c) = setup().await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .and(body_json(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", EXT],
            "userName": "new@x.com",
            "name": {"givenName": "New", "familyName": "User"},
            EXT: {"memberType": "member"}
        })))
        .respond_with(scim(201, json!({"id": "n1", "userName": "new@x.com", "active": true, "name": {"givenName": "New", "familyName": "User"}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(USERS))
        .and(wiremock::matchers::body_string_contains("old@x.com"))
        .respond_with(scim(
            409,
            json!({"status": "409", "detail": "User with email old@x.com already exists"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(USERS))
        .and(query_param("filter", r#"userName eq "old@x.com""#))
        .respond_with(scim(
            200,
            list(vec![u("o1", "OLD@x.com", Some("owner"), None)], Some(1)),
        ))
        .mount(&server)
        .await;
    let s = syncer_for(&c, "user").unwrap();
    let am = s.account_manager().unwrap();
    let profile = |f: &str, l: &str| {
        json!({"first_name": f, "last_name": l})
            .as_object()
            .unwrap()
            .clone()
    };
    let info = AccountInfo {
        email: Some("new@x.com".into()),
        profile: profile("New", "User"),
        ..Default::default()
    };
    match am
        .create_account(AccountRequest::new(
            info.clone(),
            CredentialOption::NoPassword,
        ))
        .await
        .unwrap()
    {
        AccountOutcome::Created {
            resource,
            credentials,
        } => {
            assert_eq!(resource.id, ResourceId::new("user", "n1"));
            assert!(credentials.is_empty(), "Valimail takes no password");
        }
        other => panic!("{other:?}"),
    }
    let info = AccountInfo {
        email: Some("old@x.com".into()),
        profile: profile("Old", "User"),
        ..Default::default()
    };
    match am
        .create_account(AccountRequest::new(
            info.clone(),
            CredentialOption::NoPassword,
        ))
        .await
        .unwrap()
    {
        AccountOutcome::AlreadyExists { resource } => assert_eq!(resource.id.resource, "o1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(am.credential_options(), vec![CredentialOption::NoPassword]);
}

#[tokio::test]
async fn enable_and_disable_send_a_json_boolean_and_blank_ids_send_nothing() {
    let (server, c) = setup().await;
    for (action, value) in [("disable_user", false), ("enable_user", true)] {
        let expected = format!(
            r#"{{"Operations":[{{"op":"replace","path":"active","value":{value}}}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}}"#
        );
        Mock::given(method("PATCH"))
            .and(path(format!("{USERS}/u1")))
            .and(body_string(expected))
            .respond_with(scim(200, u("u1", "u1@x.com", Some("member"), Some(value))))
            .expect(1)
            .mount(&server)
            .await;
        let h = action_for(&c, action).unwrap();
        let out = invoke_action(h.as_ref(), json!({"user_id": "u1"}).as_object().unwrap())
            .await
            .unwrap();
        assert_eq!(out["active"], value);
        assert_eq!(out["success"], true);
    }
    for args in [json!({}), json!({"user_id": "  "}), json!({"user_id": 5})] {
        let h = action_for(&c, "disable_user").unwrap();
        let err = invoke_action(h.as_ref(), args.as_object().unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    }
    assert_eq!(
        hits(&server, "PATCH", &format!("{USERS}/u1")).await.len(),
        2,
        "no call for bad arguments"
    );
    assert!(hits(&server, "POST", "/auth").await.len() <= 1);
}

/// RFC 7644 §3.5.2: a PATCH may answer 200 with the user or 204 No Content. Both mean
/// the change was applied, for grant, revoke and both actions; only the actions, which
/// report the new state, read the user back, and only after a 204.
#[tokio::test]
async fn a_patch_answered_204_or_200_is_success_for_grant_revoke_and_the_actions() {
    for status in [204, 200] {
        let (server, c) = setup().await;
        let reply = |user: Value| {
            if status == 204 {
                ResponseTemplate::new(204)
            } else {
                scim(200, user)
            }
        };
        // Grant owner to a member; revoke owner from an owner (back to member).
        Mock::given(method("GET"))
            .and(path(format!("{USERS}/m")))
            .respond_with(scim(200, u("m", "m@x.com", Some("member"), None)))
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{USERS}/o")))
            .respond_with(scim(200, u("o", "o@x.com", Some("owner"), None)))
            .expect(1)
            .mount(&server)
            .await;
        for (id, value) in [("m", "owner"), ("o", "member")] {
            let expected = format!(
                r#"{{"Operations":[{{"op":"replace","path":"{DOT}","value":"{value}"}}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}}"#
            );
            Mock::given(method("PATCH"))
                .and(path(format!("{USERS}/{id}")))
                .and(body_string(expected))
                .respond_with(reply(u(id, "x@x.com", Some(value), None)))
                .expect(1)
                .mount(&server)
                .await;
        }
        let s = provisioner(&c).await;
        let p = s.provisioner().unwrap();
        match p
            .grant(GrantRequest::new(&user_res("m"), &member_type_ent("owner")))
            .await
        {
            Ok(GrantOutcome::Granted(g)) => {
                assert_eq!(g[0].id(), "member_type:owner:member:user:m")
            }
            other => panic!("HTTP {status}: {other:?}"),
        }
        let owner = Grant::new(&member_type_ent("owner"), ResourceId::new("user", "o"));
        assert_eq!(
            p.revoke(RevokeRequest::new(&owner)).await.unwrap(),
            RevokeOutcome::Revoked,
            "HTTP {status}"
        );
        // The actions: the reported state comes from the PATCH's body, or after a 204
        // from a GET (which answers the state the server now holds).
        for (action, id, value) in [("disable_user", "d1", false), ("enable_user", "e1", true)] {
            Mock::given(method("PATCH"))
                .and(path(format!("{USERS}/{id}")))
                .and(body_string(format!(
                    r#"{{"Operations":[{{"op":"replace","path":"active","value":{value}}}],"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}}"#
                )))
                .respond_with(reply(u(id, "x@x.com", Some("member"), Some(value))))
                .expect(1)
                .mount(&server)
                .await;
            Mock::given(method("GET"))
                .and(path(format!("{USERS}/{id}")))
                .respond_with(scim(200, u(id, "x@x.com", Some("member"), Some(value))))
                .expect(if status == 204 { 1 } else { 0 })
                .mount(&server)
                .await;
            let h = action_for(&c, action).unwrap();
            let out = invoke_action(h.as_ref(), json!({"user_id": id}).as_object().unwrap())
                .await
                .unwrap_or_else(|e| panic!("{action} on HTTP {status}: {e}"));
            assert_eq!(out["success"], true);
            assert_eq!(out["user_id"], id);
            assert_eq!(out["active"], value, "{action} on HTTP {status}");
        }
        server.verify().await;
    }
}

#[tokio::test]
async fn an_action_whose_user_vanished_after_a_204_is_not_found() {
    let (server, c) = setup().await;
    Mock::given(method("PATCH"))
        .and(path(format!("{USERS}/gone")))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{USERS}/gone")))
        .respond_with(scim(
            404,
            json!({"status": "404", "detail": "User with ID gone not found"}),
        ))
        .mount(&server)
        .await;
    let h = action_for(&c, "disable_user").unwrap();
    let err = invoke_action(h.as_ref(), json!({"user_id": "gone"}).as_object().unwrap())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
}

#[tokio::test]
async fn edge_13_ids_of_every_shape_are_opaque_and_meta_location_is_ignored() {
    let (server, c) = setup().await;
    let mut a = u("49c398b12b", "a@x.com", None, None);
    a["meta"] = json!({"location": "https://api.valimail.com/account/valimail/scim/v2/users/49c398b12b", "created": "2026-03-16T14:13:09.867Z"});
    let b = u("2906d4927bf178077519", "b@x.com", None, None);
    let d = u(
        "1234c223-7f76-453a-919d-413861904648",
        "d@x.com",
        None,
        None,
    );
    Mock::given(path(USERS))
        .and(method("GET"))
        .respond_with(scim(200, list(vec![a, b, d], Some(3))))
        .mount(&server)
        .await;
    let ids: Vec<String> = users_of(&c)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id.resource)
        .collect();
    assert_eq!(
        ids,
        [
            "49c398b12b",
            "2906d4927bf178077519",
            "1234c223-7f76-453a-919d-413861904648"
        ]
    );
    Mock::given(method("PATCH"))
        .and(path(format!(
            "{USERS}/1234c223-7f76-453a-919d-413861904648"
        )))
        .respond_with(scim(
            200,
            u(
                "1234c223-7f76-453a-919d-413861904648",
                "d@x.com",
                None,
                Some(false),
            ),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let h = action_for(&c, "disable_user").unwrap();
    invoke_action(
        h.as_ref(),
        json!({"user_id": "1234c223-7f76-453a-919d-413861904648"})
            .as_object()
            .unwrap(),
    )
    .await
    .unwrap();
    assert!(
        server
            .received_requests()
            .await
            .unwrap()
            .iter()
            .all(|r| !r.url.path().starts_with("/account/"))
    );
}

#[tokio::test]
async fn edge_14_the_slug_is_one_percent_encoded_segment() {
    let server = MockServer::start().await;
    auth(&server).await;
    Mock::given(path("/accounts/a%20b%2Fc/scim/v2/Users"))
        .respond_with(scim(200, list(vec![], Some(0))))
        .expect(1)
        .mount(&server)
        .await;
    connector_for(&server, "a b/c").validate().await.unwrap();
}

#[tokio::test]
async fn edge_15_disabled_users_are_listed_and_enable_disable_are_idempotent() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .and(method("GET"))
        .respond_with(scim(
            200,
            list(
                vec![u("d", "d@x.com", Some("member"), Some(false))],
                Some(1),
            ),
        ))
        .mount(&server)
        .await;
    let users = users_of(&c).await.unwrap();
    assert_eq!(users[0].user.as_ref().unwrap().status, UserStatus::Disabled);
    Mock::given(method("PATCH"))
        .respond_with(scim(200, u("d", "d@x.com", Some("member"), Some(false))))
        .mount(&server)
        .await;
    let h = action_for(&c, "disable_user").unwrap();
    for _ in 0..2 {
        let out = invoke_action(h.as_ref(), json!({"user_id": "d"}).as_object().unwrap())
            .await
            .unwrap();
        assert_eq!(out["active"], false);
    }
}

#[tokio::test]
async fn edge_16_scim_json_responses_parse() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(
                list(vec![u("a", "a@x.com", None, None)], Some(1))
                    .to_string()
                    .into_bytes(),
                "application/scim+json; charset=utf-8",
            ),
        )
        .mount(&server)
        .await;
    assert_eq!(users_of(&c).await.unwrap().len(), 1);
}

#[tokio::test]
async fn edge_17_error_bodies_of_every_shape_map_without_panics() {
    for (status, body, kind, msg) in [
        (403, json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "403", "detail": "Not authorized to access this account"}).to_string(), ErrorKind::PermissionDenied, Some("Not authorized to access this account")),
        (400, json!({"status": "400"}).to_string(), ErrorKind::InvalidArgument, None),
        (422, json!({"request": "/x", "message": "Unprocessable", "type": "t", "request-id": "r", "call": "c"}).to_string(), ErrorKind::InvalidArgument, Some("Unprocessable")),
        (404, String::new(), ErrorKind::NotFound, None),
    ] {
        let (server, c) = setup().await;
        Mock::given(path(USERS)).respond_with(ResponseTemplate::new(status).set_body_string(body)).mount(&server).await;
        let err = users_of(&c).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status}");
        assert_eq!(err.api_message(), msg, "{status}");
        if status == 403 {
            assert!(err.to_string().contains("--valimail-slug"), "{err}");
        }
    }
    // A gateway's HTML page on 502, every time: retried, then a clean error.
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(
            ResponseTemplate::new(502).set_body_string("<html><body>Bad Gateway</body></html>"),
        )
        .mount(&server)
        .await;
    let err = users_of(&c).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.http_status(), Some(502));
    assert_eq!(hits(&server, "GET", USERS).await.len(), 5);
}

#[tokio::test]
async fn edge_18_an_empty_account_still_has_the_static_member_types() {
    let (server, c) = setup().await;
    Mock::given(path(USERS))
        .respond_with(scim(200, json!({"totalResults": 0})))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let report =
        connector_sdk::sync::sync_to_file(&c, &dir.path().join("v.c1z"), &Default::default(), None)
            .await
            .unwrap();
    assert_eq!(report.stats.resources_by_resource_type["member_type"], 3);
    assert_eq!(report.stats.resources_by_resource_type["user"], 0);
    assert_eq!(report.stats.entitlements, 3);
    assert_eq!(report.stats.grants, 0);
}

#[tokio::test]
async fn no_deprovisioning_is_advertised() {
    let (_server, c) = setup().await;
    let caps = connector_sdk::connector::capabilities(&c);
    for t in &caps.resource_types {
        assert!(
            !t.capabilities
                .contains(&connector_sdk::connector::Capability::ResourceDelete),
            "{t:?}"
        );
    }
    let user = caps
        .resource_types
        .iter()
        .find(|t| t.resource_type == "user")
        .unwrap();
    assert!(
        user.capabilities
            .contains(&connector_sdk::connector::Capability::AccountProvisioning)
    );
    let names: Vec<&str> = caps.actions.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["enable_user", "disable_user"]);
}

/// `POST /auth` goes through the SDK's client: a 503 is retried with the request that
/// needed the token, and the rate-limit headers it answers with pace the next request.
#[tokio::test]
async fn the_token_call_is_retried_on_503_and_feeds_the_shared_limiter() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/auth"))
        .respond_with(ResponseTemplate::new(503).set_body_string("<html>down</html>"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    // The token comes with a spent budget: the next request must wait for the reset.
    let reset = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    Mock::given(method("POST"))
        .and(path("/auth"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-limit", "10")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", reset.to_string().as_str())
                .set_body_json(json!({"token": "tok"})),
        )
        .mount(&server)
        .await;
    Mock::given(path(USERS))
        .respond_with(scim(
            200,
            list(vec![u("id1", "a@x.com", None, None)], Some(1)),
        ))
        .mount(&server)
        .await;
    let c = connector_for(&server, "acme");
    let started = std::time::Instant::now();
    assert_eq!(users_of(&c).await.unwrap().len(), 1);
    assert_eq!(hits(&server, "POST", "/auth").await.len(), 2);
    // (the request that fetched the token had its turn already; the next one waits)
    assert_eq!(users_of(&c).await.unwrap().len(), 1);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "the listing did not wait for the reset the token call reported: {:?}",
        started.elapsed()
    );
}
