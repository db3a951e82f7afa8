//! The `member_type` resource type: owner, member, marketer and any other value seen, each
//! with one `member` entitlement; grants from the users' `memberType`; fetching one member
//! type by value (targeted syncs); grant and revoke.

use std::collections::BTreeSet;

use async_trait::async_trait;
use connector_sdk::prelude::*;

use connector_sdk::scim::User;

use crate::client::{ValimailClient, member_type};
use crate::users::UserCache;

/// The member types every account has.
pub const STATIC_TYPES: [&str; 3] = ["owner", "member", "marketer"];
/// The member type every user falls back to; it cannot be revoked.
pub const BASELINE: &str = "member";

/// The `member_type` resource type.
pub fn member_type_type() -> ResourceType {
    ResourceType::new("member_type", "Member Type")
        .with_trait(TraitKind::Role)
        .with_description("A Valimail member type; every user has exactly one")
}

fn display(value: &str) -> String {
    let mut chars = value.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// The resource of member type `value` (lower-cased).
pub fn member_type_resource(value: &str) -> Resource {
    let value = value.to_lowercase();
    let d = display(&value);
    Resource::new(&member_type_type(), &value, &d)
        .with_description(format!("Valimail {d} member type"))
        .with_role_trait(RoleTrait::default())
}

/// The `member` entitlement of a member-type resource.
pub fn member_entitlement(resource: &Resource) -> Entitlement {
    let d = display(&resource.id.resource);
    Entitlement::assignment(resource, "member")
        .with_display_name(format!("{d} Member Type"))
        .with_description(format!("Has the {d} member type in Valimail"))
        .grantable_to(["user"])
}

/// Lists member types, their grants, and grants/revokes them.
pub struct MemberTypeSyncer {
    client: ValimailClient,
}

impl MemberTypeSyncer {
    /// A syncer over `client`. The user enumeration it needs is kept in the sync's context
    /// ([`UserCache`]), shared by every member-type listing of one sync.
    pub fn new(client: ValimailClient) -> Self {
        MemberTypeSyncer { client }
    }
}

#[async_trait]
impl ResourceSyncer for MemberTypeSyncer {
    fn resource_type(&self) -> ResourceType {
        member_type_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        // One page: the static types, then any other value seen on a user. The users are
        // enumerated once per sync (the cache lives in the sync's context).
        let users = req.context.shared::<UserCache>().get(&self.client).await?;
        let mut seen: BTreeSet<String> = users.iter().filter_map(member_type).collect();
        let mut values: Vec<String> = STATIC_TYPES.iter().map(|s| s.to_string()).collect();
        for s in STATIC_TYPES {
            seen.remove(s);
        }
        values.extend(seen);
        Ok(Page::last(
            values.iter().map(|v| member_type_resource(v)).collect(),
        ))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![member_entitlement(resource)]))
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let resource = &req.resource;
        let users = req.context.shared::<UserCache>().get(&self.client).await?;
        let ent = member_entitlement(resource);
        let grants = users
            .iter()
            .filter(|u| member_type(u).as_deref() == Some(resource.id.resource.as_str()))
            .map(|u| Grant::new(&ent, ResourceId::new("user", &u.id)))
            .collect();
        Ok(Page::last(grants))
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }
}

/// A listing failure while looking for a member type: a 404 from the user listing says
/// the account slug is unknown (spec §2.4) or a gateway answered, never that the member
/// type is gone, so it is no `NotFound` (which a targeted sync records as a vanished
/// resource).
fn listing_failed(e: Error, value: &str) -> Error {
    if e.kind() != ErrorKind::NotFound {
        return e;
    }
    let mut out = Error::new(
        ErrorKind::Unavailable,
        format!(
            "looking for users of member type {value:?}: {}; the account (--valimail-slug) or a gateway answered 404, which does not say whether the member type exists",
            e.message()
        ),
    );
    if let Some(s) = e.http_status() {
        out = out.with_http_status(s);
    }
    out
}

/// One member type by value (targeted syncs). The static types exist in every account
/// (spec §3.3) and cost no request. Any other value exists while a user has it, as the
/// listing sees it: first Valimail's documented filter on the extension's `memberType`
/// (spec §4.2; one request for one user); when that finds no such user, or Valimail
/// refuses the filter (400, 501), every user is read, as the listing does, so a value is
/// `NotFound` only when no user has it. An id the listing could never produce (not
/// lower-case, padded, empty) is `NotFound` without a request.
#[async_trait]
impl ResourceGetter for MemberTypeSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
        let value = id.resource.as_str();
        if STATIC_TYPES.contains(&value) {
            return Ok(member_type_resource(value));
        }
        let missing =
            || Error::not_found(format!("no Valimail user has the member type {value:?}"));
        if value.is_empty() || value.trim() != value || value.to_lowercase() != value {
            return Err(missing());
        }
        let has = |u: &User| member_type(u).as_deref() == Some(value);
        match self.client.find_by_member_type(value, 1).await {
            Ok(found) if found.iter().any(has) => return Ok(member_type_resource(value)),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::InvalidArgument | ErrorKind::Unimplemented
                ) =>
            {
                tracing::debug!(error = %e, "Valimail refused the memberType filter; reading every user");
            }
            Err(e) => return Err(listing_failed(e, value)),
        }
        let users = UserCache::default()
            .get(&self.client)
            .await
            .map_err(|e| listing_failed(e, value))?;
        if users.iter().any(has) {
            Ok(member_type_resource(value))
        } else {
            Err(missing())
        }
    }
}

#[async_trait]
impl Provisioner for MemberTypeSyncer {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        if principal.id.resource_type != "user" {
            return Err(Error::invalid_argument(format!(
                "member types can be granted to users only, not to {}",
                principal.id
            )));
        }
        let value = entitlement.resource().resource.to_lowercase();
        let user = self
            .client
            .get_user(&principal.id.resource)
            .await?
            .ok_or_else(|| {
                Error::not_found(format!(
                    "Valimail user {} does not exist",
                    principal.id.resource
                ))
            })?;
        if member_type(&user).as_deref() == Some(value.as_str()) {
            return Ok(GrantOutcome::AlreadyExists);
        }
        self.client.set_member_type(&user.id, &value).await?;
        Ok(req.granted())
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        let value = grant.entitlement_resource().resource.to_lowercase();
        let Some(user) = self.client.get_user(&grant.principal().resource).await? else {
            return Ok(RevokeOutcome::AlreadyRevoked);
        };
        if member_type(&user).as_deref() != Some(value.as_str()) {
            return Ok(RevokeOutcome::AlreadyRevoked);
        }
        if value == BASELINE {
            return Err(Error::failed_precondition(
                "Valimail users must have a member type; grant another member type or use the disable_user action",
            ));
        }
        self.client.set_member_type(&user.id, BASELINE).await?;
        Ok(RevokeOutcome::Revoked)
    }
}
