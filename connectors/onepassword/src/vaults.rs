//! The `vault` resource type: `member` and one permission entitlement per permission of the
//! account's model; grants from the vault's groups (expandable to their members) and users;
//! permission grant/revoke for users and groups with op's dependency rules.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::model::entitlement_id;
use connector_sdk::prelude::*;

use crate::client::{OpClient, OpGroup, OpUser, OpVault};
use crate::permissions::{grant_list, model, permission, revoke_list, slug};
use crate::resources::{entitlement, get_under_account, list_under_account, slug_of, vault_type};

/// A vault entitlement: like the others, but grantable to groups too (vault access is
/// granted to groups with `op vault group grant`; upstream declared users only).
fn vault_entitlement(vault: &Resource, slug: &str) -> Entitlement {
    let purpose = if slug == "member" {
        Purpose::Assignment
    } else {
        Purpose::Permission
    };
    entitlement(vault, slug, purpose).grantable_to(["user", "group"])
}

/// A vault as a resource under `account`.
pub fn vault_resource(v: &OpVault, account: &ResourceId) -> Resource {
    Resource::new(&vault_type(), &v.id, &v.name).with_parent(account.clone())
}

const USERS_PAGE: &str = "users";

/// Lists vaults and access; provisions vault permissions.
pub struct VaultSyncer {
    client: Arc<OpClient>,
    limit: Vec<String>,
}

impl VaultSyncer {
    /// A syncer; `limit` (when not empty) keeps only those permissions and `member`.
    pub fn new(client: Arc<OpClient>, limit: Vec<String>) -> Self {
        VaultSyncer { client, limit }
    }

    fn allowed(&self, name: &str) -> bool {
        self.limit.is_empty() || self.limit.iter().any(|l| l == name)
    }

    /// The grants of one accessor: `member` plus each known permission (unknown ones are
    /// skipped and logged, never turned into an empty slug).
    fn accessor_grants(
        &self,
        vault: &Resource,
        business: bool,
        principal: ResourceId,
        permissions: &[String],
        expand: Option<&str>,
    ) -> Vec<Grant> {
        let known = model(if business { "BUSINESS" } else { "" });
        let mut slugs = Vec::new();
        if self.allowed("member") {
            slugs.push("member".to_string());
        }
        for p in permissions {
            if !known.contains(&p.as_str()) {
                tracing::debug!(vault = %vault.id, permission = %p, "skipping a permission unknown to this account's model");
                continue;
            }
            if self.allowed(p) {
                slugs.push(slug(p));
            }
        }
        slugs
            .into_iter()
            .map(|s| {
                let ent = vault_entitlement(vault, &s);
                let g = Grant::new(&ent, principal.clone());
                match expand {
                    Some(group_member) => {
                        let mut g = g.expandable([group_member.to_string()]);
                        if let Some(x) = g.expandable.as_mut() {
                            x.shallow = true;
                            x.resource_type_ids = vec!["user".into()];
                        }
                        g
                    }
                    None => g,
                }
            })
            .collect()
    }

    async fn current(
        &self,
        vault: &str,
        principal: &ResourceId,
    ) -> Result<Option<BTreeSet<String>>> {
        let perms = match principal.resource_type.as_str() {
            "user" => self
                .client
                .json::<Vec<OpUser>>(
                    "listing the vault's users",
                    &["vault", "user", "list"],
                    &[vault],
                )
                .await?
                .into_iter()
                .find(|u| u.id == principal.resource)
                .map(|u| u.permissions.unwrap_or_default()),
            _ => self
                .client
                .json::<Vec<OpGroup>>(
                    "listing the vault's groups",
                    &["vault", "group", "list"],
                    &[vault],
                )
                .await?
                .into_iter()
                .find(|g| g.id == principal.resource)
                .map(|g| g.permissions.unwrap_or_default()),
        };
        Ok(perms.map(|p| p.into_iter().collect()))
    }
}

fn principal_args(principal: &ResourceId) -> Result<(&'static str, &'static str)> {
    match principal.resource_type.as_str() {
        "user" => Ok(("user", "--user")),
        "group" => Ok(("group", "--group")),
        _ => Err(Error::invalid_argument(format!(
            "only users or groups can be granted vault access, not {principal}"
        ))),
    }
}

#[async_trait]
impl ResourceSyncer for VaultSyncer {
    fn resource_type(&self) -> ResourceType {
        vault_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let parent = req.parent.as_ref();
        list_under_account(&self.client, parent, "vault", |v: &OpVault, account| {
            (!v.id.is_empty()).then(|| vault_resource(v, account))
        })
        .await
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        let business = self.client.is_business().await?;
        let mut out = Vec::new();
        if self.allowed("member") {
            out.push(vault_entitlement(resource, "member"));
        }
        for p in model(if business { "BUSINESS" } else { "" }) {
            if self.allowed(p) {
                out.push(vault_entitlement(resource, &slug(p)));
            }
        }
        Ok(Page::last(out))
    }

    /// Two pages: the vault's groups (grants expandable to their direct members), then its users.
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (resource, page) = (&req.resource, req.page);
        let business = self.client.is_business().await?;
        let vault = &resource.id.resource;
        match page.token.as_ref().map(|t| t.as_str()) {
            None => {
                let groups: Vec<OpGroup> = self
                    .client
                    .json(
                        "listing the vault's groups",
                        &["vault", "group", "list"],
                        &[vault],
                    )
                    .await?;
                let mut grants = Vec::new();
                for g in groups.iter().filter(|g| !g.id.is_empty()) {
                    let principal = ResourceId::new("group", &g.id);
                    let member = entitlement_id(&principal, "member");
                    grants.extend(self.accessor_grants(
                        resource,
                        business,
                        principal,
                        g.permissions.as_deref().unwrap_or_default(),
                        Some(&member),
                    ));
                }
                Ok(Page::new(grants, Some(PageToken::new(USERS_PAGE))))
            }
            Some(USERS_PAGE) => {
                let users: Vec<OpUser> = self
                    .client
                    .json(
                        "listing the vault's users",
                        &["vault", "user", "list"],
                        &[vault],
                    )
                    .await?;
                let mut grants = Vec::new();
                for u in users.iter().filter(|u| !u.id.is_empty()) {
                    grants.extend(self.accessor_grants(
                        resource,
                        business,
                        ResourceId::new("user", &u.id),
                        u.permissions.as_deref().unwrap_or_default(),
                        None,
                    ));
                }
                Ok(Page::last(grants))
            }
            Some(other) => Err(Error::invalid_argument(format!(
                "malformed page token {other:?} for vault grants"
            ))),
        }
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }
}

#[async_trait]
impl Provisioner for VaultSyncer {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        let (kind, flag) = principal_args(&principal.id)?;
        let p = permission(&slug_of(entitlement)?);
        let business = self.client.is_business().await?;
        let wanted = grant_list(&p, business);
        let vault = entitlement.resource().resource.clone();
        let current = self
            .current(&vault, &principal.id)
            .await?
            .unwrap_or_default();
        if wanted.iter().all(|w| current.contains(w)) {
            return Ok(GrantOutcome::AlreadyExists);
        }
        let list = wanted.join(",");
        let principal_id = &principal.id;
        // If op's answer is lost, the grant succeeded when the vault now holds every wanted
        // permission.
        let applied = || async {
            Ok(self
                .current(&vault, principal_id)
                .await?
                .is_some_and(|now| wanted.iter().all(|w| now.contains(w))))
        };
        self.client
            .write(
                &format!("granting {p} on vault {vault}"),
                &[
                    "vault",
                    kind,
                    "grant",
                    "--vault",
                    &vault,
                    flag,
                    &principal.id.resource,
                    "--permissions",
                    &list,
                ],
                applied,
            )
            .await?;
        Ok(req.granted())
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        let (kind, flag) = principal_args(grant.principal())?;
        let slug = grant
            .entitlement_id()
            .rsplit(':')
            .next()
            .unwrap_or_default();
        let p = permission(slug);
        let business = self.client.is_business().await?;
        let vault = grant.entitlement_resource().resource.clone();
        // No direct access: nothing to revoke (access through a group is revoked on the group).
        let Some(current) = self.current(&vault, grant.principal()).await? else {
            return Ok(RevokeOutcome::AlreadyRevoked);
        };
        let held: Vec<String> = revoke_list(&p, business)
            .into_iter()
            .filter(|x| current.contains(x))
            .collect();
        if held.is_empty() {
            return Ok(RevokeOutcome::AlreadyRevoked);
        }
        let list = held.join(",");
        let principal_id = grant.principal();
        // If op's answer is lost, the revoke succeeded when none of the permissions is left.
        let applied = || async {
            Ok(self
                .current(&vault, principal_id)
                .await?
                .is_none_or(|now| !held.iter().any(|h| now.contains(h))))
        };
        match self
            .client
            .write(
                &format!("revoking {p} on vault {vault}"),
                &[
                    "vault",
                    kind,
                    "revoke",
                    "--vault",
                    &vault,
                    flag,
                    &grant.principal().resource,
                    "--permissions",
                    &list,
                ],
                applied,
            )
            .await
        {
            Ok(()) => Ok(RevokeOutcome::Revoked),
            Err(e)
                if e.kind() == ErrorKind::FailedPrecondition
                    && e.message().contains("no direct permissions") =>
            {
                Ok(RevokeOutcome::AlreadyRevoked)
            }
            Err(e) => Err(e),
        }
    }
}

/// One vault by id: `op vault get <id>` (a targeted sync).
#[async_trait]
impl ResourceGetter for VaultSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let (id, parent) = (&req.id, req.parent.as_ref());
        get_under_account(&self.client, id, parent, "vault", |x: &OpVault, account| {
            (!x.id.is_empty()).then(|| vault_resource(x, account))
        })
        .await
    }
}
