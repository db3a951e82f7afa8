//! The HTTP client against wiremock servers on loopback: auth, retries, rate limits,
//! errors, and secrets kept out of every output.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use connector_sdk::ErrorKind;
use connector_sdk::http::auth::{BasicAuth, BearerToken, OAuth2ClientCredentials, TokenCache};
use connector_sdk::http::{HttpClient, RetryPolicy};
use connector_sdk::ratelimit::RateLimitConfig;
use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        max_total_wait: Duration::from_secs(10),
    }
}

fn client(server: &MockServer) -> HttpClient {
    HttpClient::builder(&server.uri())
        .unwrap()
        .retry(fast_retries(4))
        .build()
        .unwrap()
}

async fn hits(server: &MockServer, p: &str) -> usize {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == p)
        .count()
}

/// A token endpoint handing out `tok-1`, `tok-2`, … after an optional delay.
struct TokenSeq {
    issued: AtomicUsize,
    expires_in: u64,
    delay: Duration,
}

impl Respond for TokenSeq {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(json!({"access_token": format!("tok-{n}"), "token_type": "Bearer", "expires_in": self.expires_in}))
            .set_delay(self.delay)
    }
}

async fn token_endpoint(server: &MockServer, expires_in: u64, delay: Duration) {
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .respond_with(TokenSeq {
            issued: AtomicUsize::new(0),
            expires_in,
            delay,
        })
        .mount(server)
        .await;
}

fn oauth_client(server: &MockServer) -> HttpClient {
    let token_url = Url::parse(&format!("{}/oauth/token", server.uri())).unwrap();
    let auth = OAuth2ClientCredentials::new(
        token_url,
        "client-id",
        SecretString::from("client-secret-value"),
        vec!["scim.users.readUsers".into()],
    )
    .with_cache(TokenCache::new(Duration::from_millis(100)));
    HttpClient::builder(&server.uri())
        .unwrap()
        .auth(auth)
        .retry(fast_retries(4))
        .build()
        .unwrap()
}

#[tokio::test]
async fn waits_out_a_429_storm_as_told_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/v3/teammates"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(
                    json!({"errors": [{"field": null, "message": "too many requests"}]}),
                ),
        )
        .up_to_n_times(2)
        .mount(&server)
        .await;
    Mock::given(path("/v3/teammates"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"result": []})))
        .mount(&server)
        .await;
    let t0 = Instant::now();
    let v: Value = client(&server)
        .get(&["v3", "teammates"])
        .send_json()
        .await
        .unwrap();
    let elapsed = t0.elapsed();
    assert_eq!(v, json!({"result": []}));
    assert_eq!(hits(&server, "/v3/teammates").await, 3);
    // Two waits of Retry-After: 1 s (plus at most 10% jitter each), not the 5 ms backoff.
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn a_spent_budget_makes_the_next_request_wait_for_the_reset() {
    let server = MockServer::start().await;
    Mock::given(path("/x"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-ratelimit-limit", "10")
                .insert_header("x-ratelimit-remaining", "0")
                .insert_header("x-ratelimit-reset", "1"),
        )
        .mount(&server)
        .await;
    let c = client(&server);
    c.get(&["x"]).send().await.unwrap();
    let t0 = Instant::now();
    c.get(&["x"]).send().await.unwrap();
    assert!(
        t0.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn retries_a_503_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([1])))
        .mount(&server)
        .await;
    let v: Value = client(&server).get(&["users"]).send_json().await.unwrap();
    assert_eq!(v, json!([1]));
    assert_eq!(hits(&server, "/users").await, 2);
}

#[tokio::test]
async fn gives_up_after_the_attempt_cap_with_a_clear_error() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(
            ResponseTemplate::new(503).set_body_string("<html><h1>Service Unavailable</h1></html>"),
        )
        .mount(&server)
        .await;
    let c = HttpClient::builder(&server.uri())
        .unwrap()
        .retry(fast_retries(3))
        .build()
        .unwrap();
    let err = c.get(&["users"]).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(err.api_message(), None, "an HTML body has no API message");
    let msg = err.to_string();
    assert!(msg.contains("giving up after 3 attempts"), "{msg}");
    assert!(msg.contains("GET /users"), "{msg}");
    assert_eq!(hits(&server, "/users").await, 3);
}

#[tokio::test]
async fn gives_up_when_the_server_asks_for_a_wait_past_the_budget() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let t0 = Instant::now();
    let err = client(&server).get(&["users"]).send().await.unwrap_err();
    assert!(t0.elapsed() < Duration::from_secs(2));
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted);
    assert!(err.to_string().contains("retry budget"), "{err}");
}

#[tokio::test]
async fn a_post_is_not_replayed_after_a_server_side_failure() {
    for status in [500, 502, 503, 504] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v3/teammates"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let err = client(&server)
            .post(&["v3", "teammates"])
            .json(&json!({"email": "new@example.com"}))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.http_status(), Some(status));
        assert_eq!(hits(&server, "/v3/teammates").await, 1, "status {status}");
    }
}

#[tokio::test]
async fn a_post_is_retried_after_a_429_and_a_marked_patch_after_a_503() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let c = client(&server);
    let r = c.post(&["invite"]).json(&json!({})).send().await.unwrap();
    assert_eq!(r.status(), 201);
    let r = c
        .patch(&["Users", "u1"])
        .scim_json(&json!({"Operations": []}))
        .idempotent(true)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(hits(&server, "/invite").await, 2);
    assert_eq!(hits(&server, "/Users/u1").await, 2);
}

#[tokio::test]
async fn a_request_to_a_closed_port_is_retried_then_reported() {
    // Bind then drop a listener: the port is closed, connections are refused.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let c = HttpClient::builder(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .retry(fast_retries(2))
        .build()
        .unwrap();
    // Even a POST may be retried: the connection never opened, nothing was processed.
    let err = c.post(&["x"]).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let msg = err.to_string();
    assert!(msg.contains("giving up after 2 attempts"), "{msg}");
    assert!(msg.contains("could not connect"), "{msg}");
}

#[tokio::test]
async fn an_expired_token_is_refreshed_before_use() {
    let server = MockServer::start().await;
    token_endpoint(&server, 1, Duration::ZERO).await;
    Mock::given(path("/scim/v2/Users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Resources": []})))
        .mount(&server)
        .await;
    let c = oauth_client(&server);
    c.get(&["scim", "v2", "Users"]).send().await.unwrap();
    c.get(&["scim", "v2", "Users"]).send().await.unwrap();
    assert_eq!(hits(&server, "/oauth/token").await, 1, "cached while fresh");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    c.get(&["scim", "v2", "Users"]).send().await.unwrap();
    assert_eq!(
        hits(&server, "/oauth/token").await,
        2,
        "refreshed once expired"
    );
    let reqs = server.received_requests().await.unwrap();
    let last = reqs
        .iter()
        .rev()
        .find(|r| r.url.path() == "/scim/v2/Users")
        .unwrap();
    assert_eq!(last.headers.get("authorization").unwrap(), "Bearer tok-2");
}

#[tokio::test]
async fn a_401_refreshes_the_token_and_replays_once() {
    let server = MockServer::start().await;
    token_endpoint(&server, 3600, Duration::ZERO).await;
    Mock::given(path("/scim/v2/Groups"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "token revoked"})))
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Groups"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalResults": 0})))
        .mount(&server)
        .await;
    let v: Value = oauth_client(&server)
        .get(&["scim", "v2", "Groups"])
        .send_json()
        .await
        .unwrap();
    assert_eq!(v["totalResults"], 0);
    assert_eq!(hits(&server, "/oauth/token").await, 2);
    assert_eq!(hits(&server, "/scim/v2/Groups").await, 2);
}

#[tokio::test]
async fn a_second_401_is_an_unauthenticated_error_not_a_loop() {
    let server = MockServer::start().await;
    token_endpoint(&server, 3600, Duration::ZERO).await;
    Mock::given(path("/scim/v2/Groups"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"detail": "Invalid token"})))
        .mount(&server)
        .await;
    let err = oauth_client(&server)
        .get(&["scim", "v2", "Groups"])
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.api_message(), Some("Invalid token"));
    assert_eq!(hits(&server, "/scim/v2/Groups").await, 2);
    assert_eq!(hits(&server, "/oauth/token").await, 2);
}

#[tokio::test]
async fn a_static_token_is_not_replayed_after_a_401() {
    let server = MockServer::start().await;
    Mock::given(path("/v3/scopes"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"errors": [{"field": null, "message": "authorization required"}]}),
        ))
        .mount(&server)
        .await;
    let c = HttpClient::builder(&server.uri())
        .unwrap()
        .auth(BearerToken::new(SecretString::from("SG.bad")))
        .build()
        .unwrap();
    let err = c.get(&["v3", "scopes"]).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert_eq!(err.api_message(), Some("authorization required"));
    assert_eq!(hits(&server, "/v3/scopes").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_share_one_token_fetch() {
    let server = MockServer::start().await;
    token_endpoint(&server, 3600, Duration::from_millis(200)).await;
    Mock::given(path("/scim/v2/Users"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    let c = oauth_client(&server);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get(&["scim", "v2", "Users"]).send().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(hits(&server, "/oauth/token").await, 1);
    assert_eq!(hits(&server, "/scim/v2/Users").await, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_401s_share_one_refresh() {
    let server = MockServer::start().await;
    token_endpoint(&server, 3600, Duration::from_millis(50)).await;
    Mock::given(path("/scim/v2/Users"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401).set_delay(Duration::from_millis(50)))
        .mount(&server)
        .await;
    Mock::given(path("/scim/v2/Users"))
        .and(header("authorization", "Bearer tok-2"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let c = oauth_client(&server);
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get(&["scim", "v2", "Users"]).send().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(
        hits(&server, "/oauth/token").await,
        2,
        "one fetch, one refresh"
    );
}

#[tokio::test]
async fn oauth_errors_name_the_cause_and_hint() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_scope", "error_description": "scim.users.createUsers is not registered"}),
        ))
        .mount(&server)
        .await;
    let err = oauth_client(&server).get(&["x"]).send().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    let msg = err.to_string();
    assert!(msg.contains("register the requested scopes"), "{msg}");
    assert!(
        msg.contains("scim.users.createUsers is not registered"),
        "{msg}"
    );
    assert_eq!(hits(&server, "/x").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limiter_holds_the_configured_rate_within_ten_percent() {
    let server = MockServer::start().await;
    Mock::given(path("/ping"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    const RATE: u32 = 25;
    const REQUESTS: usize = 76; // 3 s of requests at 25/s after the first
    let c = HttpClient::builder(&server.uri())
        .unwrap()
        .rate_limit(RateLimitConfig::per_second(RATE))
        .build()
        .unwrap();
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|w| {
            let c = c.clone();
            tokio::spawn(async move {
                let mut done = 0;
                for i in 0..REQUESTS {
                    if i % 8 == w {
                        c.get(&["ping"]).send().await.unwrap();
                        done += 1;
                    }
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    let elapsed = t0.elapsed().as_secs_f64();
    assert_eq!(total, REQUESTS);
    // The first request goes at once; the other 75 are spaced 1/RATE apart.
    let achieved = (REQUESTS - 1) as f64 / elapsed;
    let ratio = achieved / RATE as f64;
    assert!(
        (0.9..=1.1).contains(&ratio),
        "achieved {achieved:.1}/s for a limit of {RATE}/s"
    );
}

#[tokio::test]
async fn path_segments_are_percent_encoded() {
    let server = MockServer::start().await;
    Mock::given(path("/v2/Users/a%20b%2Fc%3F"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/scim+json")
                .set_body_string(r#"{"id":"a b/c?"}"#),
        )
        .mount(&server)
        .await;
    let c = HttpClient::builder(&format!("{}/v2/", server.uri()))
        .unwrap()
        .build()
        .unwrap();
    let v: Value = c.get(&["Users", "a b/c?"]).send_json().await.unwrap();
    assert_eq!(v["id"], "a b/c?");
}

#[tokio::test]
async fn malformed_json_is_an_error_not_a_panic() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{\"Resources\": [oops"))
        .mount(&server)
        .await;
    let err = client(&server)
        .get(&["users"])
        .send_json::<Value>()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(err.to_string().contains("GET /users"), "{err}");
}

#[tokio::test]
async fn status_codes_map_to_kinds_with_the_api_message() {
    let server = MockServer::start().await;
    for (status, body, kind, msg) in [
        (
            400,
            json!({"detail": "bad filter"}),
            ErrorKind::InvalidArgument,
            "bad filter",
        ),
        (
            403,
            json!({"message": "missing scope"}),
            ErrorKind::PermissionDenied,
            "missing scope",
        ),
        (
            404,
            json!({"detail": "User not found", "status": "404"}),
            ErrorKind::NotFound,
            "User not found",
        ),
        (
            409,
            json!({"errors": [{"message": "already invited"}]}),
            ErrorKind::AlreadyExists,
            "already invited",
        ),
    ] {
        server.reset().await;
        Mock::given(path("/r"))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&server)
            .await;
        let err = client(&server).get(&["r"]).send().await.unwrap_err();
        assert_eq!(err.kind(), kind, "{status}");
        assert_eq!(err.api_message(), Some(msg));
        assert_eq!(err.http_status(), Some(status));
    }
}

#[tokio::test]
async fn next_links_to_another_host_are_refused() {
    let server = MockServer::start().await;
    let c = client(&server);
    let err = c
        .request_url(Method::GET, "https://evil.example.com/users?page=2")
        .unwrap_err();
    assert!(
        err.to_string().contains("refusing to send credentials"),
        "{err}"
    );
    assert!(c.request_url(Method::GET, "/users?page=2").is_ok());
}

#[tokio::test]
async fn secrets_never_appear_in_debug_errors_or_logs() {
    let logs = connector_sdk::testing::LogCapture::start();

    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "access-token-SECRET-1", "expires_in": 3600}),
            ),
        )
        .mount(&server)
        .await;
    Mock::given(path("/fail"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    Mock::given(path("/deny"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;

    let client_secret = SecretString::from("client-secret-SECRET-2");
    let api_key = SecretString::from("api-key-SECRET-3");
    let password = SecretString::from("password-SECRET-4");
    let oauth = HttpClient::builder(&server.uri())
        .unwrap()
        .auth(OAuth2ClientCredentials::new(
            Url::parse(&format!("{}/oauth/token", server.uri())).unwrap(),
            "id",
            client_secret.clone(),
            vec![],
        ))
        .retry(fast_retries(2))
        .build()
        .unwrap();
    let bearer = HttpClient::builder(&server.uri())
        .unwrap()
        .auth(BearerToken::new(api_key.clone()))
        .retry(fast_retries(2))
        .build()
        .unwrap();
    let basic = HttpClient::builder(&server.uri())
        .unwrap()
        .auth(BasicAuth::new("user", password.clone()))
        .build()
        .unwrap();

    let mut outputs = vec![
        format!("{oauth:?}"),
        format!("{bearer:?}"),
        format!("{basic:?}"),
    ];
    for c in [&oauth, &bearer, &basic] {
        for p in ["fail", "deny"] {
            let err = c.get(&[p]).send().await.unwrap_err();
            outputs.push(err.to_string());
            outputs.push(format!("{err:?}"));
        }
        let resp = c.get(&["deny"]).send_raw().await.unwrap();
        outputs.push(format!("{resp:?}"));
    }
    outputs.push(logs.text());
    assert!(
        outputs.last().unwrap().contains("retrying request"),
        "logs were captured"
    );

    let token = SecretString::from("access-token-SECRET-1");
    let all = outputs.join("\n");
    connector_sdk::testing::assert_no_secret(&all, &[&client_secret, &api_key, &password, &token]);
    assert!(!all.contains("SECRET"), "a secret leaked into:\n{all}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_concurrency_one_sends_requests_one_at_a_time() {
    let server = MockServer::start().await;
    Mock::given(path("/slow"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(40)))
        .mount(&server)
        .await;
    let c = HttpClient::builder(&server.uri())
        .unwrap()
        .max_concurrency(1)
        .build()
        .unwrap();
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = c.clone();
            tokio::spawn(async move { c.get(&["slow"]).send().await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(
        t0.elapsed() >= Duration::from_millis(8 * 40),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn a_rate_limited_token_exchange_is_retried() {
    use connector_sdk::http::auth::{Token, TokenExchange};
    let server = MockServer::start().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let exchange = TokenExchange::new(move |_http| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        Box::pin(async move {
            if n == 0 {
                Err(
                    connector_sdk::Error::new(ErrorKind::ResourceExhausted, "/auth: over rate")
                        .with_retry_after(Duration::from_millis(10)),
                )
            } else {
                Ok(Token {
                    secret: SecretString::from("tok"),
                    expires_in: None,
                })
            }
        })
    });
    Mock::given(path("/x"))
        .and(header("authorization", "Bearer tok"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let c = HttpClient::builder(&server.uri())
        .unwrap()
        .auth(exchange)
        .retry(fast_retries(3))
        .build()
        .unwrap();
    c.get(&["x"]).send().await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

/// Answers each request with the next response of a list, then the last one forever.
struct Sequence(std::sync::Mutex<Vec<ResponseTemplate>>);

impl Sequence {
    fn new(mut responses: Vec<ResponseTemplate>) -> Self {
        responses.reverse();
        Sequence(std::sync::Mutex::new(responses))
    }
}

impl Respond for Sequence {
    fn respond(&self, _req: &Request) -> ResponseTemplate {
        let mut r = self.0.lock().unwrap();
        if r.len() > 1 {
            r.pop().unwrap()
        } else {
            r[0].clone()
        }
    }
}

fn html_page() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(
        "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
        "text/html",
    )
}

#[tokio::test]
async fn a_500_is_retried_for_a_get_but_not_for_a_post() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(Sequence::new(vec![
            ResponseTemplate::new(500),
            ResponseTemplate::new(500),
            ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
        ]))
        .mount(&server)
        .await;
    let v: Value = client(&server).get(&["users"]).send_json().await.unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(hits(&server, "/users").await, 3);

    Mock::given(path("/invites"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let err = client(&server)
        .post(&["invites"])
        .json(&json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(500));
    assert_eq!(hits(&server, "/invites").await, 1);
}

#[tokio::test]
async fn a_2xx_html_page_or_cut_json_is_retried_on_a_get() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(Sequence::new(vec![
            html_page(),
            // Cut short, under an honest Content-Length.
            ResponseTemplate::new(200)
                .set_body_raw("{\"Resources\": [{\"id\": \"u1\"", "application/json"),
            ResponseTemplate::new(200).set_body_json(json!({"Resources": [{"id": "u1"}]})),
        ]))
        .mount(&server)
        .await;
    let v: Value = client(&server).get(&["users"]).send_json().await.unwrap();
    assert_eq!(v["Resources"][0]["id"], "u1");
    assert_eq!(hits(&server, "/users").await, 3);
}

#[tokio::test]
async fn a_body_that_stays_wrong_is_reported_with_what_came_back() {
    let server = MockServer::start().await;
    Mock::given(path("/users"))
        .respond_with(html_page())
        .mount(&server)
        .await;
    let err = client(&server)
        .get(&["users"])
        .query(&[("startIndex", "1")])
        .send_json::<Value>()
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{msg}");
    assert!(msg.contains("giving up after 4 attempts"), "{msg}");
    assert!(msg.contains("GET /users"), "{msg}");
    assert!(msg.contains(&server.uri()), "{msg}");
    assert!(msg.contains("text/html"), "{msg}");
    assert!(msg.contains("<html><head><title>502 Bad Gateway"), "{msg}");
    assert_eq!(hits(&server, "/users").await, 4);

    // JSON cut short is described, never quoted (it may hold a token).
    server.reset().await;
    Mock::given(path("/auth"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw("{\"token\": \"secret-abc", "application/json"),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .get(&["auth"])
        .send_json::<Value>()
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("cut short after 21 bytes"), "{msg}");
    assert!(!msg.contains("secret-abc"), "{msg}");
}

#[tokio::test]
async fn a_post_answered_with_a_bad_body_is_not_replayed_and_says_it_may_have_been_applied() {
    let server = MockServer::start().await;
    Mock::given(path("/invites"))
        .respond_with(html_page())
        .mount(&server)
        .await;
    let err = client(&server)
        .post(&["invites"])
        .json(&json!({"email": "a@example.com"}))
        .send_json::<Value>()
        .await
        .unwrap_err();
    assert_eq!(hits(&server, "/invites").await, 1);
    assert!(err.to_string().contains("may have been applied"), "{err}");
}

#[tokio::test]
async fn a_post_a_gateway_timed_out_says_it_may_have_been_applied() {
    let server = MockServer::start().await;
    Mock::given(path("/invites"))
        .respond_with(ResponseTemplate::new(504).set_body_string("upstream timed out"))
        .mount(&server)
        .await;
    let err = client(&server)
        .post(&["invites"])
        .json(&json!({"email": "a@example.com"}))
        .send()
        .await
        .unwrap_err();
    assert_eq!(hits(&server, "/invites").await, 1);
    assert!(err.to_string().contains("may have been applied"), "{err}");
    // A GET that failed changed nothing: no such note.
    Mock::given(path("/users"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    let err = client(&server).get(&["users"]).send().await.unwrap_err();
    assert!(!err.to_string().contains("may have been applied"), "{err}");
}

/// A 404 says the resource is gone only when the API said it: an HTML page is a proxy's
/// or a gateway's answer (an encoded `/` it does not route, a wrong base path), whatever
/// content type it claims; the API's JSON, XML or an empty body stay `NotFound`.
#[tokio::test]
async fn a_404_page_from_a_proxy_is_not_the_api_saying_gone() {
    let server = MockServer::start().await;
    let page = "<!DOCTYPE html><html><body><h1>Not Found</h1></body></html>";
    for (body, content_type, kind) in [
        (
            page,
            "text/html; charset=iso-8859-1",
            ErrorKind::Unavailable,
        ),
        (page, "application/json", ErrorKind::Unavailable),
        (
            "\n  <HTML><BODY>404</BODY></HTML>",
            "text/plain",
            ErrorKind::Unavailable,
        ),
        (
            r#"{"detail":"User not found"}"#,
            "application/scim+json",
            ErrorKind::NotFound,
        ),
        (
            "<?xml version=\"1.0\"?><error>no such user</error>",
            "application/xml",
            ErrorKind::NotFound,
        ),
        ("", "", ErrorKind::NotFound),
        ("Not Found", "text/plain", ErrorKind::NotFound),
        // A page behind a byte-order mark, or opening with a comment.
        (
            "\u{feff}<!doctype html><p>404</p>",
            "application/octet-stream",
            ErrorKind::Unavailable,
        ),
        (
            "<!-- nginx --><html></html>",
            "text/plain",
            ErrorKind::Unavailable,
        ),
        // What a framework sends as text/html but is no page: nothing, or the API's JSON.
        ("   ", "text/html", ErrorKind::NotFound),
        (r#"{"error":"not found"}"#, "text/html", ErrorKind::NotFound),
    ] {
        server.reset().await;
        let mut answer = ResponseTemplate::new(404);
        if !body.is_empty() {
            answer = answer.set_body_raw(body.as_bytes().to_vec(), content_type);
        }
        Mock::given(path("/users/u1"))
            .respond_with(answer)
            .mount(&server)
            .await;
        let err = client(&server)
            .get(&["users", "u1"])
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), kind, "{content_type} {body:?}: {err}");
        assert_eq!(err.http_status(), Some(404));
        if kind == ErrorKind::Unavailable {
            assert!(err.to_string().contains("HTML page"), "{err}");
            let origin = format!("check the base URL ({})", server.uri());
            assert!(err.to_string().contains(&origin), "{err}");
        }
    }
}

#[tokio::test]
async fn json_behind_a_prefix_or_a_bom_is_never_quoted() {
    let server = MockServer::start().await;
    for (p, body) in [
        ("/xssi", &b")]}'\n{\"token\": \"secret-xyz\" oops"[..]),
        ("/bom", &b"\xEF\xBB\xBF{\"token\": \"secret-xyz\" oops"[..]),
        ("/attr", &b"<html lang=\"en\">secret-xyz</html>"[..]),
    ] {
        Mock::given(path(p))
            .respond_with(
                ResponseTemplate::new(200).set_body_raw(body.to_vec(), "application/json"),
            )
            .mount(&server)
            .await;
        let err = client(&server)
            .get(&[&p[1..]])
            .send_json::<Value>()
            .await
            .unwrap_err();
        assert!(!err.to_string().contains("secret-xyz"), "{p}: {err}");
    }
    // A byte-order mark before good JSON is accepted.
    Mock::given(path("/bom-ok"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"\xEF\xBB\xBF{\"ok\": true}".to_vec(), "application/json"),
        )
        .mount(&server)
        .await;
    let v: Value = client(&server).get(&["bom-ok"]).send_json().await.unwrap();
    assert_eq!(v["ok"], true);
}
