//! Running one task against the connector, and the `FinishTask` shape of each outcome
//! (spec §2.5): responses in `Any`, `non_retryable` as upstream chooses it.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

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
use actions::action_invoke;
pub(crate) use actions::action_schema;
use provision::{connector_failure, grant, revoke};
use sync::sync_full;

/// How a task ended, before it becomes a `FinishTask`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// `Success{annotations, response}`.
    Success {
        response: Option<Any>,
        annotations: Vec<Any>,
    },
    /// `status{code, message}` with `Error{non_retryable}`.
    Failure(Failure),
    /// Nothing to send (a `hello` task answers with Hello).
    NoFinish,
}

/// A failed task.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) code: i32,
    pub(crate) message: String,
    pub(crate) non_retryable: bool,
}

impl Failure {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>, non_retryable: bool) -> Self {
        Failure {
            code: grpc_code(kind),
            message: message.into(),
            non_retryable,
        }
    }

    /// Code Unknown (2), retryable: what upstream sends for plain errors.
    pub(crate) fn unknown(message: impl Into<String>, non_retryable: bool) -> Self {
        Failure {
            code: 2,
            message: message.into(),
            non_retryable,
        }
    }

    pub(crate) fn from_error(e: &Error, non_retryable: bool) -> Self {
        let mut message = e.to_string();
        if non_retryable {
            message.push_str("\ntask failed and is non-retryable");
        }
        Failure {
            code: grpc_code(e.kind()),
            message,
            non_retryable,
        }
    }
}

impl Outcome {
    fn success(name: &str, response: &impl prost::Message, annotations: Vec<Any>) -> Outcome {
        Outcome::Success {
            response: Some(proto::any(name, response)),
            annotations,
        }
    }

    /// The `FinishTask` request for `task_id` (the host id is set by the client).
    pub(crate) fn finish_request(&self, task_id: &str) -> Option<FinishTaskRequest> {
        let (status, state) = match self {
            Outcome::NoFinish => return None,
            Outcome::Success {
                response,
                annotations,
            } => (
                None,
                FinalState::Success(FinishSuccess {
                    annotations: annotations.clone(),
                    response: response.clone(),
                }),
            ),
            Outcome::Failure(f) => (
                Some(RpcStatus {
                    code: f.code,
                    message: f.message.clone(),
                    details: Vec::new(),
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

/// Results of actions, for `action_status` (the last 1000, in memory, as upstream).
#[derive(Default)]
pub(crate) struct ActionResults {
    order: VecDeque<String>,
    by_id: HashMap<String, (String, i32, Option<Struct>)>,
}

impl ActionResults {
    fn insert(&mut self, id: String, entry: (String, i32, Option<Struct>)) {
        self.order.push_back(id.clone());
        self.by_id.insert(id, entry);
        while self.order.len() > 1000 {
            if let Some(old) = self.order.pop_front() {
                self.by_id.remove(&old);
            }
        }
    }
}

/// What task handlers share.
pub(crate) struct TaskContext {
    pub(crate) connector: ConnectorHandle,
    pub(crate) client: BatonClient,
    pub(crate) provisioning: bool,
    pub(crate) sync: SyncOptions,
    pub(crate) temp_dir: Option<PathBuf>,
    pub(crate) actions: Mutex<ActionResults>,
    pub(crate) hello: HelloRequest,
}

fn malformed(what: &str) -> Outcome {
    Outcome::Failure(Failure::new(
        ErrorKind::InvalidArgument,
        format!("malformed {what} task\ntask failed and is non-retryable"),
        true,
    ))
}

fn provisioning_off(task: &str) -> Outcome {
    Outcome::Failure(Failure::new(
        ErrorKind::FailedPrecondition,
        format!(
            "provisioning is not enabled: this connector refuses {task} tasks; start it with --provisioning (BATON_PROVISIONING=true) to allow them\ntask failed and is non-retryable"
        ),
        true,
    ))
}

fn resource_id(p: &proto::ResourceId) -> ResourceId {
    ResourceId::new(&p.resource_type, &p.resource)
}

/// Runs `task`'s payload. `cancel` stops long work (a sync stops at its next page).
pub(crate) async fn run(
    ctx: &TaskContext,
    task_id: &str,
    task: TaskType,
    cancel: &TaskCancel,
) -> Outcome {
    match task {
        TaskType::None(_) => Outcome::NoFinish,
        TaskType::Hello(_) => {
            let mut hello = ctx.hello.clone();
            hello.task_id = task_id.to_string();
            match ctx.client.hello(hello).await {
                Ok(_) => Outcome::NoFinish,
                Err(e) => {
                    tracing::warn!(task_id, error = %e, "answering a hello task failed; ConductorOne will time it out");
                    Outcome::NoFinish
                }
            }
        }
        TaskType::SyncFull(t) => sync_full(ctx, task_id, t, cancel).await,
        TaskType::Grant(t) => {
            if !ctx.provisioning {
                return provisioning_off("grant");
            }
            grant(ctx, t).await
        }
        TaskType::Revoke(t) => {
            if !ctx.provisioning {
                return provisioning_off("revoke");
            }
            revoke(ctx, t).await
        }
        TaskType::CreateAccount(t) => {
            if !ctx.provisioning {
                return provisioning_off("create_account");
            }
            create_account(ctx, t).await
        }
        TaskType::DeleteResource(t) => {
            if !ctx.provisioning {
                return provisioning_off("delete_resource");
            }
            delete_resource(ctx, t).await
        }
        TaskType::ActionListSchemas(t) => {
            let schemas = if t.resource_type_id.is_empty() {
                ctx.connector
                    .action_list()
                    .iter()
                    .map(|a| action_schema(&a.schema()))
                    .collect()
            } else {
                // This SDK's actions are connector-wide, none is scoped to a type.
                Vec::new()
            };
            let resp = ListActionSchemasResponse {
                schemas,
                annotations: Vec::new(),
            };
            Outcome::success(names::LIST_ACTION_SCHEMAS_RESPONSE, &resp, Vec::new())
        }
        TaskType::ActionGetSchema(t) => match ctx.connector.action(&t.name).cloned() {
            Ok(h) => {
                let resp = GetActionSchemaResponse {
                    schema: Some(action_schema(&h.schema())),
                    annotations: Vec::new(),
                };
                Outcome::success(names::GET_ACTION_SCHEMA_RESPONSE, &resp, Vec::new())
            }
            Err(e) => Outcome::Failure(Failure::new(ErrorKind::NotFound, e.message(), false)),
        },
        TaskType::ActionInvoke(t) => {
            if t.name.is_empty() {
                return Outcome::Failure(Failure::unknown("action name required", false));
            }
            if !ctx.provisioning {
                return provisioning_off("action_invoke");
            }
            action_invoke(ctx, t).await
        }
        TaskType::ActionStatus(t) => {
            if t.id.is_empty() {
                return Outcome::Failure(Failure::unknown("action id required", false));
            }
            let found = ctx
                .actions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .by_id
                .get(&t.id)
                .cloned();
            match found {
                Some((name, status, response)) => {
                    let resp = GetActionStatusResponse {
                        name,
                        id: t.id,
                        status,
                        annotations: Vec::new(),
                        response,
                    };
                    Outcome::success(names::GET_ACTION_STATUS_RESPONSE, &resp, Vec::new())
                }
                None => Outcome::Failure(Failure::new(
                    ErrorKind::NotFound,
                    format!(
                        "action {:?} is unknown to this process (results are kept in memory, the last 1000)",
                        t.id
                    ),
                    false,
                )),
            }
        }
        other => Outcome::Failure(Failure::unknown(
            format!("unsupported task type: {}", other.name()),
            false,
        )),
    }
}

#[cfg(test)]
mod tests;
