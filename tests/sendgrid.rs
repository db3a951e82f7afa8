//! End to end with the `sendgrid` example binary against the simulated account: sync,
//! invite a teammate with two scopes, grant a scope (and refresh its teammate and scope
//! with a targeted sync), revoke a scope, delete a teammate, re-sync, and find each change
//! in the file.

mod common;

use std::process::Output;

use common::{command, stderr, stdout};
use connector_sdk::model::ResourceId;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sendgrid::simulator::SendgridSimulator;

async fn run(sim: &SendgridSimulator, dir: &std::path::Path, args: &[&str]) -> Output {
    let key = sim.state().api_key.clone();
    let mut cmd = command("baton-sendgrid");
    cmd.current_dir(dir)
        .env("BATON_SENDGRID_API_KEY", key)
        .env("BATON_BASE_URL", sim.uri())
        .args(args);
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn holders(reader: &C1zReader, entitlement: &str) -> Vec<String> {
    reader
        .grants(&GrantFilter::default().with_entitlement(entitlement))
        .unwrap()
        .iter()
        .map(|g| g.principal().resource.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_invite_grant_revoke_delete_resync() {
    let sim = SendgridSimulator::start().await;
    let dir = tempfile::tempdir().unwrap();
    run(&sim, dir.path(), &[]).await;
    let before = C1zReader::open(&dir.path().join("sync.c1z")).unwrap();
    assert!(
        holders(&before, "scope:templates.read:assigned")
            .contains(&"john+ops@acme.example".to_string())
    );
    drop(before);

    let out = run(
        &sim,
        dir.path(),
        &[
            "-p",
            "--create-account-email",
            "ivy@acme.example",
            "--create-account-profile",
            r#"{"scopes": ["stats.read", "alerts.read"]}"#,
        ],
    )
    .await;
    assert!(
        stdout(&out).contains("invitation sent to ivy@acme.example"),
        "{}",
        stdout(&out)
    );
    run(
        &sim,
        dir.path(),
        &[
            "-p",
            "--grant-entitlement",
            "scope:whitelabel.read:assigned",
            "--grant-principal",
            "kim@acme.example",
            "--grant-principal-type",
            "teammate",
        ],
    )
    .await;
    // ConductorOne's refresh after the grant: the principal and the scope, by id.
    let out = run(
        &sim,
        dir.path(),
        &[
            "--sync-resources",
            "bid:r:teammate/kim@acme.example,bid:r:scope/whitelabel.read",
        ],
    )
    .await;
    assert!(stdout(&out).contains("2 resources"), "{}", stdout(&out));
    let partial = C1zReader::open(&dir.path().join("sync.c1z"))
        .unwrap()
        .with_latest_sync()
        .unwrap();
    assert_eq!(partial.sync().sync_type, "partial");
    assert_eq!(
        holders(&partial, "scope:whitelabel.read:assigned"),
        ["kim@acme.example"]
    );
    drop(partial);
    run(
        &sim,
        dir.path(),
        &[
            "-p",
            "--revoke-grant",
            "scope:templates.read:assigned:teammate:john+ops@acme.example",
        ],
    )
    .await;
    run(
        &sim,
        dir.path(),
        &[
            "-p",
            "--delete-resource",
            "lee@acme.example",
            "--delete-resource-type",
            "teammate",
        ],
    )
    .await;
    run(&sim, dir.path(), &[]).await;

    let reader = C1zReader::open(&dir.path().join("sync.c1z")).unwrap();
    let teammates = reader.resources(Some("teammate")).unwrap();
    let ivy = teammates
        .iter()
        .find(|t| t.display_name == "ivy@acme.example")
        .expect("the invitation is synced");
    assert!(ivy.id.resource.starts_with("pending:"));
    assert_eq!(
        ivy.user.as_ref().unwrap().profile["scopes"],
        serde_json::json!(["stats.read", "alerts.read"])
    );
    assert!(
        holders(&reader, "scope:whitelabel.read:assigned")
            .contains(&"kim@acme.example".to_string())
    );
    assert!(
        !holders(&reader, "scope:templates.read:assigned")
            .contains(&"john+ops@acme.example".to_string())
    );
    assert!(
        reader
            .resource(&ResourceId::new("teammate", "lee@acme.example"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn help_and_region_errors() {
    let out = command("baton-sendgrid").arg("--help").output().unwrap();
    let help = stdout(&out);
    for var in [
        "BATON_SENDGRID_API_KEY",
        "BATON_SENDGRID_REGION",
        "BATON_IGNORE_SUBUSERS",
        "BATON_BASE_URL",
        "BATON_ALLOW_INSECURE_HTTP",
    ] {
        assert!(help.contains(&format!("[env: {var}")), "{var}:\n{help}");
    }
    // Plain http to a host that is not loopback is a configuration error naming the opt-in.
    let out = command("baton-sendgrid")
        .env("BATON_SENDGRID_API_KEY", "SG.x")
        .env("BATON_BASE_URL", "http://sendgrid-proxy.example.com/")
        .arg("validate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--allow-insecure-http (BATON_ALLOW_INSECURE_HTTP)"),
        "{}",
        stderr(&out)
    );
    let out = command("baton-sendgrid")
        .env("BATON_SENDGRID_API_KEY", "SG.x")
        .env("BATON_SENDGRID_REGION", "mars")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--sendgrid-region (BATON_SENDGRID_REGION)")
            && stderr(&out).contains("global or eu"),
        "{}",
        stderr(&out)
    );
}

/// A loopback SendGrid with a 1 s window (reset in whole epoch seconds, which overstates
/// the end by up to a second): the limiter must still use most of the allowed rate with
/// almost no 429. Generous bounds (the bench measures the figure; on an idle machine it is
/// above 80%, on two busy cores about 75%); the limiter before learning short windows
/// reached about 55%.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_second_window_is_mostly_used_without_429s() {
    use connector_sdk::sync::{SyncOptions, sync_to_file};
    use connector_sendgrid::Sendgrid;
    use connector_sendgrid::simulator::{SimRateLimit, SimState};
    use std::time::{Duration, Instant};

    let mut state = SimState::large(50, 20);
    state.rate_limit = Some(SimRateLimit {
        limit: 20,
        window: Duration::from_secs(1),
    });
    let sim = SendgridSimulator::start_with(state).await;
    let connector = Sendgrid::new(sim.config()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t0 = Instant::now();
    let report = sync_to_file(
        &connector,
        &dir.path().join("sg.c1z"),
        &SyncOptions::default(),
        None,
    )
    .await
    .unwrap();
    let elapsed = t0.elapsed().as_secs_f64();
    assert!(report.completed);
    let st = sim.state();
    let share = st.served as f64 / elapsed / 20.0;
    let refused = st.rejected as f64 / (st.served + st.rejected) as f64;
    assert!(
        share >= 0.65 && refused <= 0.03,
        "{} served, {} refused in {elapsed:.1}s: {:.0}% of the allowed rate",
        st.served,
        st.rejected,
        share * 100.0
    );
}

/// A wrong API key: the sync, `validate` and a one-shot grant fail with exit 1, and each
/// error ends with the credential flag and its variable (never the key itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_names_the_credential_flag() {
    let sim = SendgridSimulator::start().await;
    let dir = tempfile::tempdir().unwrap();
    let wrong = "SG.wrong-key-0123456789";
    let attempt = |args: &[&str]| {
        let mut cmd = command("baton-sendgrid");
        cmd.current_dir(dir.path())
            .env("BATON_SENDGRID_API_KEY", wrong)
            .env("BATON_BASE_URL", sim.uri())
            .args(args);
        cmd.output().unwrap()
    };
    for args in [
        &["--no-progress"][..],
        &["validate"][..],
        &[
            "-p",
            "--delete-resource",
            "lee@acme.example",
            "--delete-resource-type",
            "teammate",
        ][..],
    ] {
        let out = tokio::task::block_in_place(|| attempt(args));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        let last = err.trim_end().lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: unauthenticated")
                && last.contains("HTTP 401")
                && last.ends_with("; check --sendgrid-api-key (BATON_SENDGRID_API_KEY)"),
            "{args:?}: {err}"
        );
        assert!(!err.contains(wrong), "the key leaked: {err}");
    }
    // Other failures name no credential flag: a grant id the file does not hold.
    let out = tokio::task::block_in_place(|| {
        attempt(&["-p", "--revoke-grant", "scope:x:assigned:teammate:y"])
    });
    assert_eq!(out.status.code(), Some(1));
    assert!(
        !stderr(&out).contains("check --sendgrid-api-key"),
        "{}",
        stderr(&out)
    );
}

/// A simulated tenant run as a process (`sim sendgrid`) prints the variables that point
/// the connector binary at it; the binary syncs from them.
#[test]
fn a_simulated_tenant_as_a_process_serves_the_binary() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    let mut sim = common::command("sim")
        .arg("sendgrid")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(sim.stdout.take().unwrap()).lines();
    let vars: Vec<(String, String)> = (0..2)
        .map(|_| {
            let line = lines.next().unwrap().unwrap();
            let (k, v) = line.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    assert_eq!(vars[0].0, "BATON_SENDGRID_API_KEY");
    assert!(vars[1].1.starts_with("http://127.0.0.1:"), "{vars:?}");
    let dir = tempfile::tempdir().unwrap();
    let o = common::command("baton-sendgrid")
        .envs(vars)
        .env("BATON_FILE", dir.path().join("sim.c1z"))
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    assert!(o.status.success(), "{}", common::stderr(&o));
    assert!(
        common::stdout(&o).contains("Synced"),
        "{}",
        common::stdout(&o)
    );
}
