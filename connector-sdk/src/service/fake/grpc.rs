//! The fake's `BatonService`: one handler per RPC, over the shared task state.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt as _;
use sha2::Digest as _;
use tonic::{Request, Response, Status, Streaming};

use super::*;
use crate::service::grpc::BatonService;

#[derive(Clone)]
pub(super) struct Svc(pub(super) Arc<Shared>);

/// The generated server's trait: each RPC is the handler below, then the waiters (tests
/// waiting for a finish, an upload…) are woken.
#[async_trait::async_trait]
impl BatonService for Svc {
    async fn hello(
        &self,
        req: Request<HelloRequest>,
    ) -> std::result::Result<Response<HelloResponse>, Status> {
        self.answered(self.on_hello(req))
    }

    async fn get_task(
        &self,
        req: Request<GetTaskRequest>,
    ) -> std::result::Result<Response<GetTaskResponse>, Status> {
        self.answered(self.on_get_task(req))
    }

    async fn get_tasks(
        &self,
        req: Request<GetTasksRequest>,
    ) -> std::result::Result<Response<GetTasksResponse>, Status> {
        self.answered(self.on_get_tasks(req))
    }

    async fn heartbeat(
        &self,
        req: Request<HeartbeatRequest>,
    ) -> std::result::Result<Response<HeartbeatResponse>, Status> {
        self.answered(self.on_heartbeat(req))
    }

    async fn finish_task(
        &self,
        req: Request<FinishTaskRequest>,
    ) -> std::result::Result<Response<FinishTaskResponse>, Status> {
        self.answered(self.on_finish_task(req))
    }

    async fn upload_asset(
        &self,
        req: Request<Streaming<UploadAssetRequest>>,
    ) -> std::result::Result<Response<UploadAssetResponse>, Status> {
        let result = self.upload(req).await;
        self.answered(result)
    }
}

impl Svc {
    fn answered<T>(
        &self,
        result: std::result::Result<T, Status>,
    ) -> std::result::Result<Response<T>, Status> {
        self.0.notify.notify_waiters();
        result.map(Response::new)
    }

    pub(super) fn reject(&self, why: String) -> Status {
        lock(&self.0.state).rejections.push(why.clone());
        Status::invalid_argument(why)
    }

    pub(super) fn auth<T>(&self, req: &Request<T>) -> std::result::Result<(), Status> {
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

    pub(super) fn next_poll(&self) -> Option<super::super::proto::Duration> {
        lock(&self.0.behaviour).next_poll.map(duration)
    }

    pub(super) fn on_hello(
        &self,
        req: Request<HelloRequest>,
    ) -> std::result::Result<HelloResponse, Status> {
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

    pub(super) fn hand_out(&self, state: &mut State, known: &HashSet<String>) -> Option<Task> {
        let idx = state.queue.iter().position(|t| !known.contains(&t.id))?;
        let t = state.queue.remove(idx)?;
        state.handed_out.insert(t.id.clone());
        state.started.insert(t.id.clone(), Instant::now());
        Some(t)
    }

    pub(super) fn on_get_task(
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

    pub(super) fn on_get_tasks(
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

    pub(super) fn on_heartbeat(
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

    pub(super) fn on_finish_task(
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
        let delay = lock(&self.0.behaviour).upload_chunk_delay;
        while let Some(msg) = stream.next().await {
            match msg?.msg {
                Some(UploadMsg::Data(d)) => {
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
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
