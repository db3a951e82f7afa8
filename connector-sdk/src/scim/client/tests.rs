//! Tests of `scim/client.rs`.

use super::*;
use crate::http::RetryPolicy;
use crate::scim::{Group, MemberId, PatchOp, User};
use serde_json::json;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn client(server: &MockServer) -> ScimClient {
    let http = HttpClient::builder(&server.uri())
        .unwrap()
        .retry(RetryPolicy::none())
        .build()
        .unwrap();
    ScimClient::new(http, &["scim", "v2"])
}

fn user(id: &str, active: bool) -> serde_json::Value {
    json!({"id": id, "userName": format!("{id}@x.com"), "active": active})
}

#[tokio::test]
async fn a_patch_answered_200_returns_the_resource_without_a_get() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Users/u1"))
        .and(header("content-type", "application/scim+json"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u1", false)))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server).await;
    let body = PatchOp::replace("active", json!(false));
    let out = c.patch::<User, _>("u1", &body).await.unwrap();
    assert!(!out.resource().unwrap().is_active());
    let read: User = c.patch_and_read("u1", &body).await.unwrap();
    assert!(!read.is_active());
}

#[tokio::test]
async fn a_patch_answered_204_is_success_and_re_read_only_on_request() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Users/u1"))
        .respond_with(ResponseTemplate::new(204))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/u1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(user("u1", false)))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server).await;
    let body = PatchOp::replace("active", json!(false));
    assert_eq!(
        c.patch::<User, _>("u1", &body).await.unwrap(),
        Patched::NoContent
    );
    let read: User = c.patch_and_read("u1", &body).await.unwrap();
    assert_eq!(read.id, "u1");
    assert!(!read.is_active());
}

#[tokio::test]
async fn a_200_with_an_empty_or_foreign_body_is_no_content_not_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Groups/empty"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Groups/text"))
        .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
        .mount(&server)
        .await;
    let c = client(&server).await;
    let m = MemberId::new("u1").unwrap();
    for id in ["empty", "text"] {
        assert_eq!(
            c.patch::<Group, _>(id, &PatchOp::add_member(&m))
                .await
                .unwrap(),
            Patched::NoContent,
            "{id}"
        );
    }
    // The caller who wants the resource gets a GET; a 404 there names what happened.
    let err = c
        .patch_and_read::<Group, _>("empty", &PatchOp::add_member(&m))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert!(err.to_string().contains("reading it back"), "{err}");
}

#[tokio::test]
async fn a_refused_patch_is_retried_once_only_when_the_caller_says_so() {
    let server = MockServer::start().await;
    let value_form = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members","value":[{"value":"u1"}]}]}"#;
    Mock::given(method("PATCH"))
        .and(body_string(value_form))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"status": "400", "scimType": "invalidValue", "detail": "no value on remove"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(wiremock::matchers::body_string_contains(
            r#"members[value eq \"u1\"]"#,
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server).await;
    let m = MemberId::new("u1").unwrap();
    let mut seen = None;
    let out = c
        .patch_or_retry::<Group, _, _>("g1", &PatchOp::remove_member(&m), |refusal| {
            seen = Some(refusal.clone());
            refusal
                .is("invalidValue")
                .then(|| PatchOp::remove_member_by_filter(&m))
        })
        .await
        .unwrap();
    assert_eq!(out, Patched::NoContent);
    let seen = seen.unwrap();
    assert_eq!(seen.detail.as_deref(), Some("no value on remove"));
    // Declined: the 400 is the error, with the server's detail.
    let err = c
        .patch_or_retry::<Group, _, PatchOp>("g1", &PatchOp::remove_member(&m), |_| None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(err.to_string().contains("no value on remove"), "{err}");
}

#[tokio::test]
async fn patch_errors_keep_their_kind() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Groups/gone"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"status": "404"})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Groups/dup"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"status": "409"})))
        .mount(&server)
        .await;
    let c = client(&server).await;
    let m = MemberId::new("u1").unwrap();
    let kind = |id: &'static str| {
        let c = c.clone();
        let m = m.clone();
        async move {
            c.patch::<Group, _>(id, &PatchOp::add_member(&m))
                .await
                .unwrap_err()
                .kind()
        }
    };
    assert_eq!(kind("gone").await, ErrorKind::NotFound);
    assert_eq!(kind("dup").await, ErrorKind::AlreadyExists);
}

#[tokio::test]
async fn list_get_find_and_create() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Groups"))
        .and(query_param("startIndex", "3"))
        .and(query_param("count", "2"))
        .and(query_param("excludedAttributes", "members"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"totalResults": 4, "Resources": [{"id": "g3"}, {"id": "g4"}]}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("filter", r#"userName eq "a\"b@x.com""#))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"Resources": [user("u9", true)]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users/nobody"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .and(body_string(
            r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new@x.com"}"#,
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(user("n1", true)))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(409).set_body_json(json!({"detail": "userName taken"})))
        .mount(&server)
        .await;
    let c = client(&server).await;
    let page = c
        .page::<Group>(
            &ScimPager::new(2),
            Some(&PageToken::new("3")),
            ListQuery::new().excluded_attributes("members"),
        )
        .await
        .unwrap();
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.next, None, "totalResults reached");
    let found = c.find_eq::<User>("userName", r#"a"b@x.com"#).await.unwrap();
    assert_eq!(found[0].id, "u9");
    assert_eq!(c.get::<User>("nobody").await.unwrap(), None);
    match c.create::<User, _>(&User::new("new@x.com")).await.unwrap() {
        Created::New(u) => assert_eq!(u.id, "n1"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        c.create::<User, _>(&User::new("old@x.com")).await.unwrap(),
        Created::Conflict("userName taken".into())
    );
}

#[tokio::test]
async fn plain_json_services_get_application_json() {
    let server = MockServer::start().await;
    Mock::given(method("PATCH"))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server).await.with_plain_json();
    c.patch::<Group, _>("g1", &PatchOp::add_member(&MemberId::new("u").unwrap()))
        .await
        .unwrap();
}

#[tokio::test]
async fn request_defaults_go_on_every_request_and_raw_calls_read_json() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Users"))
        .and(query_param("tenant", "t1"))
        .and(query_param("startIndex", "1"))
        .and(header("x-tenant", "acme"))
        .and(header("accept", "application/scim+json"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"total": 1, "Resources": [user("u1", true)]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/scim/v2/Groups/g1"))
        .and(query_param("tenant", "t1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "g1"})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Groups/g1"))
        .and(query_param("tenant", "t1"))
        .and(header("x-tenant", "acme"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": "g1", "members": []})))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path("/scim/v2/Groups/g2"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/scim/v2/Users/u1"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/scim/v2/Users/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let c = client(&server)
        .await
        .with_header("x-tenant", "acme")
        .unwrap()
        .with_header("Accept", "application/scim+json")
        .unwrap()
        .with_query_param("tenant", "t1");
    assert!(c.clone().with_header("bad name", "x").is_err());
    let page = c.list_raw("Users", &ListQuery::page(1, 10)).await.unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(
        c.get_raw("Groups", "g1").await.unwrap().unwrap()["id"],
        "g1"
    );
    let body = PatchOp::add_member(&MemberId::new("u1").unwrap());
    let out = c
        .patch_raw::<_, ()>("Groups", "g1", &body, |_| None)
        .await
        .unwrap();
    assert_eq!(out.resource().unwrap()["id"], "g1");
    let out = c
        .patch_raw::<_, ()>("Groups", "g2", &body, |_| None)
        .await
        .unwrap();
    assert_eq!(out, Patched::NoContent);
    assert!(c.delete("Users", "u1").await.unwrap());
    assert!(!c.delete("Users", "gone").await.unwrap());
}
