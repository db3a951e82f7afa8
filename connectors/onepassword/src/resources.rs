//! The resource types and their shared shapes: the account is the parent of users, groups
//! and vaults; entitlement names follow upstream.

use connector_sdk::prelude::*;
use serde::de::DeserializeOwned;

use crate::client::OpClient;

/// `account`: exactly one, parent of every other resource.
pub fn account_type() -> ResourceType {
    ResourceType::new("account", "Account").with_description("The 1Password account")
}

/// `user`: no entitlements or grants of its own.
pub fn user_type() -> ResourceType {
    ResourceType::new("user", "User")
        .with_trait(TraitKind::User)
        .skip_entitlements_and_grants()
        .with_description("A 1Password user")
}

/// `group`.
pub fn group_type() -> ResourceType {
    ResourceType::new("group", "Group")
        .with_trait(TraitKind::Group)
        .with_description("A 1Password group")
}

/// `vault`.
pub fn vault_type() -> ResourceType {
    ResourceType::new("vault", "Vault").with_description("A 1Password vault")
}

/// An entitlement named as upstream names them: `<name> <type> <slug>`, described as
/// `1Password <name> <type>`, grantable to users.
pub fn entitlement(resource: &Resource, slug: &str, purpose: Purpose) -> Entitlement {
    Entitlement::new(resource, slug, purpose)
        .with_display_name(format!(
            "{} {} {slug}",
            resource.display_name, resource.id.resource_type
        ))
        .with_description(format!(
            "1Password {} {}",
            resource.display_name, resource.id.resource_type
        ))
        .grantable_to(["user"])
}

/// The slug part of an entitlement id `type:id:slug`; ids of any other shape are refused.
pub fn slug_of(entitlement: &Entitlement) -> Result<String> {
    let parts: Vec<&str> = entitlement.id().splitn(4, ':').collect();
    if parts.len() != 3 || parts[2].is_empty() {
        return Err(Error::invalid_argument(format!(
            "could not extract the permission: invalid entitlement id {:?} (expected type:id:slug)",
            entitlement.id()
        )));
    }
    Ok(parts[2].to_string())
}

/// `op <noun> list` as one page of the account's children. The account is the only
/// top-level parent, so a listing without one (the top-level pass) is empty; `map` skips
/// an object by returning `None` (1Password objects without an id cannot be referenced).
pub(crate) async fn list_under_account<T: DeserializeOwned>(
    client: &OpClient,
    parent: Option<&ResourceId>,
    noun: &str,
    map: impl Fn(&T, &ResourceId) -> Option<Resource>,
) -> Result<Page<Resource>> {
    let Some(account) = parent else {
        return Ok(Page::empty());
    };
    let items: Vec<T> = client
        .json(&format!("listing {noun}s"), &[noun, "list"], &[])
        .await?;
    Ok(Page::last(
        items.iter().filter_map(|i| map(i, account)).collect(),
    ))
}

/// One `noun` by id (`op <noun> get <id>`), as a resource under `parent` or, when the
/// caller names none, under the signed-in account (a targeted sync). `NotFound` when op
/// says the id is not one of the account's.
pub(crate) async fn get_under_account<T: DeserializeOwned>(
    client: &OpClient,
    id: &ResourceId,
    parent: Option<&ResourceId>,
    noun: &str,
    map: impl Fn(&T, &ResourceId) -> Option<Resource>,
) -> Result<Resource> {
    let account = match parent {
        Some(p) => p.clone(),
        None => ResourceId::new(account_type().id, client.account(false).await?.id),
    };
    let gone = format!("isn't a {noun}");
    let item: T = client
        .json(
            &format!("reading {noun} {}", id.resource),
            &[noun, "get"],
            &[&id.resource],
        )
        .await
        .map_err(|e| {
            // `op <noun> get` of an id the account does not hold: "… isn't a <noun> in this
            // account" (elsewhere op_error keeps that an internal error).
            if e.api_message().is_some_and(|m| m.contains(&gone)) {
                Error::not_found(format!("1Password has no {noun} {}", id.resource))
            } else {
                e
            }
        })?;
    map(&item, &account).ok_or_else(|| {
        Error::not_found(format!("1Password returned no {noun} for {}", id.resource))
    })
}
