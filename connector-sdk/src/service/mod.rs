//! Service mode (feature `service`, enabled by `cli`): the connector as a worker of
//! ConductorOne's task queue, wire-compatible with upstream `baton-sdk` v0.25.0
//! (`shared/specs/c1-service-mode.md`).
//!
//! [`run_service`] parses the client credentials (before any network call), signs an Ed25519
//! JWT and exchanges it for a bearer token at `https://<host>/auth/v1/token`, says Hello
//! (build and OS info, the connector's metadata, capabilities and account-creation schema),
//! then polls `c1.connectorapi.baton.v1.BatonService` for tasks and runs them against the
//! connector: `sync_full` (sync into a temporary `.c1z`, upload it in 512 KiB chunks with its
//! SHA-256), `grant`, `revoke`, `create_account` (generated credentials encrypted to the
//! task's age recipients), `delete_resource`, `action_list_schemas`, `action_get_schema`,
//! `action_invoke`, `action_status`, and `hello`. Other task types finish with
//! "unsupported task type".
//!
//! Where it does better than upstream (spec §7): one HTTP/2 channel for every RPC; a floor of
//! 1 s on polling when the server omits `next_poll`; token-endpoint network errors and 5xx at
//! startup are retried; `FinishTask` is retried on transient failures; every task that runs
//! longer than a heartbeat interval heartbeats; a failed first heartbeat still finishes the
//! task; SIGTERM/SIGINT stop polling and let running tasks finish within a grace period;
//! `GetTasks` falls back to `GetTask` when the server does not implement it.
//!
//! Modules: [`credentials`](ClientId) (client id and secret), `token` (the JWT assertion and
//! token cache), [`proto`] (the messages), `client` (the gRPC client over one channel),
//! `runner` (the loop), `tasks` (each task type), `encryption` (generated credentials
//! encrypted to age recipients and JWK public keys), `hello` (what Hello carries), and
//! `fake` (feature `fake-c1`: a fake ConductorOne for tests and the demo).

pub(crate) mod bearer;
mod client;
mod credentials;

mod encryption;
#[cfg(feature = "fake-c1")]
pub mod fake;
pub(crate) mod grpc;
mod hello;
/// The wire messages, public with the fake ConductorOne (`fake-c1`) that scripts tasks
/// and inspects answers with them; internal otherwise, so `prost` types stay out of the
/// SDK's public API.
#[cfg(feature = "fake-c1")]
pub mod proto;
#[cfg(not(feature = "fake-c1"))]
pub(crate) mod proto;
mod runner;
mod task_log;
mod tasks;
mod tls;
mod token;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use secrecy::SecretString;
use serde::Serialize;

pub use client::{UPLOAD_CHUNK, grpc_code};
pub use credentials::{ClientId, ClientSecret, encode_client_secret};
pub use task_log::{MAX_TASK_LOG, task_log_layer};
pub use tasks::AGE_PROVIDER;

use crate::error::Result;
use crate::flags::flag_and_env;
use crate::handle::ConnectorHandle;
use crate::sync::{StopSignal, SyncOptions};

/// How long a provisioning task may run by default: 30 minutes.
pub const DEFAULT_PROVISIONING_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// How long a sync task may run when `--max-sync-duration` is not set: 24 hours. After
/// its ceiling a task finishes itself `DeadlineExceeded`, retryable.
pub const DEFAULT_SYNC_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The default grace period on SIGTERM: under Kubernetes' 30 s.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

/// How service mode runs. Build it with [`ServiceConfig::new`] and adjust the fields.
#[derive(Clone)]
pub struct ServiceConfig {
    /// `--client-id` (`BATON_CLIENT_ID`): `name@host[:port]/suffix`.
    pub client_id: String,
    /// `--client-secret` (`BATON_CLIENT_SECRET`).
    pub client_secret: SecretString,
    /// `BATON_C1_API_HOST`: `host[:port]` for the token URL and gRPC (not the JWT audience).
    pub api_host: Option<String>,
    /// `--host-id` (`BATON_HOST_ID`); default the host name.
    pub host_id: Option<String>,
    /// Tasks run at once, 1..100 (`--task-concurrency`, `BATON_TASK_CONCURRENCY`). Default 3.
    pub task_concurrency: usize,
    /// Poll with `GetTasks` (`BATON_GET_TASKS`), falling back to `GetTask`.
    pub get_tasks: bool,
    /// Allow write tasks (`--provisioning`, `BATON_PROVISIONING`).
    pub provisioning: bool,
    /// How long running tasks may go on after SIGTERM/SIGINT. Default 25 s.
    pub shutdown_grace: Duration,
    /// Where sync files are written (`BATON_TMPDIR`); default the system's.
    pub temp_dir: Option<PathBuf>,
    /// The sync engine's options (workers…); the task's options are applied on top.
    pub sync: SyncOptions,
    /// Extra trusted roots (PEM), in addition to the system's and `SSL_CERT_FILE`.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// The binary's name, in Hello's build info.
    pub app_name: String,
    /// The binary's version.
    pub app_version: String,
    /// Heartbeats wait at least this long, whatever the server says. Default 1 s.
    pub min_heartbeat: Duration,
    /// How long a provisioning task (grant, revoke, create account, delete) may run
    /// before it finishes itself `DeadlineExceeded`, retryable (`--provisioning-timeout`).
    /// Default 30 min.
    pub provisioning_timeout: Duration,
    /// How long an action may run (`--action-timeout`). Default 1 h, as upstream.
    pub action_timeout: Duration,
}

impl std::fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("api_host", &self.api_host)
            .field("host_id", &self.host_id)
            .field("task_concurrency", &self.task_concurrency)
            .field("get_tasks", &self.get_tasks)
            .field("provisioning", &self.provisioning)
            .field("shutdown_grace", &self.shutdown_grace)
            .finish_non_exhaustive()
    }
}

impl ServiceConfig {
    /// A configuration with upstream's defaults.
    pub fn new(client_id: impl Into<String>, client_secret: SecretString) -> Self {
        ServiceConfig {
            client_id: client_id.into(),
            client_secret,
            api_host: None,
            host_id: None,
            task_concurrency: 3,
            get_tasks: false,
            provisioning: false,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            temp_dir: None,
            sync: SyncOptions::default(),
            extra_ca_pem: None,
            app_name: "connector".into(),
            app_version: "0.0.0".into(),
            min_heartbeat: Duration::from_secs(1),
            provisioning_timeout: DEFAULT_PROVISIONING_TIMEOUT,
            action_timeout: crate::handle::DEFAULT_ACTION_TIMEOUT,
        }
    }

    /// Reads `BATON_C1_API_HOST`, `BATON_GET_TASKS` and `BATON_TMPDIR` from the environment.
    pub fn with_env(mut self) -> Result<Self> {
        if let Ok(h) = std::env::var("BATON_C1_API_HOST")
            && !h.trim().is_empty()
        {
            self.api_host = Some(h.trim().to_string());
        }
        if let Ok(v) = std::env::var("BATON_GET_TASKS") {
            self.get_tasks = match v.trim().to_ascii_lowercase().as_str() {
                "1" | "t" | "true" | "yes" => true,
                "" | "0" | "f" | "false" | "no" => false,
                other => {
                    return Err(crate::Error::invalid_argument(format!(
                        "BATON_GET_TASKS: {other:?} is not a boolean; use true or false"
                    )));
                }
            };
        }
        if let Some(d) = std::env::var_os("BATON_TMPDIR").filter(|d| !d.is_empty()) {
            self.temp_dir = Some(PathBuf::from(d));
        }
        Ok(self)
    }

    /// Checks the values that need no network: the credentials and the concurrency.
    pub fn check(&self) -> Result<(ClientId, ClientSecret)> {
        if !(1..=100).contains(&self.task_concurrency) {
            return Err(crate::Error::invalid_argument(format!(
                "{}: must be between 1 and 100, got {}",
                flag_and_env("task-concurrency"),
                self.task_concurrency
            )));
        }
        let id = ClientId::parse(&self.client_id)?;
        let secret = ClientSecret::parse(&self.client_secret)?;
        Ok((id, secret))
    }
}

/// What `/healthz` reports about the loop.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServiceStatus {
    /// Whether the startup Hello was accepted.
    pub connected: bool,
    /// Unix time of the last successful poll.
    pub last_poll_unix: Option<u64>,
    /// Successful polls.
    pub polls: u64,
    /// Failed polls.
    pub poll_errors: u64,
    /// Failed polls since the last success.
    pub consecutive_poll_errors: u64,
    /// The last error (Hello or poll). Served by the health checks only as "see the
    /// connector's log": an error's text can name hosts, ids or an API's answer.
    #[serde(serialize_with = "redacted_error")]
    pub last_error: Option<String>,
    /// Tasks running now.
    pub running_tasks: usize,
    /// Task slots (`--task-concurrency`).
    pub slots: usize,
    /// Tasks finished successfully.
    pub tasks_succeeded: u64,
    /// Tasks finished with an error.
    pub tasks_failed: u64,
    /// Heartbeats sent successfully.
    pub heartbeats: u64,
    /// Whether the loop is draining after a signal.
    pub stopping: bool,
    #[serde(skip)]
    started: Option<Instant>,
    #[serde(skip)]
    last_ok: Option<Instant>,
}

impl ServiceStatus {
    /// Healthy while ConductorOne answered within the last 10 minutes (polls wait at most
    /// 5), or all slots are busy (a full worker does not poll).
    pub fn healthy(&self) -> bool {
        let window = Duration::from_secs(600);
        let recent = self
            .last_ok
            .or(self.started)
            .is_none_or(|t| t.elapsed() < window);
        recent || (self.slots > 0 && self.running_tasks >= self.slots)
    }
}

/// An error as the health checks show it: that there is one, not its text.
pub(crate) fn redacted_error<S: serde::Serializer>(
    error: &Option<String>,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    match error {
        Some(_) => s.serialize_some("failed; see the connector's log"),
        None => s.serialize_none(),
    }
}

/// A shared, live [`ServiceStatus`].
#[derive(Debug, Clone)]
pub struct StatusHandle(Arc<Mutex<ServiceStatus>>);

impl Default for StatusHandle {
    fn default() -> Self {
        StatusHandle(Arc::new(Mutex::new(ServiceStatus {
            started: Some(Instant::now()),
            ..ServiceStatus::default()
        })))
    }
}

impl StatusHandle {
    /// A snapshot.
    pub fn get(&self) -> ServiceStatus {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(crate) fn update(&self, f: impl FnOnce(&mut ServiceStatus)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Serialize for StatusHandle {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let snapshot = self.get();
        let mut v = serde_json::to_value(&snapshot).map_err(serde::ser::Error::custom)?;
        if let Some(m) = v.as_object_mut() {
            m.insert("healthy".into(), snapshot.healthy().into());
        }
        v.serialize(s)
    }
}

/// The `c1.connector.v2.ConnectorMetadata` that Hello sends for `caps` (with `fake-c1`, so
/// a test can hold it against the capabilities document it is built from).
#[cfg(feature = "fake-c1")]
pub fn hello_metadata(caps: &crate::connector::Capabilities) -> proto::ConnectorMetadata {
    hello::connector_metadata(caps)
}

pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Runs service mode until `stop` is triggered (then drains running tasks within
/// [`ServiceConfig::shutdown_grace`] and returns `Ok`). Fails before any network call on bad
/// credentials, and with the server's code when the startup Hello is refused.
pub async fn run_service(
    connector: ConnectorHandle,
    config: ServiceConfig,
    stop: StopSignal,
    status: StatusHandle,
) -> Result<()> {
    let (id, secret) = config.check()?;
    let host = config
        .api_host
        .clone()
        .filter(|h| !h.trim().is_empty())
        .unwrap_or_else(|| id.token_host().to_string());
    let extra = config.extra_ca_pem.as_deref();
    // hyper-rustls sets ALPN to ["h2"] itself (HTTP/2 only).
    let tls_grpc = tls::client_config(extra, &[])?;
    let tls_token = tls::client_config(extra, &[b"h2", b"http/1.1"])?;
    let tokens = Arc::new(token::TokenSource::new(
        id.clone(),
        secret,
        &host,
        tls_token,
        env!("CARGO_PKG_VERSION"),
    )?);
    let host_id = hello::host_id(config.host_id.as_deref());
    let client = client::BatonClient::new(
        &host,
        tls_grpc,
        tokens,
        host_id.clone(),
        format!(
            "{} connector-sdk-rust/{}",
            id.name(),
            env!("CARGO_PKG_VERSION")
        ),
    )?;
    let hello = proto::HelloRequest {
        host_id,
        task_id: String::new(),
        build_info: Some(hello::build_info(&config.app_name, &config.app_version)),
        os_info: Some(hello::os_info()),
        connector_metadata: Some(hello::connector_metadata(&connector.capabilities())),
        annotations: Vec::new(),
    };
    tracing::info!(client_id = %id, host = %host, host_id = client.host_id(), concurrency = config.task_concurrency, get_tasks = config.get_tasks, provisioning = config.provisioning, "service mode: connecting to ConductorOne");
    if !runner::startup_hello(&client, &hello, &stop, &status).await? {
        tracing::info!("stopped before connecting");
        return Ok(());
    }
    let ctx = Arc::new(tasks::TaskContext {
        connector,
        client: client.clone(),
        provisioning: config.provisioning,
        sync: config.sync.clone(),
        temp_dir: config.temp_dir.clone(),
        hello,
        action_timeout: config.action_timeout,
    });
    runner::poll_loop(ctx, &config, stop, status).await;
    tracing::info!(
        tokens_fetched = client.tokens().fetches(),
        "service mode stopped"
    );
    Ok(())
}
