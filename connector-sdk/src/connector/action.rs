//! Custom actions: [`ActionHandler`] with a declared [`ActionSchema`].
//!
//! An action is a named operation outside grant/revoke, such as enabling or disabling an
//! account. Its schema declares typed arguments; [`invoke_action`] validates the
//! arguments against it before the handler runs, so handlers never see a missing or
//! mistyped required argument.
//!
//! ```
//! use async_trait::async_trait;
//! use connector_sdk::action::{invoke_action, ActionHandler, ActionRequest, ActionSchema, ActionType};
//! use connector_sdk::schema::{FieldSchema, FieldType};
//! use connector_sdk::{model::Profile, profile, Result};
//! use serde_json::json;
//!
//! struct Disable;
//! #[async_trait]
//! impl ActionHandler for Disable {
//!     fn schema(&self) -> ActionSchema {
//!         ActionSchema::new("disable_user", "Disable user")
//!             .with_type(ActionType::AccountDisable)
//!             .with_argument(FieldSchema::new("user_id", FieldType::String).required())
//!     }
//!     async fn invoke(&self, req: ActionRequest) -> Result<Profile> {
//!         Ok(profile! { "disabled": req.args["user_id"] })
//!     }
//! }
//!
//! # futures::executor::block_on(async {
//! let args = json!({"user_id": "u-1"});
//! let out = invoke_action(&Disable, args.as_object().unwrap()).await.unwrap();
//! assert_eq!(out["disabled"], "u-1");
//! let err = invoke_action(&Disable, json!({}).as_object().unwrap()).await.unwrap_err();
//! assert!(err.to_string().contains("user_id"));
//! # });
//! ```

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::Profile;
use crate::schema::{FieldSchema, validate_fields};

/// What kind of action it is, so a platform can offer it in the right place
/// (upstream `ActionType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActionType {
    /// Anything else.
    Generic,
    /// Enables an account.
    AccountEnable,
    /// Disables an account.
    AccountDisable,
    /// Updates an account's profile.
    AccountUpdateProfile,
    /// Deletes a resource.
    ResourceDelete,
}

/// The declaration of an action: name, help, typed arguments, action types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionSchema {
    /// The name used to invoke it, e.g. `disable_user`.
    pub name: String,
    /// Name shown to people.
    pub display_name: String,
    /// Help text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The arguments it takes.
    pub arguments: Vec<FieldSchema>,
    /// What kind of action it is.
    pub action_types: Vec<ActionType>,
}

impl ActionSchema {
    /// A schema with no arguments and type [`ActionType::Generic`] until others are added.
    pub fn new(name: impl Into<String>, display_name: impl Into<String>) -> Self {
        ActionSchema {
            name: name.into(),
            display_name: display_name.into(),
            description: String::new(),
            arguments: Vec::new(),
            action_types: Vec::new(),
        }
    }

    /// Sets the help text.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Adds an argument.
    pub fn with_argument(mut self, argument: FieldSchema) -> Self {
        self.arguments.push(argument);
        self
    }

    /// Adds an action type.
    pub fn with_type(mut self, action_type: ActionType) -> Self {
        if !self.action_types.contains(&action_type) {
            self.action_types.push(action_type);
        }
        self
    }

    /// Checks `args` against the declared arguments.
    pub fn validate_args(&self, args: &Profile) -> Result<()> {
        validate_fields(&format!("action {:?}", self.name), &self.arguments, args)
    }
}

/// What [`ActionHandler::invoke`] is asked for: the arguments, already checked against the
/// action's schema. `#[non_exhaustive]`: build it with [`ActionRequest::new`].
///
/// Take the arguments as a typed struct with [`ActionRequest::parse`]:
///
/// ```
/// use connector_sdk::action::ActionRequest;
/// #[derive(serde::Deserialize)]
/// struct Args { user_id: String, #[serde(default)] notify: bool }
/// let mut args = connector_sdk::model::Profile::new();
/// args.insert("user_id".into(), "u2".into());
/// let a: Args = ActionRequest::new(args).parse()?;
/// assert_eq!((a.user_id.as_str(), a.notify), ("u2", false));
/// # Ok::<(), connector_sdk::Error>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ActionRequest {
    /// The arguments, valid for the schema.
    pub args: Profile,
}

impl ActionRequest {
    /// A request with `args`.
    pub fn new(args: Profile) -> Self {
        ActionRequest { args }
    }

    /// The arguments as `T`; a mismatch the schema let through (a number where `T` wants
    /// text…) is an `InvalidArgument` error naming the field.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(serde_json::Value::Object(self.args.clone())).map_err(|e| {
            crate::Error::invalid_argument(format!("the action's arguments do not fit: {e}"))
        })
    }
}

/// Runs one named action.
#[async_trait]
pub trait ActionHandler: Send + Sync {
    /// The action's declaration.
    fn schema(&self) -> ActionSchema;

    /// Runs the action with arguments already validated against [`schema`](Self::schema).
    /// Returns a JSON object describing the result.
    async fn invoke(&self, req: ActionRequest) -> Result<Profile>;
}

/// Validates `args` against `handler`'s schema, then runs it.
pub async fn invoke_action(handler: &dyn ActionHandler, args: &Profile) -> Result<Profile> {
    handler.schema().validate_args(args)?;
    handler.invoke(ActionRequest::new(args.clone())).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_arguments_that_do_not_fit_are_invalid_naming_the_field() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Args {
            count: u32,
        }
        let mut args = Profile::new();
        args.insert("count".into(), "three".into());
        let err = ActionRequest::new(args).parse::<Args>().unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("invalid type"), "{err}");
    }
}
