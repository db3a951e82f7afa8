//! The `user` resource type: SCIM users mapped by the file's `user` paths; the roles and
//! (with `hasGroupsOnUser`) the groups each user holds, as grants from the user's side;
//! account creation and deletion where the file allows provisioning.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use connector_sdk::prelude::*;
use connector_sdk::scim::{Created, display_name, filter_eq, looks_like_email};
use serde_json::{Value, json};

use crate::client::{GROUPS, ScimApi, USERS};
use crate::groups::{group_member_entitlement, read_group};
use crate::provider::{Provider, UserMapping};
use crate::roles::{RoleRef, read_roles, role_member_entitlement};

/// Users whose memberships are kept between their listing and their grants, per sync;
/// past this, grants read the user again.
pub const MAX_REMEMBERED: usize = 100_000;

/// The `user` resource type.
pub fn user_type() -> ResourceType {
    ResourceType::new("user", "User")
        .with_trait(TraitKind::User)
        .with_description("A user of the SCIM application")
}

/// A group reference on a user (`userGroup`): its id, or its name to look it up by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRef {
    /// The group's id, when the file maps `userGroup.id` and the reference has one.
    pub id: Option<String>,
    /// The group's display name.
    pub name: Option<String>,
}

/// A user as the provider file reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUser {
    /// `user.id`.
    pub id: String,
    /// `user.userName`: the login.
    pub user_name: Option<String>,
    /// `user.firstName`.
    pub first_name: Option<String>,
    /// `user.lastName`.
    pub last_name: Option<String>,
    /// `user.primaryEmail`, else `user.firstEmail`.
    pub email: Option<String>,
    /// `user.active` is `true` (or `"true"`).
    pub active: bool,
    /// The roles (`user.roles`).
    pub roles: Vec<RoleRef>,
    /// The groups (`user.userGroup`, with `hasGroupsOnUser`).
    pub groups: Vec<GroupRef>,
}

/// Reads one user; `Err` says why the record is skipped (it has no id).
pub fn read_user(provider: &Provider, v: &Value) -> std::result::Result<ScimUser, String> {
    let m = &provider.user;
    let id = m.id.text(v).ok_or_else(|| {
        format!(
            "a user without an id at user.id ({:?}) is skipped",
            m.id.as_str()
        )
    })?;
    let active = match m.active.eval(v) {
        Ok(Value::Bool(b)) => b,
        Ok(Value::String(s)) => s.trim().eq_ignore_ascii_case("true"),
        _ => false,
    };
    let groups = if m.has_groups_on_user {
        read_group_refs(m, v)
    } else {
        Vec::new()
    };
    Ok(ScimUser {
        user_name: m.user_name.text(v),
        first_name: m.first_name.text(v),
        last_name: m.last_name.text(v),
        email: read_email(m, v),
        active,
        roles: read_roles(provider, v),
        groups,
        id,
    })
}

/// `primaryEmail` (a non-empty list's first string, or a string), else `firstEmail`;
/// none with `skipUserEmails`. A user without an email is kept, without one.
fn read_email(m: &UserMapping, v: &Value) -> Option<String> {
    if m.skip_user_emails {
        return None;
    }
    let first_text = |value: Value| match value {
        Value::String(s) => Some(s),
        Value::Array(items) => items.into_iter().find_map(|i| match i {
            Value::String(s) => Some(s),
            _ => None,
        }),
        _ => None,
    };
    [&m.primary_email, &m.first_email]
        .into_iter()
        .filter_map(|p| p.eval(v).ok().and_then(first_text))
        .map(|s| s.trim().to_string())
        .find(|s| !s.is_empty())
}

fn read_group_refs(m: &UserMapping, v: &Value) -> Vec<GroupRef> {
    let Some(ug) = &m.user_group else {
        return Vec::new();
    };
    let items = match ug.path.eval(v) {
        Ok(Value::Array(items)) => items,
        Ok(obj @ Value::Object(_)) => vec![obj],
        _ => return Vec::new(),
    };
    items
        .iter()
        .map(|g| GroupRef {
            id: ug.id.text(g),
            name: ug.name.text(g),
        })
        .filter(|g| g.id.is_some() || g.name.is_some())
        .collect()
}

/// Maps a user to a `user` resource: status from `active`, the email, the name,
/// `userName` as the login, and baton-scim's profile keys.
pub fn user_resource(u: &ScimUser) -> Resource {
    let login = u.user_name.clone().unwrap_or_default();
    let display = display_name(
        u.first_name.as_deref(),
        u.last_name.as_deref(),
        u.email
            .as_deref()
            .filter(|_| login.is_empty())
            .unwrap_or(&login),
        &u.id,
    );
    let mut profile = Profile::new();
    profile.insert("user_id".into(), u.id.clone().into());
    for (k, v) in [
        ("first_name", &u.first_name),
        ("last_name", &u.last_name),
        ("username", &u.user_name),
        ("login", &u.email),
    ] {
        if let Some(v) = v {
            profile.insert(k.into(), v.clone().into());
        }
    }
    let mut user = UserTrait::default()
        .with_status(UserStatus::enabled_if(u.active))
        .with_profile(profile);
    if !login.is_empty() {
        user = user.with_login(&login);
    }
    if u.first_name.is_some() || u.last_name.is_some() {
        user = user.with_name(
            u.first_name.clone().unwrap_or_default(),
            u.last_name.clone().unwrap_or_default(),
        );
    }
    if let Some(email) = &u.email {
        user = user.with_email(email, true);
    }
    Resource::new(&user_type(), &u.id, display).with_user_trait(user)
}

/// The users read in this sync, by id, until their grants are emitted (then forgotten).
#[derive(Default)]
pub struct Remembered(Mutex<HashMap<String, Arc<ScimUser>>>);

impl Remembered {
    fn put(&self, u: &ScimUser) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() < MAX_REMEMBERED {
            map.insert(u.id.clone(), Arc::new(u.clone()));
        }
    }

    fn take(&self, id: &str) -> Option<Arc<ScimUser>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
    }
}

/// Group ids found by name in this sync (`userGroup` without `id`).
type GroupsByName = Memo<String, Option<String>>;

/// Lists users, emits their role and group grants, creates and deletes accounts.
pub struct UserSyncer {
    api: ScimApi,
}

impl UserSyncer {
    /// A syncer over `api`.
    pub fn new(api: ScimApi) -> Self {
        UserSyncer { api }
    }

    /// Whether the file allows account changes: it has a `provisioning` section and reads
    /// users by the core attributes (`userName`, `active`) a `POST /Users` and a
    /// `PATCH active` write.
    pub fn manages_accounts(provider: &Provider) -> bool {
        let p = &provider.provisioning;
        let provisions = p.add_user_to_group.is_some()
            || p.remove_user_from_group.is_some()
            || p.add_user_role.is_some()
            || p.remove_user_role.is_some();
        provisions
            && provider.user.user_name.as_str().trim() == "userName"
            && provider.user.active.as_str().trim() == "active"
    }

    /// One user by id, read fresh; `None` when the server has none.
    pub async fn fetch(&self, id: &str) -> Result<Option<ScimUser>> {
        let Some(v) = self.api.get(USERS, id).await? else {
            return Ok(None);
        };
        read_user(self.api.provider(), &v)
            .map(Some)
            .map_err(|why| Error::internal(format!("GET /Users/{id}: {why}")))
    }

    /// The id of the group a reference names: its own id, else the group found by its
    /// display name (once per name per sync). `None` (with a warning) when no group has
    /// that name.
    pub async fn group_id(&self, r: &GroupRef, ctx: &SyncContext) -> Result<Option<String>> {
        if let Some(id) = &r.id {
            return Ok(Some(id.clone()));
        }
        let Some(name) = r.name.clone() else {
            return Ok(None);
        };
        let memo = ctx.shared::<GroupsByName>();
        let api = self.api.clone();
        let provider = self.api.provider().clone();
        let found = memo
            .get_or_try_init(name.clone(), || async move {
                let group = api.find_group_by_name(&name).await?;
                Ok(group
                    .and_then(|g| read_group(&provider, &g).ok())
                    .map(|g| g.id))
            })
            .await?;
        if found.is_none() {
            self.api.warnings().warn(&format!(
                "no group is named {:?} (GET /{GROUPS}?filter={}); the membership is skipped",
                r.name.as_deref().unwrap_or_default(),
                filter_eq("displayName", r.name.as_deref().unwrap_or_default())
            ));
        }
        Ok(found)
    }
}

#[async_trait]
impl ResourceSyncer for UserSyncer {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }

    /// One page of `/Users`; with a total, the first page hands out every other page to
    /// fetch at once. A record without an id is skipped with a warning; paging goes by
    /// the number of records received, whatever `itemsPerPage` says.
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let remembered = req.context.shared::<Remembered>();
        let provider = self.api.provider();
        self.api
            .page_of(USERS, req.page.token.as_ref(), |item| {
                let u = read_user(provider, item)?;
                remembered.put(&u);
                Ok(user_resource(&u))
            })
            .await
    }

    /// The user's roles and (with `hasGroupsOnUser`) groups, from its listing or a fresh
    /// `GET /Users/{id}`.
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let id = &req.resource.id.resource;
        let user = match req.context.shared::<Remembered>().take(id) {
            Some(u) => u,
            None => match self.fetch(id).await? {
                Some(u) => Arc::new(u),
                None => {
                    return Err(Error::not_found(format!(
                        "user {id} was deleted during the sync"
                    )));
                }
            },
        };
        let mut grants = Vec::new();
        for role in &user.roles {
            let ent = role_member_entitlement(&crate::roles::role_resource(role));
            grants.push(Grant::new(&ent, req.resource.id.clone()));
        }
        let mut seen = std::collections::HashSet::new();
        for g in &user.groups {
            if let Some(gid) = self.group_id(g, &req.context).await?
                && seen.insert(gid.clone())
            {
                let group = Resource::with_id(ResourceId::new("group", gid), "");
                grants.push(Grant::new(
                    &group_member_entitlement(&group),
                    req.resource.id.clone(),
                ));
            }
        }
        Ok(Page::last(grants))
    }

    fn emits_grants_for(&self) -> Vec<String> {
        let p = self.api.provider();
        let mut out = Vec::new();
        if p.user.roles.is_some() {
            out.push("role".to_string());
        }
        if p.user.has_groups_on_user && p.group.is_some() {
            out.push("group".to_string());
        }
        out
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }

    fn account_manager(&self) -> Option<&dyn AccountManager> {
        Self::manages_accounts(self.api.provider()).then_some(self as &dyn AccountManager)
    }

    fn deleter(&self) -> Option<&dyn ResourceDeleter> {
        Self::manages_accounts(self.api.provider()).then_some(self as &dyn ResourceDeleter)
    }
}

/// One user by id: `GET /Users/{id}` (a targeted sync).
#[async_trait]
impl ResourceGetter for UserSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id.resource;
        let user = self
            .fetch(id)
            .await?
            .ok_or_else(|| Error::not_found(format!("the SCIM application has no user {id}")))?;
        req.context.shared::<Remembered>().put(&user);
        Ok(user_resource(&user))
    }
}

/// `POST /Users` with the core schema; a 409 finds the existing user by `userName`.
#[async_trait]
impl AccountManager for UserSyncer {
    fn credential_options(&self) -> Vec<CredentialOption> {
        vec![CredentialOption::NoPassword]
    }

    fn account_schema(&self) -> Vec<FieldSchema> {
        vec![
            FieldSchema::new("user_name", FieldType::String)
                .with_description("userName; defaults to the account's login or email"),
            FieldSchema::new("email", FieldType::String)
                .with_description("The work email; defaults to the account's email"),
            FieldSchema::new("first_name", FieldType::String).with_description("Given name"),
            FieldSchema::new("last_name", FieldType::String).with_description("Family name"),
        ]
    }

    async fn create_account(&self, req: AccountRequest) -> Result<AccountOutcome> {
        let info = &req.info;
        let user_name = info
            .profile_text("user_name")
            .or_else(|| info.email_or_login())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                Error::invalid_argument(
                    "account creation needs a userName (profile \"user_name\", the login or the email)",
                )
            })?;
        let email = info
            .profile_text("email")
            .or_else(|| info.email_or_login())
            .filter(|e| looks_like_email(e));
        let mut body = json!({
            "schemas": [connector_sdk::scim::USER],
            "userName": user_name,
            "active": true,
            "name": {
                "givenName": info.profile_text("first_name").unwrap_or_default(),
                "familyName": info.profile_text("last_name").unwrap_or_default(),
            },
        });
        if let Some(e) = email {
            body["emails"] = json!([{"value": e, "primary": true, "type": "work"}]);
        }
        let map = |v: &Value| {
            read_user(self.api.provider(), v)
                .map(|u| user_resource(&u))
                .map_err(|why| {
                    Error::internal(format!(
                        "POST /Users answered a user that cannot be read: {why}"
                    ))
                })
        };
        match self.api.create_user(&body).await? {
            Created::New(v) => Ok(AccountOutcome::Created {
                resource: map(&v)?,
                credentials: Vec::new(),
            }),
            Created::Conflict(detail) => {
                let found = self.api.find_users_by_user_name(&user_name).await?;
                let same = found.iter().find(|v| {
                    self.api
                        .provider()
                        .user
                        .user_name
                        .text(v)
                        .is_some_and(|n| n.eq_ignore_ascii_case(&user_name))
                });
                match same {
                    Some(v) => Ok(AccountOutcome::AlreadyExists { resource: map(v)? }),
                    None => Err(Error::new(ErrorKind::AlreadyExists, detail)),
                }
            }
        }
    }
}

/// `DELETE /Users/{id}`; a 404 is "already deleted".
#[async_trait]
impl ResourceDeleter for UserSyncer {
    async fn delete(&self, req: DeleteRequest) -> Result<DeleteOutcome> {
        Ok(if self.api.delete_user(&req.id.resource).await? {
            DeleteOutcome::Deleted
        } else {
            DeleteOutcome::AlreadyDeleted
        })
    }
}
