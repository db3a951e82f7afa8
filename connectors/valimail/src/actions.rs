//! Actions `enable_user` and `disable_user` (PATCH `active`).

use async_trait::async_trait;
use connector_sdk::prelude::*;

use crate::client::ValimailClient;

/// Enables or disables a user.
pub struct SetActive {
    client: ValimailClient,
    active: bool,
}

impl SetActive {
    /// `enable_user` when `active`, else `disable_user`.
    pub fn new(client: ValimailClient, active: bool) -> Self {
        SetActive { client, active }
    }
}

/// The arguments of both actions.
#[derive(serde::Deserialize)]
struct Args {
    user_id: String,
}

#[async_trait]
impl ActionHandler for SetActive {
    fn schema(&self) -> ActionSchema {
        let (name, display, kind, description) = if self.active {
            (
                "enable_user",
                "Enable user",
                ActionType::AccountEnable,
                "Enables a user's access to ValiMail (activates the account)",
            )
        } else {
            (
                "disable_user",
                "Disable user",
                ActionType::AccountDisable,
                "Disables a user's access to ValiMail (deactivates the account)",
            )
        };
        ActionSchema::new(name, display)
            .with_description(description)
            .with_type(kind)
            .with_argument(
                FieldSchema::new("user_id", FieldType::String)
                    .required()
                    .with_display_name("User ID")
                    .with_description("The Valimail user id (the user resource id)"),
            )
    }

    async fn invoke(&self, req: ActionRequest) -> Result<Profile> {
        // The SDK has validated the schema: user_id is a non-blank string.
        let Args { user_id } = req.parse()?;
        let id = user_id.trim();
        let user = self.client.set_active(id, self.active).await.map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::not_found(format!("Valimail user {id} does not exist")).with_http_status(404)
            } else {
                e
            }
        })?;
        Ok(profile! { "success": true, "user_id": id, "active": user.is_active() })
    }
}
