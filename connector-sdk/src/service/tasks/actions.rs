//! Action tasks: invoking an action, and the schema of actions on the wire.

use crate::action::{ActionSchema, ActionType, invoke_action};
use crate::error::ErrorKind;
use crate::model::Profile;
use crate::schema::FieldType;
use crate::store::convert;

use super::*;

pub(super) async fn action_invoke(ctx: &TaskContext, t: ActionInvokeTask) -> Outcome {
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
