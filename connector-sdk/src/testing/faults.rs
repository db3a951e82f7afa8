//! A fault-injecting HTTP proxy for tests: put it between a connector and a simulated
//! tenant (or any loopback HTTP server) and it answers some requests the way real
//! servers, gateways and networks fail.
//!
//! The proxy speaks plain HTTP/1.1 on 127.0.0.1 (a free port), forwards each request to
//! the upstream on a fresh connection, and lets a [`FaultPlan`] decide, request by request,
//! whether to pass the answer through or replace it with a [`Fault`]: a 5xx, a reset
//! connection, a gateway's HTML page (with 200, or as a proxy's 404), JSON cut short under
//! an honest `Content-Length`, a slow answer, a 401, a 429 in its three dialects, a lying
//! `totalResults`, or the previous page of the same listing again.
//!
//! ```
//! use connector_sdk::testing::{Fault, FaultPlan, FaultProxy, SimHandler, SimServer};
//! use wiremock::{Request, ResponseTemplate};
//!
//! struct Hello;
//! impl SimHandler for Hello {
//!     fn handle(&mut self, _req: &Request) -> ResponseTemplate {
//!         ResponseTemplate::new(200).set_body_json(serde_json::json!({"hello": "world"}))
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sim = SimServer::start(Hello).await;
//! // Every second GET fails with a 503.
//! let proxy = FaultProxy::start(&sim.uri(), FaultPlan::every(2, Fault::Status(503))).await;
//! connector_sdk::http::ensure_tls_provider();
//! let client = reqwest::Client::new();
//! let first = client.get(format!("{}/x", proxy.uri())).send().await.unwrap();
//! let second = client.get(format!("{}/x", proxy.uri())).send().await.unwrap();
//! assert_eq!((first.status().as_u16(), second.status().as_u16()), (200, 503));
//! assert_eq!(proxy.injected().len(), 1);
//! # });
//! ```

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One way a server or the network fails a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// An error status with a small JSON body (500, 502, 503, 504…).
    Status(u16),
    /// The connection is reset after the request was read: no answer at all.
    Reset,
    /// A `200` whose body is a gateway's HTML error page.
    HtmlPage,
    /// A `404` whose body is a proxy's HTML page: a path the proxy does not route (an
    /// encoded `/` it refuses, a wrong base path). It says nothing about the resource.
    HtmlNotFound,
    /// The real answer with its body cut in half, under an honest `Content-Length`.
    Truncated,
    /// The real answer, after a delay.
    Slow(Duration),
    /// A `401` (an access token the server stopped accepting).
    Unauthorized,
    /// A `429` with `Retry-After` in seconds.
    TooManyRequests {
        /// The seconds to wait.
        retry_after: u64,
    },
    /// A `429` with `Retry-After` as an HTTP date (one second from now, rounded up).
    TooManyRequestsDate,
    /// A `429` with no header saying how long to wait.
    TooManyRequestsBare,
    /// The real answer with a JSON `totalResults` replaced by this number.
    LyingTotal(u64),
    /// The answer this listing gave for its previous page (same path, another query),
    /// with its `totalResults`: a caching proxy or an off-by-one.
    RepeatedPage,
}

/// Which requests get which fault.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    rule: Rule,
    /// Only requests of these methods are faulted (default: `GET`, so a sync is hit but a
    /// token request or a write is not).
    methods: Vec<String>,
    /// Requests whose path contains one of these are never faulted.
    spared_paths: Vec<String>,
    /// At most this many faults in all.
    at_most: Option<usize>,
}

#[derive(Debug, Clone)]
enum Rule {
    Never,
    /// The `n`-th, `2n`-th, … eligible request.
    Every(u64, Fault),
    /// Every eligible request.
    Always(Fault),
    /// Eligible requests whose 1-based number is listed.
    Nth(Vec<(u64, Fault)>),
    /// A seeded draw per eligible request: with probability `percent`/100, one of `faults`.
    Seeded {
        rng: Arc<Mutex<fastrand::Rng>>,
        percent: u8,
        faults: Vec<Fault>,
    },
}

impl FaultPlan {
    /// No faults: the proxy only forwards.
    pub fn none() -> Self {
        FaultPlan::with_rule(Rule::Never)
    }

    /// `fault` on every `n`-th eligible request (n ≥ 1), so a retry right after it goes
    /// through when n ≥ 2.
    pub fn every(n: u64, fault: Fault) -> Self {
        FaultPlan::with_rule(Rule::Every(n.max(1), fault))
    }

    /// `fault` on every eligible request.
    pub fn always(fault: Fault) -> Self {
        FaultPlan::with_rule(Rule::Always(fault))
    }

    /// The given faults on the given eligible requests (1-based numbers).
    pub fn nth(faults: impl IntoIterator<Item = (u64, Fault)>) -> Self {
        FaultPlan::with_rule(Rule::Nth(faults.into_iter().collect()))
    }

    /// A mixed schedule: each eligible request draws, from `seed`, a fault among `faults`
    /// with probability `percent` in 100. The same seed gives the same schedule for the
    /// same order of requests.
    pub fn seeded(seed: u64, percent: u8, faults: Vec<Fault>) -> Self {
        FaultPlan::with_rule(Rule::Seeded {
            rng: Arc::new(Mutex::new(fastrand::Rng::with_seed(seed))),
            percent: percent.min(100),
            faults,
        })
    }

    fn with_rule(rule: Rule) -> Self {
        FaultPlan {
            rule,
            methods: vec!["GET".to_string()],
            spared_paths: Vec::new(),
            at_most: None,
        }
    }

    /// Injects at most `n` faults in all (e.g. one repeated page, then clean answers).
    pub fn at_most(mut self, n: usize) -> Self {
        self.at_most = Some(n);
        self
    }

    /// Faults requests of these methods (instead of `GET` only).
    pub fn methods(mut self, methods: &[&str]) -> Self {
        self.methods = methods.iter().map(|m| m.to_ascii_uppercase()).collect();
        self
    }

    /// Never faults a request whose path contains `fragment` (e.g. a token endpoint).
    pub fn sparing(mut self, fragment: &str) -> Self {
        self.spared_paths.push(fragment.to_string());
        self
    }

    fn eligible(&self, method: &str, path: &str) -> bool {
        self.methods.iter().any(|m| m == method)
            && !self.spared_paths.iter().any(|p| path.contains(p.as_str()))
    }

    fn pick(&self, n: u64) -> Option<Fault> {
        match &self.rule {
            Rule::Never => None,
            Rule::Every(k, f) => n.is_multiple_of(*k).then(|| f.clone()),
            Rule::Always(f) => Some(f.clone()),
            Rule::Nth(list) => list.iter().find(|(i, _)| *i == n).map(|(_, f)| f.clone()),
            Rule::Seeded {
                rng,
                percent,
                faults,
            } => {
                let mut rng = rng.lock().unwrap_or_else(|p| p.into_inner());
                if faults.is_empty() || rng.u8(0..100) >= *percent {
                    return None;
                }
                Some(faults[rng.usize(0..faults.len())].clone())
            }
        }
    }
}

/// A fault the proxy injected: the eligible request's number, method and path (with query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injected {
    /// The eligible request's 1-based number.
    pub request: u64,
    /// Method and target, e.g. `GET /scim/v2/Users?startIndex=101`.
    pub target: String,
    /// What was done.
    pub fault: Fault,
}

#[derive(Default)]
struct Log {
    eligible: u64,
    requests: u64,
    injected: Vec<Injected>,
    /// path → (query, raw answer) of the last successful GET, for repeated pages.
    last_page: HashMap<String, (String, Vec<u8>)>,
}

struct Shared {
    upstream: SocketAddr,
    plan: Mutex<FaultPlan>,
    log: Mutex<Log>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The running proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on 127.0.0.1 (a free port) in front of `upstream`
    /// (`http://127.0.0.1:PORT`, a loopback server).
    ///
    /// # Panics
    ///
    /// When `upstream` is not `http://<ip>:<port>` or no port is free (test setup errors).
    pub async fn start(upstream: &str, plan: FaultPlan) -> Self {
        let upstream: SocketAddr = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("the upstream is http://<ip>:<port>");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free loopback port");
        let addr = listener.local_addr().expect("a bound address");
        let shared = Arc::new(Shared {
            upstream,
            plan: Mutex::new(plan),
            log: Mutex::new(Log::default()),
        });
        let s = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(conn, &s).await;
                });
            }
        });
        FaultProxy { addr, shared, task }
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT`, to configure the connector with.
    pub fn uri(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Replaces the plan (the request count goes on).
    pub fn set_plan(&self, plan: FaultPlan) {
        *lock(&self.shared.plan) = plan;
    }

    /// Every request the proxy has seen.
    pub fn requests(&self) -> u64 {
        lock(&self.shared.log).requests
    }

    /// The faults injected so far.
    pub fn injected(&self) -> Vec<Injected> {
        lock(&self.shared.log).injected.clone()
    }
}

/// One request read from a client: method, target, and the raw bytes to forward.
struct Incoming {
    method: String,
    target: String,
    raw: Vec<u8>,
}

async fn serve(mut conn: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let Some(req) = read_request(&mut conn).await? else {
        return Ok(());
    };
    let path = req.target.split('?').next().unwrap_or("").to_string();
    let query = req
        .target
        .split_once('?')
        .map_or("", |(_, q)| q)
        .to_string();
    let fault = {
        let plan = lock(&shared.plan);
        let mut log = lock(&shared.log);
        log.requests += 1;
        if plan.eligible(&req.method, &path) {
            log.eligible += 1;
            let n = log.eligible;
            let mut fault = plan.pick(n);
            if plan.at_most.is_some_and(|max| log.injected.len() >= max) {
                fault = None;
            }
            // A repeated page needs an earlier page of the same listing to repeat.
            if fault == Some(Fault::RepeatedPage)
                && log.last_page.get(&path).is_none_or(|(q, _)| *q == query)
            {
                fault = None;
            }
            if let Some(f) = &fault {
                log.injected.push(Injected {
                    request: n,
                    target: format!("{} {}", req.method, req.target),
                    fault: f.clone(),
                });
            }
            fault
        } else {
            None
        }
    };
    let answer = match fault {
        Some(Fault::Reset) => {
            // SO_LINGER 0: closing sends a RST, as a dropped connection does. (Deprecated
            // because a non-zero linger blocks on drop; zero never does.)
            #[allow(deprecated)]
            let _ = conn.set_linger(Some(Duration::ZERO));
            return Ok(());
        }
        Some(Fault::Status(code)) => simple(code, "application/json", br#"{"error":"injected"}"#, &[]),
        Some(Fault::HtmlPage) => simple(
            200,
            "text/html",
            b"<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
            &[],
        ),
        Some(Fault::HtmlNotFound) => simple(
            404,
            "text/html; charset=utf-8",
            b"<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL was not found on this server.</p><hr><address>Apache Server</address></body></html>",
            &[],
        ),
        Some(Fault::Unauthorized) => simple(401, "application/json", br#"{"error":"invalid_token"}"#, &[]),
        Some(Fault::TooManyRequests { retry_after }) => simple(
            429,
            "application/json",
            br#"{"error":"rate limited"}"#,
            &[("Retry-After", retry_after.to_string())],
        ),
        Some(Fault::TooManyRequestsDate) => {
            let at = std::time::SystemTime::now() + Duration::from_secs(2);
            simple(
                429,
                "text/plain",
                b"Too Many Requests",
                &[("Retry-After", httpdate::fmt_http_date(at))],
            )
        }
        Some(Fault::TooManyRequestsBare) => simple(429, "text/plain", b"Too Many Requests", &[]),
        Some(Fault::RepeatedPage) => {
            let previous = lock(&shared.log).last_page.get(&path).cloned();
            match previous {
                Some((_, raw)) => raw,
                None => forward(shared, &req).await?,
            }
        }
        Some(Fault::Slow(d)) => {
            tokio::time::sleep(d).await;
            forward(shared, &req).await?
        }
        Some(Fault::Truncated) => truncate(&forward(shared, &req).await?),
        Some(Fault::LyingTotal(n)) => lie_about_total(&forward(shared, &req).await?, n),
        None => {
            let raw = forward(shared, &req).await?;
            if req.method == "GET" && raw.starts_with(b"HTTP/1.1 2") {
                lock(&shared.log)
                    .last_page
                    .insert(path.clone(), (query.clone(), raw.clone()));
            }
            raw
        }
    };
    conn.write_all(&answer).await?;
    conn.shutdown().await
}

/// Reads one request (headers and a `Content-Length` body); `None` when the client closed.
async fn read_request(conn: &mut TcpStream) -> std::io::Result<Option<Incoming>> {
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = conn.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut headers);
        let head_len = match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => continue,
            Err(e) => return Err(std::io::Error::other(format!("not an HTTP request: {e}"))),
        };
        let method = parsed.method.unwrap_or("GET").to_string();
        let target = parsed.path.unwrap_or("/").to_string();
        let body_len = content_length(parsed.headers);
        while buf.len() < head_len.saturating_add(body_len) {
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        // Forward with `Connection: close`, so the upstream's answer ends at EOF.
        let mut raw = Vec::with_capacity(buf.len() + 32);
        let head = String::from_utf8_lossy(&buf[..head_len]);
        for line in head.split("\r\n") {
            if line.is_empty() || line.to_ascii_lowercase().starts_with("connection:") {
                continue;
            }
            raw.extend_from_slice(line.as_bytes());
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"Connection: close\r\n\r\n");
        raw.extend_from_slice(&buf[head_len..]);
        return Ok(Some(Incoming {
            method,
            target,
            raw,
        }));
    }
}

fn content_length(headers: &[httparse::Header<'_>]) -> usize {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| std::str::from_utf8(h.value).ok())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Sends the request to the upstream and returns its whole answer, re-framed with
/// `Connection: close`.
async fn forward(shared: &Shared, req: &Incoming) -> std::io::Result<Vec<u8>> {
    let mut up = TcpStream::connect(shared.upstream).await?;
    up.write_all(&req.raw).await?;
    let mut raw = Vec::new();
    up.read_to_end(&mut raw).await?;
    let (status, headers, body) = split_response(&raw)
        .ok_or_else(|| std::io::Error::other("the upstream's answer is not HTTP/1.1"))?;
    Ok(reframe(status, &headers, &body))
}

/// Status, headers (without framing ones) and body of a raw answer.
/// Status, headers and body of an answer.
type Parts = (u16, Vec<(String, String)>, Vec<u8>);

fn split_response(raw: &[u8]) -> Option<Parts> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_len) = parsed.parse(raw).ok()? else {
        return None;
    };
    let status = parsed.code?;
    let mut kept = Vec::new();
    let mut chunked = false;
    for h in parsed.headers.iter() {
        let name = h.name.to_ascii_lowercase();
        let value = String::from_utf8_lossy(h.value).to_string();
        if name == "transfer-encoding" && value.to_ascii_lowercase().contains("chunked") {
            chunked = true;
        }
        if matches!(
            name.as_str(),
            "content-length" | "transfer-encoding" | "connection"
        ) {
            continue;
        }
        kept.push((h.name.to_string(), value));
    }
    let body = &raw[head_len..];
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Some((status, kept, body))
}

fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = body.get(size + 2..)?;
    }
}

fn reframe(status: u16, headers: &[(String, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out
}

fn simple(status: u16, content_type: &str, body: &[u8], extra: &[(&str, String)]) -> Vec<u8> {
    let mut headers = vec![("Content-Type".to_string(), content_type.to_string())];
    headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
    reframe(status, &headers, body)
}

fn truncate(raw: &[u8]) -> Vec<u8> {
    match split_response(raw) {
        Some((status, headers, body)) => reframe(status, &headers, &body[..body.len() / 2]),
        None => raw.to_vec(),
    }
}

fn lie_about_total(raw: &[u8], total: u64) -> Vec<u8> {
    let Some((status, headers, body)) = split_response(raw) else {
        return raw.to_vec();
    };
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(serde_json::Value::Object(mut obj)) if obj.contains_key("totalResults") => {
            obj.insert("totalResults".into(), total.into());
            let body = serde_json::to_vec(&obj).unwrap_or(body);
            reframe(status, &headers, &body)
        }
        _ => raw.to_vec(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        401 => "Unauthorized",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

#[cfg(test)]
mod tests;
