//! The fault matrix: every HTTP connector syncs its simulated tenant through a proxy that
//! fails requests the way real servers, gateways and networks do (5xx, resets, HTML and
//! cut bodies, slow answers, 401, 429 in three dialects, lying totals, repeated pages, and
//! a seeded mix). Each sync must end with the same resources, entitlements and grants as a
//! clean one — or, for the faults that must fail, with a clear error and the last good sync
//! still in the file. The generic SCIM connector runs in front of the SDK's simulated SCIM
//! tenant. (1Password's `op` gets the same treatment in
//! `connectors/onepassword/tests/faults.rs`.)

use std::path::Path;
use std::time::Duration;

use connector_ironclad::Ironclad;
use connector_ironclad::client::IroncladClient;
use connector_ironclad::config::IroncladConfig;
use connector_ironclad::simulator::{IroncladSimulator, SimState as IroncladState};
use connector_scim::simulator::{ScimSimulator, SimState as ScimState, shape_for};
use connector_scim::{Provider, Scim, ScimApi, Source};
use connector_sdk::http::RetryPolicy;
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::scim::Population;
use connector_sdk::testing::{Fault, FaultPlan, FaultProxy};
use connector_sendgrid::Sendgrid;
use connector_sendgrid::client::SendgridClient;
use connector_sendgrid::config::SendgridConfig;
use connector_sendgrid::simulator::{SendgridSimulator, SimState as SendgridState};
use connector_valimail::Valimail;
use connector_valimail::client::ValimailClient;
use connector_valimail::config::ValimailConfig;
use connector_valimail::simulator::ValimailSimulator;
use secrecy::SecretString;

/// The production schedule's shape with short waits (the matrix checks outcomes, not
/// time) and a few more attempts, so a seeded mix that happens to hit one request several
/// times in a row under concurrency cannot fail a run by chance (0.15^8 per request).
fn quick() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 8,
        min_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(40),
        max_total_wait: Duration::from_secs(30),
    }
}

type Contents = (Vec<String>, Vec<Resource>, Vec<Entitlement>, Vec<Grant>);

fn contents(path: &Path) -> Contents {
    let r = C1zReader::open(path).unwrap();
    let mut types: Vec<String> = r
        .resource_types()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    types.sort();
    let mut resources = r.resources(None).unwrap();
    resources.sort_by_key(|r| r.id.to_string());
    let mut ents = r.entitlements(None).unwrap();
    ents.sort_by(|a, b| a.id().cmp(b.id()));
    let mut grants = r.grants(&GrantFilter::default()).unwrap();
    grants.sort_by(|a, b| a.id().cmp(b.id()));
    (types, resources, ents, grants)
}

/// What a faulted sync must end with.
enum Expect {
    /// The same rows as the clean sync.
    Same,
    /// An error whose text holds this; the file keeps the clean sync.
    Fails(&'static str),
}

/// The faults every connector must ride out, as (name, plan).
fn transient_faults() -> Vec<(&'static str, FaultPlan)> {
    let mut cases = vec![];
    for (name, fault) in [
        ("500", Fault::Status(500)),
        ("502", Fault::Status(502)),
        ("503", Fault::Status(503)),
        ("504", Fault::Status(504)),
        ("reset", Fault::Reset),
        ("html page", Fault::HtmlPage),
        ("cut json", Fault::Truncated),
    ] {
        cases.push((name, FaultPlan::every(3, fault)));
    }
    // Waits the server dictates are real: a few of them, not one in three.
    for (name, fault) in [
        ("slow", Fault::Slow(Duration::from_millis(300))),
        ("429 seconds", Fault::TooManyRequests { retry_after: 1 }),
        ("429 http date", Fault::TooManyRequestsDate),
        ("429 bare", Fault::TooManyRequestsBare),
    ] {
        cases.push((name, FaultPlan::nth([(2, fault.clone()), (5, fault)])));
    }
    cases.push((
        "mixed, seeded",
        FaultPlan::seeded(
            20261130,
            15,
            vec![
                Fault::Status(500),
                Fault::Status(503),
                Fault::Reset,
                Fault::HtmlPage,
                Fault::Truncated,
                Fault::RepeatedPage,
                Fault::Slow(Duration::from_millis(50)),
            ],
        ),
    ));
    cases
}

/// Runs the matrix for one connector: `make(proxy_uri)` builds it against the proxy.
async fn matrix<C: Connector>(
    upstream: &str,
    make: impl Fn(&str) -> C,
    extra: Vec<(&'static str, FaultPlan, Expect)>,
) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let options = SyncOptions::default().with_resume(false);
    let clean_proxy = FaultProxy::start(upstream, FaultPlan::none()).await;
    let clean_path = dir.path().join("clean.c1z");
    sync_to_file(&make(&clean_proxy.uri()), &clean_path, &options, None)
        .await
        .unwrap();
    let clean = contents(&clean_path);
    let clean_requests = clean_proxy.requests();
    assert!(!clean.1.is_empty());

    let mut cases: Vec<(&str, FaultPlan, Expect)> = transient_faults()
        .into_iter()
        .map(|(n, p)| (n, p, Expect::Same))
        .collect();
    cases.extend(extra);
    let mut report = Vec::new();
    for (name, plan, expect) in cases {
        let proxy = FaultProxy::start(upstream, plan).await;
        let path = dir
            .path()
            .join(format!("{}.c1z", name.replace([' ', ','], "-")));
        std::fs::copy(&clean_path, &path).unwrap();
        let result = sync_to_file(&make(&proxy.uri()), &path, &options, None).await;
        let injected = proxy.injected().len();
        match expect {
            Expect::Same => {
                let sync = result.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(injected > 0, "{name}: no fault was injected");
                assert!(sync.completed, "{name}");
                assert!(
                    contents(&path) == clean,
                    "{name}: the file differs from a clean sync"
                );
            }
            Expect::Fails(text) => {
                let err = result
                    .err()
                    .unwrap_or_else(|| panic!("{name}: the sync succeeded"));
                assert!(err.to_string().contains(text), "{name}: {err}");
                assert!(
                    contents(&path) == clean,
                    "{name}: the last good sync was lost"
                );
            }
        }
        report.push(format!(
            "{name}: {injected} faults in {} requests (clean: {clean_requests})",
            proxy.requests()
        ));
    }
    report
}

fn valimail(sim: &ValimailSimulator, uri: &str) -> Valimail {
    let st = sim.state();
    let config = ValimailConfig::new(
        SecretString::from(st.client_id.clone()),
        SecretString::from(st.app_id.clone()),
        &st.slug,
        Some(uri),
    )
    .unwrap();
    Valimail::with_client(ValimailClient::with_retry(config, quick()).unwrap())
}

fn sendgrid(sim: &SendgridSimulator, uri: &str) -> Sendgrid {
    let key = sim.state().api_key.clone();
    let config = SendgridConfig::new(SecretString::from(key), "global", false, Some(uri)).unwrap();
    Sendgrid::with_client(SendgridClient::with_retry(&config, quick()).unwrap(), false)
}

fn ironclad(sim: &IroncladSimulator, uri: &str) -> Ironclad {
    ironclad_with(sim, uri, true)
}

fn ironclad_with(sim: &IroncladSimulator, uri: &str, read_only: bool) -> Ironclad {
    let st = sim.state();
    let config = IroncladConfig::new(
        SecretString::from(st.oauth.client_id()),
        SecretString::from(st.oauth.client_secret()),
        "na1",
        &st.admins[0],
        read_only,
        Some(uri),
    )
    .unwrap();
    drop(st);
    Ironclad::with_client(
        IroncladClient::with_retry(&config, quick()).unwrap(),
        read_only,
    )
}

fn slack() -> Provider {
    Provider::load(&Source::Shipped("slack".into())).unwrap()
}

fn scim(sim: &ScimSimulator, uri: &str) -> Scim {
    Scim::with_api(ScimApi::with_retry(&sim.config_at(slack(), uri), quick()).unwrap())
}

/// SCIM listings declare `totalResults`: a page repeated for good under a total that is
/// not reached fails the sync; a total of a billion changes nothing.
fn scim_extras() -> Vec<(&'static str, FaultPlan, Expect)> {
    vec![
        (
            "repeated page, once",
            FaultPlan::always(Fault::RepeatedPage).at_most(1),
            Expect::Same,
        ),
        (
            "repeated page, always",
            FaultPlan::always(Fault::RepeatedPage),
            Expect::Fails("repeating pages"),
        ),
        (
            "total of a billion",
            FaultPlan::always(Fault::LyingTotal(1_000_000_000)),
            Expect::Same,
        ),
        (
            "503 for good",
            FaultPlan::always(Fault::Status(503)),
            Expect::Fails("giving up after 8 attempts"),
        ),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valimail_rides_out_every_fault_or_fails_clearly() {
    let sim = ValimailSimulator::start().await;
    let uri = sim.uri();
    let report = matrix(&uri, |u| valimail(&sim, u), scim_extras()).await;
    assert_eq!(report.len(), transient_faults().len() + 4, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ironclad_rides_out_every_fault_or_fails_clearly() {
    // 230 users and 12 groups: three pages of users, the last two handed out at once.
    let sim = IroncladSimulator::start_with(IroncladState::large(230, 12, 400)).await;
    let uri = sim.uri();
    let mut extras = scim_extras();
    extras.push((
        "401 once",
        FaultPlan::nth([(3, Fault::Unauthorized)]),
        Expect::Same,
    ));
    let report = matrix(&uri, |u| ironclad(&sim, u), extras).await;
    assert_eq!(report.len(), transient_faults().len() + 5, "{report:#?}");
}

/// The generic SCIM connector (the shipped Slack file) in front of the SDK's tenant in
/// Slack's shape, pages of 25: 233 users (ten pages, nine handed out at once, listed twice:
/// users and roles), 14 groups with members, 3 roles.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_rides_out_every_fault_or_fails_clearly() {
    let mut state = ScimState::seeded(shape_for(&slack()).max_page(25));
    state.populate(&Population::new(230, 12, 400).seed(7).roles(3));
    let sim = ScimSimulator::start(state).await;
    let uri = sim.uri();
    let mut extras = scim_extras();
    // An API key the server stops accepting is not refreshed: the operator must act.
    extras.push((
        "401",
        FaultPlan::nth([(3, Fault::Unauthorized)]),
        Expect::Fails("--api-key"),
    ));
    let report = matrix(&uri, |u| scim(&sim, u), extras).await;
    assert_eq!(report.len(), transient_faults().len() + 5, "{report:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sendgrid_rides_out_every_fault_or_fails_clearly() {
    let sim = SendgridSimulator::start_with(SendgridState::large(40, 3)).await;
    let uri = sim.uri();
    let extras = vec![
        // An API key the server stops accepting is not refreshed: the operator must act.
        (
            "401",
            FaultPlan::nth([(3, Fault::Unauthorized)]),
            Expect::Fails("unauthenticated"),
        ),
        (
            "503 for good",
            FaultPlan::always(Fault::Status(503)),
            Expect::Fails("giving up after 8 attempts"),
        ),
    ];
    let report = matrix(&uri, |u| sendgrid(&sim, u), extras).await;
    assert_eq!(report.len(), transient_faults().len() + 2, "{report:#?}");
}

/// A total of a billion costs a bounded number of extra requests, whatever the window.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_billion_total_results_costs_a_window_of_requests_not_a_billion() {
    let sim = IroncladSimulator::start_with(IroncladState::large(230, 3, 10)).await;
    let dir = tempfile::tempdir().unwrap();
    let options = SyncOptions::default();
    let clean = FaultProxy::start(&sim.uri(), FaultPlan::none()).await;
    sync_to_file(
        &ironclad(&sim, &clean.uri()),
        &dir.path().join("a.c1z"),
        &options,
        None,
    )
    .await
    .unwrap();
    let liar = FaultProxy::start(
        &sim.uri(),
        FaultPlan::always(Fault::LyingTotal(1_000_000_000)),
    )
    .await;
    let report = sync_to_file(
        &ironclad(&sim, &liar.uri()),
        &dir.path().join("b.c1z"),
        &options,
        None,
    )
    .await
    .unwrap();
    // Users and groups listings each waste at most one window of empty pages.
    let extra = liar.requests() - clean.requests();
    assert!(
        extra <= 2 * options.workers as u64,
        "{extra} extra requests"
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("declared 1000000000")),
        "{:?}",
        report.warnings
    );
}

/// A proxy that does not route a path (an encoded `/` it refuses, a wrong base path)
/// answers 404 with its own HTML page, for a resource that exists. Through it a revoke
/// must fail, never report `AlreadyRevoked` for a grant still held; a targeted get must
/// fail, never record the resource as gone; a delete must fail, never report it deleted. After the proxy is fixed, the tenant
/// still holds what it held.
async fn html_404_is_not_gone<C: Connector + 'static>(
    name: &str,
    upstream: &str,
    make: impl Fn(&str) -> C,
    holder: impl Fn(&ResourceId) -> bool,
) {
    let dir = tempfile::tempdir().unwrap();
    let proxy = FaultProxy::start(upstream, FaultPlan::none()).await;
    let handle = ConnectorHandle::new(make(&proxy.uri())).unwrap();
    let file = dir.path().join("before.c1z");
    let options = SyncOptions::default().with_resume(false);
    sync_to_file(&handle, &file, &options, None).await.unwrap();
    let before = contents(&file);
    // A grant this connector can revoke, and a user it can fetch by id.
    let revocable = |g: &&Grant| {
        let syncer = handle
            .syncer(&g.entitlement_resource().resource_type)
            .unwrap();
        syncer
            .provisioner()
            .is_some_and(|p| !p.grant_only().covers_grant(g))
    };
    let grant = before
        .3
        .iter()
        .filter(|g| holder(g.principal()))
        .find(revocable)
        .cloned();
    let grant = grant.unwrap_or_else(|| panic!("{name}: no revocable grant"));
    let fetchable = |r: &&Resource| {
        handle
            .syncer(&r.id.resource_type)
            .unwrap()
            .getter()
            .is_some()
    };
    // A user: a static list (SendGrid's scopes) is fetched without a request.
    let resource = before.1.iter().filter(|r| r.user.is_some()).find(fetchable);
    let resource = resource.unwrap_or_else(|| panic!("{name}: no user with a getter"));

    // Every call refused, then only the writes (the membership check before a write
    // reads fine, the write itself meets the proxy).
    let plan = |methods: &[&str]| {
        FaultPlan::always(Fault::HtmlNotFound)
            .methods(methods)
            .sparing("token")
            .sparing("/auth")
    };
    for methods in [
        &["GET", "POST", "PUT", "PATCH", "DELETE"][..],
        &["POST", "PUT", "PATCH", "DELETE"][..],
    ] {
        proxy.set_plan(plan(methods));
        let revoked = handle.revoke(RevokeRequest::new(&grant)).await;
        let err = revoked.expect_err(&format!(
            "{name}: a revoke through an HTML 404 on {methods:?} succeeded"
        ));
        assert_ne!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
        assert!(err.to_string().contains("HTML page"), "{name}: {err}");
    }
    proxy.set_plan(plan(&["GET"]));
    let got = handle.get(&resource.id, resource.parent.as_ref()).await;
    let err = got.expect_err(&format!("{name}: a get through an HTML 404 succeeded"));
    assert_ne!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
    // A deletion the proxy refuses is not "already deleted".
    let syncer = handle.syncer(&resource.id.resource_type).unwrap();
    if syncer.deleter().is_some() {
        proxy.set_plan(plan(&["DELETE"]));
        let deleted = handle.delete(&resource.id).await;
        let err = deleted.expect_err(&format!("{name}: a delete through an HTML 404 succeeded"));
        assert_ne!(err.kind(), ErrorKind::NotFound, "{name}: {err}");
    }

    proxy.set_plan(FaultPlan::none());
    let after = dir.path().join("after.c1z");
    sync_to_file(&handle, &after, &options, None).await.unwrap();
    assert!(
        contents(&after) == before,
        "{name}: the tenant changed behind an HTML 404"
    );
}

#[tokio::test]
async fn a_proxys_html_404_is_never_taken_for_gone() {
    let sim = ValimailSimulator::start().await;
    let anyone = |_: &ResourceId| true;
    html_404_is_not_gone("valimail", &sim.uri(), |u| valimail(&sim, u), anyone).await;
    let sim = SendgridSimulator::start().await;
    // A teammate's scope: an owner's or an admin's cannot be revoked one by one.
    let teammate = |p: &ResourceId| p.resource.starts_with("jane");
    html_404_is_not_gone("sendgrid", &sim.uri(), |u| sendgrid(&sim, u), teammate).await;
    let sim = IroncladSimulator::start().await;
    html_404_is_not_gone(
        "ironclad",
        &sim.uri(),
        |u| ironclad_with(&sim, u, false),
        anyone,
    )
    .await;
    let sim = ScimSimulator::start(ScimState::seeded(shape_for(&slack()))).await;
    html_404_is_not_gone("scim", &sim.uri(), |u| scim(&sim, u), anyone).await;
}
