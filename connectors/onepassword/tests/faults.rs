//! Issue #18: op's transient failures are treated like HTTP ones. The fake `op` fails on a
//! schedule (connection resets, `(500)`, `(429)`, hangs, output cut short, "applied, then
//! the answer was lost"); syncs and grants must come out as they would without the faults,
//! persistent failures must stop within the retry budget, and sign-in errors must blame
//! the network or the credentials correctly. Also: no child sees a `BATON_*` variable.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use connector_onepassword::OnePassword;
use connector_onepassword::simulator::{Chaos, FakeOpRunner, FakeOpState, Fault, FaultKind};
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::retry::RetryPolicy;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};

const PROD: &str = "ujjxsn4fd3iyt5cba4wpdh6qmi";
const SHARED: &str = "sharedvaultsharedvaultshar";
const ENG: &str = "YZ4SPXC2GJA6FHVUNN6O6TDBMQ";
const EMPTY_GROUP: &str = "EMPTYGROUPEMPTYGROUPEMPTY";
const WENDY: &str = "WHPOFIMMYFFITBVTOTZUR3R324";
const BOB: &str = "BOBUUIDBOBUUIDBOBUUIDBOBU";
const RAY: &str = "RAUUIDRAUUIDRAUUIDRAUUIDR";

/// Everything a sync wrote, as sorted text: resources, entitlements, grants.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    resources: BTreeSet<String>,
    entitlements: BTreeSet<String>,
    grants: BTreeSet<String>,
}

async fn try_sync(c: &OnePassword) -> Result<Snapshot> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("op.c1z");
    sync_to_file(c, &path, &SyncOptions::default(), None).await?;
    let r = C1zReader::open(&path).unwrap();
    Ok(Snapshot {
        resources: r
            .resources(None)
            .unwrap()
            .iter()
            .map(|x| format!("{x:?}"))
            .collect(),
        entitlements: r
            .entitlements(None)
            .unwrap()
            .iter()
            .map(|x| format!("{x:?}"))
            .collect(),
        grants: r
            .grants(&GrantFilter::default())
            .unwrap()
            .iter()
            .map(|x| format!("{x:?}"))
            .collect(),
    })
}

fn ent(rt: &str, id: &str, slug: &str) -> Entitlement {
    Entitlement::from_parts(format!("{rt}:{id}:{slug}"), ResourceId::new(rt, id), slug)
}

fn principal(rt: &str, id: &str) -> Resource {
    Resource::with_id(ResourceId::new(rt, id), id)
}

fn calls_with(fake: &FakeOpRunner, prefix: &[&str]) -> usize {
    fake.state()
        .calls
        .iter()
        .filter(|c| c.args.len() >= prefix.len() && c.args.iter().zip(prefix).all(|(a, p)| a == p))
        .count()
}

fn with_faults(faults: Vec<Fault>) -> FakeOpRunner {
    let mut state = FakeOpState::seeded();
    state.faults = faults;
    FakeOpRunner::new(state)
}

#[tokio::test]
async fn a_sync_under_resets_500s_429s_hangs_and_cut_output_has_the_same_data_as_a_clean_one() {
    let clean = try_sync(&FakeOpRunner::seeded().connector(vec![]))
        .await
        .unwrap();
    assert_eq!(clean.resources.len(), 13);
    let mut injected_kinds = BTreeSet::new();
    // Chaos is keyed by argv: seeds whose dice inject at least 4 faults into this sync
    // (with ids after `--`, seed 3 injects only 3).
    for seed in [1, 2, 4] {
        let mut state = FakeOpState::seeded();
        state.chaos = Some(Chaos::new(
            seed,
            40,
            &[
                FaultKind::ConnectionReset,
                FaultKind::ServerError,
                FaultKind::TooManyRequests,
                FaultKind::Garbage,
                FaultKind::Hang,
            ],
        ));
        let fake = FakeOpRunner::new(state);
        let c = fake.connector(vec![]);
        c.client().set_command_timeout(Duration::from_millis(30));
        let chaotic = try_sync(&c)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert_eq!(chaotic, clean, "seed {seed}");
        let injected = fake.state().injected.clone();
        assert!(injected.len() >= 4, "seed {seed}: {injected:?}");
        injected_kinds.extend(
            injected
                .iter()
                .filter_map(|i| i.split(' ').next().map(String::from)),
        );
    }
    for kind in [
        "ConnectionReset",
        "ServerError",
        "TooManyRequests",
        "Garbage",
        "Hang",
    ] {
        assert!(
            injected_kinds.contains(kind),
            "no {kind} in {injected_kinds:?}"
        );
    }
}

#[tokio::test]
async fn a_hang_is_killed_by_the_timeout_and_retried_and_cut_output_is_read_again() {
    let fake = with_faults(vec![
        Fault::nth(&["vault", "list"], 1, FaultKind::Hang),
        Fault::nth(&["group", "list"], 1, FaultKind::Garbage),
    ]);
    let c = fake.connector(vec![]);
    c.client().set_command_timeout(Duration::from_millis(50));
    let snap = try_sync(&c).await.unwrap();
    assert_eq!(snap.resources.len(), 13);
    assert_eq!(calls_with(&fake, &["vault", "list"]), 2);
    assert_eq!(calls_with(&fake, &["group", "list"]), 2);
}

#[tokio::test]
async fn a_vault_grant_applied_before_the_connection_dropped_succeeds_and_is_held_once() {
    // Once: the retry finds the permission there already (op grants idempotently).
    let fake = with_faults(vec![Fault::nth(
        &["vault", "user", "grant"],
        1,
        FaultKind::AppliedThenReset,
    )]);
    let c = fake.connector(vec![]);
    let vaults = syncer_for(&c, "vault").unwrap();
    let p = vaults.provisioner().unwrap();
    let outcome = p
        .grant(GrantRequest::new(
            &principal("user", RAY),
            &ent("vault", SHARED, "view items"),
        ))
        .await
        .unwrap();
    assert!(matches!(outcome, GrantOutcome::Granted(_)), "{outcome:?}");
    assert_eq!(fake.state().vault_users[SHARED][RAY], ["view_items"]);
    assert_eq!(calls_with(&fake, &["vault", "user", "grant"]), 2);
    // Granting again is AlreadyExists, and a sync shows the grant exactly once.
    let again = p
        .grant(GrantRequest::new(
            &principal("user", RAY),
            &ent("vault", SHARED, "view items"),
        ))
        .await
        .unwrap();
    assert!(matches!(again, GrantOutcome::AlreadyExists), "{again:?}");
    let snap = try_sync(&c).await.unwrap();
    let ray_view = snap
        .grants
        .iter()
        .filter(|g| g.contains(&format!("vault:{SHARED}:view items:user:{RAY}")))
        .count();
    assert_eq!(ray_view, 1);

    // Every answer lost: retries run out, then reading back shows the change in place.
    let fake = with_faults(vec![Fault::always(
        &["vault", "group", "grant"],
        FaultKind::AppliedThenReset,
    )]);
    let c = fake.connector(vec![]);
    let outcome = syncer_for(&c, "vault")
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &principal("group", EMPTY_GROUP),
            &ent("vault", PROD, "edit items"),
        ))
        .await
        .unwrap();
    assert!(matches!(outcome, GrantOutcome::Granted(_)), "{outcome:?}");
    assert_eq!(
        fake.state().vault_groups[PROD][EMPTY_GROUP],
        ["edit_items", "view_and_copy_passwords", "view_items"]
    );
    assert_eq!(calls_with(&fake, &["vault", "group", "grant"]), 6);
}

#[tokio::test]
async fn revokes_and_membership_changes_whose_answer_was_lost_report_what_the_vault_holds() {
    let fake = with_faults(vec![
        Fault::nth(&["vault", "user", "revoke"], 1, FaultKind::AppliedThenReset),
        Fault::nth(&["group", "user", "revoke"], 1, FaultKind::AppliedThenReset),
        Fault::nth(&["group", "user", "grant"], 1, FaultKind::AppliedThenReset),
    ]);
    let c = fake.connector(vec![]);
    // The repeat of the revoke says "no permissions": the read-back shows it is done.
    let vaults = syncer_for(&c, "vault").unwrap();
    let out = vaults
        .provisioner()
        .unwrap()
        .revoke(RevokeRequest::new(&Grant::new(
            &ent("vault", SHARED, "view items"),
            ResourceId::new("user", WENDY),
        )))
        .await
        .unwrap();
    assert_eq!(out, RevokeOutcome::Revoked);
    assert!(!fake.state().vault_users[SHARED].contains_key(WENDY));
    // The repeat of the group revoke says "isn't a member": done too.
    let groups = syncer_for(&c, "group").unwrap();
    let out = groups
        .provisioner()
        .unwrap()
        .revoke(RevokeRequest::new(&Grant::new(
            &ent("group", ENG, "member"),
            ResourceId::new("user", BOB),
        )))
        .await
        .unwrap();
    assert_eq!(out, RevokeOutcome::Revoked);
    assert!(!fake.state().group_members[ENG].contains_key(BOB));
    let out = groups
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &principal("user", RAY),
            &ent("group", ENG, "manager"),
        ))
        .await
        .unwrap();
    assert!(matches!(out, GrantOutcome::Granted(_)), "{out:?}");
    assert_eq!(fake.state().group_members[ENG][RAY], "MANAGER");
}

#[tokio::test]
async fn a_write_that_never_got_through_fails_clearly_and_changes_nothing() {
    let fake = with_faults(vec![Fault::always(
        &["vault", "user", "grant"],
        FaultKind::ServerError,
    )]);
    let c = fake.connector(vec![]);
    let err = syncer_for(&c, "vault")
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &principal("user", RAY),
            &ent("vault", SHARED, "view items"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let text = err.to_string();
    assert!(text.contains("granting view_items on vault"), "{text}");
    assert!(text.contains("giving up after 6 attempt(s)"), "{text}");
    assert!(text.contains("(500) Internal Server Error"), "{text}");
    assert!(!fake.state().vault_users[SHARED].contains_key(RAY));
    assert_eq!(calls_with(&fake, &["vault", "user", "grant"]), 6);
}

#[tokio::test]
async fn persistent_failures_end_the_sync_within_the_retry_budget() {
    // Out of attempts.
    let fake = with_faults(vec![Fault::always(
        &["user", "list"],
        FaultKind::ConnectionReset,
    )]);
    let err = try_sync(&fake.connector(vec![])).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("connection to the service was reset"),
        "{text}"
    );
    assert!(text.contains("giving up after 6 attempt(s)"), "{text}");
    // Two listings run `op user list` (users, and the account's member grants).
    assert!(calls_with(&fake, &["user", "list"]) <= 12);

    // Out of waiting time: 20 ms waits against a 100 ms budget, however many attempts.
    let fake = with_faults(vec![Fault::always(
        &["group", "list"],
        FaultKind::ServerError,
    )]);
    let c = fake.connector(vec![]);
    c.client().set_retry_policy(RetryPolicy {
        max_attempts: 1000,
        min_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(20),
        max_total_wait: Duration::from_millis(100),
    });
    let started = Instant::now();
    let err = try_sync(&c).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let text = err.to_string();
    assert!(text.contains("would pass the retry budget"), "{text}");
    assert!(text.contains("(500) Internal Server Error"), "{text}");
    assert!(calls_with(&fake, &["group", "list"]) <= 6);
}

#[tokio::test]
async fn a_sign_in_network_failure_blames_the_network_not_the_credentials() {
    let credential_flags = [
        "--email",
        "--secret-key",
        "--password",
        "BATON_EMAIL",
        "BATON_SECRET_KEY",
        "BATON_PASSWORD",
    ];
    for (command, kind) in [
        (&["signin"][..], FaultKind::ConnectionReset),
        (&["account", "add"][..], FaultKind::DnsFailure),
        (&["signin"][..], FaultKind::Hang),
    ] {
        let fake = with_faults(vec![Fault::always(command, kind)]);
        let c = fake.connector(vec![]);
        c.client().set_command_timeout(Duration::from_millis(20));
        let err = c.validate().await.unwrap_err();
        let text = err.to_string();
        assert!(err.is_retryable(), "{kind:?}: {text}");
        assert!(
            text.contains("the network failed, not the credentials"),
            "{text}"
        );
        assert!(text.contains("acme.1password.com"), "{text}");
        for flag in credential_flags {
            assert!(!text.contains(flag), "{kind:?} names {flag}: {text}");
        }
        assert_eq!(calls_with(&fake, command), 6, "{kind:?}: retried");
    }
    // A network failure that passes: signed in after the retry.
    let fake = with_faults(vec![Fault::nth(&["signin"], 1, FaultKind::ConnectionReset)]);
    fake.connector(vec![]).validate().await.unwrap();
    // Wrong credentials: named with their variables, and not retried.
    let mut state = FakeOpState::seeded();
    state.credentials.password = "something else".into();
    let fake = FakeOpRunner::new(state);
    let err = fake
        .connector_with(FakeOpState::seeded().user_config(vec![]))
        .validate()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    let text = err.to_string();
    for flag in [
        "--secret-key (BATON_SECRET_KEY)",
        "--password (BATON_PASSWORD)",
    ] {
        assert!(text.contains(flag), "{text}");
    }
    assert!(!text.contains("network"), "{text}");
    assert_eq!(calls_with(&fake, &["account", "add"]), 1);
}

#[tokio::test]
async fn no_op_child_sees_baton_variables_or_a_stray_service_token() {
    let seeded = FakeOpState::seeded();
    let creds = seeded.credentials.clone();
    let fake = FakeOpRunner::new(seeded).with_parent_env(&[
        ("PATH", "/usr/bin:/bin"),
        ("HOME", "/home/connector"),
        ("LC_ALL", "C.UTF-8"),
        ("HTTPS_PROXY", "http://proxy.internal:3128"),
        ("OP_CONFIG_DIR", "/srv/op"),
        ("BATON_PASSWORD", &creds.password),
        ("BATON_SECRET_KEY", &creds.secret_key),
        ("BATON_EMAIL", &creds.email),
        ("OP_SERVICE_ACCOUNT_TOKEN", "ops_stray"),
        ("AWS_SECRET_ACCESS_KEY", "aws"),
    ]);
    let snap = try_sync(&fake.connector(vec![])).await.unwrap();
    assert_eq!(snap.resources.len(), 13);
    let calls = fake.state().calls.clone();
    assert!(calls.len() > 10);
    for call in &calls {
        for name in &call.env {
            assert!(
                !name.starts_with("BATON_")
                    && name != "OP_SERVICE_ACCOUNT_TOKEN"
                    && name != "AWS_SECRET_ACCESS_KEY",
                "{name} reached op {:?}",
                call.args
            );
        }
        for name in ["PATH", "HOME", "LC_ALL", "HTTPS_PROXY", "OP_CONFIG_DIR"] {
            assert!(call.env.iter().any(|n| n == name), "{name}: {:?}", call.env);
        }
        let is_add = call.args.starts_with(&["account".into(), "add".into()]);
        assert_eq!(
            call.env.iter().any(|n| n == "OP_SECRET_KEY"),
            is_add,
            "{:?}",
            call.args
        );
    }
}
