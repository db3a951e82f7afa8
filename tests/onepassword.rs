//! End to end with the `onepassword` example binary and the `fake-op` binary: sync, add a
//! user to a group, grant a vault permission to a group, revoke one from a user, re-sync,
//! and find each change; no secret in argv, output or files, and no `BATON_*` variable in
//! any op child's environment. The fake op fails on a schedule (a `(500)`, a connection
//! reset, a grant applied before its answer was lost) and the results are the same.

mod common;

use std::path::Path;
use std::process::Output;

use common::{command, stderr, stdout, workspace_bin};
use connector_onepassword::simulator::{FakeOpState, Fault, FaultKind};
use connector_sdk::store::{C1zReader, GrantFilter};

const PROD: &str = "ujjxsn4fd3iyt5cba4wpdh6qmi";
const SHARED: &str = "sharedvaultsharedvaultshar";
const ENG: &str = "YZ4SPXC2GJA6FHVUNN6O6TDBMQ";
const EMPTY_GROUP: &str = "EMPTYGROUPEMPTYGROUPEMPTY";
const ADMIN: &str = "ADMINUUIDADMINUUIDADMINUU";
const RAY: &str = "RAUUIDRAUUIDRAUUIDRAUUIDR";

fn run(dir: &Path, args: &[&str]) -> Output {
    let creds = FakeOpState::seeded().credentials;
    let out = command("baton-1password")
        .current_dir(dir)
        .env("BATON_OP_PATH", workspace_bin("fake-op"))
        // The fake keeps its state in op's config directory, which the connector passes on.
        .env("OP_CONFIG_DIR", dir)
        .env_remove("FAKE_OP_STATE")
        .env("BATON_ADDRESS", &creds.address)
        .env("BATON_EMAIL", &creds.email)
        .env("BATON_SECRET_KEY", &creds.secret_key)
        .env("BATON_PASSWORD", &creds.password)
        .env("BATON_LOG_LEVEL", "debug")
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn holders(r: &C1zReader, e: &str) -> Vec<String> {
    r.grants(&GrantFilter::default().with_entitlement(e))
        .unwrap()
        .iter()
        .map(|g| g.principal().to_string())
        .collect()
}

#[test]
fn sync_group_add_vault_grant_vault_revoke_resync() {
    let dir = tempfile::tempdir().unwrap();
    let mut seeded = FakeOpState::seeded();
    seeded.faults = vec![
        Fault::nth(&["user", "list"], 1, FaultKind::ServerError),
        Fault::nth(&["vault", "list"], 1, FaultKind::ConnectionReset),
        Fault::nth(&["signin"], 1, FaultKind::ConnectionReset),
        Fault::nth(&["vault", "group", "grant"], 1, FaultKind::AppliedThenReset),
        Fault::nth(&["group", "user", "grant"], 1, FaultKind::AppliedThenReset),
    ];
    seeded.save(&dir.path().join("fake-op-state.json")).unwrap();
    let mut all = String::new();
    for args in [
        vec![],
        vec![
            "-p",
            "--grant-entitlement",
            &format!("group:{EMPTY_GROUP}:member"),
            "--grant-principal",
            RAY,
            "--grant-principal-type",
            "user",
        ],
        vec![
            "-p",
            "--grant-entitlement",
            &format!("vault:{SHARED}:view items"),
            "--grant-principal",
            ENG,
            "--grant-principal-type",
            "group",
        ],
        vec![
            "-p",
            "--revoke-grant",
            &format!("vault:{PROD}:edit items:user:{ADMIN}"),
        ],
        vec![],
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        let out = run(dir.path(), &args);
        all.push_str(&stdout(&out));
        all.push_str(&stderr(&out));
    }
    let reader = C1zReader::open(&dir.path().join("sync.c1z")).unwrap();
    assert!(
        holders(&reader, &format!("group:{EMPTY_GROUP}:member")).contains(&format!("user:{RAY}"))
    );
    assert!(
        holders(&reader, &format!("vault:{SHARED}:view items")).contains(&format!("group:{ENG}"))
    );
    assert!(
        !holders(&reader, &format!("vault:{PROD}:edit items")).contains(&format!("user:{ADMIN}"))
    );
    assert!(
        holders(&reader, &format!("vault:{PROD}:view items")).contains(&format!("user:{ADMIN}")),
        "prerequisites kept"
    );

    // No secret in any output, in the c1z, or in any argv the fake recorded.
    let state: FakeOpState =
        serde_json::from_slice(&std::fs::read(dir.path().join("fake-op-state.json")).unwrap())
            .unwrap();
    assert_eq!(state.injected.len(), 5, "{:?}", state.injected);
    // The connector's BATON_* variables never reach an op child.
    for call in &state.calls {
        assert!(
            !call.env.iter().any(|n| n.starts_with("BATON_")),
            "{:?}: {:?}",
            call.args,
            call.env
        );
        assert!(call.env.iter().any(|n| n == "OP_CONFIG_DIR"));
    }
    let creds = state.credentials.clone();
    let c1z = std::fs::read(dir.path().join("sync.c1z")).unwrap();
    for secret in [creds.password.as_str(), creds.secret_key.as_str()]
        .into_iter()
        .chain(state.sessions.iter().map(String::as_str))
    {
        assert!(!all.contains(secret), "leaked into output");
        assert!(
            !c1z.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "leaked into the c1z"
        );
        assert!(
            !state
                .calls
                .iter()
                .any(|c| c.args.iter().any(|a| a.contains(secret))),
            "leaked into argv"
        );
    }
}

#[test]
fn help_lists_the_1password_variables() {
    let out = command("baton-1password").arg("--help").output().unwrap();
    let help = stdout(&out);
    for var in [
        "BATON_ADDRESS",
        "BATON_EMAIL",
        "BATON_SECRET_KEY",
        "BATON_PASSWORD",
        "BATON_AUTH_TYPE",
        "BATON_LIMIT_VAULT_PERMISSIONS",
        "BATON_OP_PATH",
    ] {
        assert!(help.contains(&format!("[env: {var}")), "{var}:\n{help}");
    }
    let out = command("baton-1password")
        .env("BATON_AUTH_TYPE", "service")
        .env_remove("OP_SERVICE_ACCOUNT_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("OP_SERVICE_ACCOUNT_TOKEN"),
        "{}",
        stderr(&out)
    );
    let out = command("baton-1password")
        .env("BATON_EMAIL", "a@b.c")
        .env("BATON_SECRET_KEY", "k")
        .env("BATON_PASSWORD", "p")
        .env("BATON_OP_PATH", "/nope/op")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("op not found"), "{}", stderr(&out));
}
