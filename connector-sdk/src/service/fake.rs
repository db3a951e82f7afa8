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
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt as _;
use futures::future::BoxFuture;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use secrecy::SecretString;
use sha2::Digest as _;
use tonic::{Request, Response, Status, Streaming};

use super::credentials::{ClientId, encode_client_secret, strip_port};
use super::proto::*;
use super::token::Claims;
use crate::error::{Error, Result};

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
                available: true,
                fail_finishes: 0,
                get_tasks_unimplemented: false,
            }),
            notify: tokio::sync::Notify::new(),
            audience: "127.0.0.1".to_string(),
        });
        let server = shared.clone();
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
                let shared = server.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(sock).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(route(shared, req).await) }
                    });
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
        let id = new_task_id();
        lock(&self.shared.state).queue.push_back(Task {
            id: id.clone(),
            status: 1,
            debug: false,
            task_type: Some(task_type),
        });
        id
    }

    /// Queues a task of any type (a raw `Task`, e.g. without a type); returns its id.
    pub fn enqueue_task(&self, task_type: Option<TaskType>) -> String {
        let id = new_task_id();
        lock(&self.shared.state).queue.push_back(Task {
            id: id.clone(),
            status: 1,
            debug: false,
            task_type,
        });
        id
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

type HttpResponse = http::Response<tonic::body::Body>;

fn plain(status: u16, body: String) -> HttpResponse {
    http::Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(tonic::body::Body::new(http_body_util::Full::new(
            bytes::Bytes::from(body),
        )))
        .unwrap_or_else(|_| http::Response::new(tonic::body::Body::empty()))
}

async fn route(shared: Arc<Shared>, req: http::Request<Incoming>) -> HttpResponse {
    if let Some(ua) = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
    {
        lock(&shared.state).user_agents.insert(ua.to_string());
    }
    let path = req.uri().path().to_string();
    if path == "/auth/v1/token" {
        return token(shared, req).await;
    }
    let Some(method) = path.strip_prefix("/c1.connectorapi.baton.v1.BatonService/") else {
        return plain(404, "{\"error\":\"not found\"}".into());
    };
    let svc = Svc(shared);
    macro_rules! unary {
        ($req:ty, $resp:ty, $f:ident) => {{
            let codec = tonic_prost::ProstCodec::<$resp, $req>::default();
            tonic::server::Grpc::new(codec)
                .unary(Unary::<$req, $resp>(svc, Svc::$f), req)
                .await
        }};
    }
    match method {
        "Hello" => unary!(HelloRequest, HelloResponse, hello),
        "GetTask" => unary!(GetTaskRequest, GetTaskResponse, get_task),
        "GetTasks" => unary!(GetTasksRequest, GetTasksResponse, get_tasks),
        "Heartbeat" => unary!(HeartbeatRequest, HeartbeatResponse, heartbeat),
        "FinishTask" => unary!(FinishTaskRequest, FinishTaskResponse, finish_task),
        "UploadAsset" => {
            let codec =
                tonic_prost::ProstCodec::<UploadAssetResponse, UploadAssetRequest>::default();
            tonic::server::Grpc::new(codec)
                .client_streaming(UploadSvc(svc), req)
                .await
        }
        _ => {
            let status = Status::unimplemented(format!("method {method} is not implemented"));
            status.into_http()
        }
    }
}

async fn token(shared: Arc<Shared>, req: http::Request<Incoming>) -> HttpResponse {
    lock(&shared.state).token_requests += 1;
    let refuse = |shared: &Shared, why: String| {
        lock(&shared.state).rejections.push(format!("token: {why}"));
        plain(
            401,
            format!(
                "{{\"error\":\"invalid_client\",\"error_description\":{}}}",
                serde_json::Value::from(why)
            ),
        )
    };
    if req.method() != http::Method::POST {
        return refuse(&shared, "not a POST".into());
    }
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return refuse(&shared, format!("content-type {ct:?}"));
    }
    let Ok(body) = req.into_body().collect().await else {
        return plain(400, "{}".into());
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body.to_bytes())
        .into_owned()
        .collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("grant_type") != "client_credentials" {
        return refuse(&shared, "grant_type is not client_credentials".into());
    }
    if get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return refuse(&shared, "wrong client_assertion_type".into());
    }
    let client_id = get("client_id");
    let Some(key) = lock(&shared.state).keys.get(&client_id).copied() else {
        return refuse(&shared, format!("unknown client {client_id:?}"));
    };
    let assertion = get("client_assertion");
    // The header: alg EdDSA and a 32-hex nonce, nothing else.
    let header_ok = assertion
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|h| {
            h["alg"] == "EdDSA"
                && h["nonce"]
                    .as_str()
                    .is_some_and(|n| n.len() == 32 && n.chars().all(|c| c.is_ascii_hexdigit()))
                && h.as_object().is_some_and(|o| o.len() == 2)
        });
    if !header_ok {
        return refuse(&shared, "the JWT header is not {alg: EdDSA, nonce}".into());
    }
    let decoding = match jsonwebtoken::DecodingKey::from_ed_components(
        &URL_SAFE_NO_PAD.encode(key.as_bytes()),
    ) {
        Ok(k) => k,
        Err(e) => return refuse(&shared, format!("key: {e}")),
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.leeway = 120;
    validation.set_audience(&[&shared.audience]);
    validation.set_issuer(&[&client_id]);
    validation.sub = Some(client_id.clone());
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "sub", "aud"]);
    let claims = match jsonwebtoken::decode::<Claims>(&assertion, &decoding, &validation) {
        Ok(d) => d.claims,
        Err(e) => return refuse(&shared, format!("assertion: {e}")),
    };
    if claims.exp - claims.iat > 300 {
        return refuse(&shared, "assertion lives too long".into());
    }
    if ClientId::parse(&client_id)
        .map(|c| strip_port(c.token_host()) != shared.audience)
        .unwrap_or(true)
    {
        return refuse(&shared, "client id host".into());
    }
    let lifetime = lock(&shared.behaviour).token_lifetime_s;
    let token = format!(
        "fake-token-{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>())
    );
    lock(&shared.state).tokens.insert(
        token.clone(),
        Instant::now() + Duration::from_secs(lifetime.max(0) as u64),
    );
    plain(
        200,
        serde_json::json!({"access_token": token, "token_type": "bearer", "expires_in": lifetime})
            .to_string(),
    )
}

#[derive(Clone)]
struct Svc(Arc<Shared>);

type Handler<Req, Resp> = fn(&Svc, Request<Req>) -> std::result::Result<Resp, Status>;

struct Unary<Req, Resp>(Svc, Handler<Req, Resp>);

impl<Req: Send + 'static, Resp: Send + 'static> tonic::server::UnaryService<Req>
    for Unary<Req, Resp>
{
    type Response = Resp;
    type Future = BoxFuture<'static, std::result::Result<Response<Resp>, Status>>;

    fn call(&mut self, request: Request<Req>) -> Self::Future {
        let result = self.1(&self.0, request).map(Response::new);
        self.0.0.notify.notify_waiters();
        Box::pin(async move { result })
    }
}

struct UploadSvc(Svc);

impl tonic::server::ClientStreamingService<UploadAssetRequest> for UploadSvc {
    type Response = UploadAssetResponse;
    type Future = BoxFuture<'static, std::result::Result<Response<UploadAssetResponse>, Status>>;

    fn call(&mut self, request: Request<Streaming<UploadAssetRequest>>) -> Self::Future {
        let svc = self.0.clone();
        Box::pin(async move {
            let result = svc.upload(request).await;
            svc.0.notify.notify_waiters();
            result.map(Response::new)
        })
    }
}

impl Svc {
    fn reject(&self, why: String) -> Status {
        lock(&self.0.state).rejections.push(why.clone());
        Status::invalid_argument(why)
    }

    fn auth<T>(&self, req: &Request<T>) -> std::result::Result<(), Status> {
        let header = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let Some(token) = header.strip_prefix("Bearer ") else {
            lock(&self.0.state)
                .rejections
                .push("no bearer token".into());
            return Err(Status::unauthenticated("missing bearer token"));
        };
        let state = lock(&self.0.state);
        match state.tokens.get(token) {
            Some(exp) if Instant::now() < *exp => Ok(()),
            Some(_) => {
                drop(state);
                lock(&self.0.state).rejections.push("expired token".into());
                Err(Status::unauthenticated("token expired"))
            }
            None => {
                drop(state);
                lock(&self.0.state).rejections.push("unknown token".into());
                Err(Status::unauthenticated("unknown token"))
            }
        }
    }

    fn next_poll(&self) -> Option<super::proto::Duration> {
        lock(&self.0.behaviour).next_poll.map(duration)
    }

    fn hello(&self, req: Request<HelloRequest>) -> std::result::Result<HelloResponse, Status> {
        self.auth(&req)?;
        let r = req.into_inner();
        if !valid_host_id(&r.host_id) {
            return Err(self.reject(format!(
                "Hello: host_id {:?} must be 1..256 bytes",
                r.host_id
            )));
        }
        if r.connector_metadata.is_none() {
            return Err(self.reject("Hello: connector_metadata is required".into()));
        }
        lock(&self.0.state).hellos.push(r);
        Ok(HelloResponse::default())
    }

    fn hand_out(&self, state: &mut State, known: &HashSet<String>) -> Option<Task> {
        let idx = state.queue.iter().position(|t| !known.contains(&t.id))?;
        let t = state.queue.remove(idx)?;
        state.handed_out.insert(t.id.clone());
        state.started.insert(t.id.clone(), Instant::now());
        Some(t)
    }

    fn get_task(
        &self,
        req: Request<GetTaskRequest>,
    ) -> std::result::Result<GetTaskResponse, Status> {
        self.auth(&req)?;
        let r = req.into_inner();
        if !valid_host_id(&r.host_id) {
            return Err(self.reject(format!(
                "GetTask: host_id {:?} must be 1..256 bytes",
                r.host_id
            )));
        }
        let mut state = lock(&self.0.state);
        state.polls.push(Instant::now());
        let task = self.hand_out(&mut state, &HashSet::new());
        Ok(GetTaskResponse {
            task,
            next_poll: self.next_poll(),
            next_heartbeat: None,
            annotations: Vec::new(),
        })
    }

    fn get_tasks(
        &self,
        req: Request<GetTasksRequest>,
    ) -> std::result::Result<GetTasksResponse, Status> {
        self.auth(&req)?;
        if lock(&self.0.behaviour).get_tasks_unimplemented {
            return Err(Status::unimplemented("GetTasks is not implemented"));
        }
        let r = req.into_inner();
        if !valid_host_id(&r.host_id) {
            return Err(self.reject(format!(
                "GetTasks: host_id {:?} must be 1..256 bytes",
                r.host_id
            )));
        }
        if r.page_size == 0 || r.page_size > 100 {
            return Err(self.reject(format!(
                "GetTasks: page_size {} must be 1..100",
                r.page_size
            )));
        }
        if let Some(bad) = r.known_task_ids.iter().find(|id| !valid_task_id(id)) {
            return Err(self.reject(format!(
                "GetTasks: known task id {bad:?} is not 27 alphanumerics"
            )));
        }
        let known: HashSet<String> = r.known_task_ids.iter().cloned().collect();
        let mut state = lock(&self.0.state);
        state.polls.push(Instant::now());
        state.get_tasks_calls.push(r.clone());
        let mut tasks = Vec::new();
        while tasks.len() < r.page_size as usize {
            match self.hand_out(&mut state, &known) {
                Some(t) => tasks.push(t),
                None => break,
            }
        }
        Ok(GetTasksResponse {
            tasks,
            next_poll: self.next_poll(),
            next_heartbeat: None,
            annotations: Vec::new(),
        })
    }

    fn heartbeat(
        &self,
        req: Request<HeartbeatRequest>,
    ) -> std::result::Result<HeartbeatResponse, Status> {
        self.auth(&req)?;
        let r = req.into_inner();
        if !valid_host_id(&r.host_id) || !valid_task_id(&r.task_id) {
            return Err(self.reject(format!(
                "Heartbeat: bad host_id {:?} or task_id {:?}",
                r.host_id, r.task_id
            )));
        }
        let mut state = lock(&self.0.state);
        state.heartbeats.push((r.task_id.clone(), Instant::now()));
        let cancelled = state.cancelled.contains(&r.task_id);
        Ok(HeartbeatResponse {
            next_heartbeat: Some(duration(lock(&self.0.behaviour).heartbeat_interval)),
            cancelled,
            annotations: Vec::new(),
        })
    }

    fn finish_task(
        &self,
        req: Request<FinishTaskRequest>,
    ) -> std::result::Result<FinishTaskResponse, Status> {
        self.auth(&req)?;
        {
            let mut b = lock(&self.0.behaviour);
            if b.fail_finishes > 0 {
                b.fail_finishes -= 1;
                return Err(Status::unavailable("the fake C1 drops this FinishTask"));
            }
        }
        let r = req.into_inner();
        if !valid_host_id(&r.host_id) || !valid_task_id(&r.task_id) {
            return Err(self.reject(format!(
                "FinishTask: bad host_id {:?} or task_id {:?}",
                r.host_id, r.task_id
            )));
        }
        if r.final_state.is_none() {
            return Err(self.reject("FinishTask: final_state is required".into()));
        }
        lock(&self.0.state).finishes.push((r, Instant::now()));
        Ok(FinishTaskResponse::default())
    }

    async fn upload(
        &self,
        req: Request<Streaming<UploadAssetRequest>>,
    ) -> std::result::Result<UploadAssetResponse, Status> {
        self.auth(&req)?;
        let mut stream = req.into_inner();
        let first = stream.next().await.transpose()?;
        let Some(UploadMsg::Metadata(meta)) = first.and_then(|m| m.msg) else {
            return Err(self.reject("UploadAsset: the first message must be metadata".into()));
        };
        if !valid_host_id(&meta.host_id) || !valid_task_id(&meta.task_id) {
            return Err(self.reject(format!(
                "UploadAsset: bad host_id {:?} or task_id {:?}",
                meta.host_id, meta.task_id
            )));
        }
        let mut bytes = Vec::new();
        let (mut chunks, mut largest) = (0usize, 0usize);
        let mut eof = None;
        while let Some(msg) = stream.next().await {
            match msg?.msg {
                Some(UploadMsg::Data(d)) => {
                    if eof.is_some() {
                        return Err(self.reject("UploadAsset: data after EOF".into()));
                    }
                    if d.data.is_empty() || d.data.len() > 1024 * 1024 {
                        return Err(self.reject(format!(
                            "UploadAsset: chunk of {} bytes (1..1 MiB)",
                            d.data.len()
                        )));
                    }
                    chunks += 1;
                    largest = largest.max(d.data.len());
                    bytes.extend_from_slice(&d.data);
                }
                Some(UploadMsg::Eof(e)) => eof = Some(e),
                _ => return Err(self.reject("UploadAsset: unexpected message".into())),
            }
        }
        let Some(eof) = eof else {
            return Err(self.reject("UploadAsset: no EOF".into()));
        };
        if eof.sha256_checksum.len() != 32 {
            return Err(self.reject("UploadAsset: sha256_checksum must be 32 bytes".into()));
        }
        if sha2::Sha256::digest(&bytes).as_slice() != eof.sha256_checksum.as_slice() {
            return Err(self.reject("UploadAsset: checksum mismatch".into()));
        }
        lock(&self.0.state).uploads.push(Upload {
            task_id: meta.task_id,
            host_id: meta.host_id,
            bytes,
            chunks,
            largest_chunk: largest,
        });
        Ok(UploadAssetResponse::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handle::ConnectorHandle;
    use crate::service::{ServiceConfig, StatusHandle, run_service};
    use crate::sync::StopSignal;
    use crate::testing::{LogCapture, MemoryConnector, assert_no_secret};

    /// In process, on one thread, so `LogCapture` sees every TRACE event of the SDK, tonic,
    /// hyper, h2 and rustls: no client secret, access token or generated password in them,
    /// in any `Debug`, or in what C1 received other than the age ciphertext.
    #[tokio::test]
    async fn no_secret_reaches_trace_logs_debug_output_or_the_wire_in_clear() {
        let logs = LogCapture::start();
        let c1 = FakeC1::start().await.unwrap();
        c1.set_token_lifetime(1);
        let creds = c1.credentials("leak-check");
        let identity = age::x25519::Identity::generate();
        let sync = c1.enqueue_sync_full();
        let create = c1.enqueue_other(TaskType::CreateAccount(CreateAccountTask {
            account_info: Some(AccountInfo {
                emails: vec![AccountEmail {
                    address: "new@example.com".into(),
                    is_primary: true,
                }],
                ..Default::default()
            }),
            credential_options: None,
            encryption_configs: vec![EncryptionConfig {
                principal: None,
                provider: String::new(),
                key_id: String::new(),
                config: Some(EncryptionKind::AgeRecipientConfig(AgeRecipientConfig {
                    recipient: identity.to_public().to_string(),
                })),
            }],
            resource_type_id: String::new(),
        }));
        let mut config = ServiceConfig::new(&creds.client_id, creds.client_secret.clone());
        config.extra_ca_pem = Some(c1.ca_pem().as_bytes().to_vec());
        config.provisioning = true;
        config.shutdown_grace = Duration::from_secs(2);
        let stop = StopSignal::new();
        let connector =
            ConnectorHandle::new(MemoryConnector::seeded().with_random_passwords()).unwrap();
        let run = tokio::spawn(run_service(
            connector,
            config.clone(),
            stop.clone(),
            StatusHandle::default(),
        ));
        c1.wait_for_finish(&sync, Duration::from_secs(30))
            .await
            .unwrap();
        let f = c1
            .wait_for_finish(&create, Duration::from_secs(30))
            .await
            .unwrap();
        // Past the 1 s token lifetime: a refresh happens.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.trigger();
        run.await.unwrap().unwrap();
        let Some(FinalState::Success(ok)) = &f.final_state else {
            panic!("{f:?}");
        };
        let resp: CreateAccountResponse = from_any(
            super::super::proto::names::CREATE_ACCOUNT_RESPONSE,
            ok.response.as_ref().unwrap(),
        )
        .unwrap();
        let password = SecretString::from(
            String::from_utf8(
                age::decrypt(&identity, &resp.encrypted_data[0].encrypted_bytes).unwrap(),
            )
            .unwrap(),
        );
        let tokens = c1.issued_tokens();
        assert!(tokens.len() >= 2, "{} tokens", tokens.len());
        let mut secrets: Vec<&SecretString> = vec![&creds.client_secret, &password];
        secrets.extend(tokens.iter());
        let text = logs.text();
        assert!(text.contains("TRACE"), "trace events are captured");
        assert_no_secret(&text, &secrets);
        assert_no_secret(&format!("{config:?} {creds:?}"), &secrets);
        assert_no_secret(&format!("{:?}", c1.finishes()), &secrets);
        let hellos = format!("{:?}", c1.hellos());
        assert_no_secret(&hellos, &secrets);
        // The raw secret's key part is not in the logs either.
        let key_part = secrecy::ExposeSecret::expose_secret(&creds.client_secret)
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();
        assert!(!text.contains(&key_part));
        assert!(c1.rejections().is_empty(), "{:?}", c1.rejections());
    }
}
