//! What every connector's targeted-sync tests ask (feature `testing`; the store with it):
//! which types can be fetched by id, who holds an entitlement in a file, and a retry
//! policy fast enough for tests.

use std::path::Path;
use std::time::Duration;

use crate::connector::Connector;
use crate::http::RetryPolicy;

/// Two attempts, milliseconds apart: a client that retries as production does, in a test
/// that should not wait.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_total_wait: Duration::from_secs(2),
    }
}

/// The resource types of `connector` whose syncer can fetch one resource by id (what
/// Hello advertises as targeted sync), in the connector's order.
pub fn types_with_getter(connector: &dyn Connector) -> Vec<String> {
    connector
        .syncers()
        .iter()
        .filter(|s| s.getter().is_some())
        .map(|s| s.resource_type().id)
        .collect()
}

/// The ids of the principals holding `entitlement` in `file`: in its default view (the
/// last full sync), or with `latest` in its latest sync of any kind (a targeted one).
#[cfg(feature = "sync")]
pub fn holders_in(file: &Path, entitlement: &str, latest: bool) -> Vec<String> {
    let mut r =
        crate::store::C1zReader::open(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    if latest {
        r = r.with_latest_sync().expect("the latest sync");
    }
    r.holders(entitlement)
        .expect("the holders")
        .into_iter()
        .map(|p| p.resource)
        .collect()
}
