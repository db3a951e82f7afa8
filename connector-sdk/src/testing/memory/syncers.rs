//! The memory connector's syncers: users (accounts, deletion, targeted reads), groups and
//! documents (provisioning), folders, and the enable/disable action.

use crate::account::{
    AccountManager, AccountOutcome, AccountRequest, Credential, CredentialOption,
};
use crate::action::{ActionHandler, ActionRequest, ActionSchema, ActionType};
use crate::delete::{DeleteOutcome, DeleteRequest, ResourceDeleter};
use crate::error::{Error, ErrorKind, Result};
use crate::getter::{GetRequest, ResourceGetter};
use crate::model::{
    Entitlement, Grant, Profile, Resource, ResourceId, ResourceType, entitlement_id,
};
use crate::page::Page;
use crate::provision::GrantRequest;
use crate::provision::RevokeRequest;
use crate::provision::{GrantOutcome, Provisioner, RevokeOutcome};
use crate::schema::{FieldSchema, FieldType};
use crate::syncer::EntitlementsRequest;
use crate::syncer::GrantsRequest;
use crate::syncer::ListRequest;
use crate::syncer::ResourceSyncer;
use async_trait::async_trait;
use std::sync::Arc;

use super::*;

pub(super) struct UserSyncer {
    pub(super) state: Arc<Shared>,
    pub(super) page_size: u32,
    pub(super) random_passwords: bool,
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
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
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
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
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

    async fn create_account(&self, req: AccountRequest) -> Result<AccountOutcome> {
        let info = &req.info;
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
        let credentials = match req.credential {
            CredentialOption::RandomPassword { .. } => vec![Credential {
                name: "password".into(),
                secret: req.generate_password(),
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
    async fn delete(&self, req: DeleteRequest) -> Result<DeleteOutcome> {
        let id = &req.id;
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

pub(super) struct GroupSyncer {
    pub(super) state: Arc<Shared>,
    pub(super) page_size: u32,
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
        Ok(req.granted())
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

pub(super) struct FolderSyncer {
    pub(super) state: Arc<Shared>,
    pub(super) page_size: u32,
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

pub(super) struct DocumentSyncer {
    pub(super) state: Arc<Shared>,
    pub(super) page_size: u32,
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
        Ok(req.granted())
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
pub(super) struct SetUserEnabled {
    pub(super) state: Arc<Shared>,
    pub(super) enable: bool,
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

    async fn invoke(&self, req: ActionRequest) -> Result<Profile> {
        let args = &req.args;
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
        Ok(crate::profile! { "user_id": id, "enabled": self.enable, "changed": changed })
    }
}
