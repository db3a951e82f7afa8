//! The `group` resource type: SCIM groups, their `member` entitlement and membership
//! grants; membership grant and revoke.

use async_trait::async_trait;
use connector_sdk::prelude::*;

use connector_sdk::scim::{Group, MemberId};

use crate::client::{Change, IroncladClient};

/// The `group` resource type.
pub fn group_type() -> ResourceType {
    ResourceType::new("group", "Group")
        .with_trait(TraitKind::Group)
        .with_description("An Ironclad group")
}

/// Maps a SCIM group to a `group` resource.
pub fn group_resource(g: &Group) -> Resource {
    let name = if g.display_name.trim().is_empty() {
        g.id.clone()
    } else {
        g.display_name.clone()
    };
    let mut profile = Profile::new();
    profile.insert("group_name".into(), g.display_name.clone().into());
    if let Some(e) = g.external_id.as_ref().filter(|e| !e.is_empty()) {
        profile.insert("external_id".into(), e.clone().into());
    }
    Resource::new(&group_type(), &g.id, name).with_group_trait(GroupTrait { profile })
}

/// The `member` entitlement of a group.
pub fn member_entitlement(group: &Resource) -> Entitlement {
    Entitlement::assignment(group, "member")
        .with_display_name(format!("{} Group Member", group.display_name))
        .with_description(format!(
            "Member of the {} group in Ironclad",
            group.display_name
        ))
        .grantable_to(["user"])
}

/// Lists groups and memberships; grants and revokes membership unless read-only.
pub struct GroupSyncer {
    client: IroncladClient,
    /// The as-user's id, looked up at the first revoke. Only a found id is kept (SCIM ids
    /// do not change); "not found" or a failed lookup is asked again at the next revoke, so
    /// a long-running service does not keep a stale answer.
    as_user_id: tokio::sync::OnceCell<String>,
}

impl GroupSyncer {
    /// A syncer over `client` (the connector wraps it in
    /// [`ReadOnly`](connector_sdk::read_only::ReadOnly) when read-only).
    pub fn new(client: IroncladClient) -> Self {
        GroupSyncer {
            client,
            as_user_id: tokio::sync::OnceCell::new(),
        }
    }

    /// Whether `user_id` is the user the connector acts as. A failed lookup is logged
    /// and answers `false`: the warning it feeds must never stop a revoke.
    async fn is_as_user(&self, user_id: &str) -> bool {
        let email = self.client.as_user_email();
        let id = self
            .as_user_id
            .get_or_try_init(|| async {
                let found = self.client.find_by_user_name(email).await?;
                found
                    .into_iter()
                    .find(|u| u.user_name.eq_ignore_ascii_case(email))
                    .map(|u| u.id)
                    .ok_or_else(|| Error::not_found(format!("no Ironclad user named {email}")))
            })
            .await;
        match id {
            Ok(id) => id == user_id,
            Err(e) => {
                tracing::debug!(error = %e, "could not look up the as-user; revoking without the self-check");
                false
            }
        }
    }
}

#[async_trait]
impl ResourceSyncer for GroupSyncer {
    fn resource_type(&self) -> ResourceType {
        group_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let page = self.client.groups_page(page.token.as_ref()).await?;
        Ok(page.map(|r| group_resource(&r)))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![member_entitlement(resource)]))
    }

    /// Members come inline, unpaginated, from `GET /Groups/{id}`; a vanished group is a
    /// `NotFound` (a warning for the engine).
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let resource = &req.resource;
        let group = self
            .client
            .get_group(&resource.id.resource)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "group {} was deleted during the sync",
                    resource.id.resource
                ))
            })?;
        let ent = member_entitlement(resource);
        Ok(Page::last(
            group
                .user_member_ids()
                .into_iter()
                .map(|u| Grant::new(&ent, ResourceId::new("user", u)))
                .collect(),
        ))
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }
}

/// One group by id: SCIM `GET /Groups/{id}` (a targeted sync).
#[async_trait]
impl ResourceGetter for GroupSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
        self.client
            .get_group(&id.resource)
            .await?
            .map(|g| group_resource(&g))
            .ok_or_else(|| Error::not_found(format!("Ironclad has no group {}", id.resource)))
    }
}

#[async_trait]
impl Provisioner for GroupSyncer {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        if principal.id.resource_type != "user" {
            return Err(Error::invalid_argument(format!(
                "group membership is granted to users only, not to {}",
                principal.id
            )));
        }
        let member = MemberId::new(&principal.id.resource)?;
        let gid = &entitlement.resource().resource;
        let group = self
            .client
            .get_group(gid)
            .await?
            .ok_or_else(|| Error::not_found(format!("Ironclad group {gid} does not exist")))?;
        if group.user_member_ids().contains(&principal.id.resource) {
            return Ok(GrantOutcome::AlreadyExists);
        }
        Ok(match self.client.add_member(gid, &member).await? {
            Change::Done => req.granted(),
            Change::Unchanged => GrantOutcome::AlreadyExists,
        })
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        // Reject an empty id before any request: a remove must always name its member.
        let member = MemberId::new(&grant.principal().resource)?;
        let gid = &grant.entitlement_resource().resource;
        let Some(group) = self.client.get_group(gid).await? else {
            return Ok(RevokeOutcome::AlreadyRevoked);
        };
        if !group
            .user_member_ids()
            .iter()
            .any(|u| *u == grant.principal().resource)
        {
            return Ok(RevokeOutcome::AlreadyRevoked);
        }
        if self.is_as_user(&grant.principal().resource).await {
            tracing::warn!(
                group = %group.display_name,
                group_id = %gid,
                as_user = %self.client.as_user_email(),
                "revoking the as-user's own membership: if this group makes it an Ironclad \
                 Administrator, the connector loses access; set --as-user-email \
                 (BATON_AS_USER_EMAIL) to another administrator first"
            );
        }
        Ok(match self.client.remove_member(gid, &member).await? {
            Change::Done => RevokeOutcome::Revoked,
            Change::Unchanged => RevokeOutcome::AlreadyRevoked,
        })
    }
}
