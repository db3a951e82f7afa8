//! The sync engine: drives a [`Connector`](crate::Connector) and writes what it finds to a `.c1z`.
//!
//! Phases, each resumable from a checkpoint saved in the output file:
//!
//! 1. resource types;
//! 2. resources of every type, top-level listings running concurrently (and the pages a
//!    connector marks as [`parallel`](crate::page::Page::parallel) fetched at once);
//! 3. child resources: every resource declaring child types has them listed with itself
//!    as parent (walking the stored resources in order, so memory stays flat);
//! 4. entitlements and grants of every resource;
//! 5. grant expansion (when a grant is expandable), with cycles handled;
//! 6. checks for dangling references, then the sync is finished and saved.
//!
//! Phases 2 to 4 overlap: a resource's entitlements are listed as soon as it is stored,
//! while other listings go on. One budget of [`SyncOptions::workers`] connector calls is
//! shared by all of them.
//!
//! Pages go to the store as they arrive. A per-resource `NotFound` (the resource vanished
//! mid-sync) is a warning; past [`SyncOptions::max_not_found`] the sync fails. What a
//! connector returns is validated: a resource missing its type's trait, a malformed id, an
//! entitlement listed for another resource, or a grant of another resource's entitlement
//! whose type the syncer does not declare in
//! [`emits_grants_for`](crate::syncer::ResourceSyncer::emits_grants_for) fails the sync
//! with the offending id.
//!
//! ```
//! use connector_sdk::sync::{sync_to_file, SyncOptions};
//! use connector_sdk::testing::MemoryConnector;
//! use connector_sdk::store::C1zReader;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("sync.c1z");
//! let report = sync_to_file(&MemoryConnector::seeded(), &path, &SyncOptions::default(), None).await.unwrap();
//! assert!(report.completed);
//! assert_eq!(report.stats.resources, 12);
//! assert_eq!(C1zReader::open(&path).unwrap().stats().unwrap(), report.stats);
//! # });
//! ```

mod engine;
mod store_thread;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::bid::ResourceBid;
use crate::store::{SyncScope, SyncStats};

pub use engine::sync_to_file;

/// The default [`SyncOptions::checkpoint_interval`]: the first checkpoint is saved 5 s
/// into a sync (and every 5 s after), so a sync stopped after that resumes.
pub const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_secs(5);

/// How a sync runs. `#[non_exhaustive]`: start from [`SyncOptions::default`] and change
/// what you need with the `with_*` methods (or assign the public fields), so new options
/// do not break your code.
///
/// ```
/// use std::time::Duration;
/// use connector_sdk::sync::SyncOptions;
/// let o = SyncOptions::default()
///     .with_workers(4)
///     .with_skip_grants(true)
///     .with_max_duration(Duration::from_secs(600));
/// assert_eq!((o.workers, o.skip_grants), (4, true));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncOptions {
    /// Connector calls in flight at once, across all phases (at least 1). Default 8.
    pub workers: usize,
    /// Whether to expand expandable grants. Default true.
    pub expand_grants: bool,
    /// Per-resource `NotFound` errors tolerated (as warnings) before the sync fails.
    pub max_not_found: u64,
    /// How often progress is saved to the output file for resuming. Default
    /// [`DEFAULT_CHECKPOINT_INTERVAL`] (5 s), so a sync killed early loses little;
    /// zero saves after every page. Each save compresses the working database, so a
    /// very large tenant may prefer a longer interval.
    pub checkpoint_interval: Duration,
    /// Stop (after saving a checkpoint) once the sync has run this long; the next run
    /// resumes. `None`: no limit.
    pub max_duration: Option<Duration>,
    /// Resume an unfinished sync found in the output file. Default true.
    pub resume: bool,
    /// When triggered, the sync stops at the next page, saves a checkpoint and returns
    /// an incomplete report (the next run resumes). Used for SIGTERM.
    pub stop: StopSignal,
    /// Only list resources of these types (empty: every type). Grants whose principal is
    /// of another type are still kept, as upstream does. An id the connector does not
    /// sync fails the sync naming `--sync-resource-types` and the known types.
    pub resource_types: Vec<String>,
    /// Resources only: no entitlements and no grants are listed.
    pub skip_entitlements_and_grants: bool,
    /// Entitlements but no grants.
    pub skip_grants: bool,
    /// A targeted sync of these resources: each is fetched by id through its type's
    /// [`ResourceGetter`](crate::getter::ResourceGetter), with its entitlements and grants
    /// (not its children), and stored as a partial sync whose parent is the file's latest
    /// full sync. A resource that is gone is a warning. Empty: a normal sync.
    pub targeted: Vec<ResourceBid>,
    /// What reopening the output file may cost (it is untrusted: it may have been
    /// replaced since the last run): its decompressed size and the size of one row. The
    /// CLI sets it from `--decoder-max-decoded-size-mb` and `--c1z-max-row-size-mb`.
    /// Default [`StoreLimits::default`](crate::store::StoreLimits::default).
    pub store_limits: crate::store::StoreLimits,
}

impl SyncOptions {
    /// With [`workers`](Self::workers) connector calls in flight (at least 1).
    pub fn with_workers(mut self, workers: usize) -> Self {
        self.workers = workers.max(1);
        self
    }

    /// With grant expansion on or off ([`expand_grants`](Self::expand_grants)).
    pub fn with_expand_grants(mut self, expand: bool) -> Self {
        self.expand_grants = expand;
        self
    }

    /// With [`max_not_found`](Self::max_not_found) tolerated `NotFound` errors.
    pub fn with_max_not_found(mut self, n: u64) -> Self {
        self.max_not_found = n;
        self
    }

    /// With a [`checkpoint_interval`](Self::checkpoint_interval).
    pub fn with_checkpoint_interval(mut self, every: Duration) -> Self {
        self.checkpoint_interval = every;
        self
    }

    /// Stopping (with a checkpoint) after `limit` ([`max_duration`](Self::max_duration)).
    pub fn with_max_duration(mut self, limit: Duration) -> Self {
        self.max_duration = Some(limit);
        self
    }

    /// Resuming an unfinished sync, or not ([`resume`](Self::resume)).
    pub fn with_resume(mut self, resume: bool) -> Self {
        self.resume = resume;
        self
    }

    /// Stopped by `stop` ([`stop`](Self::stop)).
    pub fn with_stop(mut self, stop: StopSignal) -> Self {
        self.stop = stop;
        self
    }

    /// Listing only these resource types ([`resource_types`](Self::resource_types)).
    pub fn with_resource_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.resource_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Resources only ([`skip_entitlements_and_grants`](Self::skip_entitlements_and_grants)).
    pub fn with_skip_entitlements_and_grants(mut self, skip: bool) -> Self {
        self.skip_entitlements_and_grants = skip;
        self
    }

    /// Entitlements without grants ([`skip_grants`](Self::skip_grants)).
    pub fn with_skip_grants(mut self, skip: bool) -> Self {
        self.skip_grants = skip;
        self
    }

    /// A targeted sync of these resources ([`targeted`](Self::targeted)).
    pub fn with_targeted(mut self, targeted: Vec<ResourceBid>) -> Self {
        self.targeted = targeted;
        self
    }

    /// Reopening the output file within `limits` ([`store_limits`](Self::store_limits)).
    pub fn with_store_limits(mut self, limits: crate::store::StoreLimits) -> Self {
        self.store_limits = limits;
        self
    }

    /// What this sync covers, as recorded in the finished sync's token.
    ///
    /// ```
    /// use connector_sdk::sync::SyncOptions;
    /// assert!(SyncOptions::default().scope().is_full());
    /// let o = SyncOptions::default().with_skip_grants(true);
    /// assert_eq!(o.scope().describe(), "full sync; no grants");
    /// ```
    pub fn scope(&self) -> SyncScope {
        SyncScope {
            resource_types: self.resource_types.clone(),
            skip_entitlements_and_grants: self.skip_entitlements_and_grants,
            skip_grants: self.skip_grants,
            skip_expand_grants: !self.expand_grants,
            targeted: self.targeted.iter().map(ToString::to_string).collect(),
        }
    }
}

/// A shared flag asking a running sync (or service loop) to stop.
///
/// ```
/// use connector_sdk::sync::StopSignal;
/// let stop = StopSignal::new();
/// let other = stop.clone();
/// other.trigger();
/// assert!(stop.is_triggered());
/// ```
#[derive(Clone, Default)]
pub struct StopSignal(Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>);

impl StopSignal {
    /// A signal not yet triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks everything watching this signal to stop.
    pub fn trigger(&self) {
        self.0.0.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    /// Whether [`trigger`](Self::trigger) was called.
    pub fn is_triggered(&self) -> bool {
        self.0.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until the signal is triggered.
    pub async fn triggered(&self) {
        loop {
            let notified = self.0.1.notified();
            if self.is_triggered() {
                return;
            }
            notified.await;
        }
    }
}

impl std::fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StopSignal({})", self.is_triggered())
    }
}

impl PartialEq for StopSignal {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for StopSignal {}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            workers: 8,
            expand_grants: true,
            max_not_found: 100,
            checkpoint_interval: DEFAULT_CHECKPOINT_INTERVAL,
            max_duration: None,
            resume: true,
            stop: StopSignal::new(),
            resource_types: Vec::new(),
            skip_entitlements_and_grants: false,
            skip_grants: false,
            targeted: Vec::new(),
            store_limits: crate::store::StoreLimits::default(),
        }
    }
}

/// A phase of the sync, as reported to progress callbacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Listing resource types.
    ResourceTypes,
    /// Listing top-level resources.
    Resources,
    /// Listing child resources under their parents.
    ChildResources,
    /// Listing entitlements and grants.
    EntitlementsAndGrants,
    /// Expanding grants.
    GrantExpansion,
    /// Checking references and saving.
    Finishing,
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Phase::ResourceTypes => "resource types",
            Phase::Resources => "resources",
            Phase::ChildResources => "child resources",
            Phase::EntitlementsAndGrants => "entitlements and grants",
            Phase::GrantExpansion => "grant expansion",
            Phase::Finishing => "finishing",
        })
    }
}

/// Counts so far, passed to the progress callback after every page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// The current phase.
    pub phase: Option<Phase>,
    /// Resources stored, per type.
    pub resources_by_type: BTreeMap<String, u64>,
    /// Entitlements stored.
    pub entitlements: u64,
    /// Grants stored.
    pub grants: u64,
    /// Warnings so far.
    pub warnings: u64,
    /// Pages fetched.
    pub pages: u64,
}

/// A progress callback.
pub type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    /// The sync id (a KSUID).
    pub sync_id: String,
    /// Whether the sync ran to the end; `false` when it stopped at the run-duration limit
    /// (the next run resumes).
    pub completed: bool,
    /// Whether it continued an interrupted sync.
    pub resumed: bool,
    /// Counts of the finished sync (empty when not completed).
    pub stats: SyncStats,
    /// Grants added by expansion.
    pub expanded_grants: u64,
    /// Warnings (vanished resources, dangling references…), at most 100 kept.
    pub warnings: Vec<String>,
    /// All warnings, counted.
    pub warning_count: u64,
    /// Pages fetched.
    pub pages: u64,
    /// Wall time.
    pub duration: Duration,
    /// What the sync covered (a default scope: everything).
    pub scope: SyncScope,
}
