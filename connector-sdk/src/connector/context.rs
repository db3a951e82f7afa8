//! [`SyncContext`]: what one sync shares with every listing call — its id, its deadline,
//! and a typed cache that syncers of different resource types can share.
//!
//! The engine makes one context per sync and hands it to every
//! [`ListRequest`](crate::syncer::ListRequest),
//! [`EntitlementsRequest`](crate::syncer::EntitlementsRequest) and
//! [`GrantsRequest`](crate::syncer::GrantsRequest) of that sync. A cache kept in the
//! context lives exactly as long as the sync: a service that runs many syncs in one process
//! starts each with an empty one, unlike a cache kept on a syncer.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::OnceCell;

use crate::error::Result;

/// What one sync shares with every listing call of that sync.
///
/// Cheap to clone (one `Arc`); clones share the cache.
///
/// ```
/// use connector_sdk::context::{Memo, SyncContext};
///
/// # tokio_test_block(async {
/// let ctx = SyncContext::new("2Q3…sync-id");
/// // One memo of "team id → team name" per sync, shared by every syncer that asks.
/// let names = ctx.shared::<Memo<String, String>>();
/// let name = names
///     .get_or_try_init("t1".to_string(), || async { Ok("Platform".to_string()) })
///     .await?;
/// assert_eq!(name, "Platform");
/// assert!(std::sync::Arc::ptr_eq(&names, &ctx.shared::<Memo<String, String>>()));
/// # Ok::<(), connector_sdk::Error>(())
/// # });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Clone, Default)]
pub struct SyncContext {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    sync_id: Option<String>,
    deadline: Option<Instant>,
    shared: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl SyncContext {
    /// The context of the sync `sync_id`, with no deadline.
    pub fn new(sync_id: impl Into<String>) -> Self {
        SyncContext {
            inner: Arc::new(Inner {
                sync_id: Some(sync_id.into()),
                ..Inner::default()
            }),
        }
    }

    /// A context for a call made outside a sync (a test, a targeted lookup): no sync id, no
    /// deadline, its own empty cache. The same as `SyncContext::default()`.
    pub fn detached() -> Self {
        SyncContext::default()
    }

    /// This context with a deadline: the instant the sync is asked to stop by
    /// (`--max-duration`). A connector may use it to avoid starting long work it cannot
    /// finish; the engine enforces it either way.
    pub fn with_deadline(self, deadline: Instant) -> Self {
        SyncContext {
            inner: Arc::new(Inner {
                sync_id: self.inner.sync_id.clone(),
                deadline: Some(deadline),
                shared: Mutex::new(lock(&self.inner.shared).clone()),
            }),
        }
    }

    /// The id of the sync (the `.c1z`'s sync run), `None` outside a sync.
    pub fn sync_id(&self) -> Option<&str> {
        self.inner.sync_id.as_deref()
    }

    /// When the sync is asked to stop by, if it has a time limit.
    pub fn deadline(&self) -> Option<Instant> {
        self.inner.deadline
    }

    /// The one `T` of this sync, made with `T::default()` on first use. Every syncer that
    /// asks for the same type gets the same value, for the whole sync and only for it.
    /// Use a type of your own (or [`Memo`]) so two connectors' caches cannot meet.
    pub fn shared<T: Any + Send + Sync + Default>(&self) -> Arc<T> {
        let mut map = lock(&self.inner.shared);
        let entry = map
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(T::default()) as Arc<dyn Any + Send + Sync>)
            .clone();
        drop(map);
        match entry.downcast::<T>() {
            Ok(value) => value,
            // The map is keyed by the value's own TypeId, so the downcast cannot fail.
            Err(_) => Arc::new(T::default()),
        }
    }
}

impl fmt::Debug for SyncContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SyncContext")
            .field("sync_id", &self.inner.sync_id)
            .field("deadline", &self.inner.deadline)
            .field("shared", &lock(&self.inner.shared).len())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A memoised lookup: each key's value is computed once (concurrent askers of the same key
/// wait for the one computation) and then kept. A failed computation is not kept, so the
/// next asker tries again.
///
/// Keep one in a [`SyncContext`] with [`SyncContext::shared`] to share lookups between
/// syncers for one sync.
pub struct Memo<K, V> {
    cells: Mutex<HashMap<K, Arc<OnceCell<V>>>>,
}

impl<K, V> Default for Memo<K, V> {
    fn default() -> Self {
        Memo {
            cells: Mutex::new(HashMap::new()),
        }
    }
}

impl<K, V> fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memo")
            .field("keys", &lock(&self.cells).len())
            .finish()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Memo<K, V> {
    /// The value for `key`, computing it with `init` if no one has yet.
    pub async fn get_or_try_init<F, Fut>(&self, key: K, init: F) -> Result<V>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<V>>,
    {
        let cell = lock(&self.cells).entry(key).or_default().clone();
        cell.get_or_try_init(init).await.cloned()
    }

    /// The value for `key` if it has been computed.
    pub fn get(&self, key: &K) -> Option<V> {
        lock(&self.cells).get(key).and_then(|c| c.get().cloned())
    }

    /// How many keys have a computed value.
    pub fn len(&self) -> usize {
        lock(&self.cells)
            .values()
            .filter(|c| c.initialized())
            .count()
    }

    /// Whether no key has a computed value.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Default)]
    struct Counter(AtomicU32);

    #[test]
    fn shared_values_are_per_context_and_per_type() {
        let a = SyncContext::new("s1");
        let b = SyncContext::new("s2");
        a.shared::<Counter>().0.fetch_add(1, Ordering::SeqCst);
        a.clone()
            .shared::<Counter>()
            .0
            .fetch_add(1, Ordering::SeqCst);
        assert_eq!(a.shared::<Counter>().0.load(Ordering::SeqCst), 2);
        assert_eq!(b.shared::<Counter>().0.load(Ordering::SeqCst), 0);
        assert_eq!(a.sync_id(), Some("s1"));
        assert_eq!(SyncContext::detached().sync_id(), None);
    }

    #[tokio::test]
    async fn memo_computes_once_and_retries_failures() {
        let memo: Arc<Memo<u32, String>> = Arc::new(Memo::default());
        let calls = Arc::new(AtomicU32::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (memo, calls) = (memo.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                memo.get_or_try_init(7, || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    Ok("seven".to_string())
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap(), "seven");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let err = memo
            .get_or_try_init(8, || async {
                Err(crate::Error::new(crate::ErrorKind::Unavailable, "down"))
            })
            .await;
        assert!(err.is_err());
        assert_eq!(memo.get(&8), None);
        let ok = memo
            .get_or_try_init(8, || async { Ok("eight".to_string()) })
            .await
            .unwrap();
        assert_eq!(ok, "eight");
        assert_eq!(memo.len(), 2);
    }
}
