//! The `scope` resource type: the static scope list, each scope's `assigned` entitlement,
//! grants computed from every teammate's scopes, and scope grant/revoke.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::page::Keyed;
use connector_sdk::prelude::*;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::Mutex;

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
    let mut profile = Profile::new();
    profile.insert("name".into(), scope.into());
    Resource::new(&scope_type(), scope, scope).with_role_trait(RoleTrait { profile })
}

/// The `assigned` entitlement of a scope.
pub fn assigned_entitlement(scope: &Resource) -> Entitlement {
    Entitlement::assignment(scope, "assigned")
        .with_display_name(format!("teammate scope {}", scope.id.resource))
        .with_description("Assigned teammate to scopes")
        .grantable_to(["teammate"])
}

/// Teammate details fetched at once while building the scope map.
const DETAIL_CONCURRENCY: usize = 4;

/// scope → usernames holding it.
pub type Holders = Arc<BTreeMap<String, BTreeSet<String>>>;

/// scope → usernames holding it, built once per sync from one detail request per teammate.
/// Kept in the sync's [`SyncContext`]
/// (`req.context.shared::<ScopeMap>()`), so each sync builds its own.
#[derive(Debug, Default)]
pub struct ScopeMap {
    map: Mutex<Option<Holders>>,
}

impl ScopeMap {
    /// The map, built on first use (concurrent callers wait for the one build).
    pub async fn get(&self, client: &SendgridClient) -> Result<Holders> {
        let mut slot = self.map.lock().await;
        if let Some(m) = slot.clone() {
            return Ok(m);
        }
        let teammates: Vec<Keyed<Teammate>> =
            stream_pages("SendGrid teammates", |req: PageRequest| async move {
                let page = client.teammates_page(req).await?;
                Ok(page.map(|t| Keyed(t.username.clone(), t)))
            })
            .try_collect()
            .await?;
        let details: Vec<Teammate> =
            futures::stream::iter(teammates.into_iter().filter(|k| !k.0.is_empty()))
                .map(|k| async move {
                    client
                        .get_teammate(&k.0)
                        .await
                        .map_err(|e| e.context(format!("reading teammate {}", k.0)))
                })
                .buffer_unordered(DETAIL_CONCURRENCY)
                .try_collect()
                .await?;
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for t in details {
            for scope in &t.scopes {
                if scope.trim().is_empty() {
                    tracing::warn!(teammate = %t.username, "empty scope");
                    continue;
                }
                map.entry(scope.clone())
                    .or_default()
                    .insert(t.username.clone());
            }
        }
        let map = Arc::new(map);
        *slot = Some(map.clone());
        Ok(map)
    }
}

/// Lists scopes and their grants; grants and revokes scopes.
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

    /// Exactly one grant per teammate holding the scope.
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let resource = &req.resource;
        let map = req.context.shared::<ScopeMap>().get(&self.client).await?;
        let ent = assigned_entitlement(resource);
        let grants = map
            .get(&resource.id.resource)
            .map(|holders| {
                holders
                    .iter()
                    .map(|u| Grant::new(&ent, ResourceId::new("teammate", u)))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Page::last(grants))
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
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
            GrantOutcome::Granted(vec![Grant::new(entitlement, principal.id.clone())])
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
