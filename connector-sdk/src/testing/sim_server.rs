//! The plumbing every simulated HTTP tenant shares: a wiremock server on 127.0.0.1 (a free
//! port) whose every request goes to one stateful handler.
//!
//! ```
//! use connector_sdk::testing::{SimHandler, SimServer};
//! use wiremock::{Request, ResponseTemplate};
//!
//! #[derive(Default)]
//! struct Counter(u32);
//!
//! impl SimHandler for Counter {
//!     fn handle(&mut self, _req: &Request) -> ResponseTemplate {
//!         self.0 += 1;
//!         ResponseTemplate::new(200).set_body_string(self.0.to_string())
//!     }
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let sim = SimServer::start(Counter::default()).await;
//! assert!(sim.uri().starts_with("http://127.0.0.1:"));
//! assert_eq!(sim.state().0, 0);
//! # });
//! ```

use std::sync::{Arc, Mutex, MutexGuard};

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// A simulated tenant's state, answering every request.
pub trait SimHandler: Send + 'static {
    /// Answers one request (the state is locked meanwhile).
    fn handle(&mut self, req: &Request) -> ResponseTemplate;
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
    pub async fn start(state: S) -> Self {
        let server = MockServer::start().await;
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

    /// The state (locked while the guard lives: do not hold it across a request).
    pub fn state(&self) -> MutexGuard<'_, S> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}
