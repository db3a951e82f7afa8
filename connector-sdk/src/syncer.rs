//! The [`ResourceSyncer`] trait: how a connector lists one resource type.

use async_trait::async_trait;

use crate::account::AccountManager;
use crate::context::SyncContext;
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

    /// One page of resources. [`ListRequest::parent`] is set when the type is listed as a
    /// child type of another resource (see [`Resource::with_child_type`]); top-level types
    /// get `None`.
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>>;

    /// One page of the entitlements on [`EntitlementsRequest::resource`]. Defaults to none.
    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let _ = req;
        Ok(Page::empty())
    }

    /// One page of the grants of [`GrantsRequest::resource`]'s entitlements. Defaults to
    /// none.
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let _ = req;
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

/// What [`ResourceSyncer::list`] is asked for.
///
/// The fields are public to read and to destructure with `..`; the struct is
/// `#[non_exhaustive]` so the SDK can add fields without breaking connectors. Build one
/// with [`ListRequest::new`] (in tests, or to call a syncer directly).
///
/// ```
/// use connector_sdk::page::PageRequest;
/// use connector_sdk::syncer::ListRequest;
///
/// let req = ListRequest::new(None, PageRequest::first());
/// let ListRequest { parent, page, .. } = req;
/// assert!(parent.is_none() && page.token.is_none());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ListRequest {
    /// The parent resource when the type is listed as a child type, else `None`.
    pub parent: Option<ResourceId>,
    /// Which page.
    pub page: PageRequest,
    /// The sync this call belongs to: its id, deadline and per-sync cache.
    pub context: SyncContext,
}

impl ListRequest {
    /// A request for `page` of the resources under `parent`, outside any sync (a
    /// [`SyncContext::detached`] context; set another with [`ListRequest::in_context`]).
    pub fn new(parent: Option<&ResourceId>, page: PageRequest) -> Self {
        ListRequest {
            parent: parent.cloned(),
            page,
            context: SyncContext::detached(),
        }
    }

    /// This request, made within `context`.
    pub fn in_context(mut self, context: SyncContext) -> Self {
        self.context = context;
        self
    }
}

/// What [`ResourceSyncer::entitlements`] is asked for. `#[non_exhaustive]` like
/// [`ListRequest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EntitlementsRequest {
    /// The resource whose entitlements are listed.
    pub resource: Resource,
    /// Which page.
    pub page: PageRequest,
    /// The sync this call belongs to.
    pub context: SyncContext,
}

impl EntitlementsRequest {
    /// A request for `page` of `resource`'s entitlements, outside any sync.
    pub fn new(resource: &Resource, page: PageRequest) -> Self {
        EntitlementsRequest {
            resource: resource.clone(),
            page,
            context: SyncContext::detached(),
        }
    }

    /// This request, made within `context`.
    pub fn in_context(mut self, context: SyncContext) -> Self {
        self.context = context;
        self
    }
}

/// What [`ResourceSyncer::grants`] is asked for. `#[non_exhaustive]` like [`ListRequest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GrantsRequest {
    /// The resource whose entitlements' grants are listed.
    pub resource: Resource,
    /// Which page.
    pub page: PageRequest,
    /// The sync this call belongs to.
    pub context: SyncContext,
}

impl GrantsRequest {
    /// A request for `page` of the grants on `resource`, outside any sync.
    pub fn new(resource: &Resource, page: PageRequest) -> Self {
        GrantsRequest {
            resource: resource.clone(),
            page,
            context: SyncContext::detached(),
        }
    }

    /// This request, made within `context`.
    pub fn in_context(mut self, context: SyncContext) -> Self {
        self.context = context;
        self
    }
}
