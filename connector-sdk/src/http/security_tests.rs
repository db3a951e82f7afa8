//! Hostile servers and ids against the HTTP client (issue #24): redirects that would carry
//! credentials to another host, `Referer`, plain http, passwords in URLs, endless bodies,
//! and ids that are path syntax. Every server binds 127.0.0.1 on a free port; "another
//! host" is `localhost` on another port, so nothing leaves the machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use url::Url;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::auth::{AuthProvider, AuthRequest, AuthStamp, ClientAuthStyle, OAuth2ClientCredentials};
use super::{DEFAULT_MAX_RESPONSE_BODY, HttpClient, RetryPolicy};
use crate::config::endpoint;
use crate::error::ErrorKind;

const CLIENT_SECRET: &str = "cs-5ecret-never-leaves";
const API_KEY: &str = "ak-5ecret-never-leaves";

/// An API key in an `x-api-key` header, as several SaaS APIs take it.
struct HeaderKey(SecretString);

#[async_trait]
impl AuthProvider for HeaderKey {
    async fn authorize(&self, request: &mut AuthRequest) -> crate::Result<AuthStamp> {
        request.header("x-api-key", &self.0)?;
        Ok(AuthStamp(0))
    }

    async fn unauthorized(&self, _stamp: AuthStamp) -> bool {
        false
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total_wait: Duration::from_secs(5),
    }
}

/// The same server under another host name: `http://localhost:<port>`.
fn other_host(server: &MockServer) -> String {
    format!("http://localhost:{}", server.address().port())
}

async fn requests(server: &MockServer) -> Vec<wiremock::Request> {
    server.received_requests().await.unwrap_or_default()
}

/// No request `server` received carried a `Referer`.
async fn assert_no_referer(server: &MockServer) {
    for r in requests(server).await {
        assert!(
            !r.headers.contains_key("referer"),
            "{} {} carried a Referer: {:?}",
            r.method,
            r.url.path(),
            r.headers.get("referer")
        );
    }
}

// ---- 4. Credentials stay with the configured host --------------------------------------

#[tokio::test]
async fn a_307_on_the_token_request_does_not_take_the_client_secret_to_another_host() {
    for style in [ClientAuthStyle::Body, ClientAuthStyle::Basic] {
        let api = MockServer::start().await;
        let elsewhere = MockServer::start().await;
        // The token endpoint sends the POST on to another host; a 307 keeps the method
        // and the body (the client secret) for whoever follows it.
        Mock::given(method("POST"))
            .and(path("/oauth/token"))
            .respond_with(ResponseTemplate::new(307).insert_header(
                "location",
                format!("{}/collect?from=token", other_host(&elsewhere)),
            ))
            .mount(&api)
            .await;
        Mock::given(wiremock::matchers::any())
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"access_token": "stolen", "expires_in": 60})),
            )
            .mount(&elsewhere)
            .await;
        let token_url = Url::parse(&format!("{}/oauth/token", api.uri())).unwrap();
        let oauth = OAuth2ClientCredentials::new(
            token_url,
            "client-id",
            SecretString::from(CLIENT_SECRET),
            vec![],
        )
        .with_auth_style(style);
        let client = HttpClient::builder(&api.uri())
            .unwrap()
            .auth(oauth)
            .retry(fast())
            .build()
            .unwrap();

        let err = client.get(&["users"]).send().await.unwrap_err();

        assert!(
            requests(&elsewhere).await.is_empty(),
            "{style:?}: the other host was called"
        );
        let text = err.to_string();
        assert_eq!(err.kind(), ErrorKind::FailedPrecondition, "{text}");
        assert!(
            text.contains("POST /oauth/token answered HTTP 307")
                && text.contains(&other_host(&elsewhere))
                && text.contains("not followed"),
            "{text}"
        );
        assert!(
            !text.contains(CLIENT_SECRET) && !text.contains("from=token"),
            "{text}"
        );
        // The API itself was never called without a token, nor with another's.
        assert!(
            requests(&api)
                .await
                .iter()
                .all(|r| r.url.path() == "/oauth/token"),
            "{style:?}"
        );
        assert_no_referer(&api).await;
    }
}

#[tokio::test]
async fn a_302_on_a_header_key_api_does_not_take_the_key_to_another_host() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v3/teammates"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/v3/teammates", other_host(&elsewhere)),
        ))
        .mount(&api)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&elsewhere)
        .await;
    let client = HttpClient::builder(&api.uri())
        .unwrap()
        .auth(HeaderKey(SecretString::from(API_KEY)))
        .retry(fast())
        .build()
        .unwrap();

    let err = client
        .get(&["v3", "teammates"])
        .query(&[("limit", "500")])
        .send_json::<serde_json::Value>()
        .await
        .unwrap_err();

    assert!(
        requests(&elsewhere).await.is_empty(),
        "the key went to the other host"
    );
    let text = err.to_string();
    assert!(
        text.contains("GET /v3/teammates answered HTTP 302")
            && text.contains(&other_host(&elsewhere))
            && text.contains("--base-url"),
        "{text}"
    );
    assert!(
        !text.contains(API_KEY) && !text.contains("limit=500"),
        "{text}"
    );
    // Not retried: a redirect is an answer, not a failure.
    assert_eq!(requests(&api).await.len(), 1);
    // send_raw too: a 3xx is never a silent "response".
    let err = client
        .get(&["v3", "teammates"])
        .send_raw()
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(302));
}

#[tokio::test]
async fn same_origin_redirects_are_followed_only_when_asked_and_never_send_a_referer() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(path("/old"))
        .respond_with(ResponseTemplate::new(301).insert_header("location", "/new?page=2"))
        .mount(&api)
        .await;
    Mock::given(path("/new"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .mount(&api)
        .await;
    Mock::given(path("/away"))
        .respond_with(
            ResponseTemplate::new(308)
                .insert_header("location", format!("{}/new", other_host(&elsewhere))),
        )
        .mount(&api)
        .await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"ok": true})))
        .mount(&elsewhere)
        .await;
    let builder = || {
        HttpClient::builder(&api.uri())
            .unwrap()
            .auth(HeaderKey(SecretString::from(API_KEY)))
            .retry(fast())
    };

    // By default, not even a redirect within the origin is followed.
    let strict = builder().build().unwrap();
    let err = strict.get(&["old"]).send().await.unwrap_err();
    assert!(
        err.to_string().contains("a redirect within")
            && err.to_string().contains("follow_same_origin_redirects"),
        "{err}"
    );
    assert_eq!(requests(&api).await.len(), 1);

    // Opted in: followed within the origin, with the key, and without a Referer.
    let following = builder()
        .follow_same_origin_redirects(true)
        .build()
        .unwrap();
    let v: serde_json::Value = following.get(&["old"]).send_json().await.unwrap();
    assert_eq!(v["ok"], true);
    let seen = requests(&api).await;
    let new = seen
        .iter()
        .find(|r| r.url.path() == "/new")
        .expect("followed");
    assert_eq!(
        new.headers.get("x-api-key").map(|v| v.to_str().unwrap()),
        Some(API_KEY)
    );
    assert_no_referer(&api).await;

    // Opted in, but to another origin: still an error, and the other host sees nothing.
    let err = following.get(&["away"]).send().await.unwrap_err();
    assert!(err.to_string().contains(&other_host(&elsewhere)), "{err}");
    assert!(requests(&elsewhere).await.is_empty());
}

#[tokio::test]
async fn plain_http_to_a_remote_host_is_refused_naming_the_flag_and_variable() {
    let err = HttpClient::builder("http://example.com/api")
        .unwrap()
        .build()
        .unwrap_err();
    let text = err.to_string();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
    assert!(
        text.contains("http://example.com")
            && text.contains("--allow-insecure-http (BATON_ALLOW_INSECURE_HTTP)"),
        "{text}"
    );
    // The operator's opt-in; https; and loopback (simulators, tests) are fine.
    HttpClient::builder("http://example.com/api")
        .unwrap()
        .allow_insecure_http(true)
        .build()
        .unwrap();
    for ok in [
        "https://example.com/",
        "http://127.0.0.1:8080/",
        "http://127.8.9.10/",
        "http://localhost:3000/",
        "http://[::1]:9/",
    ] {
        HttpClient::builder(ok).unwrap().build().unwrap();
    }
    for refused in [
        "http://10.0.0.7/",
        "http://[fe80::1]/",
        "http://localhost.example.com/",
    ] {
        assert!(
            HttpClient::builder(refused).unwrap().build().is_err(),
            "{refused}"
        );
    }

    // An OAuth token URL over plain http to a remote host is refused before any
    // connection, even when the API itself is on loopback.
    let api = MockServer::start().await;
    let oauth = OAuth2ClientCredentials::new(
        Url::parse("http://auth.example.com/oauth/token").unwrap(),
        "client-id",
        SecretString::from(CLIENT_SECRET),
        vec![],
    );
    let client = HttpClient::builder(&api.uri())
        .unwrap()
        .auth(oauth)
        .retry(fast())
        .build()
        .unwrap();
    let err = client.get(&["users"]).send().await.unwrap_err();
    assert!(err.to_string().contains("--allow-insecure-http"), "{err}");
    assert!(requests(&api).await.is_empty());
}

#[test]
fn a_password_in_a_base_url_is_refused_without_being_printed() {
    for raw in [
        "https://admin:hunter2-pw@api.example.com/v2",
        "https://hunter2-pw@api.example.com/",
        "http://admin:hunter2-pw@127.0.0.1:9/",
        // Unparseable, still not echoed.
        "https://admin:hunter2-pw@exa mple.com/",
    ] {
        let err = HttpClient::builder(raw).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{text}");
        assert!(!text.contains("hunter2-pw"), "{text}");
        assert!(text.contains("***@"), "{text}");
        let err = endpoint("https://api.example.com/", Some(raw)).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("--base-url (BATON_BASE_URL)") && !text.contains("hunter2-pw"),
            "{text}"
        );
    }
    let err = HttpClient::builder("https://admin:hunter2-pw@api.example.com/").unwrap_err();
    assert!(err.to_string().contains("user name or password"), "{err}");
}

#[tokio::test]
async fn a_next_page_url_with_a_password_is_refused() {
    let client = HttpClient::builder("https://api.example.com/")
        .unwrap()
        .build()
        .unwrap();
    let err = client
        .request_url(
            http::Method::GET,
            "https://me:hunter2-pw@api.example.com/users?page=2",
        )
        .unwrap_err();
    assert!(!err.to_string().contains("hunter2-pw"), "{err}");
    assert!(err.to_string().contains("user name or password"), "{err}");
}

// ---- 5. Bodies have limits --------------------------------------------------------------

/// A server that answers every request with up to 1 GiB, generated 64 KiB at a time as it
/// is written (never held in memory): chunked, or under a `Content-Length` of 1 GiB.
pub(crate) struct EndlessServer {
    /// `http://127.0.0.1:<port>`.
    pub(crate) uri: String,
    /// Body bytes written so far, over all connections.
    pub(crate) written: Arc<AtomicU64>,
    /// Connections accepted.
    pub(crate) connections: Arc<AtomicUsize>,
}

impl EndlessServer {
    pub(crate) const TOTAL: u64 = 1 << 30;

    pub(crate) async fn start(declare_length: bool) -> EndlessServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}", listener.local_addr().unwrap());
        let written = Arc::new(AtomicU64::new(0));
        let connections = Arc::new(AtomicUsize::new(0));
        let (w, c) = (written.clone(), connections.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                c.fetch_add(1, Ordering::SeqCst);
                let w = w.clone();
                tokio::spawn(async move {
                    // Read the request head.
                    let mut head = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !head.windows(4).any(|x| x == b"\r\n\r\n") {
                        match sock.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let framing = if declare_length {
                        format!("Content-Length: {}", Self::TOTAL)
                    } else {
                        "Transfer-Encoding: chunked".to_string()
                    };
                    let start = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
                    );
                    if sock.write_all(start.as_bytes()).await.is_err() {
                        return;
                    }
                    let chunk = vec![b' '; 64 * 1024];
                    let mut sent = 0u64;
                    while sent < Self::TOTAL {
                        let ok = if declare_length {
                            sock.write_all(&chunk).await.is_ok()
                        } else {
                            let framed =
                                [format!("{:x}\r\n", chunk.len()).as_bytes(), &chunk, b"\r\n"]
                                    .concat();
                            sock.write_all(&framed).await.is_ok()
                        };
                        if !ok {
                            return;
                        }
                        sent += chunk.len() as u64;
                        w.fetch_add(chunk.len() as u64, Ordering::SeqCst);
                    }
                });
            }
        });
        EndlessServer {
            uri,
            written,
            connections,
        }
    }

    /// Waits until the server stopped writing (the client hung up), and returns the body
    /// bytes written.
    pub(crate) async fn settled(&self) -> u64 {
        let mut last = u64::MAX;
        for _ in 0..200 {
            let now = self.written.load(Ordering::SeqCst);
            if now == last {
                return now;
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server is still writing: the client keeps reading an endless body");
    }
}

#[tokio::test]
async fn an_endless_body_fails_at_the_cap_without_being_read_to_the_end() {
    let server = EndlessServer::start(false).await;
    let client = HttpClient::builder(&server.uri)
        .unwrap()
        .max_response_body(256 * 1024)
        .retry(fast())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client
        .get(&["v3", "teammates"])
        .query(&[("token", "q-5ecret")])
        .send()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("GET /v3/teammates") && text.contains("limit of 256 KiB"),
        "{text}"
    );
    assert!(!text.contains("q-5ecret"), "{text}");
    assert!(started.elapsed() < Duration::from_secs(30));
    // The client stopped reading: far less than the 1 GiB was ever written (what the
    // kernel's socket buffers took is all), and the request was not retried.
    let written = server.settled().await;
    assert!(written < 64 << 20, "{written} bytes written");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_content_length_past_the_cap_fails_before_the_body_is_read() {
    let server = EndlessServer::start(true).await;
    let client = HttpClient::builder(&server.uri)
        .unwrap()
        .max_response_body(1024 * 1024)
        .build()
        .unwrap();
    let err = client.get(&["export"]).send_raw().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("GET /export")
            && text.contains("limit of 1 MiB")
            && text.contains(&format!("Content-Length is {} bytes", EndlessServer::TOTAL)),
        "{text}"
    );
    assert!(server.settled().await < 64 << 20);
}

#[tokio::test]
async fn the_default_cap_is_64_mib() {
    assert_eq!(DEFAULT_MAX_RESPONSE_BODY, 64 * 1024 * 1024);
    let server = EndlessServer::start(true).await;
    let client = HttpClient::builder(&server.uri).unwrap().build().unwrap();
    assert_eq!(client.max_response_body(), 64 * 1024 * 1024);
    // A 1 GiB answer is refused by its Content-Length, naming the default.
    let err = client.get(&["export"]).send_raw().await.unwrap_err();
    assert!(err.to_string().contains("limit of 64 MiB"), "{err}");
    // A body within the cap is read whole.
    let api = MockServer::start().await;
    Mock::given(path("/small"))
        .respond_with(ResponseTemplate::new(200).set_body_string("x".repeat(100_000)))
        .mount(&api)
        .await;
    let client = HttpClient::builder(&api.uri()).unwrap().build().unwrap();
    let resp = client.get(&["small"]).send().await.unwrap();
    assert_eq!(resp.body().len(), 100_000);
}

#[tokio::test]
async fn a_token_endpoint_with_an_endless_body_fails_at_the_clients_cap() {
    let server = EndlessServer::start(false).await;
    let oauth = OAuth2ClientCredentials::new(
        Url::parse(&format!("{}/oauth/token", server.uri)).unwrap(),
        "client-id",
        SecretString::from(CLIENT_SECRET),
        vec![],
    );
    let client = HttpClient::builder(&server.uri)
        .unwrap()
        .auth(oauth)
        .max_response_body(128 * 1024)
        .retry(fast())
        .build()
        .unwrap();
    let err = client.get(&["users"]).send().await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("POST /oauth/token") && text.contains("limit of 128 KiB"),
        "{text}"
    );
    assert!(server.settled().await < 64 << 20);
}

// ---- 6. Ids are data, not syntax --------------------------------------------------------

#[tokio::test]
async fn dot_segments_are_refused_before_anything_is_sent() {
    let api = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(204))
        .mount(&api)
        .await;
    let client = HttpClient::builder(&format!("{}/", api.uri()))
        .unwrap()
        .auth(HeaderKey(SecretString::from(API_KEY)))
        .build()
        .unwrap();
    for id in ["..", ".", ""] {
        let err = client
            .delete(&["v3", "teammates", id])
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument, "{id:?}: {err}");
        assert!(err.to_string().contains(&format!("{id:?}")), "{err}");
    }
    // `DELETE /v3/teammates` (the collection) or `DELETE /v3` never went out.
    assert!(requests(&api).await.is_empty());
}

#[tokio::test]
async fn an_id_with_path_syntax_stays_one_segment() {
    let api = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(204))
        .mount(&api)
        .await;
    let client = HttpClient::builder(&api.uri()).unwrap().build().unwrap();
    for id in [
        "a/../../admin",
        "x?role=owner",
        "y#frag",
        "%2E%2E",
        "..%2F",
        "b\\..\\c",
        "...",
    ] {
        client
            .delete(&["v3", "teammates", id])
            .send()
            .await
            .unwrap_or_else(|e| panic!("{id:?}: {e}"));
    }
    let seen = requests(&api).await;
    assert_eq!(seen.len(), 7);
    for r in &seen {
        let segments: Vec<&str> = r.url.path_segments().unwrap().collect();
        assert_eq!(segments.len(), 3, "{}", r.url);
        assert_eq!(&segments[..2], ["v3", "teammates"], "{}", r.url);
        assert!(
            r.url.query().is_none() && r.url.fragment().is_none(),
            "{}",
            r.url
        );
    }
    assert_eq!(seen[0].url.path(), "/v3/teammates/a%2F..%2F..%2Fadmin");
    assert_eq!(seen[1].url.path(), "/v3/teammates/x%3Frole=owner");
    assert_eq!(seen[3].url.path(), "/v3/teammates/%252E%252E");
    // A URL with the id round-trips to the id.
    let url = client.url(&["v3", "teammates", "a/../../admin"]).unwrap();
    let last = url.path_segments().unwrap().next_back().unwrap();
    assert_eq!(percent_decode(last), "a/../../admin", "{}", url.as_str());
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
