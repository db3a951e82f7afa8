//! Tests of `command/mod.rs`.

use super::*;

#[tokio::test]
async fn env_is_per_child_and_removable() {
    let runner = ProcessRunner::new("sh");
    let out = runner
        .run(
            &Command::new(["-c", "echo \"$ONLY_HERE/${HOME:-unset}\""])
                .env("ONLY_HERE", SecretString::from("x"))
                .env_remove("HOME"),
        )
        .await
        .unwrap();
    assert_eq!(out.stdout_text().trim(), "x/unset");
    assert!(
        std::env::var("ONLY_HERE").is_err(),
        "the parent's environment is untouched"
    );
}

#[tokio::test]
async fn timeouts_kill_and_missing_programs_explain() {
    let err = ProcessRunner::new("sh")
        .run(&Command::new(["-c", "sleep 5"]).timeout(Duration::from_millis(100)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::DeadlineExceeded);
    let err = ProcessRunner::new("/nonexistent/op")
        .run(&Command::new(["--version"]))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
    let out = ProcessRunner::new("sh")
        .run(&Command::new(["-c", "echo oops >&2; exit 3"]))
        .await
        .unwrap();
    assert_eq!((out.status, out.stderr.trim()), (3, "oops"));
}

#[test]
fn secret_args_are_redacted() {
    let c = Command::new(["user", "list", "--session"]).secret_arg(SecretString::from("tok-123"));
    assert_eq!(
        c.display_args(),
        ["user", "list", "--session", "[REDACTED]"]
    );
    assert!(!format!("{c:?}").contains("tok-123"));
}

#[tokio::test]
async fn children_get_a_clean_environment_from_a_parent_snapshot() {
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    let parent: Vec<(OsString, OsString)> = [
        ("PATH", path),
        ("HOME", "/home/connector".into()),
        ("LC_ALL", "C.UTF-8".into()),
        ("HTTPS_PROXY", "http://proxy.internal:3128".into()),
        ("no_proxy", "localhost".into()),
        ("SSL_CERT_FILE", "/etc/ssl/ca.pem".into()),
        ("BATON_PASSWORD", "hunter2".into()),
        ("BATON_SECRET_KEY", "A3-SECRET".into()),
        ("BATON_X", "x".into()),
        ("OP_SERVICE_ACCOUNT_TOKEN", "ops_stray".into()),
        ("OP_CONFIG_DIR", "/srv/op".into()),
    ]
    .into_iter()
    .map(|(k, v)| (OsString::from(k), v))
    .collect();
    let runner = ProcessRunner::new("sh")
        .allow_env("OP_CONFIG_DIR")
        .with_parent_env(parent);
    let out = runner
        .run(&Command::new(["-c", "env"]).env("OP_ACCOUNT", SecretString::from("acme")))
        .await
        .unwrap();
    let env = out.stdout_text();
    let names: Vec<&str> = env.lines().filter_map(|l| l.split('=').next()).collect();
    assert!(!names.iter().any(|n| n.starts_with("BATON_")), "{env}");
    assert!(
        !env.contains("hunter2") && !env.contains("A3-SECRET"),
        "{env}"
    );
    assert!(!names.contains(&"OP_SERVICE_ACCOUNT_TOKEN"), "{env}");
    for line in [
        "HOME=/home/connector",
        "LC_ALL=C.UTF-8",
        "HTTPS_PROXY=http://proxy.internal:3128",
        "no_proxy=localhost",
        "SSL_CERT_FILE=/etc/ssl/ca.pem",
        "OP_CONFIG_DIR=/srv/op",
        "OP_ACCOUNT=acme",
    ] {
        assert!(env.lines().any(|l| l == line), "{line} missing from\n{env}");
    }
    assert!(!format!("{runner:?}").contains("hunter2"));
}

#[tokio::test]
async fn children_of_the_real_process_environment_get_only_allowed_names() {
    // Whatever this test process holds, a child sees only allow-listed names.
    let out = ProcessRunner::new("sh")
        .run(&Command::new(["-c", "env"]))
        .await
        .unwrap();
    let allow = EnvAllowList::standard();
    for line in out.stdout_text().lines() {
        let name = line.split('=').next().unwrap_or_default();
        // sh itself sets PWD, SHLVL and `_`.
        if ["PWD", "OLDPWD", "SHLVL", "_"].contains(&name) || name.is_empty() {
            continue;
        }
        assert!(allow.allows(name), "{name} was inherited");
    }
}

#[tokio::test]
async fn run_retrying_retries_transient_failures_and_not_others() {
    let dir = tempfile::tempdir().unwrap();
    let counter = dir.path().join("n");
    let fast = RetryPolicy {
        max_attempts: 4,
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        ..RetryPolicy::default()
    };
    // Fails twice with a reset, then answers.
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); n=$((n+1)); echo $n > {c}; \
         if [ $n -lt 3 ]; then echo 'read: connection reset by peer' >&2; exit 1; fi; echo ok",
        c = counter.display()
    );
    let out = run_retrying(
        &ProcessRunner::new("sh"),
        &Command::new(["-c", &script]),
        "x",
        fast,
    )
    .await
    .unwrap();
    assert_eq!(out.stdout_text().trim(), "ok");
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "3");
    std::fs::remove_file(&counter).unwrap();
    let script = format!(
        "n=$(cat {c} 2>/dev/null || echo 0); echo $((n+1)) > {c}; echo '[ERROR] (403) Forbidden' >&2; exit 1",
        c = counter.display()
    );
    let err = run_retrying(
        &ProcessRunner::new("sh"),
        &Command::new(["-c", &script]),
        "x",
        fast,
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::PermissionDenied);
    assert_eq!(std::fs::read_to_string(&counter).unwrap().trim(), "1");
}
