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

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::action::ActionHandler;
use crate::connector::{Connector, ConnectorMetadata};
use crate::error::{Error, Result};
use crate::model::{
    Entitlement, GroupTrait, Profile, Resource, ResourceId, ResourceType, TraitKind, UserStatus,
    UserTrait,
};
use crate::page::{OffsetPager, Page, PageRequest};
use crate::syncer::ResourceSyncer;

mod syncers;

use syncers::{DocumentSyncer, FolderSyncer, GroupSyncer, SetUserEnabled, UserSyncer};

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
    let status = UserStatus::enabled_if(u.enabled);
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
