//! The `scope` resource type: the static scope list, each scope's `assigned` entitlement,
//! fetching one scope by name (targeted syncs), and scope grant/revoke.
//!
//! Who holds a scope is read from the teammate side: SendGrid answers "which scopes does
//! teammate U hold" (`GET /v3/teammates/{username}`) and has no "who holds scope S", so the
//! teammate syncer emits each teammate's scope grants ([`held_scope_grants`]) and this
//! syncer lists none of its own.

use std::collections::BTreeSet;

use async_trait::async_trait;
use connector_sdk::prelude::*;

use crate::client::{SendgridClient, Teammate};
use crate::scope_list::SCOPES;
use crate::teammates::PENDING_PREFIX;

/// The `scope` resource type.
pub fn scope_type() -> ResourceType {
    ResourceType::new("scope", "Scope")
        .with_trait(TraitKind::Role)
        .with_description("A SendGrid permission scope teammates can hold")
}

/// A scope as a role resource.
pub fn scope_resource(scope: &str) -> Resource {
    let profile = profile! { "name": scope };
    Resource::new(&scope_type(), scope, scope).with_role_trait(RoleTrait { profile })
}

/// The `assigned` entitlement of a scope.
pub fn assigned_entitlement(scope: &Resource) -> Entitlement {
    Entitlement::assignment(scope, "assigned")
        .with_display_name(format!("teammate scope {}", scope.id.resource))
        .with_description("Assigned teammate to scopes")
        .grantable_to(["teammate"])
}

/// The grants of the `assigned` entitlements `teammate` holds, from its detail's `scopes`
/// (spec §4.2, §4.6): exactly one per synced scope it lists, in scope order. Scopes outside
/// [`SCOPES`] (SendGrid's auto-assigned ones, newer families) are not synced and give no
/// grant; an empty scope is skipped with the warning `empty scope`. Owners and admins are
/// answered with every scope, so they hold all of them.
pub fn held_scope_grants(teammate: &Teammate) -> Vec<Grant> {
    let principal = ResourceId::new("teammate", &teammate.username);
    let mut held = BTreeSet::new();
    for scope in &teammate.scopes {
        if scope.trim().is_empty() {
            tracing::warn!(teammate = %teammate.username, "empty scope");
            continue;
        }
        if let Some(s) = SCOPES.iter().find(|s| **s == scope.as_str()) {
            held.insert(*s);
        }
    }
    held.into_iter()
        .map(|s| Grant::new(&assigned_entitlement(&scope_resource(s)), principal.clone()))
        .collect()
}

/// Lists scopes; grants and revokes them. Their grants come from the teammate syncer
/// (see the module docs).
#[derive(Debug)]
pub struct ScopeSyncer {
    client: SendgridClient,
}

impl ScopeSyncer {
    /// A syncer over `client`.
    pub fn new(client: SendgridClient) -> Self {
        ScopeSyncer { client }
    }
}

#[async_trait]
impl ResourceSyncer for ScopeSyncer {
    fn resource_type(&self) -> ResourceType {
        scope_type()
    }

    /// All 197 scopes on one page.
    async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
        Ok(Page::last(
            SCOPES.iter().map(|s| scope_resource(s)).collect(),
        ))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![assigned_entitlement(resource)]))
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }
}

/// One scope by name, from the static list: SendGrid has no API listing or reading scopes
/// (spec §3.2), so no request is made. A name outside the list is `NotFound`.
#[async_trait]
impl ResourceGetter for ScopeSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
        SCOPES
            .iter()
            .find(|s| **s == id.resource)
            .map(|s| scope_resource(s))
            .ok_or_else(|| {
                Error::not_found(format!(
                    "{:?} is not one of the {} SendGrid scopes the connector syncs",
                    id.resource,
                    SCOPES.len()
                ))
            })
    }
}

fn check_principal(id: &ResourceId) -> Result<()> {
    if id.resource_type != "teammate" {
        return Err(Error::invalid_argument(format!(
            "scopes can be granted to teammates only, not to {id}"
        )));
    }
    if id.resource.starts_with(PENDING_PREFIX) {
        return Err(Error::failed_precondition(
            "this teammate's invitation is still pending; SendGrid allows scope changes once it is accepted",
        ));
    }
    Ok(())
}

#[async_trait]
impl Provisioner for ScopeSyncer {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        check_principal(&principal.id)?;
        let scope = entitlement.resource().resource.clone();
        let changed = self
            .client
            .edit_scopes(&principal.id.resource, |scopes| {
                if scopes.contains(&scope) {
                    return Ok(false);
                }
                scopes.push(scope.clone());
                Ok(true)
            })
            .await?;
        Ok(if changed {
            req.granted()
        } else {
            GrantOutcome::AlreadyExists
        })
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        check_principal(grant.principal())?;
        let scope = grant.entitlement_resource().resource.clone();
        let result = self
            .client
            .edit_scopes(&grant.principal().resource, |scopes| {
                match scopes.iter().position(|s| *s == scope) {
                    Some(i) => {
                        scopes.remove(i);
                        Ok(true)
                    }
                    None => Ok(false),
                }
            })
            .await;
        match result {
            Ok(true) => Ok(RevokeOutcome::Revoked),
            Ok(false) => Ok(RevokeOutcome::AlreadyRevoked),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(RevokeOutcome::AlreadyRevoked),
            Err(e) => Err(e),
        }
    }
}
