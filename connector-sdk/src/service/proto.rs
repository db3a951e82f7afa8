//! The protobuf messages of service mode, written by hand with `prost` derives (no protoc),
//! field numbers as in `shared/specs/c1-service-mode.md` §2.3–2.5:
//!
//! * package `c1.connectorapi.baton.v1`: `BatonService` requests and responses, `Task`;
//! * package `c1.connector.v2`: connector metadata, the provisioning requests and responses a
//!   task carries or a `FinishTask` returns, action schemas;
//! * package `c1.config.v1`: the `Field` of an action schema;
//! * `google.rpc.Status`.
//!
//! Resources, entitlements and grants are the store's messages (the `.c1z` rows' protobuf
//! structs), so a task's grant is decoded with the same structs a `.c1z` row is; the
//! conversions from the SDK's model are re-exported here for scripting tasks. Fields we
//! never send or read are left out (decoders skip unknown fields).

// Without `fake-c1` only what service mode sends and reads is used.
#![cfg_attr(
    not(feature = "fake-c1"),
    allow(dead_code, unused_imports, clippy::enum_variant_names)
)]

use std::collections::BTreeMap;

pub use crate::store::proto::{
    Any, Entitlement, Grant, Resource, ResourceId, ResourceType, Struct, Timestamp,
};
pub use prost_types::Duration;

pub use crate::store::convert::{
    entitlement_to_proto, grant_to_proto, profile_from_struct, resource_to_proto,
    struct_from_profile,
};

/// The gRPC service name.
pub const SERVICE: &str = "c1.connectorapi.baton.v1.BatonService";

/// Wraps `message` in an `Any` with type URL `type.googleapis.com/<full_name>`.
pub fn any<M: prost::Message>(full_name: &str, message: &M) -> Any {
    Any {
        type_url: format!("type.googleapis.com/{full_name}"),
        value: message.encode_to_vec(),
    }
}

/// Decodes an `Any` holding `full_name`; `None` for another type or bad bytes.
pub fn from_any<M: prost::Message + Default>(full_name: &str, any: &Any) -> Option<M> {
    if any.type_url.rsplit('/').next() != Some(full_name) {
        return None;
    }
    M::decode(any.value.as_slice()).ok()
}

// ---------------------------------------------------------------------------------------
// google.rpc

/// `google.rpc.Status`: a gRPC code, a message and details.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// The gRPC code (field 1).
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The message (field 2).
    #[prost(string, tag = "2")]
    pub message: String,
    /// Details (field 3).
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<Any>,
}

// ---------------------------------------------------------------------------------------
// c1.connectorapi.baton.v1: Hello

/// `BatonServiceHelloRequest.BuildInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BuildInfo {
    /// Language version, e.g. `rustc 1.95` (field 1).
    #[prost(string, tag = "1")]
    pub lang_version: String,
    /// The package (field 2).
    #[prost(string, tag = "2")]
    pub package: String,
    /// The package version (field 3).
    #[prost(string, tag = "3")]
    pub package_version: String,
}

/// `BatonServiceHelloRequest.OSInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OsInfo {
    /// Host name (field 1).
    #[prost(string, tag = "1")]
    pub hostname: String,
    /// OS, e.g. `linux` (field 2).
    #[prost(string, tag = "2")]
    pub os: String,
    /// Platform (field 3).
    #[prost(string, tag = "3")]
    pub platform: String,
    /// Platform version (field 4).
    #[prost(string, tag = "4")]
    pub platform_version: String,
    /// Platform family (field 5).
    #[prost(string, tag = "5")]
    pub platform_family: String,
    /// Kernel version (field 6).
    #[prost(string, tag = "6")]
    pub kernel_version: String,
    /// Kernel architecture (field 7).
    #[prost(string, tag = "7")]
    pub kernel_arch: String,
    /// Virtualization system (field 8).
    #[prost(string, tag = "8")]
    pub virtualization_system: String,
}

/// `BatonServiceHelloRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloRequest {
    /// Host id (field 1).
    #[prost(string, tag = "1")]
    pub host_id: String,
    /// Empty at startup; the task id when answering a hello task (field 2).
    #[prost(string, tag = "2")]
    pub task_id: String,
    /// Build info (field 3).
    #[prost(message, optional, tag = "3")]
    pub build_info: Option<BuildInfo>,
    /// OS info (field 4).
    #[prost(message, optional, tag = "4")]
    pub os_info: Option<OsInfo>,
    /// The connector's metadata (field 5).
    #[prost(message, optional, tag = "5")]
    pub connector_metadata: Option<ConnectorMetadata>,
    /// Annotations (field 6).
    #[prost(message, repeated, tag = "6")]
    pub annotations: Vec<Any>,
}

/// `BatonServiceHelloResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HelloResponse {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
}

// ---------------------------------------------------------------------------------------
// GetTask / GetTasks / Heartbeat / FinishTask / UploadAsset

/// `BatonServiceGetTaskRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetTaskRequest {
    /// Host id (field 1).
    #[prost(string, tag = "1")]
    pub host_id: String,
}

/// `BatonServiceGetTaskResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetTaskResponse {
    /// The task, if any (field 1).
    #[prost(message, optional, tag = "1")]
    pub task: Option<Task>,
    /// When to poll next (field 2).
    #[prost(message, optional, tag = "2")]
    pub next_poll: Option<Duration>,
    /// Heartbeat interval (field 3; ignored, as upstream does).
    #[prost(message, optional, tag = "3")]
    pub next_heartbeat: Option<Duration>,
    /// Annotations (field 4).
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
}

/// `BatonServiceGetTasksRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetTasksRequest {
    /// Host id (field 1).
    #[prost(string, tag = "1")]
    pub host_id: String,
    /// At most this many tasks, 1..100 (field 2).
    #[prost(uint32, tag = "2")]
    pub page_size: u32,
    /// Tasks this host already holds (field 3).
    #[prost(string, repeated, tag = "3")]
    pub known_task_ids: Vec<String>,
    /// Annotations (field 4).
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
}

/// `BatonServiceGetTasksResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetTasksResponse {
    /// The tasks (field 1).
    #[prost(message, repeated, tag = "1")]
    pub tasks: Vec<Task>,
    /// When to poll next (field 2).
    #[prost(message, optional, tag = "2")]
    pub next_poll: Option<Duration>,
    /// Heartbeat interval (field 3; ignored).
    #[prost(message, optional, tag = "3")]
    pub next_heartbeat: Option<Duration>,
    /// Annotations (field 4).
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
}

/// `BatonServiceHeartbeatRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeartbeatRequest {
    /// Host id (field 1).
    #[prost(string, tag = "1")]
    pub host_id: String,
    /// The task (field 2).
    #[prost(string, tag = "2")]
    pub task_id: String,
    /// Annotations (field 3).
    #[prost(message, repeated, tag = "3")]
    pub annotations: Vec<Any>,
}

/// `BatonServiceHeartbeatResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct HeartbeatResponse {
    /// The next heartbeat's interval (field 1).
    #[prost(message, optional, tag = "1")]
    pub next_heartbeat: Option<Duration>,
    /// Whether the server cancelled the task (field 2).
    #[prost(bool, tag = "2")]
    pub cancelled: bool,
    /// Annotations (field 3).
    #[prost(message, repeated, tag = "3")]
    pub annotations: Vec<Any>,
}

/// `BatonServiceFinishTaskRequest.Error`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FinishError {
    /// Whether C1 must not retry the task (field 1).
    #[prost(bool, tag = "1")]
    pub non_retryable: bool,
    /// Annotations (field 2).
    #[prost(message, repeated, tag = "2")]
    pub annotations: Vec<Any>,
    /// A response (field 3; upstream never sets it on errors, nor do we).
    #[prost(message, optional, tag = "3")]
    pub response: Option<Any>,
}

/// `BatonServiceFinishTaskRequest.Success`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FinishSuccess {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
    /// The task's response (field 2).
    #[prost(message, optional, tag = "2")]
    pub response: Option<Any>,
}

/// `BatonServiceFinishTaskRequest.final_state`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum FinalState {
    /// The task failed (field 100).
    #[prost(message, tag = "100")]
    Error(FinishError),
    /// The task succeeded (field 101).
    #[prost(message, tag = "101")]
    Success(FinishSuccess),
}

/// `BatonServiceFinishTaskRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FinishTaskRequest {
    /// Host id (field 1).
    #[prost(string, tag = "1")]
    pub host_id: String,
    /// The task (field 2).
    #[prost(string, tag = "2")]
    pub task_id: String,
    /// The error status, on failure (field 3).
    #[prost(message, optional, tag = "3")]
    pub status: Option<RpcStatus>,
    /// Success or error.
    #[prost(oneof = "FinalState", tags = "100, 101")]
    pub final_state: Option<FinalState>,
}

/// `BatonServiceFinishTaskResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FinishTaskResponse {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
}

/// `UploadAssetRequest.UploadMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UploadMetadata {
    /// Host id (field 1).
    #[prost(string, tag = "1")]
    pub host_id: String,
    /// The task (field 2).
    #[prost(string, tag = "2")]
    pub task_id: String,
    /// Annotations (field 4).
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
}

/// `UploadAssetRequest.UploadData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UploadData {
    /// 1 byte to 1 MiB of the file (field 1).
    #[prost(bytes = "vec", tag = "1")]
    pub data: Vec<u8>,
}

/// `UploadAssetRequest.UploadEOF`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UploadEof {
    /// SHA-256 of the whole file (field 1).
    #[prost(bytes = "vec", tag = "1")]
    pub sha256_checksum: Vec<u8>,
    /// Annotations (field 2).
    #[prost(message, repeated, tag = "2")]
    pub annotations: Vec<Any>,
}

/// `BatonServiceUploadAssetRequest.msg`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum UploadMsg {
    /// First message (field 100).
    #[prost(message, tag = "100")]
    Metadata(UploadMetadata),
    /// A chunk (field 101).
    #[prost(message, tag = "101")]
    Data(UploadData),
    /// Last message (field 102).
    #[prost(message, tag = "102")]
    Eof(UploadEof),
}

/// `BatonServiceUploadAssetRequest`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UploadAssetRequest {
    /// The message.
    #[prost(oneof = "UploadMsg", tags = "100, 101, 102")]
    pub msg: Option<UploadMsg>,
}

/// `BatonServiceUploadAssetResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UploadAssetResponse {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
}

// ---------------------------------------------------------------------------------------
// Task

/// `Task`: an id and one task type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Task {
    /// The id: 27 alphanumeric characters (field 1).
    #[prost(string, tag = "1")]
    pub id: String,
    /// Status (field 2; not read).
    #[prost(int32, tag = "2")]
    pub status: i32,
    /// Whether to keep a debug log (field 3).
    #[prost(bool, tag = "3")]
    pub debug: bool,
    /// What to do.
    #[prost(
        oneof = "TaskType",
        tags = "100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123"
    )]
    pub task_type: Option<TaskType>,
}

/// A task payload with only annotations (the types we do not serve, and `none`/`hello`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct AnnotationsOnly {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
}

/// `Task.SyncFullTask`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SyncFullTask {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
    /// Leave grant expansion to C1 (field 2).
    #[prost(bool, tag = "2")]
    pub skip_expand_grants: bool,
    /// Only resources (field 3).
    #[prost(bool, tag = "3")]
    pub skip_entitlements_and_grants: bool,
    /// Only these resources (field 4).
    #[prost(message, repeated, tag = "4")]
    pub targeted_sync_resources: Vec<Resource>,
    /// Only these resource types (field 5).
    #[prost(string, repeated, tag = "5")]
    pub sync_resource_type_ids: Vec<String>,
    /// No grants (field 6).
    #[prost(bool, tag = "6")]
    pub skip_grants: bool,
    /// "" / "pebble" / "sqlite" (field 7; logged, we upload v1).
    #[prost(string, tag = "7")]
    pub storage_engine: String,
}

/// `Task.GrantTask`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantTask {
    /// The entitlement (field 1).
    #[prost(message, optional, tag = "1")]
    pub entitlement: Option<Entitlement>,
    /// The principal (field 2).
    #[prost(message, optional, tag = "2")]
    pub principal: Option<Resource>,
    /// Annotations (field 3; dropped as upstream does).
    #[prost(message, repeated, tag = "3")]
    pub annotations: Vec<Any>,
    /// Duration (field 4; dropped as upstream does).
    #[prost(message, optional, tag = "4")]
    pub duration: Option<Duration>,
}

/// `Task.RevokeTask`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RevokeTask {
    /// The grant (field 1).
    #[prost(message, optional, tag = "1")]
    pub grant: Option<Grant>,
    /// Annotations (field 2).
    #[prost(message, repeated, tag = "2")]
    pub annotations: Vec<Any>,
}

/// `Task.CreateAccountTask` (same numbering as `CreateAccountRequest`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateAccountTask {
    /// Who (field 1).
    #[prost(message, optional, tag = "1")]
    pub account_info: Option<AccountInfo>,
    /// Credential options (field 2).
    #[prost(message, optional, tag = "2")]
    pub credential_options: Option<CredentialOptions>,
    /// Encrypt generated credentials to these (field 3).
    #[prost(message, repeated, tag = "3")]
    pub encryption_configs: Vec<EncryptionConfig>,
    /// The account's resource type (field 4).
    #[prost(string, tag = "4")]
    pub resource_type_id: String,
}

/// `Task.DeleteResourceTask`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteResourceTask {
    /// The resource (field 1).
    #[prost(message, optional, tag = "1")]
    pub resource_id: Option<ResourceId>,
    /// Its parent (field 2).
    #[prost(message, optional, tag = "2")]
    pub parent_resource_id: Option<ResourceId>,
}

/// `Task.ActionListSchemasTask`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActionListSchemasTask {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
    /// Only actions of this resource type (field 2).
    #[prost(string, tag = "2")]
    pub resource_type_id: String,
}

/// `Task.ActionGetSchemaTask`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActionGetSchemaTask {
    /// The action (field 1).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Annotations (field 2).
    #[prost(message, repeated, tag = "2")]
    pub annotations: Vec<Any>,
}

/// `Task.ActionInvokeTask`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActionInvokeTask {
    /// The action (field 1).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Its arguments (field 2).
    #[prost(message, optional, tag = "2")]
    pub args: Option<Struct>,
    /// Annotations (field 3).
    #[prost(message, repeated, tag = "3")]
    pub annotations: Vec<Any>,
    /// Resource type of a resource-scoped action (field 4).
    #[prost(string, tag = "4")]
    pub resource_type_id: String,
}

/// `Task.ActionStatusTask`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ActionStatusTask {
    /// The action name (field 1; deprecated).
    #[prost(string, tag = "1")]
    pub name: String,
    /// The invocation id (field 2).
    #[prost(string, tag = "2")]
    pub id: String,
    /// Annotations (field 3).
    #[prost(message, repeated, tag = "3")]
    pub annotations: Vec<Any>,
}

/// `Task.task_type`. Types this SDK does not serve decode as [`Empty`] (their fields are
/// skipped), so a task of any type decodes and is finished with "unsupported task type".
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum TaskType {
    /// No task (100).
    #[prost(message, tag = "100")]
    None(AnnotationsOnly),
    /// Say hello (101).
    #[prost(message, tag = "101")]
    Hello(AnnotationsOnly),
    /// Full sync and upload (102).
    #[prost(message, tag = "102")]
    SyncFull(SyncFullTask),
    /// Grant (103).
    #[prost(message, tag = "103")]
    Grant(GrantTask),
    /// Revoke (104).
    #[prost(message, tag = "104")]
    Revoke(RevokeTask),
    /// Create an account (105).
    #[prost(message, tag = "105")]
    CreateAccount(CreateAccountTask),
    /// Create a resource (106; unsupported here).
    #[prost(message, tag = "106")]
    CreateResource(Empty),
    /// Delete a resource (107).
    #[prost(message, tag = "107")]
    DeleteResource(DeleteResourceTask),
    /// Rotate credentials (108; unsupported here).
    #[prost(message, tag = "108")]
    RotateCredentials(Empty),
    /// Event feed (109; unsupported).
    #[prost(message, tag = "109")]
    EventFeed(Empty),
    /// Create a ticket (110; unsupported).
    #[prost(message, tag = "110")]
    CreateTicketTask(Empty),
    /// List ticket schemas (111; unsupported).
    #[prost(message, tag = "111")]
    ListTicketSchemas(Empty),
    /// Get a ticket (112; unsupported).
    #[prost(message, tag = "112")]
    GetTicket(Empty),
    /// Bulk create tickets (113; unsupported).
    #[prost(message, tag = "113")]
    BulkCreateTickets(Empty),
    /// Bulk get tickets (114; unsupported).
    #[prost(message, tag = "114")]
    BulkGetTickets(Empty),
    /// List action schemas (115).
    #[prost(message, tag = "115")]
    ActionListSchemas(ActionListSchemasTask),
    /// Get an action schema (116).
    #[prost(message, tag = "116")]
    ActionGetSchema(ActionGetSchemaTask),
    /// Invoke an action (117).
    #[prost(message, tag = "117")]
    ActionInvoke(ActionInvokeTask),
    /// An action's status (118).
    #[prost(message, tag = "118")]
    ActionStatus(ActionStatusTask),
    /// Sync diff (119; unsupported).
    #[prost(message, tag = "119")]
    CreateSyncDiff(Empty),
    /// Compact syncs (120; unsupported).
    #[prost(message, tag = "120")]
    CompactSyncs(Empty),
    /// List event feeds (121; unsupported).
    #[prost(message, tag = "121")]
    ListEventFeeds(Empty),
    /// List events (122; unsupported).
    #[prost(message, tag = "122")]
    ListEvents(Empty),
    /// Issue a credential (123; unsupported).
    #[prost(message, tag = "123")]
    IssueCredential(Empty),
}

impl TaskType {
    /// The oneof arm's name, as in the proto (`sync_full`, `grant`…), for logs.
    pub fn name(&self) -> &'static str {
        match self {
            TaskType::None(_) => "none",
            TaskType::Hello(_) => "hello",
            TaskType::SyncFull(_) => "sync_full",
            TaskType::Grant(_) => "grant",
            TaskType::Revoke(_) => "revoke",
            TaskType::CreateAccount(_) => "create_account",
            TaskType::CreateResource(_) => "create_resource",
            TaskType::DeleteResource(_) => "delete_resource",
            TaskType::RotateCredentials(_) => "rotate_credentials",
            TaskType::EventFeed(_) => "event_feed",
            TaskType::CreateTicketTask(_) => "create_ticket_task",
            TaskType::ListTicketSchemas(_) => "list_ticket_schemas",
            TaskType::GetTicket(_) => "get_ticket",
            TaskType::BulkCreateTickets(_) => "bulk_create_tickets",
            TaskType::BulkGetTickets(_) => "bulk_get_tickets",
            TaskType::ActionListSchemas(_) => "action_list_schemas",
            TaskType::ActionGetSchema(_) => "action_get_schema",
            TaskType::ActionInvoke(_) => "action_invoke",
            TaskType::ActionStatus(_) => "action_status",
            TaskType::CreateSyncDiff(_) => "create_sync_diff",
            TaskType::CompactSyncs(_) => "compact_syncs",
            TaskType::ListEventFeeds(_) => "list_event_feeds",
            TaskType::ListEvents(_) => "list_events",
            TaskType::IssueCredential(_) => "issue_credential",
        }
    }
}

// ---------------------------------------------------------------------------------------
// c1.connector.v2: metadata

/// `Capability` enum values.
pub mod capability {
    /// Grant and revoke.
    pub const PROVISION: i32 = 1;
    /// Sync.
    pub const SYNC: i32 = 2;
    /// Account creation.
    pub const ACCOUNT_PROVISIONING: i32 = 5;
    /// Resource deletion.
    pub const RESOURCE_DELETE: i32 = 8;
    /// Actions.
    pub const ACTIONS: i32 = 10;
}

/// `CapabilityDetailCredentialOption` values.
pub mod credential_option {
    /// No password.
    pub const NO_PASSWORD: i32 = 1;
    /// A random password.
    pub const RANDOM_PASSWORD: i32 = 2;
    /// Single sign-on.
    pub const SSO: i32 = 3;
}

/// `c1.connector.v2.ConnectorMetadata`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectorMetadata {
    /// Display name (field 1).
    #[prost(string, tag = "1")]
    pub display_name: String,
    /// Help URL (field 2).
    #[prost(string, tag = "2")]
    pub help_url: String,
    /// Profile (field 5).
    #[prost(message, optional, tag = "5")]
    pub profile: Option<Struct>,
    /// Annotations (field 6).
    #[prost(message, repeated, tag = "6")]
    pub annotations: Vec<Any>,
    /// Description (field 7).
    #[prost(string, tag = "7")]
    pub description: String,
    /// Capabilities (field 8).
    #[prost(message, optional, tag = "8")]
    pub capabilities: Option<ConnectorCapabilities>,
    /// The account-creation schema (field 9).
    #[prost(message, optional, tag = "9")]
    pub account_creation_schema: Option<AccountCreationSchema>,
}

/// `ConnectorCapabilities`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConnectorCapabilities {
    /// Per resource type (field 1).
    #[prost(message, repeated, tag = "1")]
    pub resource_type_capabilities: Vec<ResourceTypeCapability>,
    /// Connector-wide (field 2).
    #[prost(int32, repeated, tag = "2")]
    pub connector_capabilities: Vec<i32>,
    /// Credential options (field 3).
    #[prost(message, optional, tag = "3")]
    pub credential_details: Option<CredentialDetails>,
}

/// `ResourceTypeCapability`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceTypeCapability {
    /// The resource type (field 1).
    #[prost(message, optional, tag = "1")]
    pub resource_type: Option<ResourceType>,
    /// Its capabilities (field 2).
    #[prost(int32, repeated, tag = "2")]
    pub capabilities: Vec<i32>,
}

/// `CredentialDetails`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CredentialDetails {
    /// For account provisioning (field 1).
    #[prost(message, optional, tag = "1")]
    pub capability_account_provisioning: Option<CredentialDetailsAccountProvisioning>,
}

/// `CredentialDetailsAccountProvisioning`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CredentialDetailsAccountProvisioning {
    /// Supported options (field 1).
    #[prost(int32, repeated, tag = "1")]
    pub supported_credential_options: Vec<i32>,
    /// Preferred option (field 2).
    #[prost(int32, tag = "2")]
    pub preferred_credential_option: i32,
}

/// `ConnectorAccountCreationSchema`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AccountCreationSchema {
    /// Fields by name (field 1).
    #[prost(btree_map = "string, message", tag = "1")]
    pub field_map: BTreeMap<String, AccountCreationField>,
}

/// `ConnectorAccountCreationSchema.Field`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AccountCreationField {
    /// Display name (field 1).
    #[prost(string, tag = "1")]
    pub display_name: String,
    /// Required (field 2).
    #[prost(bool, tag = "2")]
    pub required: bool,
    /// Description (field 3).
    #[prost(string, tag = "3")]
    pub description: String,
    /// Placeholder (field 4).
    #[prost(string, tag = "4")]
    pub placeholder: String,
    /// Order (field 5).
    #[prost(int32, tag = "5")]
    pub order: i32,
    /// The type.
    #[prost(oneof = "AccountCreationFieldType", tags = "100, 101, 102, 103, 104")]
    pub field: Option<AccountCreationFieldType>,
}

/// `ConnectorAccountCreationSchema.Field.field`: the type (defaults left unset).
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum AccountCreationFieldType {
    /// A string (100).
    #[prost(message, tag = "100")]
    StringField(Empty),
    /// A boolean (101).
    #[prost(message, tag = "101")]
    BoolField(Empty),
    /// A list of strings (102).
    #[prost(message, tag = "102")]
    StringListField(Empty),
    /// An integer (103).
    #[prost(message, tag = "103")]
    IntField(Empty),
    /// An object (104).
    #[prost(message, tag = "104")]
    MapField(Empty),
}

/// A message with no fields.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Empty {}

// ---------------------------------------------------------------------------------------
// c1.connector.v2: provisioning

/// `AccountInfo`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AccountInfo {
    /// Emails (field 1).
    #[prost(message, repeated, tag = "1")]
    pub emails: Vec<AccountEmail>,
    /// Login (field 2).
    #[prost(string, tag = "2")]
    pub login: String,
    /// Login aliases (field 3).
    #[prost(string, repeated, tag = "3")]
    pub login_aliases: Vec<String>,
    /// Profile (field 4).
    #[prost(message, optional, tag = "4")]
    pub profile: Option<Struct>,
}

/// `AccountInfo.Email`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AccountEmail {
    /// Address (field 1).
    #[prost(string, tag = "1")]
    pub address: String,
    /// Primary (field 2).
    #[prost(bool, tag = "2")]
    pub is_primary: bool,
}

/// `CredentialOptions`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CredentialOptions {
    /// Force a change at next login (field 1).
    #[prost(bool, tag = "1")]
    pub force_change_at_next_login: bool,
    /// The option.
    #[prost(oneof = "CredentialOptionKind", tags = "100, 101, 102, 103")]
    pub options: Option<CredentialOptionKind>,
}

/// `CredentialOptions.options`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum CredentialOptionKind {
    /// A random password (100).
    #[prost(message, tag = "100")]
    RandomPassword(RandomPassword),
    /// No password (101).
    #[prost(message, tag = "101")]
    NoPassword(Empty),
    /// SSO (102).
    #[prost(message, tag = "102")]
    Sso(Sso),
    /// A password encrypted by C1 (103; unsupported here).
    #[prost(message, tag = "103")]
    EncryptedPassword(Empty),
}

/// `CredentialOptions.RandomPassword`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RandomPassword {
    /// Length, 8..64 (field 1).
    #[prost(int64, tag = "1")]
    pub length: i64,
    /// What the password must contain (field 2).
    #[prost(message, repeated, tag = "2")]
    pub constraints: Vec<PasswordConstraint>,
}

/// `PasswordConstraint`: at least `min_count` characters from `char_set`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PasswordConstraint {
    /// The allowed characters (field 1).
    #[prost(string, tag = "1")]
    pub char_set: String,
    /// How many of them at least (field 2).
    #[prost(uint32, tag = "2")]
    pub min_count: u32,
}

/// `google.rpc.ErrorInfo`, in `FinishTask.error`'s status details.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ErrorInfo {
    /// Why (field 1), e.g. `grant_cancelled`.
    #[prost(string, tag = "1")]
    pub reason: String,
    /// Who says so (field 2).
    #[prost(string, tag = "2")]
    pub domain: String,
    /// Details (field 3).
    #[prost(map = "string, string", tag = "3")]
    pub metadata: std::collections::HashMap<String, String>,
}

/// `CredentialOptions.SSO`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sso {
    /// The provider (field 1).
    #[prost(string, tag = "1")]
    pub sso_provider: String,
}

/// `EncryptionConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EncryptionConfig {
    /// Who may decrypt (field 1).
    #[prost(message, optional, tag = "1")]
    pub principal: Option<Resource>,
    /// Provider (field 2).
    #[prost(string, tag = "2")]
    pub provider: String,
    /// Key id (field 3).
    #[prost(string, tag = "3")]
    pub key_id: String,
    /// The key.
    #[prost(oneof = "EncryptionKind", tags = "100, 101")]
    pub config: Option<EncryptionKind>,
}

/// `EncryptionConfig.config`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum EncryptionKind {
    /// A JWK public key (100; unsupported here).
    #[prost(message, tag = "100")]
    JwkPublicKeyConfig(JwkPublicKeyConfig),
    /// An age recipient (101).
    #[prost(message, tag = "101")]
    AgeRecipientConfig(AgeRecipientConfig),
}

/// `EncryptionConfig.JWKPublicKeyConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct JwkPublicKeyConfig {
    /// The key (field 1).
    #[prost(bytes = "vec", tag = "1")]
    pub pub_key: Vec<u8>,
}

/// `EncryptionConfig.AgeRecipientConfig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AgeRecipientConfig {
    /// An age recipient, `age1…` (field 1).
    #[prost(string, tag = "1")]
    pub recipient: String,
}

/// `EncryptedData`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EncryptedData {
    /// Provider, `baton/age/v1` for age (field 1).
    #[prost(string, tag = "1")]
    pub provider: String,
    /// Deprecated key id (field 2; left empty for age).
    #[prost(string, tag = "2")]
    pub key_id: String,
    /// Name, e.g. `password` (field 3).
    #[prost(string, tag = "3")]
    pub name: String,
    /// Description (field 4).
    #[prost(string, tag = "4")]
    pub description: String,
    /// Schema of the plaintext (field 5).
    #[prost(string, tag = "5")]
    pub schema: String,
    /// The ciphertext: a binary age file for age (field 6).
    #[prost(bytes = "vec", tag = "6")]
    pub encrypted_bytes: Vec<u8>,
    /// Key ids: for age, the hex SHA-256 of the recipient string (field 7).
    #[prost(string, repeated, tag = "7")]
    pub key_ids: Vec<String>,
}

/// `GrantManagerServiceGrantResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantResponse {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
    /// The grants made (field 2).
    #[prost(message, repeated, tag = "2")]
    pub grants: Vec<Grant>,
}

/// `GrantManagerServiceRevokeResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RevokeResponse {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
}

/// `DeleteResourceResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeleteResourceResponse {
    /// Annotations (field 1).
    #[prost(message, repeated, tag = "1")]
    pub annotations: Vec<Any>,
}

/// `CreateAccountResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateAccountResponse {
    /// Encrypted generated credentials (field 2).
    #[prost(message, repeated, tag = "2")]
    pub encrypted_data: Vec<EncryptedData>,
    /// Annotations (field 3).
    #[prost(message, repeated, tag = "3")]
    pub annotations: Vec<Any>,
    /// The result.
    #[prost(oneof = "CreateAccountResult", tags = "100, 101, 102, 103")]
    pub result: Option<CreateAccountResult>,
}

/// `CreateAccountResponse.result`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum CreateAccountResult {
    /// Created (100).
    #[prost(message, tag = "100")]
    Success(AccountResult),
    /// Someone must act (101).
    #[prost(message, tag = "101")]
    ActionRequired(AccountActionRequired),
    /// Existed already (102).
    #[prost(message, tag = "102")]
    AlreadyExists(AccountResult),
    /// In progress (103).
    #[prost(message, tag = "103")]
    InProgress(AccountResult),
}

/// `SuccessResult` / `AlreadyExistsResult` / `InProgressResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AccountResult {
    /// The account (field 1).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// Always true (field 2).
    #[prost(bool, tag = "2")]
    pub is_create_account_result: bool,
}

/// `ActionRequiredResult`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AccountActionRequired {
    /// The account, if known (field 1).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// What has to happen (field 2).
    #[prost(string, tag = "2")]
    pub message: String,
    /// Always true (field 3).
    #[prost(bool, tag = "3")]
    pub is_create_account_result: bool,
}

// ---------------------------------------------------------------------------------------
// c1.connector.v2: actions

/// `BatonActionStatus` values.
pub mod action_status {
    /// Still running: poll `action_status`.
    pub const RUNNING: i32 = 3;
    /// Finished.
    pub const COMPLETE: i32 = 4;
    /// Failed.
    pub const FAILED: i32 = 5;
}

/// `ActionType` values.
pub mod action_type {
    /// Anything else (`ACTION_TYPE_DYNAMIC`).
    pub const DYNAMIC: i32 = 1;
    /// Updates an account's profile.
    pub const ACCOUNT_UPDATE_PROFILE: i32 = 3;
    /// Disables an account.
    pub const ACCOUNT_DISABLE: i32 = 4;
    /// Enables an account.
    pub const ACCOUNT_ENABLE: i32 = 5;
    /// Deletes a resource.
    pub const RESOURCE_DELETE: i32 = 7;
}

/// `BatonActionSchema`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BatonActionSchema {
    /// Name (field 1).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Arguments (field 2).
    #[prost(message, repeated, tag = "2")]
    pub arguments: Vec<ConfigField>,
    /// Display name (field 5).
    #[prost(string, tag = "5")]
    pub display_name: String,
    /// Description (field 6).
    #[prost(string, tag = "6")]
    pub description: String,
    /// Action types (field 7).
    #[prost(int32, repeated, tag = "7")]
    pub action_type: Vec<i32>,
    /// Resource type of a resource-scoped action (field 8).
    #[prost(string, tag = "8")]
    pub resource_type_id: String,
}

/// `c1.config.v1.Field`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigField {
    /// Name (field 1).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Display name (field 2).
    #[prost(string, tag = "2")]
    pub display_name: String,
    /// Description (field 3).
    #[prost(string, tag = "3")]
    pub description: String,
    /// Placeholder (field 4).
    #[prost(string, tag = "4")]
    pub placeholder: String,
    /// Required (field 5).
    #[prost(bool, tag = "5")]
    pub is_required: bool,
    /// The type (defaults left unset).
    #[prost(oneof = "ConfigFieldType", tags = "100, 101, 102, 103, 104")]
    pub field: Option<ConfigFieldType>,
}

/// `c1.config.v1.Field.field`.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum ConfigFieldType {
    /// String (100).
    #[prost(message, tag = "100")]
    StringField(Empty),
    /// Integer (101).
    #[prost(message, tag = "101")]
    IntField(Empty),
    /// Boolean (102).
    #[prost(message, tag = "102")]
    BoolField(Empty),
    /// List of strings (103).
    #[prost(message, tag = "103")]
    StringSliceField(Empty),
    /// Map (104).
    #[prost(message, tag = "104")]
    StringMapField(Empty),
}

/// `ListActionSchemasResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ListActionSchemasResponse {
    /// Schemas (field 1).
    #[prost(message, repeated, tag = "1")]
    pub schemas: Vec<BatonActionSchema>,
    /// Annotations (field 2).
    #[prost(message, repeated, tag = "2")]
    pub annotations: Vec<Any>,
}

/// `GetActionSchemaResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetActionSchemaResponse {
    /// The schema (field 1).
    #[prost(message, optional, tag = "1")]
    pub schema: Option<BatonActionSchema>,
    /// Annotations (field 2).
    #[prost(message, repeated, tag = "2")]
    pub annotations: Vec<Any>,
}

/// `InvokeActionResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct InvokeActionResponse {
    /// Invocation id (field 1).
    #[prost(string, tag = "1")]
    pub id: String,
    /// Status (field 2).
    #[prost(int32, tag = "2")]
    pub status: i32,
    /// Annotations (field 3).
    #[prost(message, repeated, tag = "3")]
    pub annotations: Vec<Any>,
    /// The result (field 4).
    #[prost(message, optional, tag = "4")]
    pub response: Option<Struct>,
    /// Action name (field 5).
    #[prost(string, tag = "5")]
    pub name: String,
}

/// `GetActionStatusResponse`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GetActionStatusResponse {
    /// Action name (field 1).
    #[prost(string, tag = "1")]
    pub name: String,
    /// Invocation id (field 2).
    #[prost(string, tag = "2")]
    pub id: String,
    /// Status (field 3).
    #[prost(int32, tag = "3")]
    pub status: i32,
    /// Annotations (field 4).
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
    /// The result (field 5).
    #[prost(message, optional, tag = "5")]
    pub response: Option<Struct>,
}

/// Annotation `c1.connector.v2.GrantAlreadyExists`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct GrantAlreadyExists {}

/// Annotation `c1.connector.v2.GrantAlreadyRevoked`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct GrantAlreadyRevoked {}

/// Full names of the messages sent in `Any`.
pub mod names {
    /// Grant response.
    pub const GRANT_RESPONSE: &str = "c1.connector.v2.GrantManagerServiceGrantResponse";
    /// Revoke response.
    pub const REVOKE_RESPONSE: &str = "c1.connector.v2.GrantManagerServiceRevokeResponse";
    /// Create-account response.
    pub const CREATE_ACCOUNT_RESPONSE: &str = "c1.connector.v2.CreateAccountResponse";
    /// Delete response.
    pub const DELETE_RESOURCE_RESPONSE: &str = "c1.connector.v2.DeleteResourceResponse";
    /// Action schemas.
    pub const LIST_ACTION_SCHEMAS_RESPONSE: &str = "c1.connector.v2.ListActionSchemasResponse";
    /// One action schema.
    pub const GET_ACTION_SCHEMA_RESPONSE: &str = "c1.connector.v2.GetActionSchemaResponse";
    /// Invoke response.
    pub const INVOKE_ACTION_RESPONSE: &str = "c1.connector.v2.InvokeActionResponse";
    /// Action status response.
    pub const GET_ACTION_STATUS_RESPONSE: &str = "c1.connector.v2.GetActionStatusResponse";
    /// Annotation: the grant existed already.
    pub const GRANT_ALREADY_EXISTS: &str = "c1.connector.v2.GrantAlreadyExists";
    /// Annotation: the grant was already revoked.
    pub const GRANT_ALREADY_REVOKED: &str = "c1.connector.v2.GrantAlreadyRevoked";
    /// Event feeds (none here).
    pub const LIST_EVENT_FEEDS_RESPONSE: &str = "c1.connector.v2.ListEventFeedsResponse";
    /// A status detail.
    pub const ERROR_INFO: &str = "google.rpc.ErrorInfo";
}

/// The `prost_types::Duration` of `d`.
pub fn duration(d: std::time::Duration) -> Duration {
    Duration {
        seconds: d.as_secs() as i64,
        nanos: d.subsec_nanos() as i32,
    }
}

/// The `std` duration of a proto duration (negative → zero).
pub fn std_duration(d: &Duration) -> std::time::Duration {
    if d.seconds < 0 || (d.seconds == 0 && d.nanos <= 0) {
        return std::time::Duration::ZERO;
    }
    std::time::Duration::new(d.seconds as u64, d.nanos.max(0) as u32)
}
