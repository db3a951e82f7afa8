//! The `BatonService` client: one HTTP/2 channel (TLS, ALPN `h2`) for every RPC, reconnecting
//! when it breaks; the bearer token attached to each call; the server's refusal of a token
//! answered by one fresh token and one replay.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sha2::Digest as _;
use tokio::io::AsyncReadExt as _;
use tonic::transport::{Channel, Endpoint};

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;

use super::bearer::BearerAuth;
use super::grpc::BatonServiceClient;
use super::proto::*;
use super::token::TokenSource;
use crate::error::{Error, ErrorKind, Result};

/// Upload chunk size (512 KiB), as upstream.
pub const UPLOAD_CHUNK: usize = 512 * 1024;

/// An `UploadAsset` fails when the server has accepted no chunk (or, after the last one,
/// has not answered) for this long. There is no overall deadline (spec §8.7): a 2 GiB file
/// over a slow link takes an hour, and the task's cancellation is what ends it otherwise.
pub(crate) const UPLOAD_STALL_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// A `tonic::Status` as an SDK error of the matching kind.
pub(crate) fn status_error(rpc: &str, s: &tonic::Status) -> Error {
    use tonic::Code;
    let kind = match s.code() {
        Code::InvalidArgument | Code::OutOfRange => ErrorKind::InvalidArgument,
        Code::Unauthenticated => ErrorKind::Unauthenticated,
        Code::PermissionDenied => ErrorKind::PermissionDenied,
        Code::NotFound => ErrorKind::NotFound,
        Code::AlreadyExists => ErrorKind::AlreadyExists,
        Code::FailedPrecondition => ErrorKind::FailedPrecondition,
        Code::ResourceExhausted => ErrorKind::ResourceExhausted,
        Code::DeadlineExceeded => ErrorKind::DeadlineExceeded,
        Code::Unimplemented => ErrorKind::Unimplemented,
        Code::Cancelled => ErrorKind::Cancelled,
        Code::Internal | Code::DataLoss => ErrorKind::Internal,
        // Unknown covers transport failures (connection refused, reset, TLS) in tonic.
        Code::Unavailable | Code::Aborted | Code::Unknown | Code::Ok => ErrorKind::Unavailable,
    };
    let mut text = s.message().to_string();
    let mut source = std::error::Error::source(s);
    while let Some(e) = source {
        let t = e.to_string();
        if !text.contains(&t) {
            text.push_str(&format!(": {t}"));
        }
        source = e.source();
    }
    Error::new(kind, format!("{rpc}: {text}"))
}

/// The gRPC code of an SDK error kind (for `FinishTask` statuses and exit codes).
pub fn grpc_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::Cancelled => 1,
        ErrorKind::InvalidArgument => 3,
        ErrorKind::DeadlineExceeded => 4,
        ErrorKind::NotFound => 5,
        ErrorKind::AlreadyExists => 6,
        ErrorKind::PermissionDenied => 7,
        ErrorKind::ResourceExhausted => 8,
        ErrorKind::FailedPrecondition => 9,
        ErrorKind::Unimplemented => 12,
        ErrorKind::Internal => 13,
        ErrorKind::Unavailable => 14,
        ErrorKind::Unauthenticated => 16,
    }
}

/// The generated client over the channel, the token attached by [`BearerAuth`].
type Grpc = BatonServiceClient<BearerAuth<Channel>>;

/// The client of `c1.connectorapi.baton.v1.BatonService`.
#[derive(Clone)]
pub(crate) struct BatonClient {
    grpc: Grpc,
    tokens: Arc<TokenSource>,
    host_id: String,
    upload_stall: Duration,
}

impl std::fmt::Debug for BatonClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatonClient")
            .field("host_id", &self.host_id)
            .finish_non_exhaustive()
    }
}

impl BatonClient {
    /// A client of `https://<host>` (lazy: the first call connects), through the HTTP
    /// CONNECT proxy of `HTTPS_PROXY`/`ALL_PROXY` unless `NO_PROXY` names the host (and, on
    /// macOS and Windows, the system's proxy settings), as reqwest does for the token.
    pub(crate) fn new(
        host: &str,
        tls: rustls::ClientConfig,
        tokens: Arc<TokenSource>,
        host_id: String,
        user_agent: String,
    ) -> Result<BatonClient> {
        let proxy = Matcher::from_system();
        BatonClient::with_proxy(host, tls, tokens, host_id, user_agent, proxy)
    }

    /// [`BatonClient::new`] with the proxy rules given rather than read from the environment.
    pub(crate) fn with_proxy(
        host: &str,
        tls: rustls::ClientConfig,
        tokens: Arc<TokenSource>,
        host_id: String,
        user_agent: String,
        proxy: Matcher,
    ) -> Result<BatonClient> {
        let endpoint = Endpoint::from_shared(format!("https://{host}"))
            .map_err(|e| Error::invalid_argument(format!("bad ConductorOne host {host:?}: {e}")))?
            .user_agent(user_agent)
            .map_err(|e| Error::internal(format!("user agent: {e}")))?
            .connect_timeout(Duration::from_secs(30))
            .tcp_nodelay(true);
        // No HTTP/2 keepalive pings (spec §2.1, §8.7): a grpc-go server with the default
        // enforcement policy answers frequent pings during a long upload with GOAWAY
        // `too_many_pings`. A dead connection shows up as a failed call instead.
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(30)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http2()
            .wrap_connector(ProxyConnector {
                direct: http,
                proxy: Arc::new(proxy),
            });
        let channel = endpoint.connect_with_connector_lazy(connector);
        let grpc = BatonServiceClient::new(BearerAuth::new(channel, tokens.clone()));
        Ok(BatonClient {
            grpc,
            tokens,
            host_id,
            upload_stall: UPLOAD_STALL_TIMEOUT,
        })
    }

    /// The same client with another upload stall timeout (tests shorten it).
    #[cfg(test)]
    pub(crate) fn with_upload_stall(mut self, stall: Duration) -> BatonClient {
        self.upload_stall = stall;
        self
    }

    pub(crate) fn host_id(&self) -> &str {
        &self.host_id
    }

    pub(crate) fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    /// The answer of one call, or its status as an SDK error naming the RPC (a refused
    /// token was already replaced, and a unary call replayed once, by [`BearerAuth`]).
    async fn answer<Resp>(
        &self,
        rpc: &str,
        call: impl std::future::Future<
            Output = std::result::Result<tonic::Response<Resp>, tonic::Status>,
        >,
    ) -> Result<Resp> {
        match call.await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) => {
                // A refusal the layer could not see (in trailers): the next call fetches
                // a fresh token.
                if s.code() == tonic::Code::Unauthenticated {
                    self.tokens.clear().await;
                }
                Err(status_error(rpc, &s))
            }
        }
    }

    pub(crate) async fn hello(&self, mut req: HelloRequest) -> Result<HelloResponse> {
        req.host_id = self.host_id.clone();
        let mut grpc = self.grpc.clone();
        self.answer("Hello", grpc.hello(deadline(req, 60))).await
    }

    pub(crate) async fn get_task(&self) -> Result<GetTaskResponse> {
        let req = GetTaskRequest {
            host_id: self.host_id.clone(),
        };
        let mut grpc = self.grpc.clone();
        self.answer("GetTask", grpc.get_task(deadline(req, 60)))
            .await
    }

    pub(crate) async fn get_tasks(
        &self,
        page_size: u32,
        known_task_ids: Vec<String>,
    ) -> Result<GetTasksResponse> {
        let req = GetTasksRequest {
            host_id: self.host_id.clone(),
            page_size,
            known_task_ids,
            annotations: Vec::new(),
        };
        let mut grpc = self.grpc.clone();
        self.answer("GetTasks", grpc.get_tasks(deadline(req, 60)))
            .await
    }

    pub(crate) async fn heartbeat(&self, task_id: &str) -> Result<HeartbeatResponse> {
        let req = HeartbeatRequest {
            host_id: self.host_id.clone(),
            task_id: task_id.to_string(),
            annotations: Vec::new(),
        };
        let mut grpc = self.grpc.clone();
        self.answer("Heartbeat", grpc.heartbeat(deadline(req, 30)))
            .await
    }

    pub(crate) async fn finish_task(&self, mut req: FinishTaskRequest) -> Result<()> {
        req.host_id = self.host_id.clone();
        let mut grpc = self.grpc.clone();
        let _: FinishTaskResponse = self
            .answer("FinishTask", grpc.finish_task(deadline(req, 30)))
            .await?;
        Ok(())
    }

    /// Streams `path` as one `UploadAsset`: metadata, 512 KiB chunks, the SHA-256 in EOF.
    pub(crate) async fn upload_asset(&self, task_id: &str, path: &Path) -> Result<u64> {
        let digest = sha256_file(path).await?;
        let size = tokio::fs::metadata(path).await?.len();
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::from(e).context(format!("opening {}", path.display())))?;
        let first = UploadAssetRequest {
            msg: Some(UploadMsg::Metadata(UploadMetadata {
                host_id: self.host_id.clone(),
                task_id: task_id.to_string(),
                annotations: Vec::new(),
            })),
        };
        let last = UploadAssetRequest {
            msg: Some(UploadMsg::Eof(UploadEof {
                sha256_checksum: digest.to_vec(),
                annotations: Vec::new(),
            })),
        };
        // metadata, then chunks read as the stream is polled, then EOF.
        let chunks = futures::stream::unfold(Some(file), |state| async move {
            let mut file = state?;
            let mut buf = vec![0u8; UPLOAD_CHUNK];
            let mut filled = 0;
            while filled < UPLOAD_CHUNK {
                match file.read(&mut buf[filled..]).await {
                    Ok(0) => break,
                    Ok(n) => filled += n,
                    Err(e) => {
                        tracing::warn!(error = %e, "reading the sync file for upload failed");
                        return None;
                    }
                }
            }
            if filled == 0 {
                return None;
            }
            buf.truncate(filled);
            let msg = UploadAssetRequest {
                msg: Some(UploadMsg::Data(UploadData { data: buf })),
            };
            Some((msg, Some(file)))
        });
        use futures::StreamExt as _;
        let progress = Arc::new(Progress::new());
        let seen = progress.clone();
        let stream = futures::stream::iter([first])
            .chain(chunks)
            .chain(futures::stream::iter([last]))
            .inspect(move |m| seen.advance(m));
        let call = async {
            // No deadline: only a stall ends the call (and the task's cancellation).
            let mut grpc = self.grpc.clone();
            self.answer("UploadAsset", grpc.upload_asset(stream))
                .await
                .map(|_| size)
        };
        match until_stalled(call, &progress, self.upload_stall).await {
            Some(result) => result,
            None => Err(Error::new(
                ErrorKind::DeadlineExceeded,
                format!(
                    "UploadAsset: stalled: nothing accepted for {} s ({} of {size} bytes sent)",
                    self.upload_stall.as_secs_f64(),
                    progress.bytes()
                ),
            )),
        }
    }
}

/// `message` with a gRPC deadline of `secs` seconds.
fn deadline<T>(message: T, secs: u64) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    req.set_timeout(Duration::from_secs(secs));
    req
}

/// The gRPC channel's TCP connector: straight to the destination, or through an HTTP
/// CONNECT tunnel when the proxy rules intercept it. TLS to ConductorOne runs on top either
/// way (the proxy sees only the CONNECT line).
#[derive(Clone)]
struct ProxyConnector {
    direct: HttpConnector,
    proxy: Arc<Matcher>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<http::Uri> for ProxyConnector {
    type Response = <HttpConnector as tower_service::Service<http::Uri>>::Response;
    type Error = BoxError;
    type Future =
        futures::future::BoxFuture<'static, std::result::Result<Self::Response, BoxError>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::result::Result<(), BoxError>> {
        tower_service::Service::poll_ready(&mut self.direct, cx).map_err(Into::into)
    }

    fn call(&mut self, dst: http::Uri) -> Self::Future {
        let Some(intercept) = self.proxy.intercept(&dst) else {
            let connecting = tower_service::Service::call(&mut self.direct, dst);
            return Box::pin(async move { connecting.await.map_err(Into::into) });
        };
        // The proxy's address without any user:password (hyper-util strips it into the
        // Proxy-Authorization header), so it is safe in errors and logs.
        let proxy = intercept.uri().clone();
        let shown = proxy
            .authority()
            .map(|a| format!("{}://{a}", proxy.scheme_str().unwrap_or("http")))
            .unwrap_or_default();
        if proxy.scheme_str() != Some("http") {
            return Box::pin(futures::future::ready(Err(BoxError::from(format!(
                "proxy {shown}: only http:// CONNECT proxies are supported for gRPC"
            )))));
        }
        tracing::debug!(proxy = %shown, "connecting to ConductorOne through a CONNECT proxy");
        let mut tunnel = Tunnel::new(proxy, self.direct.clone());
        if let Some(auth) = intercept.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        Box::pin(async move {
            tower_service::Service::call(&mut tunnel, dst)
                .await
                .map_err(|e| {
                    let mut text = format!("through proxy {shown}: {e}");
                    let mut source = std::error::Error::source(&e);
                    while let Some(s) = source {
                        text.push_str(&format!(": {s}"));
                        source = s.source();
                    }
                    BoxError::from(text)
                })
        })
    }
}

/// When an upload last handed a message on, and how many data bytes it handed on.
#[derive(Debug)]
struct Progress {
    last: std::sync::Mutex<tokio::time::Instant>,
    bytes: std::sync::atomic::AtomicU64,
}

impl Progress {
    fn new() -> Progress {
        Progress {
            last: std::sync::Mutex::new(tokio::time::Instant::now()),
            bytes: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The client took `m` (HTTP/2 flow control holds it back while the server reads nothing).
    fn advance(&self, m: &UploadAssetRequest) {
        if let Some(UploadMsg::Data(d)) = &m.msg {
            self.bytes
                .fetch_add(d.data.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = tokio::time::Instant::now();
    }

    fn last(&self) -> tokio::time::Instant {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bytes(&self) -> u64 {
        self.bytes.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Runs `fut` to completion unless `progress` stands still for `stall` (then `None`).
async fn until_stalled<F: std::future::Future>(
    fut: F,
    progress: &Progress,
    stall: Duration,
) -> Option<F::Output> {
    tokio::pin!(fut);
    loop {
        let deadline = progress.last() + stall;
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = tokio::time::sleep_until(deadline) => {
                if progress.last() + stall <= tokio::time::Instant::now() {
                    return None;
                }
            }
        }
    }
}

/// SHA-256 of a file.
pub(crate) async fn sha256_file(path: &Path) -> Result<[u8; 32]> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::from(e).context(format!("opening {}", path.display())))?;
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream of `n` messages, one every `every`, then pending for ever when `hang`.
    fn paced(
        n: usize,
        every: Duration,
        hang: bool,
    ) -> impl futures::Stream<Item = UploadAssetRequest> {
        use futures::StreamExt as _;
        futures::stream::iter(0..n)
            .then(move |_| async move {
                tokio::time::sleep(every).await;
                UploadAssetRequest {
                    msg: Some(UploadMsg::Data(UploadData { data: vec![0; 10] })),
                }
            })
            // take(1) of a stream that never yields: it hangs.
            .chain(futures::stream::pending().take(usize::from(hang)))
    }

    async fn consume(progress: &Progress, s: impl futures::Stream<Item = UploadAssetRequest>) {
        use futures::StreamExt as _;
        s.for_each(|m| {
            progress.advance(&m);
            async {}
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn slow_progress_is_not_a_stall_but_silence_is() {
        let stall = Duration::from_secs(300);
        // 20 messages 4 min apart: 80 min in all, never 5 min without one.
        let progress = Progress::new();
        let out = until_stalled(
            consume(&progress, paced(20, Duration::from_secs(240), false)),
            &progress,
            stall,
        )
        .await;
        assert!(out.is_some());
        assert_eq!(progress.bytes(), 200);
        // 3 messages, then nothing: fails 5 min after the last one.
        let progress = Progress::new();
        let start = tokio::time::Instant::now();
        let out = until_stalled(
            consume(&progress, paced(3, Duration::from_secs(60), true)),
            &progress,
            stall,
        )
        .await;
        assert!(out.is_none());
        assert_eq!(progress.bytes(), 30);
        assert_eq!(start.elapsed(), Duration::from_secs(180) + stall);
    }

    /// A client of the fake C1 (tokens included).
    #[cfg(feature = "fake-c1")]
    pub(crate) fn fake_client(c1: &crate::service::fake::FakeC1) -> BatonClient {
        use crate::service::credentials::{ClientId, ClientSecret};
        use crate::service::tls::client_config;
        let creds = c1.credentials("client-test");
        let ca = Some(c1.ca_pem().as_bytes());
        let tokens = TokenSource::new(
            ClientId::parse(&creds.client_id).unwrap(),
            ClientSecret::parse(&creds.client_secret).unwrap(),
            &c1.host(),
            client_config(ca, &[b"h2", b"http/1.1"]).unwrap(),
            "test",
        )
        .unwrap();
        BatonClient::new(
            &c1.host(),
            client_config(ca, &[]).unwrap(),
            Arc::new(tokens),
            "client-test-host".into(),
            "client-test".into(),
        )
        .unwrap()
    }

    /// A refused token is replaced and the call sent once more (the bearer layer); a
    /// server that refuses every token gets exactly one replay, then the call fails
    /// `Unauthenticated`, naming the RPC.
    #[cfg(feature = "fake-c1")]
    #[tokio::test]
    async fn a_refused_token_is_replaced_and_the_call_replayed_once() {
        let c1 = crate::service::fake::FakeC1::start().await.unwrap();
        let client = fake_client(&c1);
        client.get_task().await.unwrap();
        assert_eq!(c1.token_requests(), 1);
        c1.revoke_tokens();
        client.get_task().await.unwrap();
        assert_eq!(c1.token_requests(), 2, "one fresh token for the replay");
        assert_eq!(c1.rejections(), ["unknown token"]);

        // Tokens that are expired when they arrive: one replay, then the error.
        c1.set_token_lifetime(0);
        c1.revoke_tokens();
        let err = client
            .heartbeat(&crate::service::fake::new_task_id())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated);
        assert!(
            err.to_string().contains("Heartbeat: token expired"),
            "{err}"
        );
        // The cached token is refused, one fresh token is fetched for the one replay.
        assert_eq!(c1.token_requests(), 3, "no loop");
        assert_eq!(
            c1.rejections(),
            ["unknown token", "unknown token", "expired token"]
        );
    }

    /// A streamed upload refused for its token is not replayed (its body is not kept);
    /// the next call fetches a fresh token and goes through.
    #[cfg(feature = "fake-c1")]
    #[tokio::test]
    async fn a_refused_upload_is_not_replayed_and_the_next_call_gets_a_fresh_token() {
        let c1 = crate::service::fake::FakeC1::start().await.unwrap();
        let client = fake_client(&c1);
        client.get_task().await.unwrap();
        c1.revoke_tokens();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.c1z");
        std::fs::write(&path, b"a file").unwrap();
        let err = client
            .upload_asset(&crate::service::fake::new_task_id(), &path)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
        assert_eq!(c1.token_requests(), 1, "no fresh token for a replay");
        assert!(c1.uploads().is_empty());
        client.get_task().await.unwrap();
        assert_eq!(c1.token_requests(), 2);
    }

    /// Through the fake, which reads each 512 KiB chunk late: a slow upload whose chunks
    /// keep being accepted completes past the stall timeout; one whose server stops reading
    /// fails with DeadlineExceeded once nothing was accepted for the stall timeout.
    #[cfg(feature = "fake-c1")]
    #[tokio::test]
    async fn uploads_end_on_a_stall_not_on_a_deadline() {
        let c1 = crate::service::fake::FakeC1::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync.c1z");
        // 24 chunks read 100 ms apart: 2.4 s in all, past the 1.5 s stall timeout, while
        // what sits in the HTTP/2 windows at the end (a few chunks) is read well within it
        // even on a busy machine.
        let data: Vec<u8> = (0..24 * UPLOAD_CHUNK).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let stall = Duration::from_millis(1500);
        let client = fake_client(&c1).with_upload_stall(stall);

        c1.set_upload_chunk_delay(Duration::from_millis(100));
        let task = crate::service::fake::new_task_id();
        let started = std::time::Instant::now();
        let sent = client.upload_asset(&task, &path).await.unwrap();
        assert_eq!(sent, data.len() as u64);
        assert!(started.elapsed() > stall, "{:?}", started.elapsed());
        let uploads = c1.uploads();
        assert_eq!(uploads.len(), 1);
        assert!(uploads[0].bytes == data);

        c1.set_upload_chunk_delay(Duration::from_secs(30));
        let started = std::time::Instant::now();
        let e = client
            .upload_asset(&crate::service::fake::new_task_id(), &path)
            .await
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::DeadlineExceeded, "{e}");
        assert!(e.to_string().contains("stalled"), "{e}");
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(c1.uploads().len(), 1);
    }
}
