//! The SCIM connector through the SDK's fault proxy: 5xx, resets, HTML and cut bodies,
//! 429s with and without `Retry-After`, slow answers and a seeded mix, on every kind of
//! request; each sync ends with the same ids as a clean one. (The full matrix across every
//! connector is the workspace's `tests/faults.rs`, which takes this connector once the
//! SDK's simulated SCIM tenant is merged.)

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Shape, Tenant, User, seed};
use connector_scim::{Credentials, Scim, ScimApi, ScimConfig};
use connector_sdk::http::RetryPolicy;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{Fault, FaultPlan, FaultProxy};

/// Every id the file holds: resources, entitlements and grants, sorted.
fn ids(path: &Path) -> Vec<String> {
    let r = C1zReader::open(path).unwrap();
    let mut out: Vec<String> = r
        .resources(None)
        .unwrap()
        .iter()
        .map(|x| x.id.to_string())
        .collect();
    out.extend(
        r.entitlements(None)
            .unwrap()
            .iter()
            .map(|e| e.id().to_string()),
    );
    out.extend(
        r.grants(&GrantFilter::default())
            .unwrap()
            .iter()
            .map(|g| g.id().to_string()),
    );
    out.sort();
    out
}

fn through(uri: &str) -> Scim {
    let creds = Credentials {
        api_key: Some("k3y".to_string().into()),
        ..Credentials::default()
    };
    let base = format!("{uri}/scim/v1");
    let config =
        ScimConfig::with_env(common::upstream("slack"), creds, Some(&base), &|_| None).unwrap();
    let retry = RetryPolicy {
        max_attempts: 8,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_total_wait: Duration::from_secs(30),
    };
    Scim::with_api(ScimApi::with_retry(&config, retry).unwrap())
}

#[tokio::test]
async fn every_transient_fault_ends_with_the_rows_of_a_clean_sync() {
    let shape = Shape {
        root: "/scim/v1".into(),
        max_page: 2,
        ..Shape::default()
    };
    let mut state = seed();
    for i in 4..=7 {
        state
            .users
            .push(User::new(&format!("U{i}"), &format!("P{i}"), "Q"));
    }
    let t = Tenant::start(shape, state).await;
    let upstream = t.server.uri();
    let dir = tempfile::tempdir().unwrap();
    let options = SyncOptions::default().with_resume(false);
    let clean_path = dir.path().join("clean.c1z");
    let clean_proxy = FaultProxy::start(&upstream, FaultPlan::none()).await;
    sync_to_file(&through(&clean_proxy.uri()), &clean_path, &options, None)
        .await
        .unwrap();
    let clean = ids(&clean_path);
    assert_eq!(clean.len(), 19, "{clean:?}");
    let mut plans: Vec<(&str, FaultPlan)> = [
        ("500", Fault::Status(500)),
        ("503", Fault::Status(503)),
        ("reset", Fault::Reset),
        ("html page", Fault::HtmlPage),
        ("cut json", Fault::Truncated),
    ]
    .into_iter()
    .map(|(n, f)| (n, FaultPlan::every(3, f)))
    .collect();
    plans.push((
        "429",
        FaultPlan::nth([(2, Fault::TooManyRequests { retry_after: 1 })]),
    ));
    plans.push((
        "429 bare",
        FaultPlan::nth([(4, Fault::TooManyRequestsBare)]),
    ));
    plans.push((
        "mixed, seeded",
        FaultPlan::seeded(
            20261207,
            15,
            vec![
                Fault::Status(502),
                Fault::Reset,
                Fault::HtmlPage,
                Fault::Truncated,
                Fault::RepeatedPage,
                Fault::Slow(Duration::from_millis(30)),
            ],
        ),
    ));
    for (name, plan) in plans {
        let proxy = FaultProxy::start(&upstream, plan).await;
        let path = dir
            .path()
            .join(format!("{}.c1z", name.replace([' ', ','], "-")));
        let sync = sync_to_file(&through(&proxy.uri()), &path, &options, None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(sync.completed, "{name}");
        assert!(
            !proxy.injected().is_empty(),
            "{name}: no fault was injected"
        );
        assert_eq!(
            ids(&path),
            clean,
            "{name}: the file differs from a clean sync"
        );
    }
}
