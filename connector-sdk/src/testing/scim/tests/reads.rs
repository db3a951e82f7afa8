//! Lists, filters, reads by id, what a served resource carries, and authentication.

use std::time::{Duration, Instant};

use serde_json::json;

use super::*;
use crate::scim::{ERROR, LIST_RESPONSE};
use crate::testing::scim::TotalResults;

#[tokio::test]
async fn pages_follow_start_index_and_count_within_the_cap() {
    let sim = start(ScimShape::default().max_page(3).default_page(2)).await;
    let page = get(&sim, "/scim/v2/Users?startIndex=3&count=10").await;
    assert_eq!(page.body["schemas"], json!([LIST_RESPONSE]));
    assert_eq!(ids(&page), ["u000002", "u000003", "u000004"], "capped at 3");
    assert_eq!(
        (
            page.body["totalResults"].as_u64(),
            page.body["startIndex"].as_u64(),
            page.body["itemsPerPage"].as_u64()
        ),
        (Some(8), Some(3), Some(3))
    );
    assert_eq!(
        ids(&get(&sim, "/scim/v2/Users").await),
        ["u000000", "u000001"],
        "the default page"
    );
    assert_eq!(
        ids(&get(&sim, "/scim/v2/Users?startIndex=0&count=1").await),
        ["u000000"],
        "startIndex below 1 reads as 1"
    );
    let past = get(&sim, "/scim/v2/Users?startIndex=9&count=3").await;
    assert!(ids(&past).is_empty());
    assert_eq!(past.body["totalResults"], 8);
    let none = get(&sim, "/scim/v2/Users?count=0").await;
    assert!(ids(&none).is_empty(), "count=0 asks for the total only");
    assert_eq!(none.body["totalResults"], 8);
    assert_eq!(sim.state().count("GET Users"), 5);
}

#[tokio::test]
async fn total_results_can_lie_or_be_missing() {
    let sim = start(ScimShape::default().total_results(TotalResults::Inflated(5))).await;
    let page = get(&sim, "/scim/v2/Groups").await;
    assert_eq!(
        (page.body["totalResults"].as_u64(), ids(&page).len()),
        (Some(7), 2)
    );
    let sim = start(ScimShape::default().total_results(TotalResults::Missing)).await;
    let page = get(&sim, "/scim/v2/Users?count=2").await;
    assert!(page.body.get("totalResults").is_none(), "{}", page.body);
    assert_eq!(ids(&page).len(), 2);
}

#[tokio::test]
async fn filters_select_by_attribute_member_id_and_extension() {
    let sim = start(ScimShape::default()).await;
    let q = |f: &str| format!("/scim/v2/{f}");
    for (path, want) in [
        (
            q("Users?filter=userName eq \"USER3@acme.example\""),
            vec!["u000003"],
        ),
        (q("Users?filter=id eq \"x-1\""), vec![]),
        (q("Users?filter=id eq \"X-1\""), vec!["X-1"]),
        (
            q("Users?filter=urn:acme:2.0:User:level eq \"gold\""),
            vec!["X-1"],
        ),
        (
            q("Users?filter=urn:acme:2.0:User.level eq \"gold\""),
            vec!["X-1"],
        ),
        (
            q("Users?filter=active eq false or userName sw \"user5\""),
            vec!["u000005", "X-1"],
        ),
        (
            q("Users?filter=roles.value eq \"admin\" and not (active eq false)"),
            vec!["u000006"],
        ),
        (
            q("Users?filter=groups.value eq \"g00001\""),
            vec!["u000002"],
        ),
        (
            q("Users?filter=emails[primary eq true].value ew \"r4@acme.example\""),
            vec!["u000004"],
        ),
        (q("Groups?filter=displayName eq \"sales\""), vec!["g00001"]),
        (
            q("Groups?filter=members.value eq \"u000001\""),
            vec!["g00000"],
        ),
        (
            q("Groups?filter=members[type eq \"Group\"] pr"),
            vec!["g00001"],
        ),
    ] {
        let answer = get(&sim, &path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_eq!(ids(&answer), want, "{path}");
        assert_eq!(answer.body["totalResults"], want.len(), "{path}");
    }
    let filtered_page = get(
        &sim,
        &q("Users?filter=userName co \"user\"&startIndex=6&count=5"),
    )
    .await;
    assert_eq!(
        (
            ids(&filtered_page),
            filtered_page.body["totalResults"].as_u64()
        ),
        (vec!["u000005".to_string(), "u000006".to_string()], Some(7))
    );
    let bad = get(&sim, &q("Users?filter=userName eq")).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        (
            bad.body["schemas"][0].as_str(),
            bad.body["status"].as_str(),
            bad.body["scimType"].as_str()
        ),
        (Some(ERROR), Some("400"), Some("invalidFilter"))
    );
}

#[tokio::test]
async fn served_resources_carry_groups_roles_and_absolute_locations() {
    let sim = start(ScimShape::default().base_path("/scim/v1")).await;
    let u = get(&sim, "/scim/v1/Users/u000000").await.body;
    assert_eq!(
        u["groups"],
        json!([{"value": "g00000", "display": "Engineering", "type": "direct"}])
    );
    assert_eq!(u["meta"]["resourceType"], "User");
    assert_eq!(
        u["meta"]["location"],
        format!("{}/scim/v1/Users/u000000", sim.uri())
    );
    assert_eq!(
        get(&sim, "/scim/v1/Users/u000006").await.body["roles"][0]["value"],
        "admin"
    );
    let listed = get(&sim, "/scim/v1/Users?filter=id eq \"u000001\"").await;
    assert_eq!(listed.body["Resources"][0]["groups"][0]["value"], "g00000");
    assert!(
        get(&sim, "/scim/v1/Users/u000003")
            .await
            .body
            .get("groups")
            .is_none(),
        "no groups, no attribute"
    );
    // Behind a proxy: the location names the host the client called.
    location_names_the_called_host(&sim).await;
    // Not served under another base path, or when groups stay off the user.
    assert_eq!(get(&sim, "/scim/v2/Users/u000000").await.status, 404);
    let plain = start(ScimShape::default().groups_on_user(false).locations(false)).await;
    let u = get(&plain, "/scim/v2/Users/u000000").await.body;
    assert!(
        u.get("groups").is_none() && u["meta"].get("location").is_none(),
        "{u}"
    );
}

/// A request whose `Host` names a proxy gets the proxy's address in `meta.location`.
async fn location_names_the_called_host(sim: &SimServer<ScimTenant>) {
    let res = reqwest::Client::new()
        .get(format!("{}/scim/v1/Groups/g00001", sim.uri()))
        .header("host", "127.0.0.1:9")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        body["meta"]["location"],
        "http://127.0.0.1:9/scim/v1/Groups/g00001"
    );
}

#[tokio::test]
async fn attributes_can_be_excluded_or_chosen() {
    let sim = start(ScimShape::default()).await;
    let page = get(&sim, "/scim/v2/Groups?excludedAttributes=members").await;
    assert!(
        page.body["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g.get("members").is_none() && g["id"].is_string())
    );
    let g = get(&sim, "/scim/v2/Groups/g00000?attributes=displayName")
        .await
        .body;
    assert_eq!(
        (
            g["id"].as_str(),
            g["displayName"].as_str(),
            g.get("members")
        ),
        (Some("g00000"), Some("Engineering"), None)
    );
}

#[tokio::test]
async fn reads_of_unknown_resources_and_routes_are_scim_404s() {
    let sim = start(ScimShape::default().groups_endpoint(false)).await;
    let missing = get(&sim, "/scim/v2/Users/nobody").await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.headers["content-type"], "application/scim+json");
    assert_eq!(
        missing.body,
        json!({"schemas": [ERROR], "status": "404", "detail": "Resource nobody not found"})
    );
    assert_eq!(
        get(&sim, "/scim/v2/Groups").await.status,
        404,
        "groups not served"
    );
    assert_eq!(
        call(
            &sim,
            "POST",
            "/scim/v2/Users/u000001",
            Some(json!({})),
            None
        )
        .await
        .status,
        405
    );
    let counts = sim.state().requests.clone();
    assert_eq!(
        (counts["GET User"], counts["other"], counts["POST User"]),
        (1, 1, 1)
    );
    assert_eq!(
        sim.requests("GET", "/scim/v2/Users/nobody"),
        1,
        "SimServer counts raw paths too"
    );
}

#[tokio::test]
async fn bearer_and_client_credentials_guard_every_route_and_latency_delays_answers() {
    let sim = start(
        ScimShape::default()
            .bearer("s3cret")
            .latency(Duration::from_millis(150)),
    )
    .await;
    let t0 = Instant::now();
    let refused = call(&sim, "GET", "/scim/v2/Users", None, Some("wrong")).await;
    assert_eq!(
        (refused.status, refused.body["status"].as_str()),
        (401, Some("401"))
    );
    assert_eq!(refused.headers["www-authenticate"], "Bearer");
    assert_eq!(
        call(&sim, "GET", "/scim/v2/Users", None, Some("s3cret"))
            .await
            .status,
        200
    );
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );

    let sim = start(ScimShape::default().client_credentials("id", "secret", "/oauth/token")).await;
    let form = |secret: &str| {
        reqwest::Client::new()
            .post(format!("{}/oauth/token", sim.uri()))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "id"),
                ("client_secret", secret),
            ])
            .send()
    };
    assert_eq!(form("nope").await.unwrap().status(), 401);
    let token: serde_json::Value = form("secret").await.unwrap().json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();
    assert_eq!(
        call(&sim, "GET", "/scim/v2/Groups", None, None)
            .await
            .status,
        401
    );
    assert_eq!(
        call(&sim, "GET", "/scim/v2/Groups", None, Some(token))
            .await
            .status,
        200
    );
    assert_eq!(sim.state().count("token"), 2);
}

#[tokio::test]
async fn a_page_that_is_not_the_last_links_the_next_absolutely() {
    let sim = start(ScimShape::default().link_next(true)).await;
    let first = get(&sim, "/scim/v2/Users?count=5&filter=active eq true").await;
    let link = first.headers["link"].to_str().unwrap().to_string();
    assert!(
        link.starts_with(&format!("<{}/scim/v2/Users?", sim.uri())),
        "{link}"
    );
    assert!(
        link.contains("startIndex=6")
            && link.contains("filter=active+eq+true")
            && link.ends_with(">; rel=\"next\""),
        "{link}"
    );
    let last = get(&sim, "/scim/v2/Users?count=5&startIndex=6").await;
    assert!(last.headers.get("link").is_none());
}
