//! The `account` resource type and its `member` entitlement (every user holds it); the
//! account fetched by id for targeted syncs.

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::prelude::*;

use crate::client::{AccountInfo, OpClient, OpUser};
use crate::resources::{account_type, entitlement};

/// The account as a resource: the parent of users, groups and vaults.
pub fn account_resource(a: &AccountInfo) -> Resource {
    Resource::new(&account_type(), &a.id, &a.name)
        .with_child_type("user")
        .with_child_type("group")
        .with_child_type("vault")
}

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
        Ok(Page::last(vec![account_resource(&a)]))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![entitlement(
            resource,
            "member",
            Purpose::Assignment,
        )]))
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }

    /// Every user, whatever their state.
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let resource = &req.resource;
        let users: Vec<OpUser> = self
            .client
            .json("listing users", &["user", "list"], &[])
            .await?;
        let ent = entitlement(resource, "member", Purpose::Assignment);
        Ok(Page::last(
            users
                .iter()
                .map(|u| Grant::new(&ent, ResourceId::new("user", &u.id)))
                .collect(),
        ))
    }
}

/// The account by id (targeted syncs): `op account get` (spec §3.1, the call the listing
/// makes) reads the signed-in account. Another account's id is `NotFound`: the connector
/// sees one account only. An answer without an id is an error, and so is an op failure
/// that says "not found": `op account get` names no id, so that is about the CLI's
/// sign-in, not a sign that the account is gone.
#[async_trait]
impl ResourceGetter for AccountSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
        let a = self.client.account(true).await.map_err(|e| {
            if e.kind() != ErrorKind::NotFound {
                return e;
            }
            let mut out = Error::new(
                ErrorKind::FailedPrecondition,
                format!(
                    "{}: op could not read the signed-in account, which says nothing about account {}",
                    e.message(),
                    id.resource
                ),
            );
            if let Some(m) = e.api_message() {
                out = out.with_api_message(m);
            }
            out
        })?;
        if a.id.is_empty() {
            return Err(Error::internal(
                "`op account get` answered without an account id",
            ));
        }
        if a.id != id.resource {
            return Err(Error::not_found(format!(
                "the connector is signed in to 1Password account {}, not {}",
                a.id, id.resource
            )));
        }
        Ok(account_resource(&a))
    }
}
