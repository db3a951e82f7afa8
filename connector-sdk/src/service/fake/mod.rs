//! A fake ConductorOne (feature `fake-c1`) for tests and the demo: one TLS listener on
//! 127.0.0.1 (a self-signed CA and server certificate, ALPN `h2` and `http/1.1`) serving
//! `POST /auth/v1/token` and `c1.connectorapi.baton.v1.BatonService`.
//!
//! It checks what upstream's server checks: the JWT client assertion (EdDSA signature against
//! the registered public key, `iss == sub == client_id`, `aud` the host without port,
//! `exp`/`nbf` with 2 minutes of skew, a 32-hex `nonce`), the bearer token on every RPC, and
//! the request validation rules (27-character alphanumeric task ids, host id 1..256 bytes,
//! page size 1..100, a final state on `FinishTask`, upload chunks of 1 byte to 1 MiB, a
//! 32-byte SHA-256 that matches). It hands out queued tasks and records hellos, polls,
//! heartbeats, finishes and uploads.
//!
//! ```no_run
//! # async fn demo() -> connector_sdk::Result<()> {
//! use connector_sdk::service::fake::FakeC1;
//! let c1 = FakeC1::start().await?;
//! let creds = c1.credentials("demo-connector");
//! let task_id = c1.enqueue_sync_full();
//! // … run the connector with creds.client_id / creds.client_secret, trusting c1.ca_pem() …
//! let finish = c1.wait_for_finish(&task_id, std::time::Duration::from_secs(30)).await?;
//! # let _ = finish; Ok(()) }
//! ```

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use secrecy::SecretString;

use super::credentials::encode_client_secret;
use super::proto::*;
use crate::error::{Error, Result};

mod grpc;
mod routes;

use routes::router;

/// A client id and secret registered with a [`FakeC1`].
#[derive(Clone)]
pub struct TestCredentials {
    /// `name@127.0.0.1:<port>/ccc`.
    pub client_id: String,
    /// The secret, in ConductorOne's format.
    pub client_secret: SecretString,
}

impl std::fmt::Debug for TestCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCredentials")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// One upload as received.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The task.
    pub task_id: String,
    /// The host that sent it.
    pub host_id: String,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Data messages received.
    pub chunks: usize,
    /// The largest chunk.
    pub largest_chunk: usize,
}

impl Upload {
    /// Writes the upload to `path` (to open it with [`C1zReader`](crate::store::C1zReader)).
    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, &self.bytes)?;
        Ok(())
    }
}

/// What the fake answers and how it misbehaves.
#[derive(Debug, Clone)]
struct Behaviour {
    next_poll: Option<Duration>,
    heartbeat_interval: Duration,
    token_lifetime_s: i64,
    available: bool,
    fail_finishes: u32,
    get_tasks_unimplemented: bool,
    upload_chunk_delay: Duration,
}

#[derive(Default)]
struct State {
    keys: HashMap<String, ed25519_dalek::VerifyingKey>,
    tokens: HashMap<String, Instant>,
    queue: VecDeque<Task>,
    handed_out: HashSet<String>,
    cancelled: HashSet<String>,
    hellos: Vec<HelloRequest>,
    polls: Vec<Instant>,
    get_tasks_calls: Vec<GetTasksRequest>,
    heartbeats: Vec<(String, Instant)>,
    finishes: Vec<(FinishTaskRequest, Instant)>,
    started: HashMap<String, Instant>,
    uploads: Vec<Upload>,
    token_requests: u64,
    rejections: Vec<String>,
    user_agents: HashSet<String>,
}

struct Shared {
    state: Mutex<State>,
    behaviour: Mutex<Behaviour>,
    notify: tokio::sync::Notify,
    audience: String,
}

/// The fake server. Dropping it stops it.
pub struct FakeC1 {
    addr: SocketAddr,
    ca_pem: String,
    shared: Arc<Shared>,
    _dir: tempfile::TempDir,
    ca_file: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FakeC1 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeC1").field("addr", &self.addr).finish()
    }
}

impl Drop for FakeC1 {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A task id as real C1 makes them: 27 alphanumeric characters.
pub fn new_task_id() -> String {
    const ALNUM: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    (0..27)
        .map(|_| ALNUM[fastrand::usize(..ALNUM.len())] as char)
        .collect()
}

fn valid_task_id(id: &str) -> bool {
    id.len() == 27 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn valid_host_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 256
}

impl FakeC1 {
    /// Starts the fake on `127.0.0.1:0`.
    pub async fn start() -> Result<FakeC1> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let fail = |e: rcgen::Error| Error::internal(format!("fake C1 certificate: {e}"));
        let ca_key = rcgen::KeyPair::generate().map_err(fail)?;
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(fail)?;
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "fake ConductorOne CA");
        ca_params.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca_params.self_signed(&ca_key).map_err(fail)?;
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let leaf_key = rcgen::KeyPair::generate().map_err(fail)?;
        let leaf_params =
            rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                .map_err(fail)?;
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(fail)?;
        let ca_pem = ca_cert.pem();
        let dir = tempfile::tempdir()?;
        let ca_file = dir.path().join("fake-c1-ca.pem");
        std::fs::write(&ca_file, &ca_pem)?;

        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key_der = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
        let mut tls = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::internal(format!("fake C1 TLS: {e}")))?
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone(), ca_cert.der().clone()], key_der)
            .map_err(|e| Error::internal(format!("fake C1 TLS: {e}")))?;
        tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));

        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            behaviour: Mutex::new(Behaviour {
                next_poll: Some(Duration::from_millis(200)),
                heartbeat_interval: Duration::from_secs(1),
                token_lifetime_s: 3600,
                upload_chunk_delay: Duration::ZERO,
                available: true,
                fail_finishes: 0,
                get_tasks_unimplemented: false,
            }),
            notify: tokio::sync::Notify::new(),
            audience: "127.0.0.1".to_string(),
        });
        let server = shared.clone();
        let routes = router(shared.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    continue;
                };
                if !lock(&server.behaviour).available {
                    drop(sock);
                    continue;
                }
                let acceptor = acceptor.clone();
                let svc = hyper_util::service::TowerToHyperService::new(routes.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
                });
            }
        });
        Ok(FakeC1 {
            addr,
            ca_pem,
            shared,
            _dir: dir,
            ca_file,
            task,
        })
    }

    /// `127.0.0.1:<port>`.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// The CA certificate (PEM) to trust.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A file holding [`ca_pem`](Self::ca_pem), for `SSL_CERT_FILE`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Makes a key pair, registers its public key and returns the credentials
    /// (`<name>@127.0.0.1:<port>/ccc`).
    pub fn credentials(&self, name: &str) -> TestCredentials {
        let seed: [u8; 32] = rand::random();
        let secret = encode_client_secret(&seed);
        let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        let client_id = format!("{name}@{}/ccc", self.addr);
        lock(&self.shared.state).keys.insert(client_id.clone(), key);
        TestCredentials {
            client_id,
            client_secret: secret,
        }
    }

    fn enqueue(&self, task_type: TaskType) -> String {
        self.push(Some(task_type), false)
    }

    /// Queues a `Task` with a new id; returns the id.
    fn push(&self, task_type: Option<TaskType>, debug: bool) -> String {
        let id = new_task_id();
        lock(&self.shared.state).queue.push_back(Task {
            id: id.clone(),
            status: 1,
            debug,
            task_type,
        });
        id
    }

    /// Queues a task of any type (a raw `Task`, e.g. without a type); returns its id.
    pub fn enqueue_task(&self, task_type: Option<TaskType>) -> String {
        self.push(task_type, false)
    }

    /// Queues a full sync.
    pub fn enqueue_sync_full(&self) -> String {
        self.enqueue(TaskType::SyncFull(SyncFullTask::default()))
    }

    /// Queues a grant of `entitlement` to `principal`.
    pub fn enqueue_grant(&self, entitlement: Entitlement, principal: Resource) -> String {
        self.enqueue(TaskType::Grant(GrantTask {
            entitlement: Some(entitlement),
            principal: Some(principal),
            annotations: Vec::new(),
            duration: None,
        }))
    }

    /// Queues a revoke of `grant`.
    pub fn enqueue_revoke(&self, grant: Grant) -> String {
        self.enqueue(TaskType::Revoke(RevokeTask {
            grant: Some(grant),
            annotations: Vec::new(),
        }))
    }

    /// Queues `task_type` with `Task.debug` set: the connector keeps the task's log and a
    /// sync uploads it after its file.
    pub fn enqueue_debug(&self, task_type: TaskType) -> String {
        self.push(Some(task_type), true)
    }

    /// Queues any other task type.
    pub fn enqueue_other(&self, task_type: TaskType) -> String {
        self.enqueue(task_type)
    }

    /// Asks the connector to cancel `task_id` on its next heartbeat.
    pub fn cancel(&self, task_id: &str) {
        lock(&self.shared.state)
            .cancelled
            .insert(task_id.to_string());
    }

    /// Sets `next_poll` of poll responses (`None`: omitted).
    pub fn set_next_poll(&self, d: Option<Duration>) {
        lock(&self.shared.behaviour).next_poll = d;
    }

    /// Sets `next_heartbeat` of heartbeat responses.
    pub fn set_heartbeat_interval(&self, d: Duration) {
        lock(&self.shared.behaviour).heartbeat_interval = d;
    }

    /// Sets the `expires_in` of issued tokens (and when the fake stops accepting them).
    pub fn set_token_lifetime(&self, seconds: i64) {
        lock(&self.shared.behaviour).token_lifetime_s = seconds;
    }

    /// Forgets every access token issued so far, as a server does after a key rotation:
    /// the next RPC with one of them is refused `Unauthenticated`.
    pub fn revoke_tokens(&self) {
        lock(&self.shared.state).tokens.clear();
    }

    /// Waits `d` before reading each `UploadAsset` data chunk (a slow link or a stalled
    /// server: HTTP/2 flow control holds the client back meanwhile).
    pub fn set_upload_chunk_delay(&self, d: Duration) {
        lock(&self.shared.behaviour).upload_chunk_delay = d;
    }

    /// When false, every new connection is closed at once (a C1 that is down).
    pub fn set_available(&self, available: bool) {
        lock(&self.shared.behaviour).available = available;
    }

    /// The next `n` `FinishTask` calls fail with Unavailable.
    pub fn fail_next_finishes(&self, n: u32) {
        lock(&self.shared.behaviour).fail_finishes = n;
    }

    /// Answer `GetTasks` with Unimplemented.
    pub fn set_get_tasks_unimplemented(&self, yes: bool) {
        lock(&self.shared.behaviour).get_tasks_unimplemented = yes;
    }

    /// Hellos received.
    pub fn hellos(&self) -> Vec<HelloRequest> {
        lock(&self.shared.state).hellos.clone()
    }

    /// When each `GetTask`/`GetTasks` arrived.
    pub fn polls(&self) -> Vec<Instant> {
        lock(&self.shared.state).polls.clone()
    }

    /// `GetTasks` requests received.
    pub fn get_tasks_requests(&self) -> Vec<GetTasksRequest> {
        lock(&self.shared.state).get_tasks_calls.clone()
    }

    /// Heartbeats of `task_id`, with when they arrived.
    pub fn heartbeats(&self, task_id: &str) -> Vec<Instant> {
        lock(&self.shared.state)
            .heartbeats
            .iter()
            .filter(|(t, _)| t == task_id)
            .map(|(_, i)| *i)
            .collect()
    }

    /// Every accepted `FinishTask`.
    pub fn finishes(&self) -> Vec<FinishTaskRequest> {
        lock(&self.shared.state)
            .finishes
            .iter()
            .map(|(f, _)| f.clone())
            .collect()
    }

    /// When `task_id` was handed out and when it was finished.
    pub fn task_times(&self, task_id: &str) -> Option<(Instant, Instant)> {
        let s = lock(&self.shared.state);
        let start = *s.started.get(task_id)?;
        let end = s
            .finishes
            .iter()
            .find(|(f, _)| f.task_id == task_id)
            .map(|(_, i)| *i)?;
        Some((start, end))
    }

    /// Uploads received.
    pub fn uploads(&self) -> Vec<Upload> {
        lock(&self.shared.state).uploads.clone()
    }

    /// Token requests received.
    pub fn token_requests(&self) -> u64 {
        lock(&self.shared.state).token_requests
    }

    /// The access tokens issued so far (for tests that check they never leak).
    pub fn issued_tokens(&self) -> Vec<SecretString> {
        lock(&self.shared.state)
            .tokens
            .keys()
            .map(|t| SecretString::from(t.clone()))
            .collect()
    }

    /// User-Agent headers seen.
    pub fn user_agents(&self) -> Vec<String> {
        lock(&self.shared.state)
            .user_agents
            .iter()
            .cloned()
            .collect()
    }

    /// Requests the fake refused, and why (validation rules, bad tokens…).
    pub fn rejections(&self) -> Vec<String> {
        lock(&self.shared.state).rejections.clone()
    }

    /// Waits for the `FinishTask` of `task_id`.
    pub async fn wait_for_finish(
        &self,
        task_id: &str,
        timeout: Duration,
    ) -> Result<FinishTaskRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            if let Some(f) = self.finishes().into_iter().find(|f| f.task_id == task_id) {
                return Ok(f);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(Error::new(
                    crate::ErrorKind::DeadlineExceeded,
                    format!("no FinishTask for task {task_id} within {timeout:?}"),
                ));
            }
        }
    }

    /// Waits until `f` holds.
    pub async fn wait_until(&self, timeout: Duration, mut f: impl FnMut(&FakeC1) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.notify.notified();
            if f(self) {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return f(self);
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
