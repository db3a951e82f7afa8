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
    ///
    /// A syncer may also return grants *held by* the resource, of entitlements on resources
    /// of other types (principal-side grants, for APIs that answer "which roles does user X
    /// have" but not "who has role R"): declare those types in
    /// [`emits_grants_for`](ResourceSyncer::emits_grants_for).
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let _ = req;
        Ok(Page::empty())
    }

    /// The resource types whose entitlements this syncer's [`grants`](ResourceSyncer::grants)
    /// may grant, besides those of the resource listed. Defaults to none: every grant is of
    /// an entitlement on [`GrantsRequest::resource`].
    ///
    /// A user syncer that reads each user's roles returns `vec!["role".into()]` and emits,
    /// from each user's `grants`, the grants of `role:<id>:assigned` to that user; the role
    /// syncer then lists no grants of its own. The sync engine and the conformance kit
    /// accept such grants for the declared types only (a grant of an undeclared type's
    /// entitlement is a connector bug naming this method), store them exactly as grants
    /// listed under the entitlement's resource (same ids, same rows), and still check that
    /// each grant's entitlement and principal exist. Each declared type must be a type the
    /// connector syncs. Nothing changes in the capabilities.
    ///
    /// ```
    /// use connector_sdk::prelude::*;
    ///
    /// struct Users;
    ///
    /// #[async_trait]
    /// impl ResourceSyncer for Users {
    ///     fn resource_type(&self) -> ResourceType {
    ///         ResourceType::new("user", "User").with_trait(TraitKind::User)
    ///     }
    ///     async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
    ///         Ok(Page::empty())
    ///     }
    ///     /// The roles the API lists on each user, as grants of the roles' entitlements.
    ///     async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
    ///         let role = Resource::with_id(ResourceId::new("role", "admin"), "Admin");
    ///         let assigned = Entitlement::assignment(&role, "assigned");
    ///         Ok(Page::last(vec![Grant::new(&assigned, req.resource.id.clone())]))
    ///     }
    ///     fn emits_grants_for(&self) -> Vec<String> {
    ///         vec!["role".into()]
    ///     }
    /// }
    /// ```
    fn emits_grants_for(&self) -> Vec<String> {
        Vec::new()
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

/// Why grant `g`, listed for `listed`, is not one its syncer may return (`None` when it
/// is): its entitlement is on another resource, of a type the syncer did not declare in
/// [`ResourceSyncer::emits_grants_for`] (`declared`). The engine and the conformance kit
/// share this rule and its message.
#[cfg(any(feature = "sync", feature = "testing"))]
pub(crate) fn undeclared_grant(
    g: &Grant,
    listed: &ResourceId,
    declared: &[String],
) -> Option<String> {
    let on = g.entitlement_resource();
    if on == listed || declared.contains(&on.resource_type) {
        return None;
    }
    Some(format!(
        "grant {} is of an entitlement on {on}, but was listed for {listed}; to list grants of {rt:?} entitlements from the {lt:?} side, add {rt:?} to ResourceSyncer::emits_grants_for of the {lt:?} syncer",
        g.id(),
        rt = on.resource_type,
        lt = listed.resource_type,
    ))
}
