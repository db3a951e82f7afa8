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
use crate::connector::{
    Capabilities, Connector, ConnectorMetadata, capabilities, unknown_action, unknown_type,
};
use crate::error::{Error, Result};
use crate::model::ResourceType;
use crate::syncer::ResourceSyncer;

mod actions;
mod operations;
pub(crate) mod panics;

pub use actions::{ActionRun, ActionState, DEFAULT_ACTION_TIMEOUT};
pub use operations::CreateAccountRequest;

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
    runs: std::sync::Mutex<actions::ActionRuns>,
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
                runs: Default::default(),
            }),
        })
    }

    /// Wraps a boxed connector (what a connector config of the CLI runner builds).
    pub fn from_box(connector: Box<dyn Connector>) -> Result<Self> {
        Self::from_arc(Arc::from(connector))
    }

    /// A handle over the parts of a connector the caller only lends (its metadata, syncers
    /// and actions, which are shared): the test kit, given `&dyn Connector`, runs its
    /// checks through the same calls the runtimes make. The handle's `validate` has
    /// nothing to check: the parts carry no credentials to try.
    #[cfg(feature = "testing")]
    pub(crate) fn of_parts(connector: &dyn Connector) -> Result<Self> {
        Self::new(Parts {
            metadata: connector.metadata(),
            syncers: connector.syncers(),
            actions: connector.actions(),
        })
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
            None => Err(unknown_type(
                type_id,
                self.inner.types.iter().map(|t| t.id.clone()),
            )),
        }
    }

    /// The resource type `type_id`, if the connector has it.
    pub fn resource_type(&self, type_id: &str) -> Option<&ResourceType> {
        self.inner
            .by_type
            .get(type_id)
            .map(|&i| &self.inner.types[i])
    }

    /// The actions.
    pub fn action_list(&self) -> &[Arc<dyn ActionHandler>] {
        &self.inner.actions
    }

    /// The action named `name`, or an error naming the actions there are.
    pub fn action(&self, name: &str) -> Result<&Arc<dyn ActionHandler>> {
        let actions = &self.inner.actions;
        match actions.iter().position(|a| a.schema().name == name) {
            Some(i) => Ok(&actions[i]),
            None => Err(unknown_action(
                name,
                actions.iter().map(|a| a.schema().name),
            )),
        }
    }

    /// What the connector can do: the one source of the CLI's `capabilities` document and
    /// of service mode's Hello.
    pub fn capabilities(&self) -> Capabilities {
        capabilities(self)
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

/// What [`ConnectorHandle::of_parts`] wraps.
#[cfg(feature = "testing")]
struct Parts {
    metadata: ConnectorMetadata,
    syncers: Vec<Arc<dyn ResourceSyncer>>,
    actions: Vec<Arc<dyn ActionHandler>>,
}

#[cfg(feature = "testing")]
#[async_trait]
impl Connector for Parts {
    fn metadata(&self) -> ConnectorMetadata {
        self.metadata.clone()
    }

    async fn validate(&self) -> Result<()> {
        Ok(())
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        self.syncers.clone()
    }

    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        self.actions.clone()
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
