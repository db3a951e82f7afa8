//! The access explorer (feature `explorer`, enabled by `cli`): a read-only web page and
//! JSON API over a `.c1z`, served by the binary itself. Pick a person and see everything
//! they hold and through what (directly, or via which group and expandable grant); pick an
//! entitlement and see who holds it; see what changed between two syncs.
//!
//! ```no_run
//! # async fn f() -> connector_sdk::Result<()> {
//! use connector_sdk::explorer::Explorer;
//! let bound = Explorer::open("sync.c1z".as_ref())?
//!     .bind("127.0.0.1:0".parse().unwrap(), false)
//!     .await?;
//! println!("{}", bound.url()); // http://127.0.0.1:PORT/#token=…
//! bound.serve_until(std::future::pending()).await
//! # }
//! ```
//!
//! Run it with `baton serve FILE` or `<connector> explore [FILE]`.
//!
//! * Read-only: only `GET` routes exist, and the file is read from a private decompressed
//!   copy opened read-only; the `.c1z` itself is never written.
//! * Only with its link: each run makes a random token, printed in the link's fragment
//!   ([`BoundExplorer::url`]); the page keeps it for its origin and sends it as a bearer
//!   token, as scripts do; an API call without it gets 401, so another user of the
//!   machine cannot read the file through the port. The page itself holds no data.
//! * Loopback by default: the token is its only authentication (no accounts), so a
//!   non-loopback address needs `allow_remote` (`--allow-remote`) and prints a warning.
//! * Its own name only: a request whose `Host` is not `127.0.0.1`, `localhost` or `[::1]`
//!   with the port (or the bound address, or a `--public-host`) gets 421, so a web page
//!   cannot read the file through the operator's browser by DNS rebinding.
//! * Bounded work: requests run on 4 connections to the copy (one slow request does not
//!   hold up the others), each stopped after 10 s (503), each answer at most 32 MiB; the
//!   path of a grant through nested groups is a breadth-first walk, linear in the grants.
//! * Large files stay fast: every list is one keyset-paged SQL query over an index of the
//!   schema (see [`crate::store::RowPage`]); the page never loads a whole table.
//!
//! API (all `GET`, JSON, each with `Authorization: Bearer TOKEN`; errors are
//! `{"error": "…"}` with 400, 401 (no or another token), 404, 421 (another `Host`) or 503
//! (past the deadline); lists take
//! `limit` (1–500, default 50) and `after` (the `next` of the previous page)):
//!
//! | path | answers |
//! |---|---|
//! | `/api/file` | the file name and the sync shown |
//! | `/api/resource-types` | types with their resource counts |
//! | `/api/resources?type=&q=` | resources, searchable by name, email, login or id |
//! | `/api/resources/{type}/{id}` | one resource with counts |
//! | `/api/resources/{type}/{id}/entitlements` | its entitlements with holder counts |
//! | `/api/resources/{type}/{id}/grants` | grants of its entitlements |
//! | `/api/resources/{type}/{id}/access` | what it holds as a principal, with paths |
//! | `/api/entitlements/{id}` | one entitlement |
//! | `/api/entitlements/{id}/holders` | who holds it and how |
//! | `/api/syncs` | the syncs in the file |
//! | `/api/diff?from=&to=` | counts of each kind of change (default: previous → shown) |
//! | `/api/diff/{kind}?from=&to=` | one kind: `grants-added`, `grants-removed`, `resources-added`, `resources-removed`, `resources-changed`, `entitlements-added`, `entitlements-removed` |

mod access;
mod api;
#[cfg(feature = "cli")]
mod args;
mod assets;
mod error;
mod host;
mod params;
mod pool;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;

use crate::error::{Error, Result};
use crate::store::{C1zReader, StoreLimits};

#[cfg(feature = "cli")]
pub use args::ExploreArgs;

/// The default address: loopback, port 8080.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// An opened file, ready to serve.
pub struct Explorer {
    state: api::AppState,
    public_hosts: Vec<String>,
}

impl std::fmt::Debug for Explorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Explorer")
            .field("file", &self.state.file_name)
            .finish_non_exhaustive()
    }
}

impl Explorer {
    /// Opens `path` read-only at its latest finished sync, within the default
    /// [`StoreLimits`]. Fails with the reader's clear message on a missing file, a file
    /// that is not a `.c1z`, one with no finished sync, or a hostile one.
    pub fn open(path: &Path) -> Result<Explorer> {
        Self::open_with(path, &StoreLimits::default())
    }

    /// [`open`](Self::open) within `limits` (see [`C1zReader::open_with`]).
    pub fn open_with(path: &Path, limits: &StoreLimits) -> Result<Explorer> {
        let reader = C1zReader::open_with(path, limits)
            .map_err(|e| e.context(format!("the explorer cannot open {}", path.display())))?;
        Explorer::from_reader(
            reader,
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    }

    /// Serves an already opened reader (at whichever sync it looks at), on
    /// several connections to its copy so that one slow request does not hold up the
    /// others; each request has a deadline (10 s) after which its query is stopped.
    pub fn from_reader(reader: C1zReader, file_name: String) -> Result<Explorer> {
        Ok(Explorer {
            state: Arc::new(api::Shared {
                readers: Arc::new(pool::Pool::new(reader)?),
                file_name,
            }),
            public_hosts: Vec::new(),
        })
    }

    /// Also answers requests whose `Host` is one of `hosts` (`--public-host`: the name a
    /// reverse proxy serves it under). Without them, only `127.0.0.1`, `localhost` and
    /// `[::1]` with the port (and the bound address when it is not loopback) are
    /// answered; any other `Host` gets 421, which defeats DNS rebinding.
    pub fn with_public_hosts(mut self, hosts: &[String]) -> Explorer {
        self.public_hosts = hosts.to_vec();
        self
    }

    /// The page (public: it holds nothing of the file) and the API (the token's).
    fn router(&self, token: access::AccessToken) -> Router {
        use api::ResourceGrants;
        let page = Router::new()
            .route("/", get(assets::index))
            .route("/assets/app.js", get(assets::app_js))
            .route("/assets/style.css", get(assets::style_css));
        let api = Router::new()
            .route("/api/file", get(api::file))
            .route("/api/resource-types", get(api::resource_types))
            .route("/api/resources", get(api::resources))
            .route("/api/resources/{type}/{id}", get(api::resource))
            .route(
                "/api/resources/{type}/{id}/entitlements",
                get(api::resource_entitlements),
            )
            .route(
                "/api/resources/{type}/{id}/grants",
                get(|axum::extract::State(s), p, axum::extract::RawQuery(q)| {
                    api::resource_grants(ResourceGrants::On, s, p, q)
                }),
            )
            .route(
                "/api/resources/{type}/{id}/access",
                get(|axum::extract::State(s), p, axum::extract::RawQuery(q)| {
                    api::resource_grants(ResourceGrants::Held, s, p, q)
                }),
            )
            .route("/api/entitlements/{id}", get(api::entitlement))
            .route("/api/entitlements/{id}/holders", get(api::holders))
            .route("/api/syncs", get(api::syncs))
            .route("/api/diff", get(api::diff))
            .route("/api/diff/{kind}", get(api::diff_kind))
            .fallback(api::not_found)
            .layer(axum::middleware::from_fn_with_state(token, access::check));
        page.merge(api).with_state(self.state.clone())
    }

    /// Binds `listen` and makes this run's token ([`BoundExplorer::token`]). A
    /// non-loopback address is refused unless `allow_remote` (the token is the only
    /// authentication, and it travels over plain HTTP).
    pub async fn bind(self, listen: SocketAddr, allow_remote: bool) -> Result<BoundExplorer> {
        check_listen(listen, allow_remote)?;
        let listener = tokio::net::TcpListener::bind(listen).await.map_err(|e| {
            Error::new(
                crate::error::ErrorKind::Unavailable,
                format!("cannot listen on {listen}: {e}"),
            )
        })?;
        let addr = listener.local_addr()?;
        let hosts = host::AllowedHosts::new(addr, &self.public_hosts);
        let token = access::AccessToken::generate();
        Ok(BoundExplorer {
            // The Host check answers every request first; the API's then checks the token.
            router: self
                .router(token.clone())
                .layer(axum::middleware::from_fn_with_state(hosts, host::check)),
            listener,
            addr,
            token,
        })
    }
}

/// Refuses a non-loopback address unless `allow_remote`.
pub fn check_listen(listen: SocketAddr, allow_remote: bool) -> Result<()> {
    if listen.ip().is_loopback() || allow_remote {
        return Ok(());
    }
    Err(Error::invalid_argument(format!(
        "--listen {listen} is not a loopback address, and the explorer's only authentication is the token in its link, over plain HTTP: anyone who sees the link or the traffic can read the whole file; add --allow-remote to serve it anyway (better behind an HTTPS reverse proxy, see --public-host), or listen on 127.0.0.1"
    )))
}

/// An explorer listening on an address, with the token that opens it.
pub struct BoundExplorer {
    router: Router,
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    token: access::AccessToken,
}

impl std::fmt::Debug for BoundExplorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundExplorer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl BoundExplorer {
    /// The address it listens on (with the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// This run's access token: every API request needs it, as
    /// `Authorization: Bearer <token>`. Random for each bind.
    pub fn token(&self) -> &str {
        self.token.as_str()
    }

    /// The link that opens the explorer in a browser: `http://ADDR/#token=…`. The token
    /// is in the fragment, which the browser never sends; the page keeps it for this
    /// origin and sends it with its API calls. An unspecified address such as `0.0.0.0`
    /// is shown as `127.0.0.1`, which works on this machine.
    pub fn url(&self) -> String {
        let mut shown = self.addr;
        if shown.ip().is_unspecified() {
            shown.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        format!("http://{shown}/#token={}", self.token.as_str())
    }

    /// Serves until `shutdown` completes.
    pub async fn serve_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|e| {
                Error::new(
                    crate::error::ErrorKind::Unavailable,
                    format!("the explorer stopped: {e}"),
                )
            })
    }
}

/// Opens `file` within `limits`, listens on `listen`, prints the address, and serves
/// until Ctrl-C or SIGTERM. What `baton serve` and `<connector> explore` run.
/// `public_hosts` are the names it may also be reached under (see
/// [`Explorer::with_public_hosts`]).
pub async fn serve(
    file: &Path,
    limits: &StoreLimits,
    listen: SocketAddr,
    allow_remote: bool,
    public_hosts: &[String],
) -> Result<()> {
    check_listen(listen, allow_remote)?;
    let explorer = Explorer::open_with(file, limits)?.with_public_hosts(public_hosts);
    // A file's name is someone else's text: its control characters are escaped.
    let shown_name = crate::printable::printable(&file.display().to_string()).into_owned();
    if !listen.ip().is_loopback() {
        eprintln!(
            "warning: the explorer listens on {listen}, beyond this machine, over plain HTTP: anyone who sees its link (with the token) or the traffic can read all of {}",
            shown_name
        );
    }
    let bound = explorer.bind(listen, allow_remote).await?;
    // The link carries this run's token: only whoever has it (the operator, who sees this
    // line) can read the file.
    println!(
        "explorer: {} (read-only view of {}; open this link, its token is needed; Ctrl-C to stop)",
        bound.url(),
        shown_name
    );
    bound.serve_until(shutdown_signal()).await
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
