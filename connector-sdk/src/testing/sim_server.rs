//! The plumbing every simulated HTTP tenant shares: a wiremock server on 127.0.0.1 (a free
//! port) whose every request goes to one stateful handler.
//!
//! ```
//! use connector_sdk::testing::{SimHandler, SimServer};
//! use connector_sdk::Url;
//! use wiremock::{Request, ResponseTemplate};
//!
//! #[derive(Default)]
//! struct Counter { calls: u32, base: Option<Url> }
//!
//! impl SimHandler for Counter {
//!     fn started(&mut self, base_url: &Url) {
//!         self.base = Some(base_url.clone());
//!     }
//!
//!     fn handle(&mut self, _req: &Request) -> ResponseTemplate {
//!         self.calls += 1;
//!         // An absolute link to this very server.
//!         let next = self.base.as_ref().and_then(|b| b.join(&format!("count?after={}", self.calls)).ok());
//!         let link = next.map(|u| format!("<{u}>; rel=\"next\"")).unwrap_or_default();
//!         ResponseTemplate::new(200).set_body_string(self.calls.to_string()).insert_header("Link", link.as_str())
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sim = SimServer::start(Counter::default()).await;
//! assert!(sim.uri().starts_with("http://127.0.0.1:"));
//! assert_eq!(sim.state().calls, 0);
//! assert_eq!(sim.state().base.as_ref(), Some(&sim.url()));
//! connector_sdk::http::ensure_tls_provider();
//! reqwest::get(format!("{}/count?after=0", sim.uri())).await.unwrap();
//! assert_eq!(sim.requests("GET", "/count"), 1);
//! # });
//! ```

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use url::Url;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// `http://127.0.0.1:PORT/` of `server`.
fn base_url(server: &MockServer) -> Url {
    // A loopback socket address always makes a valid URL.
    Url::parse(&format!("http://{}/", server.address()))
        .expect("a socket address makes a valid URL")
}

/// The base URL a client used to reach this server, from the request's `Host`:
/// `http://HOST/`. Build absolute links (`Link`, SCIM `meta.location`, `@odata.nextLink`)
/// on it and they name whatever the client called — a
/// [`FaultProxy`](super::FaultProxy) in front of the tenant included — so the client
/// follows them. Falls back to the request URL's own host without a `Host` header.
///
/// ```
/// # use connector_sdk::testing::request_base;
/// let mut headers = http::HeaderMap::new();
/// headers.insert("host", "127.0.0.1:4040".parse().unwrap());
/// let req = wiremock::Request {
///     url: "http://localhost:5050/users?page=1".parse().unwrap(),
///     method: http::Method::GET,
///     headers,
///     body: Vec::new(),
/// };
/// assert_eq!(request_base(&req).join("users?page=2").unwrap().as_str(), "http://127.0.0.1:4040/users?page=2");
/// ```
pub fn request_base(req: &Request) -> Url {
    let host = req
        .headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .filter(|h| !h.is_empty() && !h.contains(['/', '@', '?', '#']));
    let mut base = req.url.clone();
    base.set_path("/");
    base.set_query(None);
    base.set_fragment(None);
    match host.and_then(|h| Url::parse(&format!("{}://{h}/", req.url.scheme())).ok()) {
        Some(u) => u,
        None => base,
    }
}

/// A simulated tenant's state, answering every request.
pub trait SimHandler: Send + 'static {
    /// Answers one request (the state is locked meanwhile).
    ///
    /// `req.url` names `localhost`, not the server: to build an absolute URL (a `Link`
    /// header, a SCIM `meta.location`, an `@odata.nextLink`), keep the base URL given to
    /// [`started`](SimHandler::started).
    fn handle(&mut self, req: &Request) -> ResponseTemplate;

    /// Called once by [`SimServer::start`] with the server's base URL
    /// (`http://127.0.0.1:PORT/`), before any request is answered. Does nothing unless
    /// overridden.
    ///
    /// A URL built on it names this server: behind a
    /// [`FaultProxy`](super::FaultProxy) a client refuses to follow it to another host,
    /// so prefer relative links (`</users?page=2>`) where the API allows them.
    fn started(&mut self, base_url: &Url) {
        let _ = base_url;
    }
}

/// Requests received, by `METHOD /path` (no query).
type Counts = Arc<Mutex<BTreeMap<String, u64>>>;

/// A running simulated tenant.
pub struct SimServer<S> {
    server: MockServer,
    state: Arc<Mutex<S>>,
    counts: Counts,
}

struct Route<S> {
    state: Arc<Mutex<S>>,
    counts: Counts,
}

impl<S: SimHandler> Respond for Route<S> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(format!("{} {}", req.method, req.url.path()))
            .or_default() += 1;
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .handle(req)
    }
}

impl<S: SimHandler> SimServer<S> {
    /// Starts a server on 127.0.0.1 with a free port, answering from `state`.
    pub async fn start(mut state: S) -> Self {
        let server = MockServer::start().await;
        state.started(&base_url(&server));
        let state = Arc::new(Mutex::new(state));
        let counts = Counts::default();
        Mock::given(wiremock::matchers::any())
            .respond_with(Route {
                state: state.clone(),
                counts: counts.clone(),
            })
            .mount(&server)
            .await;
        SimServer {
            server,
            state,
            counts,
        }
    }

    /// How many requests reached `METHOD path` (the path without its query), e.g.
    /// `sim.requests("GET", "/v3/teammates")`.
    pub fn requests(&self, method: &str, path: &str) -> u64 {
        self.request_counts()
            .get(&format!("{} {path}", method.to_ascii_uppercase()))
            .copied()
            .unwrap_or(0)
    }

    /// Every route's request count, keyed `METHOD /path`.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Serves until the process ends: a simulated tenant run as a process, for trying a
    /// connector binary against it by hand (see the `sim` example).
    pub async fn serve_forever(self) {
        let _keep = self;
        std::future::pending::<()>().await
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    /// The base URL as a [`Url`], `http://127.0.0.1:PORT/` (what
    /// [`SimHandler::started`] was given).
    pub fn url(&self) -> Url {
        base_url(&self.server)
    }

    /// The state (locked while the guard lives: do not hold it across a request).
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
