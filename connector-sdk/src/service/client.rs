//! The `BatonService` client: one HTTP/2 channel (TLS, ALPN `h2`) for every RPC, reconnecting
//! when it breaks; the bearer token attached to each call; the server's refusal of a token
//! answered by one fresh token and one replay.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http::uri::PathAndQuery;
use secrecy::ExposeSecret;
use sha2::Digest as _;
use tokio::io::AsyncReadExt as _;
use tonic::transport::{Channel, Endpoint};

use super::proto::*;
use super::token::TokenSource;
use crate::error::{Error, ErrorKind, Result};

/// Upload chunk size (512 KiB), as upstream.
pub const UPLOAD_CHUNK: usize = 512 * 1024;

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

/// The client of `c1.connectorapi.baton.v1.BatonService`.
#[derive(Clone)]
pub(crate) struct BatonClient {
    channel: Channel,
    tokens: Arc<TokenSource>,
    host_id: String,
}

impl std::fmt::Debug for BatonClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatonClient")
            .field("host_id", &self.host_id)
            .finish_non_exhaustive()
    }
}

impl BatonClient {
    /// A client of `https://<host>` (lazy: the first call connects).
    pub(crate) fn new(
        host: &str,
        tls: rustls::ClientConfig,
        tokens: Arc<TokenSource>,
        host_id: String,
        user_agent: String,
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
        let mut http = hyper_util::client::legacy::connect::HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        http.set_connect_timeout(Some(Duration::from_secs(30)));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_only()
            .enable_http2()
            .wrap_connector(http);
        let channel = endpoint.connect_with_connector_lazy(connector);
        Ok(BatonClient {
            channel,
            tokens,
            host_id,
        })
    }

    pub(crate) fn host_id(&self) -> &str {
        &self.host_id
    }

    pub(crate) fn tokens(&self) -> &TokenSource {
        &self.tokens
    }

    async fn request<T>(&self, message: T, timeout: Duration) -> Result<tonic::Request<T>> {
        let auth = self.tokens.authorization().await?;
        let mut req = tonic::Request::new(message);
        req.set_timeout(timeout);
        let value = tonic::metadata::MetadataValue::try_from(auth.expose_secret())
            .map_err(|_| Error::internal("the access token is not a valid header value"))?;
        req.metadata_mut().insert("authorization", value);
        Ok(req)
    }

    /// One unary call; a refused token is replaced and the call replayed once.
    async fn unary<Req, Resp>(
        &self,
        method: &'static str,
        message: Req,
        timeout: Duration,
    ) -> Result<Resp>
    where
        Req: prost::Message + Clone + Send + Sync + 'static,
        Resp: prost::Message + Default + Send + Sync + 'static,
    {
        let path = PathAndQuery::from_static(method);
        let name = method.rsplit('/').next().unwrap_or(method);
        let mut replayed = false;
        loop {
            let req = self.request(message.clone(), timeout).await?;
            let mut grpc = tonic::client::Grpc::new(self.channel.clone());
            grpc.ready()
                .await
                .map_err(|e| Error::new(ErrorKind::Unavailable, format!("{name}: {e}")))?;
            let codec = tonic_prost::ProstCodec::<Req, Resp>::default();
            match grpc.unary(req, path.clone(), codec).await {
                Ok(r) => return Ok(r.into_inner()),
                Err(s) if s.code() == tonic::Code::Unauthenticated && !replayed => {
                    tracing::debug!(
                        rpc = name,
                        "the server refused the token; fetching a new one"
                    );
                    self.tokens.invalidate().await;
                    replayed = true;
                }
                Err(s) => return Err(status_error(name, &s)),
            }
        }
    }

    pub(crate) async fn hello(&self, mut req: HelloRequest) -> Result<HelloResponse> {
        req.host_id = self.host_id.clone();
        self.unary(
            "/c1.connectorapi.baton.v1.BatonService/Hello",
            req,
            Duration::from_secs(60),
        )
        .await
    }

    pub(crate) async fn get_task(&self) -> Result<GetTaskResponse> {
        let req = GetTaskRequest {
            host_id: self.host_id.clone(),
        };
        self.unary(
            "/c1.connectorapi.baton.v1.BatonService/GetTask",
            req,
            Duration::from_secs(60),
        )
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
        self.unary(
            "/c1.connectorapi.baton.v1.BatonService/GetTasks",
            req,
            Duration::from_secs(60),
        )
        .await
    }

    pub(crate) async fn heartbeat(&self, task_id: &str) -> Result<HeartbeatResponse> {
        let req = HeartbeatRequest {
            host_id: self.host_id.clone(),
            task_id: task_id.to_string(),
            annotations: Vec::new(),
        };
        self.unary(
            "/c1.connectorapi.baton.v1.BatonService/Heartbeat",
            req,
            Duration::from_secs(30),
        )
        .await
    }

    pub(crate) async fn finish_task(&self, mut req: FinishTaskRequest) -> Result<()> {
        req.host_id = self.host_id.clone();
        let _: FinishTaskResponse = self
            .unary(
                "/c1.connectorapi.baton.v1.BatonService/FinishTask",
                req,
                Duration::from_secs(30),
            )
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
        let stream = futures::stream::iter([first])
            .chain(chunks)
            .chain(futures::stream::iter([last]));
        // Generous: 1 min plus 1 s per MiB.
        let timeout = Duration::from_secs(60 + size / (1024 * 1024));
        let req = self.request(stream, timeout).await?;
        let mut grpc = tonic::client::Grpc::new(self.channel.clone());
        grpc.ready()
            .await
            .map_err(|e| Error::new(ErrorKind::Unavailable, format!("UploadAsset: {e}")))?;
        let codec = tonic_prost::ProstCodec::<UploadAssetRequest, UploadAssetResponse>::default();
        match grpc
            .client_streaming(
                req,
                PathAndQuery::from_static("/c1.connectorapi.baton.v1.BatonService/UploadAsset"),
                codec,
            )
            .await
        {
            Ok(_) => Ok(size),
            Err(s) => {
                if s.code() == tonic::Code::Unauthenticated {
                    self.tokens.invalidate().await;
                }
                Err(status_error("UploadAsset", &s))
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
