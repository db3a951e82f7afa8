//! An in-memory connector: a small stateful tenant with users, groups, folders and
//! documents, for tests, examples and the conformance kit's own tests.
//!
//! Resource types:
//!
//! | type | trait | entitlements | grants |
//! |---|---|---|---|
//! | `user` | user | — | — |
//! | `group` | group | `member` | one per member user |
//! | `folder` | — | — | — (declares child type `document`) |
//! | `document` | — | `read` (users, groups) | readers; group readers are expandable to members |
//!
//! Provisioning: `group:member` and `document:read` grant/revoke, user account creation
//! (optionally with a random password), user deletion, and the `enable_user` /
//! `disable_user` actions. Every listing pages `page_size` items at a time, so pagination
//! is exercised even on the tiny seed.

use crate::provision::GrantRequest;
use crate::provision::RevokeRequest;
use crate::syncer::EntitlementsRequest;
use crate::syncer::GrantsRequest;
use crate::syncer::ListRequest;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::account::{AccountInfo, AccountManager, AccountOutcome, Credential, CredentialOption};
use crate::action::{ActionHandler, ActionSchema, ActionType};
use crate::connector::{Connector, ConnectorMetadata};
use crate::delete::{DeleteOutcome, ResourceDeleter};
use crate::error::{Error, ErrorKind, Result};
use crate::getter::ResourceGetter;
use crate::model::{
    Entitlement, Grant, GroupTrait, Profile, Resource, ResourceId, ResourceType, TraitKind,
    UserStatus, UserTrait, entitlement_id,
};
use crate::page::{OffsetPager, Page, PageRequest};
use crate::provision::{GrantOutcome, Provisioner, RevokeOutcome};
use crate::schema::{FieldSchema, FieldType};
use crate::syncer::ResourceSyncer;

/// A user of the in-memory tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemUser {
    /// Display name.
    pub name: String,
    /// Email address (also the login).
    pub email: String,
    /// Whether the account is enabled.
    pub enabled: bool,
}

/// A group of the in-memory tenant.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemGroup {
    /// Display name.
    pub name: String,
    /// Ids of member users.
    pub members: BTreeSet<String>,
}

/// A document of the in-memory tenant, inside a folder.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MemDocument {
    /// Display name.
    pub name: String,
    /// Id of the folder holding it.
    pub folder: String,
    /// Principals (as `ResourceId`s of users or groups) that may read it.
    pub readers: BTreeSet<ResourceId>,
}

/// The whole state of the in-memory tenant, keyed by id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TenantState {
    /// Users by id.
    pub users: BTreeMap<String, MemUser>,
    /// Groups by id.
    pub groups: BTreeMap<String, MemGroup>,
    /// Folder names by id.
    pub folders: BTreeMap<String, String>,
    /// Documents by id.
    pub documents: BTreeMap<String, MemDocument>,
    #[serde(default)]
    next_user: u64,
}

impl TenantState {
    /// A small tenant: 5 users (one disabled), 2 groups, 2 folders and 3 documents.
    pub fn seeded() -> Self {
        let mut s = TenantState::default();
        for (id, name, enabled) in [
            ("u1", "Ada Lovelace", true),
            ("u2", "Bob Builder", true),
            ("u3", "Cy Young", true),
            ("u4", "Di Prince", false),
            ("u5", "Ed Wood", true),
        ] {
            s.users.insert(
                id.into(),
                MemUser {
                    name: name.into(),
                    email: format!(
                        "{}@example.com",
                        name.split(' ').next().unwrap_or(id).to_lowercase()
                    ),
                    enabled,
                },
            );
        }
        s.next_user = 6;
        s.groups.insert(
            "g1".into(),
            MemGroup {
                name: "Engineering".into(),
                members: ["u1", "u2", "u3"].into_iter().map(String::from).collect(),
            },
        );
        s.groups.insert(
            "g2".into(),
            MemGroup {
                name: "Finance".into(),
                members: ["u4"].into_iter().map(String::from).collect(),
            },
        );
        s.folders.insert("f1".into(), "Handbook".into());
        s.folders.insert("f2".into(), "Ledgers".into());
        let doc = |name: &str, folder: &str, readers: &[(&str, &str)]| MemDocument {
            name: name.into(),
            folder: folder.into(),
            readers: readers
                .iter()
                .map(|(t, id)| ResourceId::new(*t, *id))
                .collect(),
        };
        s.documents.insert(
            "d1".into(),
            doc("Onboarding", "f1", &[("group", "g1"), ("user", "u5")]),
        );
        s.documents
            .insert("d2".into(), doc("Holidays", "f1", &[("user", "u1")]));
        s.documents
            .insert("d3".into(), doc("Q3 ledger", "f2", &[("group", "g2")]));
        s
    }

    /// Reads a tenant saved with [`TenantState::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::from(e).context(format!("reading tenant state {}", path.display()))
        })?;
        serde_json::from_str(&text).map_err(|e| {
            Error::invalid_argument(format!(
                "{} is not a tenant state file: {e}",
                path.display()
            ))
        })
    }

    /// Saves the tenant as JSON (written to a temp file, then renamed).
    pub fn save(&self, path: &Path) -> Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }

    /// A large synthetic tenant: `users` users, `groups` groups with
    /// `members_per_group` members each (round robin), and no documents.
    pub fn synthetic(users: usize, groups: usize, members_per_group: usize) -> Self {
        let mut s = TenantState::default();
        for i in 0..users {
            s.users.insert(
                format!("u{i}"),
                MemUser {
                    name: format!("User {i}"),
                    email: format!("user{i}@example.com"),
                    enabled: i % 10 != 0,
                },
            );
        }
        s.next_user = users as u64;
        for g in 0..groups {
            let members = (0..members_per_group.min(users))
                .map(|k| format!("u{}", (g * members_per_group + k) % users.max(1)))
                .collect();
            s.groups.insert(
                format!("g{g}"),
                MemGroup {
                    name: format!("Group {g}"),
                    members,
                },
            );
        }
        s
    }
}

/// The in-memory connector. Cloning shares the tenant.
///
/// ```
/// use connector_sdk::testing::MemoryConnector;
/// # futures::executor::block_on(async {
/// let connector = MemoryConnector::seeded().with_page_size(2);
/// let report = connector_sdk::testing::assert_conformance(&connector).await;
/// assert_eq!(report.resources, 5 + 2 + 2 + 3);
/// # });
/// ```
#[derive(Clone)]
pub struct MemoryConnector {
    state: Arc<Shared>,
    page_size: u32,
    random_passwords: bool,
}

impl MemoryConnector {
    /// A connector over `state`, paging 2 items at a time.
    pub fn new(state: TenantState) -> Self {
        MemoryConnector {
            state: Arc::new(Shared {
                state: Mutex::new(state),
                persist: None,
            }),
            page_size: 2,
            random_passwords: false,
        }
    }

    /// A connector over the tenant saved at `path`, seeding it there when the file does
    /// not exist; every change is saved back, so separate processes share the tenant.
    pub fn persistent(path: &Path) -> Result<Self> {
        let state = if path.exists() {
            TenantState::load(path)?
        } else {
            let s = TenantState::seeded();
            s.save(path)?;
            s
        };
        Ok(MemoryConnector {
            state: Arc::new(Shared {
                state: Mutex::new(state),
                persist: Some(path.to_path_buf()),
            }),
            page_size: 2,
            random_passwords: false,
        })
    }

    /// A connector over [`TenantState::seeded`].
    pub fn seeded() -> Self {
        Self::new(TenantState::seeded())
    }

    /// Makes account creation generate a random password by default (as a vault-backed
    /// SaaS does), so credential delivery can be exercised.
    pub fn with_random_passwords(mut self) -> Self {
        self.random_passwords = true;
        self
    }

    /// Sets the page size of every listing.
    pub fn with_page_size(mut self, page_size: u32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// A copy of the tenant's current state.
    pub fn snapshot(&self) -> TenantState {
        self.state.lock().clone()
    }

    /// Changes the tenant's state in place.
    pub fn update(&self, f: impl FnOnce(&mut TenantState)) {
        f(&mut self.state.lock_mut());
    }
}

/// The tenant shared by the connector's syncers, optionally saved to a file after every
/// change (so that separate processes see each other's grants).
struct Shared {
    state: Mutex<TenantState>,
    persist: Option<PathBuf>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, TenantState> {
        // A panic in another test thread must not poison every later call.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn lock_mut(&self) -> SavingGuard<'_> {
        SavingGuard {
            guard: self.lock(),
            persist: self.persist.as_deref(),
        }
    }
}

/// A lock on the tenant that saves it to the persistence file when released.
struct SavingGuard<'a> {
    guard: MutexGuard<'a, TenantState>,
    persist: Option<&'a Path>,
}

impl std::ops::Deref for SavingGuard<'_> {
    type Target = TenantState;
    fn deref(&self) -> &TenantState {
        &self.guard
    }
}

impl std::ops::DerefMut for SavingGuard<'_> {
    fn deref_mut(&mut self) -> &mut TenantState {
        &mut self.guard
    }
}

impl Drop for SavingGuard<'_> {
    fn drop(&mut self) {
        if let Some(path) = self.persist
            && let Err(e) = self.guard.save(path)
        {
            tracing::warn!(path = %path.display(), error = %e, "could not save the in-memory tenant");
        }
    }
}

/// Resource types of the in-memory tenant.
pub mod types {
    use super::*;

    /// `user`, with the user trait.
    pub fn user() -> ResourceType {
        ResourceType::new("user", "User").with_trait(TraitKind::User)
    }
    /// `group`, with the group trait.
    pub fn group() -> ResourceType {
        ResourceType::new("group", "Group").with_trait(TraitKind::Group)
    }
    /// `folder`, parent of documents; no entitlements.
    pub fn folder() -> ResourceType {
        ResourceType::new("folder", "Folder").skip_entitlements_and_grants()
    }
    /// `document`, listed under its folder.
    pub fn document() -> ResourceType {
        ResourceType::new("document", "Document")
    }
}

fn page_of<T: Clone>(all: Vec<T>, page: &PageRequest, size: u32) -> Result<Page<T>> {
    let pager = OffsetPager::new(size);
    let offset = pager.offset(page.token.as_ref())?;
    let items: Vec<T> = all
        .iter()
        .skip(offset as usize)
        .take(size as usize)
        .cloned()
        .collect();
    let next = pager.next(offset, items.len(), Some(all.len() as u64));
    Ok(Page::new(items, next))
}

fn user_resource(id: &str, u: &MemUser) -> Resource {
    let status = if u.enabled {
        UserStatus::Enabled
    } else {
        UserStatus::Disabled
    };
    let (given, family) = u.name.split_once(' ').unwrap_or((&u.name, ""));
    Resource::new(&types::user(), id, &u.name).with_user_trait(
        UserTrait::default()
            .with_email(&u.email, true)
            .with_login(&u.email)
            .with_status(status)
            .with_name(given, family),
    )
}

fn group_resource(id: &str, g: &MemGroup) -> Resource {
    let mut profile = Profile::new();
    profile.insert("member_count".into(), g.members.len().into());
    Resource::new(&types::group(), id, &g.name).with_group_trait(GroupTrait { profile })
}

fn member_entitlement(group: &Resource) -> Entitlement {
    Entitlement::assignment(group, "member")
        .with_display_name(format!("{} member", group.display_name))
        .grantable_to(["user"])
}

fn read_entitlement(doc: &Resource) -> Entitlement {
    Entitlement::permission(doc, "read")
        .with_display_name(format!("Read {}", doc.display_name))
        .grantable_to(["user", "group"])
}

fn document_resource(id: &str, d: &MemDocument) -> Resource {
    Resource::new(&types::document(), id, &d.name).with_parent(ResourceId::new("folder", &d.folder))
}

fn check_principal(principal: &Resource, allowed: &[&str], what: &str) -> Result<()> {
    if allowed.contains(&principal.id.resource_type.as_str()) {
        Ok(())
    } else {
        Err(Error::invalid_argument(format!(
            "{what} can be granted to [{}], not to {}",
            allowed.join(", "),
            principal.id
        )))
    }
}

struct UserSyncer {
    state: Arc<Shared>,
    page_size: u32,
    random_passwords: bool,
}

#[async_trait]
impl ResourceSyncer for UserSyncer {
    fn resource_type(&self) -> ResourceType {
        types::user()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let all: Vec<Resource> = self
            .state
            .lock()
            .users
            .iter()
            .map(|(id, u)| user_resource(id, u))
            .collect();
        page_of(all, &page, self.page_size)
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

#[async_trait]
impl ResourceGetter for UserSyncer {
    async fn get(&self, id: &ResourceId, _parent: Option<&ResourceId>) -> Result<Resource> {
        self.state
            .lock()
            .users
            .get(&id.resource)
            .map(|u| user_resource(&id.resource, u))
            .ok_or_else(|| Error::not_found(format!("no user {}", id.resource)))
    }
}

#[async_trait]
impl ResourceGetter for GroupSyncer {
    async fn get(&self, id: &ResourceId, _parent: Option<&ResourceId>) -> Result<Resource> {
        self.state
            .lock()
            .groups
            .get(&id.resource)
            .map(|g| group_resource(&id.resource, g))
            .ok_or_else(|| Error::not_found(format!("no group {}", id.resource)))
    }
}

#[async_trait]
impl AccountManager for UserSyncer {
    fn credential_options(&self) -> Vec<CredentialOption> {
        let mut options = vec![
            CredentialOption::NoPassword,
            CredentialOption::RandomPassword { length: 16 },
        ];
        if self.random_passwords {
            options.reverse();
        }
        options
    }

    fn account_schema(&self) -> Vec<FieldSchema> {
        vec![FieldSchema::new("name", FieldType::String).with_description("Display name")]
    }

    async fn create_account(
        &self,
        info: &AccountInfo,
        credentials: CredentialOption,
    ) -> Result<AccountOutcome> {
        let email = info
            .email
            .clone()
            .or_else(|| info.login.clone())
            .filter(|e| !e.trim().is_empty())
            .ok_or_else(|| Error::invalid_argument("an email or login is required"))?;
        let name = info
            .profile
            .get("name")
            .and_then(|v| v.as_str())
            .unwrap_or(&email)
            .to_string();
        let mut st = self.state.lock_mut();
        if let Some((id, u)) = st
            .users
            .iter()
            .find(|(_, u)| u.email.eq_ignore_ascii_case(&email))
        {
            return Ok(AccountOutcome::AlreadyExists {
                resource: user_resource(id, u),
            });
        }
        let id = format!("u{}", st.next_user);
        st.next_user += 1;
        let user = MemUser {
            name,
            email,
            enabled: true,
        };
        let resource = user_resource(&id, &user);
        st.users.insert(id, user);
        let credentials = match credentials {
            CredentialOption::RandomPassword { length } => vec![Credential {
                name: "password".into(),
                secret: crate::account::generate_password(&crate::account::PasswordPolicy::strong(
                    length as usize,
                )),
            }],
            _ => Vec::new(),
        };
        Ok(AccountOutcome::Created {
            resource,
            credentials,
        })
    }
}

#[async_trait]
impl ResourceDeleter for UserSyncer {
    async fn delete(&self, id: &ResourceId) -> Result<DeleteOutcome> {
        if id.resource_type != "user" {
            return Err(Error::invalid_argument(format!(
                "only users can be deleted, not {id}"
            )));
        }
        let mut st = self.state.lock_mut();
        if st.users.remove(&id.resource).is_none() {
            return Ok(DeleteOutcome::AlreadyDeleted);
        }
        for g in st.groups.values_mut() {
            g.members.remove(&id.resource);
        }
        for d in st.documents.values_mut() {
            d.readers.remove(id);
        }
        Ok(DeleteOutcome::Deleted)
    }
}

struct GroupSyncer {
    state: Arc<Shared>,
    page_size: u32,
}

#[async_trait]
impl ResourceSyncer for GroupSyncer {
    fn resource_type(&self) -> ResourceType {
        types::group()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let all: Vec<Resource> = self
            .state
            .lock()
            .groups
            .iter()
            .map(|(id, g)| group_resource(id, g))
            .collect();
        page_of(all, &page, self.page_size)
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![member_entitlement(resource)]))
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (resource, page) = (&req.resource, req.page);
        let members: Vec<String> = {
            let st = self.state.lock();
            let g = st.groups.get(&resource.id.resource).ok_or_else(|| {
                Error::not_found(format!("group {} no longer exists", resource.id))
            })?;
            g.members.iter().cloned().collect()
        };
        let ent = member_entitlement(resource);
        let all = members
            .into_iter()
            .map(|u| Grant::new(&ent, ResourceId::new("user", u)))
            .collect();
        page_of(all, &page, self.page_size)
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }
}

#[async_trait]
impl Provisioner for GroupSyncer {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        check_principal(principal, &["user"], "group membership")?;
        let mut st = self.state.lock_mut();
        if !st.users.contains_key(&principal.id.resource) {
            return Err(Error::not_found(format!(
                "user {} does not exist",
                principal.id
            )));
        }
        let group_id = &entitlement.resource().resource;
        let group = st
            .groups
            .get_mut(group_id)
            .ok_or_else(|| Error::not_found(format!("group {group_id} does not exist")))?;
        if !group.members.insert(principal.id.resource.clone()) {
            return Ok(GrantOutcome::AlreadyExists);
        }
        Ok(GrantOutcome::Granted(vec![Grant::new(
            entitlement,
            principal.id.clone(),
        )]))
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        let mut st = self.state.lock_mut();
        let removed = st
            .groups
            .get_mut(&grant.entitlement_resource().resource)
            .is_some_and(|g| g.members.remove(&grant.principal().resource));
        Ok(if removed {
            RevokeOutcome::Revoked
        } else {
            RevokeOutcome::AlreadyRevoked
        })
    }
}

struct FolderSyncer {
    state: Arc<Shared>,
    page_size: u32,
}

#[async_trait]
impl ResourceSyncer for FolderSyncer {
    fn resource_type(&self) -> ResourceType {
        types::folder()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let all: Vec<Resource> = self
            .state
            .lock()
            .folders
            .iter()
            .map(|(id, name)| Resource::new(&types::folder(), id, name).with_child_type("document"))
            .collect();
        page_of(all, &page, self.page_size)
    }
}

struct DocumentSyncer {
    state: Arc<Shared>,
    page_size: u32,
}

#[async_trait]
impl ResourceSyncer for DocumentSyncer {
    fn resource_type(&self) -> ResourceType {
        types::document()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let (parent, page) = (req.parent.as_ref(), req.page);
        // Documents live in folders: they are listed under each folder only.
        let Some(folder) = parent else {
            return Ok(Page::empty());
        };
        let all: Vec<Resource> = self
            .state
            .lock()
            .documents
            .iter()
            .filter(|(_, d)| d.folder == folder.resource)
            .map(|(id, d)| document_resource(id, d))
            .collect();
        page_of(all, &page, self.page_size)
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![read_entitlement(resource)]))
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (resource, page) = (&req.resource, req.page);
        let readers: Vec<ResourceId> = {
            let st = self.state.lock();
            let d = st.documents.get(&resource.id.resource).ok_or_else(|| {
                Error::not_found(format!("document {} no longer exists", resource.id))
            })?;
            d.readers.iter().cloned().collect()
        };
        let ent = read_entitlement(resource);
        let all = readers
            .into_iter()
            .map(|p| {
                let grant = Grant::new(&ent, p.clone());
                if p.resource_type == "group" {
                    grant.expandable([entitlement_id(&p, "member")])
                } else {
                    grant
                }
            })
            .collect();
        page_of(all, &page, self.page_size)
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }
}

#[async_trait]
impl Provisioner for DocumentSyncer {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        check_principal(principal, &["user", "group"], "document read")?;
        let mut st = self.state.lock_mut();
        let exists = match principal.id.resource_type.as_str() {
            "user" => st.users.contains_key(&principal.id.resource),
            _ => st.groups.contains_key(&principal.id.resource),
        };
        if !exists {
            return Err(Error::not_found(format!("{} does not exist", principal.id)));
        }
        let doc_id = &entitlement.resource().resource;
        let doc = st
            .documents
            .get_mut(doc_id)
            .ok_or_else(|| Error::not_found(format!("document {doc_id} does not exist")))?;
        if !doc.readers.insert(principal.id.clone()) {
            return Ok(GrantOutcome::AlreadyExists);
        }
        Ok(GrantOutcome::Granted(vec![Grant::new(
            entitlement,
            principal.id.clone(),
        )]))
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        let mut st = self.state.lock_mut();
        let removed = st
            .documents
            .get_mut(&grant.entitlement_resource().resource)
            .is_some_and(|d| d.readers.remove(grant.principal()));
        Ok(if removed {
            RevokeOutcome::Revoked
        } else {
            RevokeOutcome::AlreadyRevoked
        })
    }
}

/// `enable_user` / `disable_user`.
struct SetUserEnabled {
    state: Arc<Shared>,
    enable: bool,
}

#[async_trait]
impl ActionHandler for SetUserEnabled {
    fn schema(&self) -> ActionSchema {
        let (name, display, kind) = if self.enable {
            ("enable_user", "Enable user", ActionType::AccountEnable)
        } else {
            ("disable_user", "Disable user", ActionType::AccountDisable)
        };
        ActionSchema::new(name, display)
            .with_description(format!("{display} account"))
            .with_type(kind)
            .with_argument(
                FieldSchema::new("user_id", FieldType::String)
                    .required()
                    .with_description("Id of the user"),
            )
    }

    async fn invoke(&self, args: &Profile) -> Result<Profile> {
        let id = args
            .get("user_id")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let mut st = self.state.lock_mut();
        let user = st.users.get_mut(id).ok_or_else(|| {
            Error::new(ErrorKind::NotFound, format!("user {id:?} does not exist"))
        })?;
        let changed = user.enabled != self.enable;
        user.enabled = self.enable;
        let mut out = Profile::new();
        out.insert("user_id".into(), id.into());
        out.insert("enabled".into(), self.enable.into());
        out.insert("changed".into(), changed.into());
        Ok(out)
    }
}

#[async_trait]
impl Connector for MemoryConnector {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("memory", "In-memory example")
            .with_description("A stateful in-memory tenant of users, groups, folders and documents")
    }

    async fn validate(&self) -> Result<()> {
        Ok(())
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        let (state, page_size) = (self.state.clone(), self.page_size);
        vec![
            Arc::new(UserSyncer {
                state: state.clone(),
                page_size,
                random_passwords: self.random_passwords,
            }),
            Arc::new(GroupSyncer {
                state: state.clone(),
                page_size,
            }),
            Arc::new(FolderSyncer {
                state: state.clone(),
                page_size,
            }),
            Arc::new(DocumentSyncer { state, page_size }),
        ]
    }

    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        vec![
            Arc::new(SetUserEnabled {
                state: self.state.clone(),
                enable: true,
            }),
            Arc::new(SetUserEnabled {
                state: self.state.clone(),
                enable: false,
            }),
        ]
    }
}
