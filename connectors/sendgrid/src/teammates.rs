//! The `teammate` resource type: teammates and pending invitations; each teammate's
//! `access` entitlement with its subuser-access grants, and the scopes it holds (grants of
//! `scope` entitlements, listed from this side); invitations (account creation) and
//! deletion.

use async_trait::async_trait;
use connector_sdk::prelude::*;

use crate::client::{PAGE_SIZE, PendingInvite, SendgridClient, Teammate, teammate_profile};
use crate::scopes::held_scope_grants;

/// The id prefix of pending invitations.
pub const PENDING_PREFIX: &str = "pending:";

/// The `teammate` resource type.
pub fn teammate_type() -> ResourceType {
    ResourceType::new("teammate", "teammate")
        .with_trait(TraitKind::User)
        .with_description("A SendGrid teammate (account user), or a pending invitation")
}

/// A teammate as a resource (id = username).
pub fn teammate_resource(t: &Teammate) -> Resource {
    let mut user = UserTrait::default()
        .with_login(&t.email)
        .with_status(UserStatus::Enabled)
        .with_profile(teammate_profile(t));
    if !t.email.is_empty() {
        user = user.with_email(&t.email, true);
    }
    Resource::new(&teammate_type(), &t.username, &t.username).with_user_trait(user)
}

/// A pending invitation as a not-yet-enabled teammate (id = `pending:<token>`).
pub fn pending_resource(p: &PendingInvite) -> Resource {
    let mut profile = profile! {
        "pending": true, "email": p.email, "is_admin": p.is_admin, "scopes": p.scopes,
    };
    if let Some(e) = p.expiration_date {
        profile.insert("expiration_date".into(), e.into());
    }
    let user = UserTrait::default()
        .with_email(&p.email, true)
        .with_login(&p.email)
        .with_status(UserStatus::Disabled)
        .with_status_details("invitation pending")
        .with_profile(profile);
    Resource::new(
        &teammate_type(),
        format!("{PENDING_PREFIX}{}", p.token),
        &p.email,
    )
    .with_user_trait(user)
}

/// The `access` entitlement of a teammate: access to subusers.
pub fn access_entitlement(teammate: &Resource) -> Entitlement {
    Entitlement::assignment(teammate, "access")
        .with_display_name(format!("{} can access Subuser", teammate.id.resource))
        .with_description("Teammate access to Subuser")
        .grantable_to(["subuser"])
}

/// Lists teammates, creates (invites) and deletes them.
pub struct TeammateSyncer {
    client: SendgridClient,
    ignore_subusers: bool,
}

impl TeammateSyncer {
    /// A syncer; `ignore_subusers` skips subuser access entirely.
    pub fn new(client: SendgridClient, ignore_subusers: bool) -> Self {
        TeammateSyncer {
            client,
            ignore_subusers,
        }
    }
}

const PENDING_TOKEN: &str = "pending";

#[async_trait]
impl ResourceSyncer for TeammateSyncer {
    fn resource_type(&self) -> ResourceType {
        teammate_type()
    }

    /// Teammates 500 at a time (offset += page length), then one page of pending invitations.
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        if page
            .token
            .as_ref()
            .is_some_and(|t| t.as_str() == PENDING_TOKEN)
        {
            let invites = self.client.list_pending().await?;
            return Ok(Page::last(
                invites
                    .iter()
                    .filter(|i| !i.token.is_empty())
                    .map(pending_resource)
                    .collect(),
            ));
        }
        // Teammates page by offset; after the last page comes the one page of invitations.
        let mut teammates = self.client.teammates_page(page).await?;
        teammates.items.retain(|t| !t.username.is_empty());
        let mut resources = teammates.map(|t| teammate_resource(&t));
        resources.next = resources.next.or(Some(PageToken::new(PENDING_TOKEN)));
        Ok(resources)
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        if self.ignore_subusers || resource.id.resource.starts_with(PENDING_PREFIX) {
            return Ok(Page::empty());
        }
        Ok(Page::last(vec![access_entitlement(resource)]))
    }

    /// The teammate's grants: on the first page the scopes it holds, from its detail
    /// (`GET /v3/teammates/{username}`, spec §4.2; see [`held_scope_grants`]), then the
    /// subusers it can access, paged by `after_subuser_id` (none when subusers are
    /// ignored). A teammate deleted since it was listed is `NotFound` (a warning).
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (resource, page) = (&req.resource, req.page);
        if resource.id.resource.starts_with(PENDING_PREFIX) {
            return Ok(Page::empty());
        }
        let after = match &page.token {
            None => None,
            Some(t) => Some(t.as_str().parse::<u64>().map_err(|_| {
                Error::invalid_argument(format!(
                    "malformed page token {:?}: expected a subuser id",
                    t.as_str()
                ))
            })?),
        };
        let username = &resource.id.resource;
        let mut grants = Vec::new();
        if after.is_none() {
            let detail = self.client.get_teammate(username).await.map_err(|e| {
                if e.kind() == ErrorKind::NotFound {
                    Error::not_found(format!(
                        "SendGrid teammate {username} was deleted during the sync"
                    ))
                } else {
                    e
                }
            })?;
            grants.extend(held_scope_grants(&detail));
        }
        if self.ignore_subusers {
            return Ok(Page::last(grants));
        }
        let access = match self.client.subuser_access(username, after).await {
            Ok(a) => a,
            // Undocumented for some teammates (e.g. the owner): no access rather than a failed sync.
            Err(e) if matches!(e.kind(), ErrorKind::InvalidArgument) => {
                tracing::warn!(teammate = %username, error = %e, "subuser access could not be read; recording none");
                return Ok(Page::last(grants));
            }
            Err(e) => return Err(e),
        };
        let ent = access_entitlement(resource);
        let before = grants.len();
        grants.extend(
            access
                .subuser_access
                .iter()
                .map(|s| Grant::new(&ent, ResourceId::new("subuser", s.id.to_string()))),
        );
        let next = access
            .metadata
            .and_then(|m| m.next_params)
            .and_then(|n| n.after_subuser_id)
            .filter(|n| *n != 0 && Some(*n) != after && grants.len() > before)
            .map(|n| PageToken::new(n.to_string()));
        Ok(Page::new(grants, next))
    }

    /// Scope grants are listed from the teammate side (SendGrid answers "which scopes
    /// does this teammate hold", never "who holds this scope").
    fn emits_grants_for(&self) -> Vec<String> {
        vec!["scope".into()]
    }

    fn account_manager(&self) -> Option<&dyn AccountManager> {
        Some(self)
    }

    fn deleter(&self) -> Option<&dyn ResourceDeleter> {
        Some(self)
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }
}

/// One teammate by username: `GET /v3/teammates/{username}`; a pending invitation
/// (`pending:<token>`) is looked up among the pending invitations (SendGrid has no
/// single-invitation read).
#[async_trait]
impl ResourceGetter for TeammateSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
        if let Some(token) = id.resource.strip_prefix(PENDING_PREFIX) {
            return self
                .client
                .list_pending()
                .await?
                .iter()
                .find(|p| p.token == token)
                .map(pending_resource)
                .ok_or_else(|| {
                    Error::not_found(format!("SendGrid has no pending invitation {token}"))
                });
        }
        match self.client.get_teammate(&id.resource).await {
            Ok(t) => Ok(teammate_resource(&t)),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::not_found(format!(
                "SendGrid has no teammate {}",
                id.resource
            ))),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl AccountManager for TeammateSyncer {
    fn account_schema(&self) -> Vec<FieldSchema> {
        vec![
            FieldSchema::new("is_admin", FieldType::Bool)
                .with_description("Invite as an admin (admins hold every scope)"),
            FieldSchema::new("scopes", FieldType::StringList).with_description(
                "Scopes of the new teammate (default user.profile.read; ignored for admins)",
            ),
        ]
    }

    /// Invites `email`; the teammate exists once the invitation is accepted.
    async fn create_account(&self, req: AccountRequest) -> Result<AccountOutcome> {
        let info = &req.info;
        let email = info
            .email
            .clone()
            .or_else(|| info.login.clone())
            .map(|e| e.trim().to_string())
            .filter(|e| e.contains('@'))
            .ok_or_else(|| {
                Error::invalid_argument(
                    "a SendGrid invitation needs an email address (--create-account-email)",
                )
            })?;
        let is_admin = info
            .profile
            .get("is_admin")
            .and_then(|v| v.as_bool())
            .unwrap_or(false);
        let scopes: Vec<String> = match info.profile.get("scopes").and_then(|v| v.as_array()) {
            Some(list) => list
                .iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect(),
            None => vec!["user.profile.read".to_string()],
        };
        // Already a teammate or invited: report it rather than inviting twice.
        let pending = self.client.list_pending().await?;
        if let Some(p) = pending
            .iter()
            .find(|p| p.email.eq_ignore_ascii_case(&email))
        {
            return Ok(AccountOutcome::AlreadyExists {
                resource: pending_resource(p),
            });
        }
        let pager = OffsetPager::new(PAGE_SIZE);
        let mut offset = 0;
        loop {
            let page = self.client.list_teammates(offset, PAGE_SIZE).await?;
            if let Some(t) = page.iter().find(|t| t.email.eq_ignore_ascii_case(&email)) {
                return Ok(AccountOutcome::AlreadyExists {
                    resource: teammate_resource(t),
                });
            }
            match pager.next(offset, page.len(), None) {
                Some(t) => offset = pager.offset(Some(&t))?,
                None => break,
            }
        }
        let invite = self.client.invite(&email, &scopes, is_admin).await?;
        Ok(AccountOutcome::ActionRequired {
            message: format!("invitation sent to {email}; the teammate exists once they accept it"),
            resource: Some(pending_resource(&invite)),
        })
    }
}

#[async_trait]
impl ResourceDeleter for TeammateSyncer {
    /// Deletes a teammate, or a pending invitation when the id is `pending:<token>`.
    async fn delete(&self, req: DeleteRequest) -> Result<DeleteOutcome> {
        let id = &req.id;
        if id.resource_type != "teammate" {
            return Err(Error::invalid_argument(format!(
                "only teammates can be deleted, not {id}"
            )));
        }
        let deleted = match id.resource.strip_prefix(PENDING_PREFIX) {
            Some(token) => self.client.delete_pending(token).await?,
            None => self.client.delete_teammate(&id.resource).await?,
        };
        Ok(if deleted {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::AlreadyDeleted
        })
    }
}
