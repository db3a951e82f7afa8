//! Running one task against the connector, and the `FinishTask` shape of each outcome
//! (spec §2.5): responses in `Any`, `non_retryable` as upstream chooses it.
//!
//! Each handler is an adapter: protobuf in, one [`ConnectorHandle`] call, protobuf out. It
//! returns a [`TaskResult`]; the lookups, checks and panics of the connector are the
//! handle's.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::client::{BatonClient, grpc_code};
use super::proto::{self, names, *};
use crate::error::{Error, ErrorKind};
use crate::handle::ConnectorHandle;
use crate::model::ResourceId;
use crate::sync::{StopSignal, SyncOptions};

mod accounts;
mod actions;
mod provision;
mod sync;

pub use accounts::AGE_PROVIDER;
use accounts::{create_account, delete_resource};
use actions::{action_get_schema, action_invoke, action_list_schemas, action_status};
use provision::{grant, revoke};
use sync::sync_full;

/// How a task ended, before it becomes a `FinishTask`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// `Success{annotations, response}`.
    Success(Success),
    /// `status{code, message, details}` with `Error{non_retryable}`.
    Failure(Failure),
    /// Nothing to send (a `hello` task answers with Hello).
    NoFinish,
}

/// What a task handler returns.
pub(crate) type TaskResult = std::result::Result<Success, Failure>;

impl From<TaskResult> for Outcome {
    fn from(r: TaskResult) -> Outcome {
        match r {
            Ok(s) => Outcome::Success(s),
            Err(f) => Outcome::Failure(f),
        }
    }
}

/// A task that succeeded: its response and annotations.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Success {
    pub(crate) response: Option<Any>,
    pub(crate) annotations: Vec<Any>,
}

impl Success {
    /// `response` (the message named `name`) with no annotations.
    pub(crate) fn of(name: &str, response: &impl prost::Message) -> Success {
        Success {
            response: Some(proto::any(name, response)),
            annotations: Vec::new(),
        }
    }

    /// With `annotations` on the `FinishTask` success.
    pub(crate) fn annotated(mut self, annotations: Vec<Any>) -> Success {
        self.annotations = annotations;
        self
    }
}

/// A failed task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) code: i32,
    pub(crate) message: String,
    pub(crate) non_retryable: bool,
    pub(crate) details: Vec<Any>,
}

impl Failure {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>, non_retryable: bool) -> Self {
        Failure {
            code: grpc_code(kind),
            message: message.into(),
            non_retryable,
            details: Vec::new(),
        }
    }

    /// Code Unknown (2), retryable: what upstream sends for plain errors.
    pub(crate) fn unknown(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
            non_retryable: false,
            details: Vec::new(),
        }
    }

    /// `e` as a failure; a [`Error::grant_cancelled`] carries upstream's `grant_cancelled`
    /// `ErrorInfo` in the status details, which the platform reads as a cancelled request.
    pub(crate) fn from_error(e: &Error, non_retryable: bool) -> Self {
        let mut message = e.to_string();
        if non_retryable {
            message.push_str("\ntask failed and is non-retryable");
        }
        let mut details = Vec::new();
        if let Some(reason) = e.grant_cancelled_reason() {
            let info = ErrorInfo {
                reason: "grant_cancelled".into(),
                domain: "github.com/conductorone/baton-sdk".into(),
                metadata: [("reason".to_string(), reason.to_string())].into(),
            };
            details.push(proto::any(names::ERROR_INFO, &info));
        }
        Failure {
            code: grpc_code(e.kind()),
            message,
            non_retryable,
            details,
        }
    }

    /// A failure the platform should not retry (provisioning: the connector said no).
    pub(crate) fn permanent(e: Error) -> Self {
        Failure::from_error(&e, true)
    }

    /// A failure the platform may retry (a sync, a transient refusal).
    pub(crate) fn retryable(e: Error) -> Self {
        Failure::from_error(&e, false)
    }
}

impl Outcome {
    /// The `FinishTask` request for `task_id` (the host id is set by the client).
    pub(crate) fn finish_request(&self, task_id: &str) -> Option<FinishTaskRequest> {
        let (status, state) = match self {
            Outcome::NoFinish => return None,
            Outcome::Success(s) => (
                None,
                FinalState::Success(FinishSuccess {
                    annotations: s.annotations.clone(),
                    response: s.response.clone(),
                }),
            ),
            Outcome::Failure(f) => (
                Some(RpcStatus {
                    code: f.code,
                    message: f.message.clone(),
                    details: f.details.clone(),
                }),
                FinalState::Error(FinishError {
                    non_retryable: f.non_retryable,
                    annotations: Vec::new(),
                    response: None,
                }),
            ),
        };
        Some(FinishTaskRequest {
            host_id: String::new(),
            task_id: task_id.to_string(),
            status,
            final_state: Some(state),
        })
    }
}

/// Why a running task was asked to stop.
#[derive(Clone, Default)]
pub(crate) struct TaskCancel {
    signal: StopSignal,
    reason: Arc<Mutex<Option<Failure>>>,
}

impl TaskCancel {
    pub(crate) fn cancel(&self, why: Failure) {
        let mut r = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if r.is_none() {
            *r = Some(why);
        }
        drop(r);
        self.signal.trigger();
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.signal.is_triggered()
    }

    pub(crate) async fn cancelled(&self) {
        self.signal.triggered().await
    }

    pub(crate) fn signal(&self) -> StopSignal {
        self.signal.clone()
    }

    pub(crate) fn failure(&self) -> Failure {
        self.reason
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .unwrap_or_else(|| Failure::new(ErrorKind::Cancelled, "the task was cancelled", false))
    }
}

/// What task handlers share.
pub(crate) struct TaskContext {
    pub(crate) connector: ConnectorHandle,
    pub(crate) client: BatonClient,
    pub(crate) provisioning: bool,
    pub(crate) sync: SyncOptions,
    pub(crate) temp_dir: Option<PathBuf>,
    pub(crate) hello: HelloRequest,
    /// How long an action may run (`--action-timeout`).
    pub(crate) action_timeout: Duration,
}

fn malformed(what: &str) -> Failure {
    Failure::new(
        ErrorKind::InvalidArgument,
        format!("malformed {what} task\ntask failed and is non-retryable"),
        true,
    )
}

fn provisioning_off(task: &str) -> Failure {
    Failure::new(
        ErrorKind::FailedPrecondition,
        format!(
            "provisioning is not enabled: this connector refuses {task} tasks; start it with --provisioning (BATON_PROVISIONING=true) to allow them\ntask failed and is non-retryable"
        ),
        true,
    )
}

/// A task type this connector does not serve, that the platform must not send again.
fn not_served(task: &str) -> Failure {
    Failure::new(
        ErrorKind::Unimplemented,
        format!("this connector does not support {task} tasks\ntask failed and is non-retryable"),
        true,
    )
}

fn resource_id(p: &proto::ResourceId) -> ResourceId {
    ResourceId::new(&p.resource_type, &p.resource)
}

/// Runs `task`'s payload. `cancel` stops long work (a sync stops at its next page); `debug`
/// (the task's flag) uploads a sync's log after its file.
pub(crate) async fn run(
    ctx: &TaskContext,
    task_id: &str,
    task: TaskType,
    cancel: &TaskCancel,
    debug: bool,
) -> Outcome {
    let provisioning = |name: &str| {
        if ctx.provisioning {
            Ok(())
        } else {
            Err(provisioning_off(name))
        }
    };
    let result = match task {
        TaskType::None(_) => return Outcome::NoFinish,
        TaskType::Hello(_) => {
            let mut hello = ctx.hello.clone();
            hello.task_id = task_id.to_string();
            if let Err(e) = ctx.client.hello(hello).await {
                tracing::warn!(task_id, error = %e, "answering a hello task failed; ConductorOne will time it out");
            }
            return Outcome::NoFinish;
        }
        TaskType::SyncFull(t) => sync_full(ctx, task_id, t, cancel, debug).await,
        TaskType::Grant(t) => match provisioning("grant") {
            Ok(()) => grant(ctx, t).await,
            Err(f) => Err(f),
        },
        TaskType::Revoke(t) => match provisioning("revoke") {
            Ok(()) => revoke(ctx, t).await,
            Err(f) => Err(f),
        },
        TaskType::CreateAccount(t) => match provisioning("create_account") {
            Ok(()) => create_account(ctx, t).await,
            Err(f) => Err(f),
        },
        TaskType::DeleteResource(t) => match provisioning("delete_resource") {
            Ok(()) => delete_resource(ctx, t).await,
            Err(f) => Err(f),
        },
        // Actions are served without --provisioning, as upstream (spec §8.4).
        TaskType::ActionListSchemas(t) => Ok(action_list_schemas(ctx, t)),
        TaskType::ActionGetSchema(t) => action_get_schema(ctx, t),
        TaskType::ActionInvoke(t) => action_invoke(ctx, t).await,
        TaskType::ActionStatus(t) => action_status(ctx, t),
        // No event feeds: an empty list, as upstream for a connector without feeds.
        TaskType::ListEventFeeds(_) => Ok(Success::of(names::LIST_EVENT_FEEDS_RESPONSE, &Empty {})),
        TaskType::CreateResource(_) => Err(not_served("create_resource")),
        TaskType::RotateCredentials(_) => Err(not_served("rotate_credentials")),
        TaskType::IssueCredential(_) => Err(not_served("issue_credential")),
        other => Err(Failure::unknown(format!(
            "unsupported task type: {}",
            other.name()
        ))),
    };
    result.into()
}

#[cfg(test)]
mod tests;
