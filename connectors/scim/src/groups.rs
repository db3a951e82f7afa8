//! The `group` resource type: SCIM groups mapped by the file's `group` paths, their
//! `member` entitlement, memberships read from the group (`group.members`) unless the
//! file reads them from the user (`hasGroupsOnUser`), and membership grant and revoke
//! with the file's `addUserToGroup` / `removeUserFromGroup`.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use connector_sdk::prelude::*;
use serde_json::Value;

use crate::client::{GROUPS, ScimApi};
use crate::provider::{Operation, Provider};
use crate::users::{MAX_REMEMBERED, UserSyncer};

/// The `group` resource type.
pub fn group_type() -> ResourceType {
    ResourceType::new("group", "Group")
        .with_trait(TraitKind::Group)
        .with_description("A group of the SCIM application")
}

/// A group as the provider file reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroup {
    /// `group.id`.
    pub id: String,
    /// `group.displayName` (the id when empty).
    pub name: String,
    /// The user ids of `group.members`, when the file maps them and the answer has them
    /// (a listing may leave members out).
    pub members: Option<Vec<String>>,
}

/// Reads one group; `Err` says why the record is skipped (it has no id). Members of
/// `type` `Group` (nested groups) and members without an id are left out.
pub fn read_group(provider: &Provider, v: &Value) -> std::result::Result<ScimGroup, String> {
    let Some(m) = &provider.group else {
        return Err("the provider file has no group section".into());
    };
    let id = m.id.text(v).ok_or_else(|| {
        format!(
            "a group without an id at group.id ({:?}) is skipped",
            m.id.as_str()
        )
    })?;
    let name = m.display_name.text(v).unwrap_or_else(|| id.clone());
    let members = m.members.as_ref().and_then(|mm| match mm.path.eval(v) {
        Ok(Value::Array(items)) => {
            let mut seen = HashSet::new();
            Some(
                items
                    .iter()
                    .filter(|i| {
                        i.get("type")
                            .and_then(Value::as_str)
                            .is_none_or(|t| t.eq_ignore_ascii_case("user"))
                    })
                    .filter_map(|i| mm.id.text(i))
                    .filter(|id| seen.insert(id.clone()))
                    .collect(),
            )
        }
        Ok(Value::Null) | Err(_) => None,
        Ok(_) => Some(Vec::new()),
    });
    Ok(ScimGroup { id, name, members })
}

/// Maps a group to a `group` resource with baton-scim's profile keys.
pub fn group_resource(g: &ScimGroup) -> Resource {
    let profile = profile! { "group_id": g.id, "group_name": g.name };
    Resource::new(&group_type(), &g.id, &g.name).with_group_trait(GroupTrait { profile })
}

/// The `member` entitlement of a group (`group:<id>:member`), grantable to users.
pub fn group_member_entitlement(group: &Resource) -> Entitlement {
    Entitlement::assignment(group, "member")
        .with_display_name(format!("{} group member", group.display_name))
        .with_description(format!("Member of {} group", group.display_name))
        .grantable_to(["user"])
}

/// Groups' members read in this sync, by group id, until their grants are emitted.
#[derive(Default)]
struct Remembered(Mutex<HashMap<String, Vec<String>>>);

/// Whether a user holds a group, as the application says now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    /// A member.
    Member,
    /// Not a member.
    NotMember,
    /// The group (or, with groups on the user, the user) does not exist.
    Gone,
    /// The file maps no way to tell.
    Unknown,
}

/// Lists groups and memberships; grants and revokes membership.
pub struct GroupSyncer {
    api: ScimApi,
    users: UserSyncer,
}

impl GroupSyncer {
    /// A syncer over `api`.
    pub fn new(api: ScimApi) -> Self {
        GroupSyncer {
            users: UserSyncer::new(api.clone()),
            api,
        }
    }

    async fn fetch(&self, id: &str) -> Result<Option<ScimGroup>> {
        let Some(v) = self.api.get(GROUPS, id).await? else {
            return Ok(None);
        };
        read_group(self.api.provider(), &v)
            .map(Some)
            .map_err(|why| Error::internal(format!("GET /Groups/{id}: {why}")))
    }

    /// Whether user `uid` is in group `gid`, read fresh: from the user's groups with
    /// `hasGroupsOnUser`, else from the group's members.
    pub async fn membership(&self, gid: &str, uid: &str) -> Result<Membership> {
        let p = self.api.provider();
        if p.user.has_groups_on_user {
            let Some(user) = self.users.fetch(uid).await? else {
                return Ok(Membership::Gone);
            };
            let ctx = SyncContext::detached();
            for r in &user.groups {
                if self.users.group_id(r, &ctx).await?.as_deref() == Some(gid) {
                    return Ok(Membership::Member);
                }
            }
            return Ok(Membership::NotMember);
        }
        if p.group.as_ref().is_some_and(|g| g.members.is_some()) {
            return Ok(match self.fetch(gid).await? {
                None => Membership::Gone,
                Some(g)
                    if g.members
                        .as_ref()
                        .is_some_and(|m| m.iter().any(|m| m == uid)) =>
                {
                    Membership::Member
                }
                Some(g) if g.members.is_some() => Membership::NotMember,
                Some(_) => Membership::Unknown,
            });
        }
        Ok(Membership::Unknown)
    }
}

#[async_trait]
impl ResourceSyncer for GroupSyncer {
    fn resource_type(&self) -> ResourceType {
        group_type()
    }

    /// One page of `/Groups`, fetched concurrently after the first as for users.
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let remembered = req.context.shared::<Remembered>();
        let provider = self.api.provider();
        self.api
            .page_of(GROUPS, req.page.token.as_ref(), |item| {
                let g = read_group(provider, item)?;
                if let Some(m) = &g.members {
                    let mut map = remembered.0.lock().unwrap_or_else(PoisonError::into_inner);
                    if map.len() < MAX_REMEMBERED {
                        map.insert(g.id.clone(), m.clone());
                    }
                }
                Ok(group_resource(&g))
            })
            .await
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        Ok(Page::last(vec![group_member_entitlement(&req.resource)]))
    }

    /// Members from the group's listing, or `GET /Groups/{id}`; none here when the file
    /// reads memberships from the users (`hasGroupsOnUser`), whose grants carry them.
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let p = self.api.provider();
        if p.user.has_groups_on_user || p.group.as_ref().is_none_or(|g| g.members.is_none()) {
            return Ok(Page::empty());
        }
        let id = &req.resource.id.resource;
        let remembered = req
            .context
            .shared::<Remembered>()
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
        let members = match remembered {
            Some(m) => m,
            None => self
                .fetch(id)
                .await?
                .ok_or_else(|| Error::not_found(format!("group {id} was deleted during the sync")))?
                .members
                .unwrap_or_default(),
        };
        let ent = group_member_entitlement(&req.resource);
        Ok(Page::last(
            members
                .into_iter()
                .map(|u| Grant::new(&ent, ResourceId::new("user", u)))
                .collect(),
        ))
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        let p = &self.api.provider().provisioning;
        (p.add_user_to_group.is_some() || p.remove_user_from_group.is_some())
            .then_some(self as &dyn Provisioner)
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }
}

/// One group by id: `GET /Groups/{id}` (a targeted sync).
#[async_trait]
impl ResourceGetter for GroupSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id.resource;
        self.fetch(id)
            .await?
            .map(|g| group_resource(&g))
            .ok_or_else(|| Error::not_found(format!("the SCIM application has no group {id}")))
    }
}

/// Refuses a principal that is not a user.
pub(crate) fn users_only(principal: &ResourceId, what: &str) -> Result<()> {
    if principal.resource_type != "user" {
        return Err(Error::invalid_argument(format!(
            "{what} is granted to users only, not to {principal}"
        )));
    }
    Ok(())
}

#[async_trait]
impl Provisioner for GroupSyncer {
    /// Checks the membership first (already a member: nothing sent), then PATCHes the
    /// group with `addUserToGroup`; a 409 is "already a member".
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        users_only(&principal.id, "group membership")?;
        let template = self.api.provider().operation(Operation::AddUserToGroup)?;
        let gid = &entitlement.resource().resource;
        let uid = &principal.id.resource;
        connector_sdk::scim::MemberId::new(uid)?;
        match self.membership(gid, uid).await? {
            Membership::Member => return Ok(GrantOutcome::AlreadyExists),
            Membership::Gone => {
                return Err(Error::not_found(format!(
                    "cannot add user {uid} to group {gid}: one of them does not exist"
                )));
            }
            Membership::NotMember | Membership::Unknown => {}
        }
        Ok(
            match self.api.patch_add(GROUPS, gid, &template, uid).await? {
                Some(_) => req.granted(),
                None => GrantOutcome::AlreadyExists,
            },
        )
    }

    /// Checks the membership first (not a member: nothing sent), then removes this one
    /// member (see [`ScimApi::patch_remove`]); never a list of the other members.
    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        users_only(grant.principal(), "group membership")?;
        let template = self
            .api
            .provider()
            .operation(Operation::RemoveUserFromGroup)?;
        let gid = &grant.entitlement_resource().resource;
        let uid = &grant.principal().resource;
        connector_sdk::scim::MemberId::new(uid)?;
        match self.membership(gid, uid).await? {
            Membership::NotMember | Membership::Gone => return Ok(RevokeOutcome::AlreadyRevoked),
            Membership::Member | Membership::Unknown => {}
        }
        Ok(
            match self.api.patch_remove(GROUPS, gid, &template, uid).await? {
                Some(_) => RevokeOutcome::Revoked,
                None => RevokeOutcome::AlreadyRevoked,
            },
        )
    }
}
