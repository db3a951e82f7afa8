//! The [`ResourceSyncer`] trait: how a connector lists one resource type.

use async_trait::async_trait;

use crate::account::AccountManager;
use crate::delete::ResourceDeleter;
use crate::error::Result;
use crate::getter::ResourceGetter;
use crate::model::{Entitlement, Grant, Resource, ResourceId, ResourceType};
use crate::page::{Page, PageRequest};
use crate::provision::Provisioner;

/// Lists the resources of one type, their entitlements and their grants.
///
/// One syncer per resource type. Each method returns one [`Page`]; the SDK calls it again
/// with the page's `next` token until there is none, and guards against the usual
/// pagination bugs (see [`crate::page`]). Syncers are shared by concurrent tasks, so they
/// are `Send + Sync` and take `&self`.
///
/// A syncer says what else it can do through the accessor methods, which default to
/// `None`: return `Some(self)` from [`provisioner`](ResourceSyncer::provisioner) when the
/// syncer also implements [`Provisioner`], and so on.
#[async_trait]
pub trait ResourceSyncer: Send + Sync {
    /// The resource type this syncer lists.
    fn resource_type(&self) -> ResourceType;

    /// One page of resources. `parent` is set when the type is listed as a child type of
    /// another resource (see [`Resource::with_child_type`]); top-level types get `None`.
    async fn list(&self, parent: Option<&ResourceId>, page: PageRequest) -> Result<Page<Resource>>;

    /// One page of the entitlements on `resource`. Defaults to none.
    async fn entitlements(
        &self,
        resource: &Resource,
        page: PageRequest,
    ) -> Result<Page<Entitlement>> {
        let _ = (resource, page);
        Ok(Page::empty())
    }

    /// One page of the grants of `resource`'s entitlements. Defaults to none.
    async fn grants(&self, resource: &Resource, page: PageRequest) -> Result<Page<Grant>> {
        let _ = (resource, page);
        Ok(Page::empty())
    }

    /// `Some(self)` when this syncer can grant and revoke its entitlements.
    fn provisioner(&self) -> Option<&dyn Provisioner> {
        None
    }

    /// `Some(self)` when this syncer can create accounts (user types).
    fn account_manager(&self) -> Option<&dyn AccountManager> {
        None
    }

    /// `Some(self)` when this syncer can delete its resources.
    fn deleter(&self) -> Option<&dyn ResourceDeleter> {
        None
    }

    /// `Some(self)` when this syncer can fetch one resource by id, for targeted syncs
    /// (`--sync-resources`).
    fn getter(&self) -> Option<&dyn ResourceGetter> {
        None
    }
}
