//! [`ConnectorHandle`]: a connector with its syncers and actions built once.
//!
//! [`Connector::syncers`] and [`Connector::actions`] build new objects on each call. The
//! runtime (the CLI runner, service mode, the conformance kit) wraps the connector in a
//! handle once and passes the handle around: the syncers are built once per process, their
//! resource types are checked once (valid ids, no type declared twice), and lookups by type
//! or action name are one map access. A handle is itself a [`Connector`] (its `syncers()`
//! hands out the same syncers), so everything that takes `&dyn Connector` takes a handle.
//!
//! Per-sync state does not belong on a syncer: keep it in the sync's
//! [`SyncContext`](crate::context::SyncContext).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::action::ActionHandler;
use crate::connector::{Capabilities, Connector, ConnectorMetadata, capabilities};
use crate::error::{Error, Result};
use crate::model::ResourceType;
use crate::provision::{GrantOutcome, GrantRequest, RevokeOutcome, RevokeRequest};
use crate::syncer::ResourceSyncer;

/// A connector with its syncers and actions built once. Cheap to clone.
///
/// ```
/// use connector_sdk::handle::ConnectorHandle;
/// use connector_sdk::testing::MemoryConnector;
///
/// let handle = ConnectorHandle::new(MemoryConnector::seeded()).unwrap();
/// assert!(handle.syncer("user").is_ok());
/// let err = handle.syncer("nope").err().unwrap();
/// assert!(err.to_string().contains("unknown resource type"));
/// ```
#[derive(Clone)]
pub struct ConnectorHandle {
    inner: Arc<Inner>,
}

struct Inner {
    connector: Arc<dyn Connector>,
    metadata: ConnectorMetadata,
    syncers: Vec<Arc<dyn ResourceSyncer>>,
    types: Vec<ResourceType>,
    by_type: BTreeMap<String, usize>,
    actions: Vec<Arc<dyn ActionHandler>>,
}

impl ConnectorHandle {
    /// Wraps `connector`, building its syncers and actions once. Fails when a syncer
    /// declares an invalid resource type or two declare the same one (a connector bug).
    pub fn new(connector: impl Connector + 'static) -> Result<Self> {
        Self::from_arc(Arc::new(connector))
    }

    /// Wraps a shared connector (see [`ConnectorHandle::new`]).
    pub fn from_arc(connector: Arc<dyn Connector>) -> Result<Self> {
        let syncers = connector.syncers();
        let types = checked_types(&syncers)?;
        let by_type = types
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.clone(), i))
            .collect();
        let actions = connector.actions();
        let metadata = connector.metadata();
        Ok(ConnectorHandle {
            inner: Arc::new(Inner {
                connector,
                metadata,
                syncers,
                types,
                by_type,
                actions,
            }),
        })
    }

    /// Wraps a boxed connector (what a connector config of the CLI runner builds).
    pub fn from_box(connector: Box<dyn Connector>) -> Result<Self> {
        Self::from_arc(Arc::from(connector))
    }

    /// The wrapped connector.
    pub fn connector(&self) -> &Arc<dyn Connector> {
        &self.inner.connector
    }

    /// The syncers, one per resource type, in the connector's order.
    pub fn syncer_list(&self) -> &[Arc<dyn ResourceSyncer>] {
        &self.inner.syncers
    }

    /// The resource types, in the connector's order.
    pub fn resource_types(&self) -> &[ResourceType] {
        &self.inner.types
    }

    /// The syncer of resource type `type_id`, or an error naming the types there are.
    pub fn syncer(&self, type_id: &str) -> Result<&Arc<dyn ResourceSyncer>> {
        match self.inner.by_type.get(type_id) {
            Some(&i) => Ok(&self.inner.syncers[i]),
            None => Err(Error::invalid_argument(format!(
                "unknown resource type {type_id:?}; this connector has [{}]",
                self.inner
                    .types
                    .iter()
                    .map(|t| t.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// The resource type `type_id`, if the connector has it.
    pub fn resource_type(&self, type_id: &str) -> Option<&ResourceType> {
        self.inner
            .by_type
            .get(type_id)
            .map(|&i| &self.inner.types[i])
    }

    /// The first syncer that can create accounts.
    pub fn account_syncer(&self) -> Option<&Arc<dyn ResourceSyncer>> {
        self.inner
            .syncers
            .iter()
            .find(|s| s.account_manager().is_some())
    }

    /// The actions.
    pub fn action_list(&self) -> &[Arc<dyn ActionHandler>] {
        &self.inner.actions
    }

    /// The action named `name`, or an error naming the actions there are.
    pub fn action(&self, name: &str) -> Result<&Arc<dyn ActionHandler>> {
        let found = self.inner.actions.iter().find(|a| a.schema().name == name);
        found.ok_or_else(|| {
            let known: Vec<String> = self.inner.actions.iter().map(|a| a.schema().name).collect();
            Error::invalid_argument(format!(
                "unknown action {name:?}; this connector has [{}]",
                known.join(", ")
            ))
        })
    }

    /// The capabilities document.
    pub fn capabilities(&self) -> Capabilities {
        capabilities(self)
    }

    /// Grants [`GrantRequest::entitlement`] to [`GrantRequest::principal`] through the
    /// provisioner of the entitlement's resource type: what the CLI runner and service mode
    /// call. A type without a provisioner is [`ErrorKind::Unimplemented`](crate::ErrorKind).
    pub async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let rt = &req.entitlement.resource().resource_type;
        let syncer = self.syncer(rt)?;
        let prov = syncer.provisioner().ok_or_else(|| {
            Error::unimplemented(format!(
                "the connector cannot grant entitlements of {rt} resources"
            ))
        })?;
        prov.grant(req).await
    }

    /// Revokes [`RevokeRequest::grant`] through the provisioner of its entitlement's
    /// resource type: what the CLI runner and service mode call. A type without a
    /// provisioner, or an entitlement its provisioner declares grant-only
    /// ([`Provisioner::grant_only`](crate::provision::Provisioner::grant_only)), is [`ErrorKind::Unimplemented`](crate::ErrorKind),
    /// and the connector is not called.
    ///
    /// ```
    /// use connector_sdk::handle::ConnectorHandle;
    /// use connector_sdk::prelude::*;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = ConnectorHandle::new(connector_sdk::testing::MemoryConnector::seeded()).unwrap();
    /// let nowhere = Resource::with_id(ResourceId::new("planet", "p1"), "P");
    /// let grant = Grant::new(&Entitlement::assignment(&nowhere, "member"), ResourceId::new("user", "u1"));
    /// let err = handle.revoke(RevokeRequest::new(&grant)).await.unwrap_err();
    /// assert!(err.to_string().contains("unknown resource type"));
    /// # });
    /// ```
    pub async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let rt = &req.grant.entitlement_resource().resource_type;
        let syncer = self.syncer(rt)?;
        let prov = syncer.provisioner().ok_or_else(|| {
            Error::unimplemented(format!(
                "the connector cannot revoke grants of {rt} resources"
            ))
        })?;
        if prov.grant_only().covers_grant(&req.grant) {
            return Err(Error::unimplemented(format!(
                "entitlement {} is grant-only: the connector can grant it but not revoke it (grant {} was not changed; remove it in the application itself)",
                req.grant.entitlement_id(),
                req.grant.id()
            )));
        }
        prov.revoke(req).await
    }
}

/// The resource types of `syncers`, in order, each validated; two syncers declaring the
/// same type, or a syncer emitting grants for a type no syncer lists
/// ([`ResourceSyncer::emits_grants_for`]), is a connector bug.
pub(crate) fn checked_types(syncers: &[Arc<dyn ResourceSyncer>]) -> Result<Vec<ResourceType>> {
    let mut seen = std::collections::BTreeSet::new();
    let mut types = Vec::with_capacity(syncers.len());
    for s in syncers {
        let rt = s.resource_type();
        rt.validate()?;
        if !seen.insert(rt.id.clone()) {
            return Err(Error::internal(format!(
                "connector bug: two syncers declare resource type {:?}",
                rt.id
            )));
        }
        types.push(rt);
    }
    for s in syncers {
        for t in s.emits_grants_for() {
            if !seen.contains(&t) {
                return Err(Error::internal(format!(
                    "connector bug: the {:?} syncer's emits_grants_for names resource type {t:?}, which no syncer lists; this connector has [{}]",
                    s.resource_type().id,
                    seen.iter().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
        }
    }
    Ok(types)
}

impl fmt::Debug for ConnectorHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectorHandle")
            .field("connector", &self.inner.metadata.name)
            .field(
                "resource_types",
                &self.inner.by_type.keys().collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[async_trait]
impl Connector for ConnectorHandle {
    fn metadata(&self) -> ConnectorMetadata {
        self.inner.metadata.clone()
    }

    async fn validate(&self) -> Result<()> {
        self.inner.connector.validate().await
    }

    /// The syncers built when the handle was made (the same objects on every call).
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        self.inner.syncers.clone()
    }

    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        self.inner.actions.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Resource;
    use crate::page::Page;
    use crate::syncer::ListRequest;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting(Arc<AtomicU32>, Vec<&'static str>);
    struct S(&'static str);

    #[async_trait]
    impl ResourceSyncer for S {
        fn resource_type(&self) -> ResourceType {
            ResourceType::new(self.0, self.0)
        }
        async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
            Ok(Page::empty())
        }
    }

    #[async_trait]
    impl Connector for Counting {
        fn metadata(&self) -> ConnectorMetadata {
            ConnectorMetadata::new("c", "C")
        }
        async fn validate(&self) -> Result<()> {
            Ok(())
        }
        fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            self.1
                .iter()
                .map(|t| Arc::new(S(t)) as Arc<dyn ResourceSyncer>)
                .collect()
        }
    }

    #[test]
    fn syncers_are_built_once_and_shared() {
        let calls = Arc::new(AtomicU32::new(0));
        let h = ConnectorHandle::new(Counting(calls.clone(), vec!["a", "b"])).unwrap();
        let first = h.syncers();
        let again = h.syncers();
        assert!(Arc::ptr_eq(&first[0], &again[0]));
        assert!(Arc::ptr_eq(h.syncer("b").unwrap(), &first[1]));
        let _ = h.capabilities();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_type_declared_twice_is_a_connector_bug() {
        let err = ConnectorHandle::new(Counting(Arc::default(), vec!["a", "a"])).unwrap_err();
        assert!(err.to_string().contains("two syncers declare"), "{err}");
    }
}
