//! End to end with the `valimail` example binary against the simulated tenant: sync,
//! grant a member type, disable a user, re-sync, and find both changes in the file.

mod common;

use std::process::Output;

use common::{command, stderr, stdout};
use connector_sdk::model::{ResourceId, UserStatus};
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_valimail::simulator::ValimailSimulator;

async fn run(sim: &ValimailSimulator, dir: &std::path::Path, args: &[&str]) -> Output {
    let (client, app, slug) = {
        let st = sim.state();
        (st.client_id.clone(), st.app_id.clone(), st.slug.clone())
    };
    let mut cmd = command("baton-valimail");
    cmd.current_dir(dir)
        .env("BATON_VALIMAIL_CLIENT_ID", client)
        .env("BATON_VALIMAIL_APP_ID", app)
        .env("BATON_VALIMAIL_SLUG", slug)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_grant_disable_resync() {
    let sim = ValimailSimulator::start().await;
    let dir = tempfile::tempdir().unwrap();
    let out = run(&sim, dir.path(), &[]).await;
    assert!(
        stdout(&out).contains("Synced 13 resources"),
        "{}",
        stdout(&out)
    );

    let out = run(
        &sim,
        dir.path(),
        &[
            "--provisioning",
            "--grant-entitlement",
            "member_type:owner:member",
            "--grant-principal",
            "2906d4927bf178077519",
            "--grant-principal-type",
            "user",
        ],
    )
    .await;
    assert!(
        stdout(&out).contains("granted member_type:owner:member"),
        "{}",
        stdout(&out)
    );
    let out = run(
        &sim,
        dir.path(),
        &[
            "--provisioning",
            "--invoke-action",
            "disable_user",
            "--invoke-action-args",
            r#"{"user_id":"49c398b12b"}"#,
        ],
    )
    .await;
    assert!(
        stdout(&out).contains("\"active\": false"),
        "{}",
        stdout(&out)
    );
    run(&sim, dir.path(), &[]).await;

    let reader = C1zReader::open(&dir.path().join("sync.c1z")).unwrap();
    let owners: Vec<String> = reader
        .grants(&GrantFilter::default().with_entitlement("member_type:owner:member"))
        .unwrap()
        .iter()
        .map(|g| g.principal().resource.clone())
        .collect();
    assert!(
        owners.contains(&"2906d4927bf178077519".to_string()),
        "{owners:?}"
    );
    let ada = reader
        .resource(&ResourceId::new("user", "49c398b12b"))
        .unwrap()
        .unwrap();
    assert_eq!(ada.user.unwrap().status, UserStatus::Disabled);
}

#[test]
fn help_shows_every_valimail_flag_with_its_variable() {
    let out = command("baton-valimail").arg("--help").output().unwrap();
    let help = stdout(&out);
    for var in [
        "BATON_VALIMAIL_CLIENT_ID",
        "BATON_VALIMAIL_APP_ID",
        "BATON_VALIMAIL_SLUG",
        "BATON_BASE_URL",
        "BATON_FILE",
        "BATON_PROVISIONING",
    ] {
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} missing:\n{help}"
        );
    }
    let out = command("baton-valimail").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("--valimail-client-id (BATON_VALIMAIL_CLIENT_ID)")
            && err.contains("--valimail-slug (BATON_VALIMAIL_SLUG)"),
        "{err}"
    );
}

/// The reported failure: against a tenant answering PATCH with 204 No Content, the grant
/// and the action were applied but reported "not the expected JSON … (HTTP 204)". Both
/// succeed now, and the action reports the state read back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grant_and_disable_against_a_tenant_answering_patch_with_204() {
    let mut state = connector_valimail::simulator::SimState::seeded();
    state.shape.patch = connector_sdk::testing::scim::PatchAnswer::NoContent;
    let sim = ValimailSimulator::start_with(state).await;
    let dir = tempfile::tempdir().unwrap();
    run(&sim, dir.path(), &[]).await;
    let out = run(
        &sim,
        dir.path(),
        &[
            "--provisioning",
            "--grant-entitlement",
            "member_type:owner:member",
            "--grant-principal",
            "2906d4927bf178077519",
            "--grant-principal-type",
            "user",
        ],
    )
    .await;
    assert!(
        stdout(&out).contains("granted member_type:owner:member"),
        "{}",
        stdout(&out)
    );
    let out = run(
        &sim,
        dir.path(),
        &[
            "--provisioning",
            "--invoke-action",
            "disable_user",
            "--invoke-action-args",
            r#"{"user_id":"49c398b12b"}"#,
        ],
    )
    .await;
    assert!(
        stdout(&out).contains("\"active\": false"),
        "{}",
        stdout(&out)
    );
    assert_eq!(sim.user("49c398b12b").unwrap().active, Some(false));
}

/// A wrong key half: the error ends with the three fields that make up the sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_names_every_credential_flag() {
    let sim = ValimailSimulator::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (client, slug) = {
        let st = sim.state();
        (st.client_id.clone(), st.slug.clone())
    };
    let mut cmd = command("baton-valimail");
    cmd.current_dir(dir.path())
        .env("BATON_VALIMAIL_CLIENT_ID", client)
        .env("BATON_VALIMAIL_APP_ID", "not-the-app-id")
        .env("BATON_VALIMAIL_SLUG", slug)
        .env("BATON_BASE_URL", sim.uri())
        .arg("--no-progress");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.trim_end().ends_with(
            "; check --valimail-client-id (BATON_VALIMAIL_CLIENT_ID), --valimail-app-id (BATON_VALIMAIL_APP_ID) and --valimail-slug (BATON_VALIMAIL_SLUG)"
        ),
        "{err}"
    );
    assert!(!err.contains("not-the-app-id"), "{err}");
}
