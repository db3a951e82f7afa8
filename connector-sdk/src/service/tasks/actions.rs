//! Action tasks: invoking an action, and the schema of actions on the wire.

use crate::action::{ActionSchema, ActionType};
use crate::error::ErrorKind;
use crate::handle::{ActionRun, ActionState};
use crate::model::Profile;
use crate::schema::FieldType;
use crate::store::convert;

use super::*;

pub(super) fn action_list_schemas(ctx: &TaskContext, t: ActionListSchemasTask) -> Success {
    let schemas = if t.resource_type_id.is_empty() {
        ctx.connector
            .action_schemas()
            .iter()
            .map(action_schema)
            .collect()
    } else {
        // This SDK's actions are connector-wide, none is scoped to a type.
        Vec::new()
    };
    let resp = ListActionSchemasResponse {
        schemas,
        annotations: Vec::new(),
    };
    Success::of(names::LIST_ACTION_SCHEMAS_RESPONSE, &resp)
}

/// An unknown action is NotFound on the wire, as upstream.
fn unknown_action(e: Error) -> Failure {
    Failure::new(ErrorKind::NotFound, e.message(), false)
}

pub(super) fn action_get_schema(ctx: &TaskContext, t: ActionGetSchemaTask) -> TaskResult {
    let h = ctx.connector.action(&t.name).map_err(unknown_action)?;
    let resp = GetActionSchemaResponse {
        schema: Some(action_schema(&h.schema())),
        annotations: Vec::new(),
    };
    Ok(Success::of(names::GET_ACTION_SCHEMA_RESPONSE, &resp))
}

/// How long `action_invoke` waits for the action before answering `RUNNING` (upstream:
/// about a second).
pub(crate) const INVOKE_WAIT: Duration = Duration::from_secs(1);

/// The wire status and response of a run.
fn run_status(run: &ActionRun) -> (i32, Option<Struct>) {
    match &run.state {
        ActionState::Complete(out) => (
            action_status::COMPLETE,
            Some(convert::struct_from_profile(out)),
        ),
        ActionState::Running => (action_status::RUNNING, None),
        _ => (action_status::FAILED, None),
    }
}

pub(super) async fn action_invoke(ctx: &TaskContext, t: ActionInvokeTask) -> TaskResult {
    if t.name.is_empty() {
        return Err(Failure::unknown("action name required"));
    }
    ctx.connector.action(&t.name).map_err(unknown_action)?;
    let args: Profile = t
        .args
        .as_ref()
        .map(convert::profile_from_struct)
        .unwrap_or_default();
    let run = ctx
        .connector
        .invoke(&t.name, args, INVOKE_WAIT, ctx.action_timeout)
        .await
        .map_err(Failure::retryable)?;
    if let Some(Err(e)) = run.result() {
        return Err(Failure::retryable(e));
    }
    let (status, response) = run_status(&run);
    let resp = InvokeActionResponse {
        id: run.id,
        status,
        annotations: Vec::new(),
        response,
        name: run.name,
    };
    Ok(Success::of(names::INVOKE_ACTION_RESPONSE, &resp))
}

pub(super) fn action_status(ctx: &TaskContext, t: ActionStatusTask) -> TaskResult {
    if t.id.is_empty() {
        return Err(Failure::unknown("action id required"));
    }
    let run = ctx.connector.action_status(&t.id).ok_or_else(|| {
        Failure::new(
            ErrorKind::NotFound,
            format!(
                "action {:?} is unknown to this process (results are kept in memory, the last 1000)",
                t.id
            ),
            false,
        )
    })?;
    let (status, response) = run_status(&run);
    let resp = GetActionStatusResponse {
        name: run.name,
        id: run.id,
        status,
        annotations: Vec::new(),
        response,
    };
    Ok(Success::of(names::GET_ACTION_STATUS_RESPONSE, &resp))
}

/// An action's schema as `c1.connector.v2.BatonActionSchema`.
pub(super) fn action_schema(s: &ActionSchema) -> BatonActionSchema {
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
