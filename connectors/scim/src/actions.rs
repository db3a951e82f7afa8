//! The account actions `enable_user` and `disable_user`: a PATCH `replace` of `active`,
//! offered where the file allows account changes
//! ([`UserSyncer::manages_accounts`](crate::users::UserSyncer::manages_accounts)).

use async_trait::async_trait;
use connector_sdk::prelude::*;
use connector_sdk::scim::Patched;

use crate::client::ScimApi;
use crate::users::{UserSyncer, read_user};

/// `enable_user` (`active: true`) or `disable_user` (`active: false`).
pub struct AccountStatus {
    api: ScimApi,
    enable: bool,
}

impl AccountStatus {
    /// The action setting `active` to `enable`.
    pub fn new(api: ScimApi, enable: bool) -> Self {
        AccountStatus { api, enable }
    }

    /// The action's name.
    pub fn name(&self) -> &'static str {
        if self.enable {
            "enable_user"
        } else {
            "disable_user"
        }
    }
}

#[async_trait]
impl ActionHandler for AccountStatus {
    fn schema(&self) -> ActionSchema {
        let verb = if self.enable { "Enable" } else { "Disable" };
        ActionSchema::new(self.name(), format!("{verb} user"))
            .with_description(format!(
                "{verb}s a user of the SCIM application (PATCH active to {})",
                self.enable
            ))
            .with_type(if self.enable {
                ActionType::AccountEnable
            } else {
                ActionType::AccountDisable
            })
            .with_argument(
                FieldSchema::new("user_id", FieldType::String)
                    .required()
                    .with_display_name("User ID")
                    .with_description("The SCIM id of the user (the user resource's id)"),
            )
    }

    /// PATCHes `active`; the answer's `active` (a 200 with the user) or a fresh read
    /// (a 204) is reported back.
    async fn invoke(&self, req: ActionRequest) -> Result<Profile> {
        let id = req
            .args
            .get("user_id")
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::invalid_argument("user_id: required"))?
            .to_string();
        let answer = match self.api.set_active(&id, self.enable).await {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::not_found(format!(
                    "the SCIM application has no user {id}"
                )));
            }
            other => other?,
        };
        let user = match answer {
            Patched::Resource(v) => read_user(self.api.provider(), &v).ok(),
            Patched::NoContent => UserSyncer::new(self.api.clone()).fetch(&id).await?,
        };
        let active = user.map(|u| u.active).unwrap_or(self.enable);
        Ok(profile! { "success": true, "user_id": id, "active": active })
    }
}
