//! Running one task against the connector, and the `FinishTask` shape of each outcome
//! (spec §2.5): responses in `Any`, `non_retryable` as upstream chooses it.

use crate::provision::GrantRequest;
use crate::provision::RevokeRequest;
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::ExposeSecret;
use sha2::Digest as _;

use super::client::{BatonClient, grpc_code};
use super::proto::{self, names, *};
use crate::account::{AccountOutcome, CredentialOption};
use crate::action::{ActionSchema, ActionType, invoke_action};
use crate::delete::DeleteOutcome;
use crate::error::{Error, ErrorKind};
use crate::handle::ConnectorHandle;
use crate::model::{Profile, ResourceId};
use crate::provision::{GrantOutcome, RevokeOutcome};
use crate::retry::{Backoff, RetryPolicy};
use crate::schema::{FieldType, validate_fields};
use crate::store::convert;
use crate::sync::{StopSignal, SyncOptions, sync_to_file};

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

/// The sync engine's options for a `SyncFullTask`: the task's resource-type filter, skip
/// flags and targeted resources replace whatever the binary was started with.
pub(crate) fn sync_options_for(
    t: &SyncFullTask,
    base: &SyncOptions,
    stop: StopSignal,
) -> std::result::Result<SyncOptions, Error> {
    let mut options = base.clone();
    options.stop = stop;
    // A fresh temporary file every task: nothing to resume.
    options.resume = false;
    options.max_duration = None;
    options.expand_grants = !t.skip_expand_grants;
    options.skip_entitlements_and_grants = t.skip_entitlements_and_grants;
    options.skip_grants = t.skip_grants;
    options.resource_types = t
        .sync_resource_type_ids
        .iter()
        .filter(|id| !id.trim().is_empty())
        .cloned()
        .collect();
    options.targeted = t
        .targeted_sync_resources
        .iter()
        .map(targeted_resource)
        .collect::<std::result::Result<_, _>>()?;
    if !t.storage_engine.is_empty() {
        tracing::info!(storage_engine = %t.storage_engine, "the task asks for a storage engine; uploading the v1 (SQLite) c1z this SDK writes");
    }
    Ok(options)
}

/// A targeted resource of a task: its id and, when set, its parent's.
fn targeted_resource(r: &Resource) -> std::result::Result<crate::bid::ResourceBid, Error> {
    let id = |p: &proto::ResourceId| {
        let id = crate::model::ResourceId::new(&p.resource_type, &p.resource);
        id.validate().map(|()| id).map_err(|e| {
            Error::invalid_argument(format!("targeted_sync_resources: {}", e.message()))
        })
    };
    let Some(rid) = &r.id else {
        return Err(Error::invalid_argument(
            "targeted_sync_resources: a resource has no id",
        ));
    };
    Ok(crate::bid::ResourceBid {
        id: id(rid)?,
        parent: r.parent_resource_id.as_ref().map(id).transpose()?,
    })
}

async fn sync_full(
    ctx: &TaskContext,
    task_id: &str,
    t: SyncFullTask,
    cancel: &TaskCancel,
) -> Outcome {
    let dir = {
        let mut b = tempfile::Builder::new();
        b.prefix("baton-sdk-sync-upload");
        match &ctx.temp_dir {
            Some(d) => b.tempdir_in(d),
            None => b.tempdir(),
        }
    };
    let dir = match dir {
        Ok(d) => d,
        Err(e) => {
            return Outcome::Failure(Failure::from_error(
                &Error::from(e).context("creating the sync's temporary directory (BATON_TMPDIR)"),
                false,
            ));
        }
    };
    let path = dir.path().join("sync.c1z");
    let options = match sync_options_for(&t, &ctx.sync, cancel.signal()) {
        Ok(o) => o,
        Err(e) => return Outcome::Failure(Failure::from_error(&e, false)),
    };
    let started = std::time::Instant::now();
    let report = sync_to_file(&ctx.connector, &path, &options, None).await;
    let report = match report {
        Err(e) => return Outcome::Failure(Failure::from_error(&e, false)),
        Ok(r) if !r.completed || cancel.is_cancelled() => {
            return Outcome::Failure(cancel.failure());
        }
        Ok(r) => r,
    };
    tracing::info!(
        task_id,
        resources = report.stats.resources,
        entitlements = report.stats.entitlements,
        grants = report.stats.grants,
        ms = started.elapsed().as_millis() as u64,
        "sync finished; uploading"
    );
    // Up to 3 attempts, each on a new stream, 1 s apart.
    let mut backoff = Backoff::new(RetryPolicy {
        max_attempts: 3,
        min_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(1),
        max_total_wait: Duration::from_secs(10),
    });
    loop {
        let attempt = backoff.start_attempt();
        let result = tokio::select! {
            r = ctx.client.upload_asset(task_id, &path) => r,
            _ = cancel.cancelled() => return Outcome::Failure(cancel.failure()),
        };
        match result {
            Ok(bytes) => {
                tracing::info!(task_id, bytes, attempt, "sync uploaded");
                break;
            }
            Err(e) => {
                tracing::warn!(task_id, attempt, error = %e, "upload failed");
                let retryable = Error::new(ErrorKind::Unavailable, e.to_string());
                if let Err(last) = backoff.wait_or_give_up(retryable).await {
                    return Outcome::Failure(Failure::from_error(
                        &Error::new(e.kind(), format!("uploading the sync: {}", last.message())),
                        false,
                    ));
                }
            }
        }
    }
    Outcome::Success {
        response: None,
        annotations: Vec::new(),
    }
}

fn connector_failure(e: &Error) -> Outcome {
    Outcome::Failure(Failure::from_error(e, true))
}

async fn grant(ctx: &TaskContext, t: GrantTask) -> Outcome {
    let (Some(ent), Some(principal)) = (t.entitlement, t.principal) else {
        return malformed("grant");
    };
    let (entitlement, principal) = match (
        convert::entitlement_from_proto(&ent),
        convert::resource_from_proto(&principal),
    ) {
        (Ok(e), Ok(p)) => (e, p),
        (Err(e), _) | (_, Err(e)) => {
            return Outcome::Failure(Failure::new(
                ErrorKind::InvalidArgument,
                format!("malformed grant task: {e}\ntask failed and is non-retryable"),
                true,
            ));
        }
    };
    let result = ctx
        .connector
        .grant(GrantRequest::new(&principal, &entitlement))
        .await;
    match result {
        Ok(GrantOutcome::Granted(grants)) => {
            let grants = grants.iter().map(grant_proto).collect();
            let resp = GrantResponse {
                annotations: Vec::new(),
                grants,
            };
            Outcome::success(names::GRANT_RESPONSE, &resp, Vec::new())
        }
        Ok(GrantOutcome::AlreadyExists) => {
            let ann = vec![proto::any(
                names::GRANT_ALREADY_EXISTS,
                &GrantAlreadyExists {},
            )];
            let resp = GrantResponse {
                annotations: ann.clone(),
                grants: Vec::new(),
            };
            Outcome::success(names::GRANT_RESPONSE, &resp, ann)
        }
        Err(e) => connector_failure(&e),
    }
}

fn grant_proto(g: &crate::model::Grant) -> Grant {
    let (mut p, expansion) = convert::grant_to_proto(g);
    if let Some(bytes) = expansion {
        p.annotations.push(Any {
            type_url: format!("{}GrantExpandable", crate::store::proto::TYPE_URL_PREFIX),
            value: bytes,
        });
    }
    p
}

async fn revoke(ctx: &TaskContext, t: RevokeTask) -> Outcome {
    let Some(g) = t.grant else {
        return malformed("revoke");
    };
    let row = convert::GrantRow {
        entitlement_id: g
            .entitlement
            .as_ref()
            .map(|e| e.id.clone())
            .unwrap_or_default(),
        resource: g
            .entitlement
            .as_ref()
            .and_then(|e| e.resource.as_ref())
            .and_then(|r| r.id.as_ref())
            .map(resource_id)
            .unwrap_or_else(|| ResourceId::new("", "")),
        principal: g
            .principal
            .as_ref()
            .and_then(|p| p.id.as_ref())
            .map(resource_id)
            .unwrap_or_else(|| ResourceId::new("", "")),
    };
    if row.entitlement_id.is_empty()
        || row.resource.resource.is_empty()
        || row.principal.resource.is_empty()
    {
        return malformed("revoke");
    }
    let grant = match convert::grant_from_proto(&g, None, &row) {
        Ok(g) => g,
        Err(e) => {
            return Outcome::Failure(Failure::new(
                ErrorKind::InvalidArgument,
                format!("malformed revoke task: {e}\ntask failed and is non-retryable"),
                true,
            ));
        }
    };
    // Grant-only entitlements are refused by the handle, before the connector is called.
    let result = ctx.connector.revoke(RevokeRequest::new(&grant)).await;
    match result {
        Ok(RevokeOutcome::Revoked) => Outcome::success(
            names::REVOKE_RESPONSE,
            &RevokeResponse {
                annotations: Vec::new(),
            },
            Vec::new(),
        ),
        Ok(RevokeOutcome::AlreadyRevoked) => {
            let ann = vec![proto::any(
                names::GRANT_ALREADY_REVOKED,
                &GrantAlreadyRevoked {},
            )];
            Outcome::success(
                names::REVOKE_RESPONSE,
                &RevokeResponse {
                    annotations: ann.clone(),
                },
                ann,
            )
        }
        Err(e) => connector_failure(&e),
    }
}

/// The provider name of age-encrypted data.
pub const AGE_PROVIDER: &str = "baton/age/v1";

async fn create_account(ctx: &TaskContext, t: CreateAccountTask) -> Outcome {
    let Some(info) = t.account_info else {
        return malformed("create account");
    };
    let email = info
        .emails
        .iter()
        .find(|e| e.is_primary)
        .or(info.emails.first())
        .map(|e| e.address.clone())
        .filter(|e| !e.trim().is_empty());
    let account = crate::account::AccountInfo {
        login: Some(info.login.clone()).filter(|l| !l.trim().is_empty()),
        email,
        profile: info
            .profile
            .as_ref()
            .map(convert::profile_from_struct)
            .unwrap_or_default(),
    };
    let non_retryable = |e: Error| Outcome::Failure(Failure::from_error(&e, true));
    let syncer = if t.resource_type_id.is_empty() {
        ctx.connector.account_syncer().cloned()
    } else {
        match ctx.connector.syncer(&t.resource_type_id).cloned() {
            Ok(s) => Some(s),
            Err(e) => return non_retryable(e),
        }
    };
    let Some(manager) = syncer.as_ref().and_then(|s| s.account_manager()) else {
        return non_retryable(Error::unimplemented("the connector cannot create accounts"));
    };
    if let Err(e) = validate_fields(
        "account profile",
        &manager.account_schema(),
        &account.profile,
    ) {
        return non_retryable(e);
    }
    let option = match t.credential_options.and_then(|o| o.options) {
        None => manager
            .credential_options()
            .into_iter()
            .next()
            .unwrap_or(CredentialOption::NoPassword),
        Some(CredentialOptionKind::NoPassword(_)) => CredentialOption::NoPassword,
        Some(CredentialOptionKind::Sso(_)) => CredentialOption::Sso,
        Some(CredentialOptionKind::RandomPassword(r)) => CredentialOption::RandomPassword {
            length: r.length.clamp(8, 64) as u32,
        },
        Some(CredentialOptionKind::EncryptedPassword(_)) => {
            return non_retryable(Error::unimplemented(
                "the encrypted_password credential option is not supported by this connector",
            ));
        }
    };
    // Where generated credentials go, checked before anything is created.
    let mut recipients = Vec::new();
    for c in &t.encryption_configs {
        match &c.config {
            Some(EncryptionKind::AgeRecipientConfig(a)) => {
                match age::x25519::Recipient::from_str(a.recipient.trim()) {
                    Ok(r) => recipients.push((a.recipient.trim().to_string(), r)),
                    Err(e) => {
                        return non_retryable(Error::invalid_argument(format!(
                            "encryption config {:?}: not an age X25519 recipient ({e})",
                            c.key_id
                        )));
                    }
                }
            }
            Some(EncryptionKind::JwkPublicKeyConfig(_)) => {
                tracing::warn!(key_id = %c.key_id, "JWK encryption configs are not supported yet; skipping it");
            }
            None => {}
        }
    }
    if matches!(option, CredentialOption::RandomPassword { .. }) && recipients.is_empty() {
        return non_retryable(Error::failed_precondition(
            "a random password needs an age recipient among the task's encryption configs (JWK encryption is not supported yet); no account was created",
        ));
    }
    let outcome = match manager.create_account(&account, option).await {
        Ok(o) => o,
        Err(e) => return connector_failure(&e),
    };
    let mut encrypted = Vec::new();
    let result = match outcome {
        AccountOutcome::Created {
            resource,
            credentials,
        } => {
            if !credentials.is_empty() && recipients.is_empty() {
                return non_retryable(Error::internal(format!(
                    "account {} was created with generated credentials but the task has no age recipient to encrypt them to; they were discarded",
                    resource.id
                )));
            }
            for c in &credentials {
                for (text, r) in &recipients {
                    let bytes = match age::encrypt(r, c.secret.expose_secret().as_bytes()) {
                        Ok(b) => b,
                        Err(e) => {
                            return non_retryable(Error::internal(format!(
                                "could not encrypt the generated {}: {e}",
                                c.name
                            )));
                        }
                    };
                    let key_id: String = sha2::Sha256::digest(text.as_bytes())
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    encrypted.push(EncryptedData {
                        provider: AGE_PROVIDER.to_string(),
                        key_id: String::new(),
                        name: c.name.clone(),
                        description: format!("generated for {}", resource.id),
                        schema: String::new(),
                        encrypted_bytes: bytes,
                        key_ids: vec![key_id],
                    });
                }
            }
            CreateAccountResult::Success(AccountResult {
                resource: Some(convert::resource_to_proto(&resource)),
                is_create_account_result: true,
            })
        }
        AccountOutcome::AlreadyExists { resource } => {
            CreateAccountResult::AlreadyExists(AccountResult {
                resource: Some(convert::resource_to_proto(&resource)),
                is_create_account_result: true,
            })
        }
        AccountOutcome::ActionRequired { message, resource } => {
            CreateAccountResult::ActionRequired(AccountActionRequired {
                resource: resource.as_ref().map(convert::resource_to_proto),
                message,
                is_create_account_result: true,
            })
        }
    };
    let resp = CreateAccountResponse {
        encrypted_data: encrypted,
        annotations: Vec::new(),
        result: Some(result),
    };
    Outcome::success(names::CREATE_ACCOUNT_RESPONSE, &resp, Vec::new())
}

async fn delete_resource(ctx: &TaskContext, t: DeleteResourceTask) -> Outcome {
    let Some(rid) = t
        .resource_id
        .filter(|r| !r.resource.is_empty() && !r.resource_type.is_empty())
    else {
        return Outcome::Failure(Failure::new(
            ErrorKind::InvalidArgument,
            "malformed delete resource task\ntask failed and is non-retryable",
            true,
        ));
    };
    let rid = resource_id(&rid);
    let result = async {
        let syncer = ctx.connector.syncer(&rid.resource_type).cloned()?;
        let deleter = syncer.deleter().ok_or_else(|| {
            Error::unimplemented(format!(
                "the connector cannot delete {} resources",
                rid.resource_type
            ))
        })?;
        deleter.delete(&rid).await
    }
    .await;
    match result {
        Ok(DeleteOutcome::Deleted | DeleteOutcome::AlreadyDeleted) => Outcome::success(
            names::DELETE_RESOURCE_RESPONSE,
            &DeleteResourceResponse {
                annotations: Vec::new(),
            },
            Vec::new(),
        ),
        Err(e) => connector_failure(&e),
    }
}

async fn action_invoke(ctx: &TaskContext, t: ActionInvokeTask) -> Outcome {
    let handler = match ctx.connector.action(&t.name).cloned() {
        Ok(h) => h,
        Err(e) => return Outcome::Failure(Failure::new(ErrorKind::NotFound, e.message(), false)),
    };
    let args: Profile = t
        .args
        .as_ref()
        .map(convert::profile_from_struct)
        .unwrap_or_default();
    let id = format!("{:032x}", rand::random::<u128>());
    match invoke_action(handler.as_ref(), &args).await {
        Ok(out) => {
            let response = Some(convert::struct_from_profile(&out));
            ctx.actions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(
                    id.clone(),
                    (t.name.clone(), action_status::COMPLETE, response.clone()),
                );
            let resp = InvokeActionResponse {
                id,
                status: action_status::COMPLETE,
                annotations: Vec::new(),
                response,
                name: t.name,
            };
            Outcome::success(names::INVOKE_ACTION_RESPONSE, &resp, Vec::new())
        }
        Err(e) => {
            ctx.actions
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, (t.name.clone(), action_status::FAILED, None));
            Outcome::Failure(Failure::from_error(&e, false))
        }
    }
}

/// An action's schema as `c1.connector.v2.BatonActionSchema`.
pub(crate) fn action_schema(s: &ActionSchema) -> BatonActionSchema {
    BatonActionSchema {
        name: s.name.clone(),
        arguments: s
            .arguments
            .iter()
            .map(|a| ConfigField {
                name: a.name.clone(),
                display_name: a.display_name.clone(),
                description: a.description.clone(),
                placeholder: String::new(),
                is_required: a.required,
                field: Some(match a.field_type {
                    FieldType::String => ConfigFieldType::StringField(Empty {}),
                    FieldType::Int => ConfigFieldType::IntField(Empty {}),
                    FieldType::Bool => ConfigFieldType::BoolField(Empty {}),
                    FieldType::StringList => ConfigFieldType::StringSliceField(Empty {}),
                    FieldType::Object => ConfigFieldType::StringMapField(Empty {}),
                }),
            })
            .collect(),
        display_name: s.display_name.clone(),
        description: s.description.clone(),
        action_type: s
            .action_types
            .iter()
            .map(|t| match t {
                ActionType::AccountEnable => action_type::ACCOUNT_ENABLE,
                ActionType::AccountDisable => action_type::ACCOUNT_DISABLE,
                ActionType::AccountUpdateProfile => action_type::ACCOUNT_UPDATE_PROFILE,
                ActionType::ResourceDelete => action_type::RESOURCE_DELETE,
                _ => action_type::DYNAMIC,
            })
            .collect(),
        resource_type_id: String::new(),
    }
}

#[cfg(test)]
mod tests;
