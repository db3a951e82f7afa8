//! End to end with the `ironclad` example binary against the simulated tenant: sync,
//! create an account (its password goes to a 0600 file and into no output), add it to a
//! group, remove another member, re-sync, and find the changes.

mod common;

use std::process::Output;

use common::{command, stderr, stdout};
use connector_ironclad::simulator::IroncladSimulator;
use connector_sdk::store::{C1zReader, GrantFilter};

async fn run(sim: &IroncladSimulator, dir: &std::path::Path, args: &[&str]) -> Output {
    let (id, secret, admin) = {
        let st = sim.state();
        (
            st.oauth.client_id().to_owned(),
            st.oauth.client_secret().to_owned(),
            st.admins[0].clone(),
        )
    };
    let mut cmd = command("baton-ironclad");
    cmd.current_dir(dir)
        .env("BATON_IC_CLIENT_ID", id)
        .env("BATON_IC_CLIENT_SECRET", secret)
        .env("BATON_AS_USER_EMAIL", admin)
        .env("BATON_BASE_URL", sim.uri())
        .env("BATON_LOG_LEVEL", "debug")
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

fn members(reader: &C1zReader, group: &str) -> Vec<String> {
    reader
        .grants(&GrantFilter::default().with_entitlement(format!("group:{group}:member")))
        .unwrap()
        .iter()
        .map(|g| g.principal().resource.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_create_add_remove_resync() {
    let sim = IroncladSimulator::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut logs = String::new();
    let out = run(&sim, dir.path(), &[]).await;
    assert!(
        stdout(&out).contains("Synced 10 resources"),
        "{}",
        stdout(&out)
    );

    let out = run(
        &sim,
        dir.path(),
        &[
            "-p",
            "--create-account-email",
            "new.hire@acme.example",
            "--create-account-profile",
            r#"{"first_name": "New", "last_name": "Hire", "title": "Counsel"}"#,
            "--credentials-file",
            "new-hire.json",
        ],
    )
    .await;
    logs.push_str(&stdout(&out));
    logs.push_str(&stderr(&out));
    let created = stdout(&out);
    let id = created
        .split("created account user:")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("{created}"))
        .to_string();
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("new-hire.json")).unwrap())
            .unwrap();
    let password = creds["credentials"]["password"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(password.chars().count() >= 16);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(dir.path().join("new-hire.json"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o600
        );
    }

    run(&sim, dir.path(), &[]).await;
    for args in [
        vec![
            "-p",
            "--grant-entitlement",
            "group:g-legal:member",
            "--grant-principal",
            id.as_str(),
            "--grant-principal-type",
            "user",
        ],
        vec![
            "-p",
            "--revoke-grant",
            "group:g-legal:member:user:6660d37dec0eac3deffb6812",
        ],
        vec![],
    ] {
        let out = run(&sim, dir.path(), &args).await;
        logs.push_str(&stdout(&out));
        logs.push_str(&stderr(&out));
    }
    let reader = C1zReader::open(&dir.path().join("sync.c1z")).unwrap();
    let legal = members(&reader, "g-legal");
    assert!(legal.contains(&id), "{legal:?}");
    assert!(
        !legal.contains(&"6660d37dec0eac3deffb6812".to_string()),
        "{legal:?}"
    );
    assert!(
        legal.contains(&"6660d37dec0eac3deffb6811".to_string()),
        "the other member stays: {legal:?}"
    );
    assert!(
        !logs.contains(&password),
        "the password leaked into the output"
    );
    assert!(
        !std::fs::read(dir.path().join("sync.c1z"))
            .unwrap()
            .windows(password.len())
            .any(|w| w == password.as_bytes())
    );
}

#[test]
fn help_and_environment_errors() {
    let out = command("baton-ironclad").arg("--help").output().unwrap();
    let help = stdout(&out);
    for var in [
        "BATON_IC_CLIENT_ID",
        "BATON_IC_CLIENT_SECRET",
        "BATON_ENVIRONMENT",
        "BATON_AS_USER_EMAIL",
        "BATON_READ_ONLY",
        "BATON_BASE_URL",
    ] {
        assert!(help.contains(&format!("[env: {var}")), "{var}:\n{help}");
    }
    let out = command("baton-ironclad")
        .env("BATON_IC_CLIENT_ID", "x")
        .env("BATON_IC_CLIENT_SECRET", "y")
        .env("BATON_AS_USER_EMAIL", "a@b.co")
        .env("BATON_ENVIRONMENT", "moon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--environment (BATON_ENVIRONMENT)"),
        "{}",
        stderr(&out)
    );
}
