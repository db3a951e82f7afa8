//! The `account` resource type and its `member` entitlement (every user holds it).

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::prelude::*;

use crate::client::{OpClient, OpUser};
use crate::resources::{account_type, entitlement};

/// Lists the account; its grants are every user.
pub struct AccountSyncer {
    client: Arc<OpClient>,
}

impl AccountSyncer {
    /// A syncer over `client`.
    pub fn new(client: Arc<OpClient>) -> Self {
        AccountSyncer { client }
    }
}

#[async_trait]
impl ResourceSyncer for AccountSyncer {
    fn resource_type(&self) -> ResourceType {
        account_type()
    }

    /// The one account; the first call of a sync refreshes the cached `op account get`.
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let parent = req.parent.as_ref();
        if parent.is_some() {
            return Ok(Page::empty());
        }
        let a = self.client.account(true).await?;
        Ok(Page::last(vec![
            Resource::new(&account_type(), &a.id, &a.name)
                .with_child_type("user")
                .with_child_type("group")
                .with_child_type("vault"),
        ]))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![entitlement(
            resource,
            "member",
            Purpose::Assignment,
        )]))
    }

    /// Every user, whatever their state.
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let resource = &req.resource;
        let users: Vec<OpUser> = self.client.json("listing users", &["user", "list"]).await?;
        let ent = entitlement(resource, "member", Purpose::Assignment);
        Ok(Page::last(
            users
                .iter()
                .map(|u| Grant::new(&ent, ResourceId::new("user", &u.id)))
                .collect(),
        ))
    }
}
