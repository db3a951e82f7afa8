//! The `group` resource type: `member` and `manager` entitlements, grants from the group's
//! members, and membership grant/revoke (revoking `manager` demotes to `member`).

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::prelude::*;

use crate::client::{OpClient, OpGroup, OpUser};
use crate::resources::{entitlement, get_under_account, group_type, list_under_account, slug_of};

/// A group as a resource under `account`.
pub fn group_resource(g: &OpGroup, account: &ResourceId) -> Resource {
    let profile = profile! { "group_name": g.name, "group_id": g.id };
    Resource::new(&group_type(), &g.id, &g.name)
        .with_parent(account.clone())
        .with_group_trait(GroupTrait { profile })
}

/// Lists groups and memberships; provisions membership.
pub struct GroupSyncer {
    client: Arc<OpClient>,
}

impl GroupSyncer {
    /// A syncer over `client`.
    pub fn new(client: Arc<OpClient>) -> Self {
        GroupSyncer { client }
    }

    /// The user's membership of the group, when it has one.
    async fn membership(&self, group: &str, user: &str) -> Result<Option<OpUser>> {
        Ok(self
            .members(group)
            .await?
            .into_iter()
            .find(|u| u.id == user))
    }

    /// Runs a membership change; if op's answer is lost, reads the membership back and
    /// accepts it when `wanted` holds for it.
    async fn change(
        &self,
        what: &str,
        args: &[&str],
        group: &str,
        user: &str,
        wanted: fn(Option<&OpUser>) -> bool,
    ) -> Result<()> {
        let applied = || async { Ok(wanted(self.membership(group, user).await?.as_ref())) };
        self.client.write(what, args, applied).await
    }

    async fn members(&self, group: &str) -> Result<Vec<OpUser>> {
        self.client
            .json(
                &format!("listing the members of group {group}"),
                &["group", "user", "list"],
                &[group],
            )
            .await
    }
}

fn is_manager(u: &OpUser) -> bool {
    u.role.as_deref() == Some("MANAGER")
}

#[async_trait]
impl ResourceSyncer for GroupSyncer {
    fn resource_type(&self) -> ResourceType {
        group_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let parent = req.parent.as_ref();
        list_under_account(&self.client, parent, "group", |g: &OpGroup, account| {
            (!g.id.is_empty()).then(|| group_resource(g, account))
        })
        .await
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![
            entitlement(resource, "member", Purpose::Assignment),
            entitlement(resource, "manager", Purpose::Permission),
        ]))
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let resource = &req.resource;
        let members = self.members(&resource.id.resource).await?;
        let member = entitlement(resource, "member", Purpose::Assignment);
        let manager = entitlement(resource, "manager", Purpose::Permission);
        let mut grants = Vec::new();
        for u in members.iter().filter(|u| !u.id.is_empty()) {
            grants.push(Grant::new(&member, ResourceId::new("user", &u.id)));
            if is_manager(u) {
                grants.push(Grant::new(&manager, ResourceId::new("user", &u.id)));
            }
        }
        Ok(Page::last(grants))
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }
}

#[async_trait]
impl Provisioner for GroupSyncer {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        if principal.id.resource_type != "user" {
            return Err(Error::invalid_argument(
                "only users can be granted group membership",
            ));
        }
        let role = slug_of(entitlement)?;
        if role != "member" && role != "manager" {
            return Err(Error::invalid_argument(format!(
                "groups have member and manager entitlements, not {role:?}"
            )));
        }
        let group = entitlement.resource().resource.clone();
        let user = principal.id.resource.clone();
        let current = self.membership(&group, &user).await?;
        let held = match (&current, role.as_str()) {
            (Some(_), "member") => true,
            (Some(u), _) => is_manager(u),
            (None, _) => false,
        };
        if held {
            return Ok(GrantOutcome::AlreadyExists);
        }
        // A manager must be a member first.
        if role == "manager" && current.is_none() {
            self.change(
                "adding the user to the group",
                &[
                    "group", "user", "grant", "--group", &group, "--role", "member", "--user",
                    &user,
                ],
                &group,
                &user,
                |m| m.is_some(),
            )
            .await?;
        }
        let wanted: fn(Option<&OpUser>) -> bool = if role == "manager" {
            |m| m.is_some_and(is_manager)
        } else {
            |m| m.is_some()
        };
        self.change(
            &format!("granting {role} of group {group}"),
            &[
                "group", "user", "grant", "--group", &group, "--role", &role, "--user", &user,
            ],
            &group,
            &user,
            wanted,
        )
        .await?;
        Ok(req.granted())
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        if grant.principal().resource_type != "user" {
            return Err(Error::invalid_argument(
                "only users can have group membership revoked",
            ));
        }
        let role = grant
            .entitlement_id()
            .rsplit(':')
            .next()
            .unwrap_or_default()
            .to_string();
        let group = grant.entitlement_resource().resource.clone();
        let user = grant.principal().resource.clone();
        let current = self.membership(&group, &user).await?;
        match (current, role.as_str()) {
            (None, _) => Ok(RevokeOutcome::AlreadyRevoked),
            (Some(u), "manager") if !is_manager(&u) => Ok(RevokeOutcome::AlreadyRevoked),
            (Some(_), "manager") => {
                // Demote: the user stays a member.
                self.change(
                    "demoting the manager to member",
                    &[
                        "group", "user", "grant", "--group", &group, "--role", "member", "--user",
                        &user,
                    ],
                    &group,
                    &user,
                    |m| m.is_some_and(|u| !is_manager(u)),
                )
                .await?;
                Ok(RevokeOutcome::Revoked)
            }
            (Some(_), _) => {
                self.change(
                    "removing the user from the group",
                    &[
                        "group", "user", "revoke", "--group", &group, "--user", &user,
                    ],
                    &group,
                    &user,
                    |m| m.is_none(),
                )
                .await?;
                Ok(RevokeOutcome::Revoked)
            }
        }
    }
}

/// One group by id: `op group get <id>` (a targeted sync).
#[async_trait]
impl ResourceGetter for GroupSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let (id, parent) = (&req.id, req.parent.as_ref());
        get_under_account(&self.client, id, parent, "group", |x: &OpGroup, account| {
            (!x.id.is_empty()).then(|| group_resource(x, account))
        })
        .await
    }
}
