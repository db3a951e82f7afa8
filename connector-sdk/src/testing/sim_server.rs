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
//! # });
//! ```

use std::sync::{Arc, Mutex, MutexGuard};

use url::Url;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// `http://127.0.0.1:PORT/` of `server`.
fn base_url(server: &MockServer) -> Url {
    // A loopback socket address always makes a valid URL.
    Url::parse(&format!("http://{}/", server.address()))
        .expect("a socket address makes a valid URL")
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

/// A running simulated tenant.
pub struct SimServer<S> {
    server: MockServer,
    state: Arc<Mutex<S>>,
}

struct Route<S>(Arc<Mutex<S>>);

impl<S: SimHandler> Respond for Route<S> {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).handle(req)
    }
}

impl<S: SimHandler> SimServer<S> {
    /// Starts a server on 127.0.0.1 with a free port, answering from `state`.
    pub async fn start(mut state: S) -> Self {
        let server = MockServer::start().await;
        state.started(&base_url(&server));
        let state = Arc::new(Mutex::new(state));
        Mock::given(wiremock::matchers::any())
            .respond_with(Route(state.clone()))
            .mount(&server)
            .await;
        SimServer { server, state }
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
