//! The `role` resource type: the roles users hold (`user.roles`; SCIM has no roles
//! endpoint, so they are collected from one pass over `/Users`), granted to users from the
//! users' side, and granted and revoked with the file's `addUserRole` / `removeUserRole`.
//!
//! A role's id is its value (`user.roles.name`), which is what a grant sends; its display
//! name is `user.roles.display` when set. (baton-scim uses the snake-cased display name as
//! the id and sends the display name in grants; see `docs/connectors/scim.md`.)

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use connector_sdk::prelude::*;
use futures::StreamExt;
use serde_json::Value;

use crate::client::{ScimApi, USERS};
use crate::groups::users_only;
use crate::provider::{Operation, Provider};
use crate::users::UserSyncer;

/// Pages of `/Users` read at once when collecting roles.
pub const ROLE_SCAN_CONCURRENCY: usize = 4;
/// The most pages the role scan reads from a listing without a total (a million users at
/// 100 a page).
const MAX_ROLE_SCAN_PAGES: usize = 10_000;
/// The most distinct roles collected (a role list is short; this bounds a hostile answer).
pub const MAX_ROLES: usize = 10_000;

/// The `role` resource type.
pub fn role_type() -> ResourceType {
    ResourceType::new("role", "Role")
        .with_trait(TraitKind::Role)
        .with_description("A role users hold in the SCIM application")
}

/// A role held by a user.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleRef {
    /// The role's value (`user.roles.name`).
    pub value: String,
    /// Its display name (`user.roles.display`, else the value).
    pub display: String,
}

/// The roles on a user: `user.roles.path` gives a list (each element one role) or one
/// object. `name` and `display` are read on each element; a file that repeats the
/// list's own name in them (`roles.value` under `path: roles`, as `zoom.yaml` does) is read
/// as meant (`value`). Roles without a value are left out.
pub fn read_roles(provider: &Provider, user: &Value) -> Vec<RoleRef> {
    let Some(m) = &provider.user.roles else {
        return Vec::new();
    };
    let items = match m.path.eval(user) {
        Ok(Value::Array(items)) => items,
        Ok(obj @ Value::Object(_)) => vec![obj],
        _ => return Vec::new(),
    };
    let prefix = format!("{}.", m.path.as_str().trim());
    let read = |path: &crate::path::Path, element: &Value| -> Option<String> {
        path.text(element).or_else(|| {
            let rest = path.as_str().trim().strip_prefix(&prefix)?;
            crate::path::Path::parse(rest).ok()?.text(element)
        })
    };
    let mut out: Vec<RoleRef> = items
        .iter()
        .filter_map(|e| {
            let value = match e {
                Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
                _ => read(&m.name, e),
            }?;
            let display = read(&m.display, e).unwrap_or_else(|| value.clone());
            Some(RoleRef { value, display })
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.value == b.value);
    out
}

/// Maps a role to a `role` resource with baton-scim's profile keys.
pub fn role_resource(r: &RoleRef) -> Resource {
    let profile = profile! { "role_id": r.value, "role_name": r.display };
    Resource::new(&role_type(), &r.value, &r.display).with_role_trait(RoleTrait { profile })
}

/// The `member` entitlement of a role (`role:<value>:member`), grantable to users.
pub fn role_member_entitlement(role: &Resource) -> Entitlement {
    Entitlement::assignment(role, "member")
        .with_display_name(format!("{} role member", role.display_name))
        .with_description(format!("Member of {} role", role.display_name))
        .grantable_to(["user"])
}

/// Lists roles; grants and revokes them.
pub struct RoleSyncer {
    api: ScimApi,
    users: UserSyncer,
}

impl RoleSyncer {
    /// A syncer over `api`.
    pub fn new(api: ScimApi) -> Self {
        RoleSyncer {
            users: UserSyncer::new(api.clone()),
            api,
        }
    }

    /// Every role some user holds: the first page of `/Users`, then the others
    /// concurrently.
    async fn collect(&self) -> Result<Vec<RoleRef>> {
        let count = self.api.page_size();
        let first = self.api.list(USERS, 1, count).await?;
        let mut roles = BTreeMap::new();
        let mut capped = false;
        let warnings = self.api.warnings();
        let mut take = |items: &[Value]| {
            for item in items {
                for r in read_roles(self.api.provider(), item) {
                    if roles.len() < MAX_ROLES || roles.contains_key(&r.value) {
                        roles.entry(r.value.clone()).or_insert(r);
                    } else if !capped {
                        capped = true;
                        warnings.warn(&format!(
                            "GET /{USERS}: more than {MAX_ROLES} distinct roles; the others are not listed as resources"
                        ));
                    }
                }
            }
        };
        take(&first.items);
        let id = |v: &Value| self.api.provider().user.id.text(v);
        let mut seen: HashSet<String> = first.items.iter().filter_map(id).collect();
        // A page that is empty or brings no user not seen before ends the scan (a server
        // ignoring startIndex, a total larger than the listing).
        let mut fresh = |items: &[Value]| {
            let before = seen.len();
            seen.extend(items.iter().filter_map(id));
            seen.len() > before
        };
        let rest = ScimPager::new(count).remaining(1, first.items.len(), first.total);
        let more_pages = !rest.is_empty();
        if first.total.is_none() {
            // No total: one page after another.
            let mut start = 1 + first.items.len() as u64;
            let mut last_len = first.items.len();
            let mut pages = 1;
            while last_len > 0 {
                if pages >= MAX_ROLE_SCAN_PAGES {
                    warnings.warn(&format!(
                        "GET /{USERS}: the role scan stopped after {MAX_ROLE_SCAN_PAGES} pages without a total"
                    ));
                    break;
                }
                pages += 1;
                let page = self.api.list(USERS, start, count).await?;
                if !fresh(&page.items) {
                    break;
                }
                take(&page.items);
                last_len = page.items.len();
                start += last_len as u64;
            }
        } else if !rest.is_empty() {
            // The handed-out pages in order, a few at a time, taken lazily: a lying total
            // of a billion costs one window of requests, not a billion.
            let api = &self.api;
            let mut pages = futures::stream::iter(rest)
                .map(|t| async move {
                    let start = t.as_str().parse::<u64>().map_err(|_| {
                        Error::internal(format!("unexpected page token {:?}", t.as_str()))
                    })?;
                    api.list(USERS, start, count).await
                })
                .buffered(ROLE_SCAN_CONCURRENCY);
            while let Some(page) = pages.next().await {
                let page = page?;
                if !fresh(&page.items) {
                    break;
                }
                take(&page.items);
            }
        }
        if let Some(total) = first.total
            && (seen.len() as u64) < total
            && more_pages
        {
            warnings.warn(&format!(
                "GET /{USERS}: the role scan read {} of the {total} users the server counts (a page repeated or brought no new user); roles held only by the others are not listed",
                seen.len()
            ));
        }
        Ok(roles.into_values().collect())
    }

    async fn holds(&self, uid: &str, role: &str) -> Result<Option<bool>> {
        Ok(self
            .users
            .fetch(uid)
            .await?
            .map(|u| u.roles.iter().any(|r| r.value == role)))
    }
}

#[async_trait]
impl ResourceSyncer for RoleSyncer {
    fn resource_type(&self) -> ResourceType {
        role_type()
    }

    async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
        Ok(Page::last(
            self.collect().await?.iter().map(role_resource).collect(),
        ))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        Ok(Page::last(vec![role_member_entitlement(&req.resource)]))
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        let p = &self.api.provider().provisioning;
        (p.add_user_role.is_some() || p.remove_user_role.is_some())
            .then_some(self as &dyn Provisioner)
    }
}

#[async_trait]
impl Provisioner for RoleSyncer {
    /// Reads the user (holding the role already: nothing sent), then PATCHes it with
    /// `addUserRole`, sending the role's value.
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        users_only(&principal.id, "a role")?;
        let template = self.api.provider().operation(Operation::AddUserRole)?;
        let role = &entitlement.resource().resource;
        let uid = &principal.id.resource;
        match self.holds(uid, role).await? {
            None => {
                return Err(Error::not_found(format!(
                    "the SCIM application has no user {uid}"
                )));
            }
            Some(true) => return Ok(GrantOutcome::AlreadyExists),
            Some(false) => {}
        }
        Ok(
            match self.api.patch_add(USERS, uid, &template, role).await? {
                Some(_) => req.granted(),
                None => GrantOutcome::AlreadyExists,
            },
        )
    }

    /// Reads the user (not holding the role: nothing sent), then removes this role only
    /// (see [`ScimApi::patch_remove`]).
    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        users_only(grant.principal(), "a role")?;
        let template = self.api.provider().operation(Operation::RemoveUserRole)?;
        let role = &grant.entitlement_resource().resource;
        let uid = &grant.principal().resource;
        if self.holds(uid, role).await? != Some(true) {
            return Ok(RevokeOutcome::AlreadyRevoked);
        }
        Ok(
            match self.api.patch_remove(USERS, uid, &template, role).await? {
                Some(_) => RevokeOutcome::Revoked,
                None => RevokeOutcome::AlreadyRevoked,
            },
        )
    }
}
