//! The `user` resource type.

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::prelude::*;

use crate::client::{OpClient, OpUser};
use crate::resources::{get_under_account, list_under_account, user_type};

/// The status of a 1Password user state.
pub fn status(state: &str) -> UserStatus {
    match state {
        "ACTIVE" | "RECOVERY_STARTED" => UserStatus::Enabled,
        "INACTIVE" | "SUSPENDED" | "TRANSFER_SUSPENDED" => UserStatus::Disabled,
        _ => UserStatus::Unspecified,
    }
}

/// A user as a resource under `account`.
pub fn user_resource(u: &OpUser, account: &ResourceId) -> Resource {
    let (first, last) = u.name.split_once(' ').unwrap_or((u.name.as_str(), ""));
    let profile = profile! {
        "first_name": first, "last_name": last, "login": u.email, "user_id": u.id,
    };
    let mut user = UserTrait::default()
        .with_status(status(&u.state))
        .with_status_details(&u.state)
        .with_profile(profile);
    if !u.email.is_empty() {
        user = user.with_email(&u.email, true);
    }
    let name = if u.name.trim().is_empty() {
        u.email.clone()
    } else {
        u.name.clone()
    };
    Resource::new(&user_type(), &u.id, name)
        .with_parent(account.clone())
        .with_user_trait(user)
}

/// Lists users under the account.
pub struct UserSyncer {
    client: Arc<OpClient>,
}

impl UserSyncer {
    /// A syncer over `client`.
    pub fn new(client: Arc<OpClient>) -> Self {
        UserSyncer { client }
    }
}

#[async_trait]
impl ResourceSyncer for UserSyncer {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let parent = req.parent.as_ref();
        list_under_account(&self.client, parent, "user", |u: &OpUser, account| {
            (!u.id.is_empty()).then(|| user_resource(u, account))
        })
        .await
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }
}

/// One user by id: `op user get <id>` (a targeted sync).
#[async_trait]
impl ResourceGetter for UserSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let (id, parent) = (&req.id, req.parent.as_ref());
        get_under_account(&self.client, id, parent, "user", |x: &OpUser, account| {
            (!x.id.is_empty()).then(|| user_resource(x, account))
        })
        .await
    }
}
