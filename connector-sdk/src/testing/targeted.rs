//! What every connector's targeted-sync tests ask (feature `testing`; the store with it):
//! which types can be fetched by id, who holds an entitlement in a file, whether a grant
//! made through the connector shows in a targeted sync, and a retry policy fast enough
//! for tests.

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

/// The check C1's refresh after provisioning relies on: a full sync of `connector` to
/// `file`, then `entitlement` granted to `principal` through the connector's provisioner,
/// then a targeted sync of `targets` (resource ids). Checks the grant is reported, the
/// targeted sync is a partial one on top of the full one, and `principal` holds the
/// entitlement in it but not in the full sync. Returns the targeted sync's report.
#[cfg(feature = "sync")]
pub async fn check_targeted_refresh(
    connector: &dyn Connector,
    file: &Path,
    principal: &crate::model::Resource,
    entitlement: &crate::model::Entitlement,
    targets: &[crate::model::ResourceId],
) -> crate::sync::SyncReport {
    use crate::provision::{GrantOutcome, GrantRequest};
    use crate::sync::{SyncOptions, sync_to_file};
    sync_to_file(connector, file, &SyncOptions::default(), None)
        .await
        .unwrap_or_else(|e| panic!("the full sync: {e}"));
    let full = crate::store::C1zReader::open(file)
        .expect("the file")
        .sync()
        .sync_id
        .clone();
    let holder = principal.id.resource.clone();
    assert!(
        !holders_in(file, entitlement.id(), false).contains(&holder),
        "{holder} holds {} before the grant",
        entitlement.id()
    );
    let syncer = crate::connector::syncer_for(connector, &entitlement.resource().resource_type)
        .expect("the entitlement's syncer");
    let out = syncer
        .provisioner()
        .expect("a provisioner")
        .grant(GrantRequest::new(principal, entitlement))
        .await
        .unwrap_or_else(|e| panic!("the grant: {e}"));
    assert!(matches!(out, GrantOutcome::Granted(_)), "{out:?}");
    let bids = targets
        .iter()
        .map(|id| crate::bid::ResourceBid::new(id.clone()))
        .collect();
    let report = sync_to_file(
        connector,
        file,
        &SyncOptions::default().with_targeted(bids),
        None,
    )
    .await
    .unwrap_or_else(|e| panic!("the targeted sync: {e}"));
    assert!(report.completed, "the targeted sync did not complete");
    let partial = crate::store::C1zReader::open(file)
        .expect("the file")
        .with_latest_sync()
        .expect("the latest sync");
    assert_eq!(partial.sync().sync_type, "partial");
    assert_eq!(partial.sync().parent_sync_id, full);
    assert!(
        holders_in(file, entitlement.id(), true).contains(&holder),
        "{holder} does not hold {} in the targeted sync",
        entitlement.id()
    );
    assert!(
        !holders_in(file, entitlement.id(), false).contains(&holder),
        "the full sync changed"
    );
    report
}
