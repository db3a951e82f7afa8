//! The listing helpers (`http::Listing`) against wiremock servers on loopback: every
//! paging shape, drained through the SDK's listing driver, malformed answers, and the
//! guards against servers that never end. Then `page::fan_out` inside an
//! `#[async_trait]` method.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use connector_sdk::http::{HttpClient, RetryPolicy};
use connector_sdk::page::{DriverOptions, ListingDriver, PAGING_ERROR};
use connector_sdk::prelude::*;
use connector_sdk::scim::{self, ListQuery, ScimClient, ScimPager};
use connector_sdk::testing::{SimHandler, SimServer};
use futures::TryStreamExt;
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

#[derive(Debug, Deserialize)]
struct User {
    id: String,
}

fn client(server: &MockServer) -> HttpClient {
    HttpClient::builder(&server.uri())
        .unwrap()
        .retry(RetryPolicy {
            max_attempts: 2,
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
            max_total_wait: Duration::from_secs(5),
        })
        .build()
        .unwrap()
}

/// `n` users `u0`…
fn users(range: std::ops::Range<usize>) -> Vec<Value> {
    range.map(|i| json!({"id": format!("u{i}")})).collect()
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(|i| format!("u{i}")).collect()
}

fn param(req: &Request, name: &str) -> Option<String> {
    req.url
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Drains `listing` through the SDK's listing driver (`stream_pages`), by user id.
async fn drain(listing: &Listing, client: &HttpClient) -> Result<Vec<String>> {
    stream_pages(listing.path(), |req| async move {
        Ok(listing.page::<User>(client, req).await?.map(|u| u.id))
    })
    .try_collect()
    .await
}

/// Drains `listing` through a `ListingDriver`, returning the ids and the warnings.
async fn drive(listing: &Listing, client: &HttpClient) -> Result<(Vec<String>, Vec<String>)> {
    let fetch = |req| async move { Ok(listing.page::<User>(client, req).await?.map(|u| u.id)) };
    let mut driver = ListingDriver::new(listing.path(), fetch, DriverOptions::default());
    let (mut items, mut warnings) = (Vec::new(), Vec::new());
    while let Some(page) = driver.next_page().await {
        let page = page?;
        items.extend(page.items);
        warnings.extend(page.warning);
    }
    Ok((items, warnings))
}

async fn queries(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|r| {
            format!(
                "{}{}",
                r.url.path(),
                r.url.query().map(|q| format!("?{q}")).unwrap_or_default()
            )
        })
        .collect()
}

// ---- offset / limit ----

#[tokio::test]
async fn offset_listing_advances_by_what_the_server_returned_and_stops_at_the_total() {
    let server = MockServer::start().await;
    // The server caps pages at 2 whatever the limit asked for; 5 users in all.
    Mock::given(path("/api/users"))
        .respond_with(|req: &Request| {
            let offset: usize = param(req, "offset").unwrap().parse().unwrap();
            assert_eq!(param(req, "limit").as_deref(), Some("3"));
            let end = (offset + 2).min(5);
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": users(offset..end), "meta": {"total": 5}}))
        })
        .mount(&server)
        .await;
    let listing = Listing::get("/api/users")
        .items_at("/data")
        .total_at("/meta/total")
        .offset("offset", "limit", 3);
    let first = listing
        .page::<User>(&client(&server), PageRequest::first())
        .await
        .unwrap();
    assert_eq!(first.total, Some(5));
    assert_eq!(first.next, Some(PageToken::new("2")));
    assert_eq!(drain(&listing, &client(&server)).await.unwrap(), ids(0..5));
    let seen = queries(&server).await;
    assert_eq!(
        seen[1..],
        [
            "/api/users?offset=0&limit=3",
            "/api/users?offset=2&limit=3",
            "/api/users?offset=4&limit=3"
        ]
    );
}

// ---- page numbers ----

#[tokio::test]
async fn page_number_listing_stops_at_the_declared_page_count_or_a_short_page() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/users"))
        .respond_with(|req: &Request| {
            let page: usize = param(req, "page").unwrap().parse().unwrap();
            let size: usize = param(req, "per_page").unwrap().parse().unwrap();
            let start = (page - 1) * size;
            ResponseTemplate::new(200).set_body_json(json!({
                "users": users(start.min(5)..(start + size).min(5)),
                "total_pages": 5usize.div_ceil(size),
            }))
        })
        .mount(&server)
        .await;
    let c = client(&server);
    let by_count = Listing::get("/v1/users")
        .items_at("users")
        .page_number("page", 1)
        .page_size("per_page", 2)
        .total_pages_at("/total_pages");
    assert_eq!(drain(&by_count, &c).await.unwrap(), ids(0..5));
    assert_eq!(queries(&server).await.len(), 3, "pages 1, 2 and 3 only");

    // Without the page count: the short third page ends it.
    let by_size = Listing::get("/v1/users")
        .items_at("/users")
        .page_number("page", 1)
        .page_size("per_page", 2);
    assert_eq!(drain(&by_size, &c).await.unwrap(), ids(0..5));
    let seen = queries(&server).await;
    assert_eq!(
        seen[3..],
        [
            "/v1/users?per_page=2&page=1",
            "/v1/users?per_page=2&page=2",
            "/v1/users?per_page=2&page=3"
        ]
    );
    let err = by_size
        .page::<User>(&c, PageRequest::after(PageToken::new("two")))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("listing /v1/users"), "{err}");
    assert!(err.to_string().contains("expected a page number"), "{err}");
}

// ---- cursor in the body ----

#[tokio::test]
async fn cursor_in_body_is_sent_back_until_it_is_null() {
    let server = MockServer::start().await;
    Mock::given(path("/api/users"))
        .respond_with(|req: &Request| {
            let (items, next) = match param(req, "cursor").as_deref() {
                None => (users(0..2), json!("c2")),
                Some("c2") => (users(2..4), json!("c3")),
                Some("c3") => (users(4..5), Value::Null),
                Some(other) => panic!("unexpected cursor {other}"),
            };
            ResponseTemplate::new(200).set_body_json(
                json!({"data": items, "paging": {"next_cursor": next}, "total": "5"}),
            )
        })
        .mount(&server)
        .await;
    let listing = Listing::get("/api/users")
        .items_at("/data")
        .total_at("/total")
        .page_size("limit", 2)
        .cursor_in_body("/paging/next_cursor", "cursor");
    assert_eq!(drain(&listing, &client(&server)).await.unwrap(), ids(0..5));
    let seen = queries(&server).await;
    assert_eq!(
        seen,
        [
            "/api/users?limit=2",
            "/api/users?limit=2&cursor=c2",
            "/api/users?limit=2&cursor=c3"
        ]
    );
}

// ---- cursor in a header, total in a header ----

#[tokio::test]
async fn cursor_in_header_and_total_in_header() {
    let server = MockServer::start().await;
    Mock::given(path("/groups"))
        .respond_with(|req: &Request| {
            let (items, next) = match param(req, "after").as_deref() {
                None => (users(0..3), Some("opaque==/+")),
                Some("opaque==/+") => (users(3..4), Some("")),
                Some(other) => panic!("unexpected cursor {other}"),
            };
            let mut resp = ResponseTemplate::new(200)
                .set_body_json(items)
                .insert_header("X-Total-Count", "4");
            if let Some(n) = next {
                resp = resp.insert_header("X-Next-Cursor", n);
            }
            resp
        })
        .mount(&server)
        .await;
    let listing = Listing::get("/groups")
        .total_in_header("x-total-count")
        .cursor_in_header("X-Next-Cursor", "after");
    let c = client(&server);
    let first = listing
        .page::<User>(&c, PageRequest::first())
        .await
        .unwrap();
    assert_eq!(
        (first.total, first.next),
        (Some(4), Some(PageToken::new("opaque==/+")))
    );
    assert_eq!(drain(&listing, &c).await.unwrap(), ids(0..4));
    // The cursor is percent-encoded in the query.
    assert!(
        queries(&server)
            .await
            .contains(&"/groups?after=opaque%3D%3D%2F%2B".to_string())
    );
}

// ---- RFC 8288 Link ----

#[tokio::test]
async fn link_header_absolute_relative_and_among_several_rels() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/prefix/members"))
        .respond_with(move |req: &Request| {
            let page = param(req, "page").unwrap_or_else(|| "1".into());
            let (items, link) = match page.as_str() {
                // Absolute, with prev/last around it.
                "1" => (
                    users(0..2),
                    format!(
                        r#"<{base}/prefix/members?page=1>; rel="prev first", <{base}/prefix/members?page=2&per_page=2>; rel="next", <{base}/prefix/members?page=3>; rel="last""#
                    ),
                ),
                // Relative to the request's path, several rels in one, extra parameters.
                "2" => (
                    users(2..4),
                    r#"<members?page=3&per_page=2>; title="page three"; REL="next last""#
                        .to_string(),
                ),
                // The last page: no next.
                _ => (users(4..5), r#"</prefix/members?page=1>; rel="first""#.to_string()),
            };
            ResponseTemplate::new(200)
                .set_body_json(json!({"members": items}))
                .insert_header("Link", link.as_str())
        })
        .mount(&server)
        .await;
    let listing = Listing::get("/prefix/members")
        .items_at("/members")
        .page_size("per_page", 2)
        .link_header();
    let c = client(&server);
    let first = listing
        .page::<User>(&c, PageRequest::first())
        .await
        .unwrap();
    // The token holds the path and query of the next page, not the host.
    assert_eq!(
        first.next,
        Some(PageToken::new("/prefix/members?page=2&per_page=2"))
    );
    assert_eq!(drain(&listing, &c).await.unwrap(), ids(0..5));
    assert_eq!(
        queries(&server).await[1..],
        [
            "/prefix/members?per_page=2",
            "/prefix/members?page=2&per_page=2",
            "/prefix/members?page=3&per_page=2"
        ]
    );
}

#[tokio::test]
async fn next_url_in_the_body() {
    let server = MockServer::start().await;
    let base = server.uri();
    Mock::given(path("/v1.0/users"))
        .respond_with(move |req: &Request| {
            let body = match param(req, "$skiptoken").as_deref() {
                None => json!({"value": users(0..2), "@odata.nextLink": format!("{base}/v1.0/users?$skiptoken=X1")}),
                Some("X1") => json!({"value": users(2..3)}),
                Some(other) => panic!("unexpected token {other}"),
            };
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    let listing = Listing::get("/v1.0/users")
        .items_at("/value")
        .next_url_in_body("/@odata.nextLink");
    assert_eq!(drain(&listing, &client(&server)).await.unwrap(), ids(0..3));
}

/// A fake tenant that pages with absolute `Link` headers, built on the base URL the
/// `SimServer` gives its handler.
#[derive(Default)]
struct LinkedTenant {
    base: Option<connector_sdk::Url>,
    started: usize,
}

impl SimHandler for LinkedTenant {
    fn started(&mut self, base_url: &connector_sdk::Url) {
        self.base = Some(base_url.clone());
        self.started += 1;
    }

    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        let page: usize = param(req, "page").map_or(0, |p| p.parse().unwrap_or(0));
        let mut resp =
            ResponseTemplate::new(200).set_body_json(users(page * 2..(page * 2 + 2).min(5)));
        if page * 2 + 2 < 5 {
            let Some(next) = self
                .base
                .as_ref()
                .and_then(|b| b.join(&format!("people?page={}", page + 1)).ok())
            else {
                return ResponseTemplate::new(500);
            };
            resp = resp.insert_header("Link", format!("<{next}>; rel=\"next\"").as_str());
        }
        resp
    }
}

#[tokio::test]
async fn sim_server_gives_its_handler_the_base_url_for_absolute_links() {
    let sim = SimServer::start(LinkedTenant::default()).await;
    assert_eq!(sim.state().started, 1);
    let base = sim.state().base.clone().unwrap();
    assert_eq!(base, sim.url());
    assert_eq!(base.as_str(), format!("{}/", sim.uri()));
    let client = HttpClient::builder(&sim.uri()).unwrap().build().unwrap();
    let listing = Listing::get("/people").link_header();
    let first = listing
        .page::<User>(&client, PageRequest::first())
        .await
        .unwrap();
    assert_eq!(first.next, Some(PageToken::new("/people?page=1")));
    assert_eq!(drain(&listing, &client).await.unwrap(), ids(0..5));
}

// ---- SCIM ----

/// Drains `/scim/v2/Users` through the one SCIM paging path (`ScimClient::page`) and the
/// listing driver, by user id in order.
async fn drain_scim(client: &HttpClient, query: ListQuery, count: u32) -> Result<Vec<String>> {
    let scim = ScimClient::new(client.clone(), &["scim", "v2"]);
    let pager = ScimPager::new(count);
    let (scim, query) = (&scim, &query);
    let mut ids: Vec<String> = stream_pages("/scim/v2/Users", |req: PageRequest| async move {
        let page = scim
            .page::<scim::User>(&pager, req.token.as_ref(), query.clone())
            .await?;
        Ok(page.map(|u| u.id))
    })
    .try_collect()
    .await?;
    ids.sort_by_key(|id| id[1..].parse::<u64>().unwrap_or(u64::MAX));
    Ok(ids)
}

#[tokio::test]
async fn scim_listing_reads_resources_and_total_results() {
    let server = MockServer::start().await;
    Mock::given(path("/scim/v2/Users"))
        .respond_with(|req: &Request| {
            let start: usize = param(req, "startIndex").unwrap().parse().unwrap();
            assert_eq!(param(req, "count").as_deref(), Some("2"));
            assert_eq!(param(req, "excludedAttributes").as_deref(), Some("groups"));
            let items = users((start - 1).min(5)..(start + 1).min(5));
            // totalResults as a string and `resources` in lower case: both are read.
            let key = if start == 1 { "Resources" } else { "resources" };
            let mut body = json!({"totalResults": "5", "startIndex": start, "itemsPerPage": 2});
            body[key] = json!(items);
            ResponseTemplate::new(200).set_body_json(body)
        })
        .mount(&server)
        .await;
    let c = client(&server);
    let query = ListQuery::new().excluded_attributes("groups");
    let scim = ScimClient::new(c.clone(), &["scim", "v2"]);
    let first = scim
        .page::<scim::User>(&ScimPager::new(2), None, query.clone())
        .await
        .unwrap();
    // The first page knows the total: the other two are handed out to read at once.
    let handed_out: Vec<PageToken> = first.parallel.collect();
    assert_eq!((first.total, first.next), (Some(5), None));
    assert_eq!(handed_out, [PageToken::new("p:3"), PageToken::new("p:5")]);
    assert_eq!(drain_scim(&c, query, 2).await.unwrap(), ids(0..5));
    let mut starts: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .skip(1)
        .map(|r| param(r, "startIndex").unwrap())
        .collect();
    starts.sort();
    assert_eq!(starts, ["1", "3", "5"]);
}

#[tokio::test]
async fn scim_listing_without_a_total_follows_page_after_page() {
    let server = MockServer::start().await;
    Mock::given(path("/scim/v2/Users"))
        .respond_with(|req: &Request| {
            let start: usize = param(req, "startIndex").unwrap().parse().unwrap();
            let items = users((start - 1).min(5)..(start + 1).min(5));
            ResponseTemplate::new(200).set_body_json(json!({"Resources": items}))
        })
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(
        drain_scim(&c, ListQuery::new(), 2).await.unwrap(),
        ids(0..5)
    );
    let starts: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| param(r, "startIndex").unwrap())
        .collect();
    assert_eq!(starts, ["1", "3", "5"]);
}

// ---- parent → child ----

#[tokio::test]
async fn child_listing_is_built_from_each_parents_id() {
    let server = MockServer::start().await;
    Mock::given(path("/api/teams"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": "core"}, {"id": "ops/eu"}, {"id": "empty"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/teams/core/members"))
        .and(query_param_is_missing("cursor"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"members": users(0..2), "next": "m2"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/api/teams/core/members"))
        .and(query_param("cursor", "m2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"members": users(2..3)})))
        .mount(&server)
        .await;
    // A "/" in a parent's id stays inside its segment.
    Mock::given(path("/api/teams/ops%2Feu/members"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"members": users(3..4)})))
        .mount(&server)
        .await;
    Mock::given(path("/api/teams/empty/members"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"members": null})))
        .mount(&server)
        .await;
    let c = client(&server);
    let teams = Listing::get("/api/teams");
    let members = Listing::get("/api/teams/{team}/members")
        .items_at("/members")
        .cursor_in_body("/next", "cursor");

    let mut by_team = Vec::new();
    for team in drain(&teams, &c).await.unwrap() {
        let listing = members.clone().bind("team", team.as_str());
        by_team.push((team, drain(&listing, &c).await.unwrap()));
    }
    assert_eq!(
        by_team,
        [
            ("core".to_string(), ids(0..3)),
            ("ops/eu".to_string(), ids(3..4)),
            ("empty".to_string(), vec![]),
        ]
    );
    // Forgetting the parent is an error naming the segment, not a request to "/{team}".
    let err = members
        .page::<User>(&c, PageRequest::first())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("{team}"), "{err}");
    assert!(err.to_string().contains(".bind(\"team\""), "{err}");
}

/// Malformed answers and servers that never end.
#[path = "listing/guards.rs"]
mod guards;

/// `fan_out` inside an `#[async_trait]` method.
#[path = "listing/fan_out.rs"]
mod fan_out;
