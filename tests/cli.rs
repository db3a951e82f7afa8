//! The CLI runner through a real binary (`baton_memory`): flags and BATON_* variables,
//! required values, provisioning guard, one-shot operations against ids from a previous
//! sync, credential delivery, service mode with a health endpoint and SIGTERM, and
//! secrets kept out of every output.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{command, stderr, stdout};
use connector_sdk::model::UserStatus;
use connector_sdk::store::{C1zReader, GrantFilter};

const KEY: &str = "mem-key-7Hq2-SECRET";

/// `baton_memory` in `dir` with the API key in its environment and the tenant in `dir`.
fn memory(dir: &Path) -> Command {
    let mut c = command("baton_memory");
    c.current_dir(dir)
        .env("BATON_MEMORY_API_KEY", KEY)
        .env("BATON_MEMORY_STATE", dir.join("tenant.json"));
    c
}

fn ok(c: &mut Command) -> Output {
    let o = c.output().unwrap();
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        stdout(&o),
        stderr(&o)
    );
    o
}

fn fails(c: &mut Command, code: i32) -> Output {
    let o = c.output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(&o),
        stderr(&o)
    );
    o
}

#[test]
fn help_lists_every_flag_with_its_variable() {
    let o = ok(command("baton_memory").arg("--help"));
    let help = stdout(&o);
    for var in [
        "BATON_FILE",
        "BATON_LOG_LEVEL",
        "BATON_LOG_FORMAT",
        "BATON_PROVISIONING",
        "BATON_WORKERS",
        "BATON_GRANT_ENTITLEMENT",
        "BATON_GRANT_PRINCIPAL",
        "BATON_GRANT_PRINCIPAL_TYPE",
        "BATON_REVOKE_GRANT",
        "BATON_CREATE_ACCOUNT_LOGIN",
        "BATON_CREATE_ACCOUNT_EMAIL",
        "BATON_CREATE_ACCOUNT_PROFILE",
        "BATON_DELETE_RESOURCE",
        "BATON_DELETE_RESOURCE_TYPE",
        "BATON_INVOKE_ACTION",
        "BATON_INVOKE_ACTION_ARGS",
        "BATON_LIST_ACTION_SCHEMAS",
        "BATON_SERVICE_INTERVAL",
        "BATON_HEALTH_CHECK_PORT",
        "BATON_DECODER_MAX_DECODED_SIZE_MB",
        "BATON_C1Z_MAX_ROW_SIZE_MB",
        "BATON_MEMORY_STATE",
        "BATON_MEMORY_API_KEY",
        "BATON_MEMORY_PAGE_SIZE",
    ] {
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} missing from --help"
        );
    }
    assert!(help.contains("[default: sync.c1z]"));
    assert!(help.contains("[required]"));
}

#[test]
fn a_missing_required_value_names_the_flag_and_variable_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let o = fails(command("baton_memory").current_dir(dir.path()), 2);
    assert!(
        stderr(&o).contains("--memory-api-key (BATON_MEMORY_API_KEY)"),
        "{}",
        stderr(&o)
    );
    assert!(
        !dir.path().join("sync.c1z").exists(),
        "nothing may run before the check"
    );
    // An empty value is caught too.
    let o = fails(
        command("baton_memory")
            .current_dir(dir.path())
            .env("BATON_MEMORY_API_KEY", " "),
        2,
    );
    assert!(
        stderr(&o).contains("--memory-api-key (BATON_MEMORY_API_KEY): must not be empty"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn malformed_values_name_the_flag_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    for (args, env, needle) in [
        (vec!["--workers", "many"], None, "--workers (BATON_WORKERS)"),
        (
            vec![],
            Some(("BATON_WORKERS", "-3")),
            "--workers (BATON_WORKERS)",
        ),
        (
            vec!["--workers", "0"],
            None,
            "--workers (BATON_WORKERS): must be at least 1",
        ),
        (
            vec!["--log-format", "xml"],
            None,
            "--log-format (BATON_LOG_FORMAT)",
        ),
        (
            vec!["--service-interval", "soon"],
            None,
            "--service-interval (BATON_SERVICE_INTERVAL)",
        ),
        (
            vec!["--memory-page-size", "0"],
            None,
            "--memory-page-size (BATON_MEMORY_PAGE_SIZE)",
        ),
        (
            vec![],
            Some(("BATON_PROVISIONING", "maybe")),
            "--provisioning (BATON_PROVISIONING)",
        ),
    ] {
        let mut c = memory(dir.path());
        c.args(&args);
        if let Some((k, v)) = env {
            c.env(k, v);
        }
        let o = fails(&mut c, 2);
        assert!(
            stderr(&o).contains(needle),
            "{args:?} {env:?}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn variables_map_to_flags_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    ok(memory(dir.path()).env("BATON_FILE", "from-env.c1z"));
    assert!(dir.path().join("from-env.c1z").exists());
    ok(memory(dir.path())
        .env("BATON_FILE", "env-loses.c1z")
        .args(["--file", "flag-wins.c1z"]));
    assert!(dir.path().join("flag-wins.c1z").exists());
    assert!(!dir.path().join("env-loses.c1z").exists());
    // The default file name is upstream's.
    let o = ok(&mut memory(dir.path()));
    assert!(dir.path().join("sync.c1z").exists());
    assert!(stdout(&o).contains("Synced 12 resources"), "{}", stdout(&o));
    // A connector field from its variable: page size 1 means more pages, same data.
    ok(memory(dir.path())
        .env("BATON_MEMORY_PAGE_SIZE", "1")
        .args(["--file", "p1.c1z"]));
    let a = C1zReader::open(&dir.path().join("p1.c1z"))
        .unwrap()
        .stats()
        .unwrap();
    let b = C1zReader::open(&dir.path().join("sync.c1z"))
        .unwrap()
        .stats()
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn write_operations_refuse_without_provisioning() {
    let dir = tempfile::tempdir().unwrap();
    ok(&mut memory(dir.path()));
    for args in [
        vec![
            "--grant-entitlement",
            "group:g2:member",
            "--grant-principal",
            "u5",
            "--grant-principal-type",
            "user",
        ],
        vec!["--revoke-grant", "group:g1:member:user:u1"],
        vec!["--create-account-email", "x@example.com"],
        vec!["--delete-resource", "u1", "--delete-resource-type", "user"],
    ] {
        let o = fails(memory(dir.path()).args(&args), 2);
        assert!(
            stderr(&o).contains("--provisioning (BATON_PROVISIONING)"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
    // The tenant is untouched.
    let state = std::fs::read_to_string(dir.path().join("tenant.json")).unwrap();
    assert!(!state.contains("x@example.com"));
    // Actions are served without --provisioning, as upstream serves them (spec §8.4).
    let o = ok(memory(dir.path()).args([
        "--invoke-action",
        "disable_user",
        "--invoke-action-args",
        r#"{"user_id":"u1"}"#,
    ]));
    assert!(stdout(&o).contains("\"enabled\": false"), "{}", stdout(&o));
    // Reading is fine without provisioning.
    let o = ok(memory(dir.path()).arg("--list-action-schemas"));
    let schemas: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(schemas.as_array().unwrap().len(), 2);
    // Two operations at once are refused.
    let o = fails(
        memory(dir.path()).args(["-p", "--revoke-grant", "x", "--list-action-schemas"]),
        2,
    );
    assert!(
        stderr(&o).contains("one operation at a time"),
        "{}",
        stderr(&o)
    );
}

fn grants_of(file: &Path, entitlement: &str) -> Vec<String> {
    C1zReader::open(file)
        .unwrap()
        .grants(&GrantFilter::default().with_entitlement(entitlement))
        .unwrap()
        .iter()
        .map(|g| g.principal().to_string())
        .collect()
}

#[test]
fn grant_and_revoke_use_ids_from_the_previous_sync() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    // Without a sync there is nothing to resolve ids from.
    let o = fails(
        memory(dir.path()).args([
            "-p",
            "--grant-entitlement",
            "group:g2:member",
            "--grant-principal",
            "u5",
            "--grant-principal-type",
            "user",
        ]),
        1,
    );
    assert!(stderr(&o).contains("run a sync first"), "{}", stderr(&o));

    ok(&mut memory(dir.path()));
    let o = ok(memory(dir.path()).args([
        "-p",
        "--grant-entitlement",
        "group:g2:member",
        "--grant-principal",
        "u5",
        "--grant-principal-type",
        "user",
    ]));
    assert!(
        stdout(&o).contains("granted group:g2:member to user:u5"),
        "{}",
        stdout(&o)
    );
    let o = ok(memory(dir.path()).args([
        "-p",
        "--grant-entitlement",
        "group:g2:member",
        "--grant-principal",
        "u5",
        "--grant-principal-type",
        "user",
    ]));
    assert!(stdout(&o).contains("already holds"), "{}", stdout(&o));
    ok(&mut memory(dir.path()));
    assert_eq!(grants_of(&file, "group:g2:member"), ["user:u4", "user:u5"]);

    let o = ok(memory(dir.path()).args(["-p", "--revoke-grant", "group:g2:member:user:u4"]));
    assert!(
        stdout(&o).contains("revoked group:g2:member:user:u4"),
        "{}",
        stdout(&o)
    );
    ok(&mut memory(dir.path()));
    assert_eq!(grants_of(&file, "group:g2:member"), ["user:u5"]);

    // Unknown ids say which sync they were looked up in.
    let o = fails(
        memory(dir.path()).args(["-p", "--revoke-grant", "group:g9:member:user:u1"]),
        1,
    );
    assert!(stderr(&o).contains("is not in sync"), "{}", stderr(&o));
    let o = fails(
        memory(dir.path()).args([
            "-p",
            "--grant-entitlement",
            "group:g1:member",
            "--grant-principal",
            "nobody",
            "--grant-principal-type",
            "user",
        ]),
        1,
    );
    assert!(
        stderr(&o).contains("principal user:nobody is not in sync"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn delete_and_actions_show_up_in_the_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    ok(memory(dir.path()).args([
        "-p",
        "--delete-resource",
        "u3",
        "--delete-resource-type",
        "user",
    ]));
    let o = ok(memory(dir.path()).args([
        "-p",
        "--invoke-action",
        "disable_user",
        "--invoke-action-args",
        r#"{"user_id": "u1"}"#,
    ]));
    let out: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(out["enabled"], false);
    let o = fails(
        memory(dir.path()).args([
            "-p",
            "--invoke-action",
            "disable_user",
            "--invoke-action-args",
            "{}",
        ]),
        2,
    );
    assert!(stderr(&o).contains("\"user_id\""), "{}", stderr(&o));
    let o = fails(
        memory(dir.path()).args([
            "-p",
            "--invoke-action",
            "disable_user",
            "--invoke-action-args",
            "[1]",
        ]),
        2,
    );
    assert!(
        stderr(&o).contains("--invoke-action-args (BATON_INVOKE_ACTION_ARGS)"),
        "{}",
        stderr(&o)
    );
    ok(&mut memory(dir.path()));
    let reader = C1zReader::open(&file).unwrap();
    let users = reader.resources(Some("user")).unwrap();
    assert!(!users.iter().any(|u| u.id.resource == "u3"));
    let u1 = users.iter().find(|u| u.id.resource == "u1").unwrap();
    assert_eq!(u1.user.as_ref().unwrap().status, UserStatus::Disabled);
}

#[test]
fn generated_passwords_go_to_a_private_file_or_an_age_recipient_never_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let o = ok(memory(dir.path()).args([
        "-p",
        "--memory-random-passwords",
        "--create-account-email",
        "new@example.com",
    ]));
    let path = dir.path().join("credentials-user_u6.json");
    let path = if path.exists() {
        path
    } else {
        dir.path().join("credentials-new_example.com.json")
    };
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let password = doc["credentials"]["password"].as_str().unwrap().to_string();
    assert!(password.len() >= 16);
    assert!(!stdout(&o).contains(&password) && !stderr(&o).contains(&password));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    // Encrypted to a recipient: only the identity can read it.
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let o = ok(memory(dir.path()).args([
        "-p",
        "--memory-random-passwords",
        "--create-account-email",
        "second@example.com",
        "--credentials-recipient",
        &recipient,
        "--credentials-file",
        "second.age",
    ]));
    let armored = std::fs::read(dir.path().join("second.age")).unwrap();
    assert!(String::from_utf8_lossy(&armored).starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let mut reader = age::Decryptor::new(age::armor::ArmoredReader::new(&armored[..]))
        .unwrap()
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap();
    let mut plain = String::new();
    reader.read_to_string(&mut plain).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&plain).unwrap();
    let second = doc["credentials"]["password"].as_str().unwrap();
    assert!(!stdout(&o).contains(second));

    // A bad recipient fails before the account is created.
    let o = fails(
        memory(dir.path()).args([
            "-p",
            "--memory-random-passwords",
            "--create-account-email",
            "third@example.com",
            "--credentials-recipient",
            "age1nope",
        ]),
        2,
    );
    assert!(
        stderr(&o).contains("--credentials-recipient (BATON_CREDENTIALS_RECIPIENT)"),
        "{}",
        stderr(&o)
    );
    let state = std::fs::read_to_string(dir.path().join("tenant.json")).unwrap();
    assert!(!state.contains("third@example.com"));

    // Printing in clear only when asked.
    let o = ok(memory(dir.path()).args([
        "-p",
        "--memory-random-passwords",
        "--create-account-email",
        "fourth@example.com",
        "--print-credentials",
    ]));
    assert!(stdout(&o).contains("\"password\""), "{}", stdout(&o));
}

#[test]
fn subcommands_capabilities_config_and_validate() {
    let dir = tempfile::tempdir().unwrap();
    let o = ok(memory(dir.path()).arg("capabilities"));
    let caps: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let user = caps["resource_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["resource_type"] == "user")
        .unwrap();
    assert!(
        user["capabilities"]
            .as_array()
            .unwrap()
            .contains(&"CAPABILITY_ACCOUNT_PROVISIONING".into())
    );
    assert_eq!(caps["actions"].as_array().unwrap().len(), 2);

    // config works with no credentials at all.
    let o = ok(command("baton_memory").arg("config"));
    let schema: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let key = &schema["properties"]["memory-api-key"];
    assert_eq!(key["x-env"], "BATON_MEMORY_API_KEY");
    assert_eq!(key["x-secret"], true);
    assert_eq!(key["x-connector-field"], true);
    assert_eq!(schema["properties"]["file"]["default"], "sync.c1z");
    assert_eq!(schema["properties"]["file"]["x-connector-field"], false);
    assert!(
        schema["required"]
            .as_array()
            .unwrap()
            .contains(&"memory-api-key".into())
    );

    let o = ok(memory(dir.path()).arg("validate"));
    assert!(stdout(&o).contains("valid"));
}

fn get(addr: &str, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (
        status,
        text.split("\r\n\r\n").nth(1).unwrap_or("").to_string(),
    )
}

/// The health checks' `host:port`, from the first line a binary started with them prints,
/// and the lines it prints after.
fn health_address(
    child: &mut std::process::Child,
) -> (String, std::io::Lines<BufReader<std::process::ChildStdout>>) {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .strip_prefix("health checks: http://")
        .and_then(|s| s.strip_suffix("/health (also /ready, /live, /healthz)"))
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    (addr, lines)
}

#[test]
fn service_mode_syncs_on_an_interval_serves_health_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = memory(dir.path())
        .args([
            "--service-interval",
            "200ms",
            "--health-check-port",
            "0",
            "--health-check-address",
            "127.0.0.1",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (addr, lines) = health_address(&mut child);
    // Wait (bounded) for two completed syncs.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut body = String::new();
    while Instant::now() < deadline {
        let (status, b) = get(&addr, "/healthz");
        assert_eq!(status, 200, "{b}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        body = b;
        if v["syncs_completed"].as_u64().unwrap_or(0) >= 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["syncs_completed"].as_u64().unwrap() >= 2, "{body}");
    assert_eq!(get(&addr, "/nope").0, 404);
    // Upstream's probe paths: /health runs the connector's validate.
    for path in ["/health", "/ready", "/live"] {
        let (status, b) = get(&addr, path);
        assert_eq!(status, 200, "{path}: {b}");
    }
    assert!(get(&addr, "/health").1.contains("\"ok\""));

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    let rest: Vec<String> = lines.map_while(|l| l.ok()).collect();
    assert!(rest.iter().any(|l| l.starts_with("stopped")), "{rest:?}");
    let reader = C1zReader::open(&dir.path().join("sync.c1z")).unwrap();
    assert_eq!(reader.stats().unwrap().resources, 12);
    // Two finished syncs kept (retention), never an unfinished one from a clean stop mid-wait.
    assert!(
        reader
            .syncs()
            .unwrap()
            .iter()
            .filter(|s| s.ended_at.is_some())
            .count()
            >= 1
    );
}

#[test]
fn the_secret_appears_in_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut outputs = Vec::new();
    for args in [
        vec!["--help"],
        vec!["config"],
        vec!["capabilities"],
        vec!["validate"],
        vec!["--log-level", "trace"],
        vec!["--log-level", "trace", "--log-format", "json"],
        vec!["--workers", "nope"],
        vec!["--bogus-flag"],
        vec!["-p", "--revoke-grant", "missing"],
        vec!["--memory-api-key", KEY, "--workers", "x"],
    ] {
        let o = memory(dir.path()).args(&args).output().unwrap();
        // Label each run without the secret itself.
        let label = args.join(" ").replace(KEY, "<key>");
        outputs.push(format!("{label}\n{}\n{}", stdout(&o), stderr(&o)));
    }
    // A bad value for the secret flag itself is not echoed either.
    let o = memory(dir.path())
        .args(["--memory-api-key"])
        .output()
        .unwrap();
    outputs.push(stderr(&o));
    let all = outputs.join("\n");
    assert!(all.contains("Synced 12 resources"), "the runs did run");
    assert!(!all.contains(KEY), "the secret leaked:\n{all}");
    assert!(!all.contains("7Hq2"), "part of the secret leaked:\n{all}");
    // And not in the files the runs wrote.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("7Hq2"));
    }
}

/// Runs `baton_memory` with `args` on a pseudo-terminal (util-linux `script`) and returns
/// everything the terminal received.
fn on_a_terminal(dir: &Path, args: &str) -> String {
    let exe = common::example("baton_memory");
    let mut c = Command::new("script");
    for (k, _) in std::env::vars() {
        if k.starts_with("BATON_") {
            c.env_remove(k);
        }
    }
    c.current_dir(dir)
        .env("BATON_MEMORY_API_KEY", KEY)
        .env("BATON_MEMORY_STATE", dir.join("tenant.json"))
        .args(["-q", "-e", "-c"])
        .arg(format!("'{}' {args}", exe.display()))
        .arg(dir.join("typescript"));
    ok(&mut c);
    std::fs::read_to_string(dir.join("typescript")).unwrap()
}

#[test]
fn a_terminal_shows_a_spinner_that_clears_before_the_summary_and_pipes_never_do() {
    const ERASE: &str = "\r\x1b[2K";
    let dir = tempfile::tempdir().unwrap();

    let tty = on_a_terminal(dir.path(), "-f tty.c1z");
    assert!(
        tty.contains("resources:") && tty.contains(" grants ("),
        "no progress line on a terminal: {tty:?}"
    );
    // The spinner's last line is erased and the summary starts on a clean line.
    assert!(
        tty.contains(&format!("{ERASE}Synced ")),
        "the summary is not written after the spinner is cleared: {tty:?}"
    );
    assert!(!tty.contains(KEY), "the key reached the terminal");

    let quiet = on_a_terminal(dir.path(), "-f quiet.c1z --no-progress");
    assert!(quiet.contains("Synced "), "{quiet:?}");
    assert!(
        !quiet.contains(ERASE) && !quiet.contains(" grants ("),
        "--no-progress still drew a spinner: {quiet:?}"
    );

    let piped = ok(memory(dir.path()).args(["-f", "piped.c1z"]));
    let (out, err) = (stdout(&piped), stderr(&piped));
    assert!(out.contains("Synced "), "{out}");
    assert!(
        !out.contains('\x1b') && !err.contains('\x1b'),
        "escape codes on a pipe: {out:?} {err:?}"
    );
}

/// Everything in a run's private `tmp` (what the runs left behind).
fn working_folders(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// `baton_memory` in `dir` with its own TMPDIR (`dir/tmp`), so working folders can be counted.
fn memory_with_tmp(dir: &Path) -> Command {
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let mut c = memory(dir);
    c.env("TMPDIR", &tmp).arg("--no-progress");
    c
}

/// Waits (bounded) until `ready` holds, failing with `what`.
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "the process did not exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_sync_killed_mid_run_leaves_no_working_files_once_the_next_run_is_done() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let mut child = memory_with_tmp(dir.path())
        .args(["--memory-latency", "250ms", "--checkpoint-interval", "0s"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Mid-run: a checkpoint is saved and the working folder is in use.
    wait_for("a checkpoint", || dir.path().join("sync.c1z").exists());
    let folders = working_folders(&tmp);
    assert_eq!(folders.len(), 1, "{folders:?}");
    assert!(folders[0].starts_with(connector_sdk::store::WORKDIR_PREFIX));
    child.kill().unwrap(); // SIGKILL: no handler, no destructor runs
    let status = wait_exit(&mut child);
    assert!(!status.success(), "the sync finished before the kill");
    assert_eq!(
        working_folders(&tmp).len(),
        1,
        "a killed run cannot clean up: the folder it left is what the next run must remove"
    );
    let o = ok(&mut memory_with_tmp(dir.path()));
    assert!(stdout(&o).contains("resumed"), "{}", stdout(&o));
    assert_eq!(working_folders(&tmp), Vec::<String>::new());
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    // And a read (a one-shot operation reads ids from the file) leaves nothing either.
    fails(
        memory_with_tmp(dir.path()).args(["-p", "--revoke-grant", "missing"]),
        1,
    );
    assert_eq!(working_folders(&tmp), Vec::<String>::new());
}

#[test]
fn failed_and_finished_syncs_leave_no_working_files() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    let o = fails(
        memory_with_tmp(dir.path()).args(["--memory-fail-type", "group"]),
        1,
    );
    assert!(
        stderr(&o).contains("refuses to list group"),
        "{}",
        stderr(&o)
    );
    assert_eq!(working_folders(&tmp), Vec::<String>::new());
    ok(&mut memory_with_tmp(dir.path()));
    assert_eq!(working_folders(&tmp), Vec::<String>::new());
}

#[test]
fn an_unfinished_one_shot_sync_exits_3_and_the_next_run_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let tmp = dir.path().join("tmp");
    // SIGTERM mid-sync.
    let mut child = memory_with_tmp(dir.path())
        .args(["--memory-latency", "300ms"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("the sync to start", || !working_folders(&tmp).is_empty());
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = wait_exit(&mut child);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(status.code(), Some(3), "{out}");
    assert!(
        out.contains("stopped") && out.contains("run again to resume"),
        "{out}"
    );
    assert_eq!(working_folders(&tmp), Vec::<String>::new());

    // The run-duration limit is an unfinished sync too.
    let o = fails(
        memory_with_tmp(dir.path()).args([
            "--memory-latency",
            "300ms",
            "--max-sync-duration",
            "100ms",
        ]),
        3,
    );
    assert!(stdout(&o).contains("stopped"), "{}", stdout(&o));

    // Finishing is 0.
    let o = ok(&mut memory_with_tmp(dir.path()));
    assert!(stdout(&o).contains("resumed"), "{}", stdout(&o));
}

#[test]
fn a_bad_checkpoint_interval_names_the_flag_and_variable() {
    let dir = tempfile::tempdir().unwrap();
    let o = fails(
        memory(dir.path()).env("BATON_CHECKPOINT_INTERVAL", "often"),
        2,
    );
    assert!(
        stderr(&o).contains("--checkpoint-interval (BATON_CHECKPOINT_INTERVAL)"),
        "{}",
        stderr(&o)
    );
}

/// `capabilities` of an example binary with an empty environment: no credentials, no PATH.
fn capabilities_without_credentials(name: &str, flags: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let o = ok(Command::new(common::example(name))
        .env_clear()
        .current_dir(dir.path())
        .args(flags)
        .arg("capabilities"));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "capabilities wrote files"
    );
    serde_json::from_str(&stdout(&o)).unwrap()
}

fn caps_of<'a>(doc: &'a serde_json::Value, rt: &str) -> Vec<&'a str> {
    doc["resource_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["resource_type"] == rt)
        .unwrap_or_else(|| panic!("no {rt} in {doc}"))["capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect()
}

fn changed_by(doc: &serde_json::Value) -> Vec<&str> {
    doc["changed_by_flags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["flag"].as_str().unwrap())
        .collect()
}

#[test]
fn capabilities_need_no_credentials_and_name_the_flags_that_change_them() {
    let ic = capabilities_without_credentials("baton-ironclad", &[]);
    assert!(caps_of(&ic, "group").contains(&"CAPABILITY_PROVISION"));
    assert!(caps_of(&ic, "user").contains(&"CAPABILITY_ACCOUNT_PROVISIONING"));
    assert_eq!(changed_by(&ic), ["--read-only"]);
    let ro = capabilities_without_credentials("baton-ironclad", &["--read-only"]);
    // Read-only: sync (and fetching one resource by id for a targeted sync), nothing else.
    assert_eq!(
        caps_of(&ro, "group"),
        ["CAPABILITY_SYNC", "CAPABILITY_TARGETED_SYNC"]
    );
    assert_eq!(
        caps_of(&ro, "user"),
        ["CAPABILITY_SYNC", "CAPABILITY_TARGETED_SYNC"]
    );

    let sg = capabilities_without_credentials("baton-sendgrid", &[]);
    assert!(caps_of(&sg, "teammate").contains(&"CAPABILITY_RESOURCE_DELETE"));
    assert_eq!(changed_by(&sg), ["--ignore-subusers"]);

    let vm = capabilities_without_credentials("baton-valimail", &[]);
    assert_eq!(vm["actions"].as_array().unwrap().len(), 2);
    assert!(caps_of(&vm, "user").contains(&"CAPABILITY_ACCOUNT_PROVISIONING"));

    // 1Password: no sign-in, and `op` is never run (this one does not exist).
    let op = capabilities_without_credentials(
        "baton-1password",
        &["--op-path", "/nonexistent/op-never-run"],
    );
    assert!(caps_of(&op, "vault").contains(&"CAPABILITY_PROVISION"));
    assert_eq!(changed_by(&op), ["--limit-vault-permissions"]);
    assert_eq!(op["connector"]["name"], "1password");

    // A bad value still fails as bad configuration, naming the flag.
    let o = fails(
        Command::new(common::example("baton-sendgrid"))
            .env_clear()
            .args(["--sendgrid-region", "mars", "capabilities"]),
        2,
    );
    assert!(
        stderr(&o).contains("--sendgrid-region (BATON_SENDGRID_REGION)"),
        "{}",
        stderr(&o)
    );
    // Other subcommands still require credentials.
    let o = fails(
        Command::new(common::example("baton-sendgrid"))
            .env_clear()
            .arg("validate"),
        2,
    );
    assert!(
        stderr(&o).contains("--sendgrid-api-key (BATON_SENDGRID_API_KEY)"),
        "{}",
        stderr(&o)
    );
}

/// A SaaS that answers 400 in the middle of a sync failed the run (exit 1): it is not the
/// operator's configuration (exit 2), and the message says what the API said.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saas_400_during_a_sync_is_a_failure_not_a_configuration_error() {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(400).set_body_json(
            serde_json::json!({"errors": [{"field": "limit", "message": "limit is invalid"}]}),
        ))
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = common::command("baton-sendgrid");
    cmd.current_dir(dir.path())
        .env("BATON_SENDGRID_API_KEY", "SG.test-key")
        .env("BATON_BASE_URL", server.uri())
        .arg("--no-progress");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    let err = common::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("limit is invalid"), "{err}");
    assert!(err.contains("400"), "{err}");
}

#[test]
fn sync_scope_flags_and_a_targeted_sync_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    // A malformed BID names the flag and its variable before any work.
    let o = fails(
        memory(dir.path()).args(["--sync-resources", "bid:r:user"]),
        2,
    );
    assert!(
        stderr(&o).contains("--sync-resources (BATON_SYNC_RESOURCES)")
            && stderr(&o).contains("malformed resource BID"),
        "{}",
        stderr(&o)
    );
    assert!(!file.exists());
    // An unknown type names the flag and the known types (here through the variable).
    let o = fails(
        memory(dir.path()).env("BATON_SYNC_RESOURCE_TYPES", "group,team"),
        2,
    );
    assert!(
        stderr(&o).contains("--sync-resource-types (BATON_SYNC_RESOURCE_TYPES)")
            && stderr(&o).contains("document, folder, group, user"),
        "{}",
        stderr(&o)
    );

    ok(memory(dir.path()).args(["--sync-resource-types", "user,group", "--skip-grants"]));
    let r = C1zReader::open(&file).unwrap();
    let types: Vec<String> = r
        .resource_types()
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(types, ["user", "group"]);
    let stats = r.stats().unwrap();
    assert_eq!((stats.resources, stats.grants), (7, 0));
    assert!(stats.entitlements > 0);

    ok(memory(dir.path()).arg("--skip-entitlements-and-grants"));
    // Recorded as resources_only (upstream's sync type): the default view stays the last
    // full sync, the resources-only one is the latest.
    let r = C1zReader::open(&file).unwrap().with_latest_sync().unwrap();
    assert_eq!(r.sync().sync_type, "resources_only");
    let stats = r.stats().unwrap();
    assert_eq!(
        (stats.resources, stats.entitlements, stats.grants),
        (12, 0, 0)
    );
    let default = C1zReader::open(&file).unwrap();
    assert_eq!(default.sync().sync_type, "full");
    assert_eq!(default.stats().unwrap().resources, 7);

    ok(memory(dir.path()).arg("--skip-expand-grants"));
    assert_eq!(
        grants_of(&file, "document:d1:read"),
        ["group:g1", "user:u5"]
    );
    ok(&mut memory(dir.path()));
    let full = C1zReader::open(&file).unwrap().sync().sync_id.clone();
    assert!(grants_of(&file, "document:d1:read").contains(&"user:u2".to_string()));

    // A grant made directly on the tenant, then a targeted sync of the two resources.
    let tenant = dir.path().join("tenant.json");
    let mut state: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&tenant).unwrap()).unwrap();
    state["groups"]["g2"]["members"]
        .as_array_mut()
        .unwrap()
        .push("u5".into());
    std::fs::write(&tenant, state.to_string()).unwrap();
    let o = ok(memory(dir.path()).args(["--sync-resources", "bid:r:user/u5,bid:r:group/g2"]));
    assert!(stdout(&o).contains("2 resources"), "{}", stdout(&o));
    let r = C1zReader::open(&file).unwrap();
    assert_eq!(
        r.sync().sync_id,
        full,
        "the default view stays the full sync"
    );
    assert_eq!(grants_of(&file, "group:g2:member"), ["user:u4"]);
    let partial = r.with_latest_sync().unwrap();
    assert_eq!(partial.sync().sync_type, "partial");
    assert_eq!(partial.sync().parent_sync_id, full);
    let mut members: Vec<String> = partial
        .grants(&GrantFilter::default().with_entitlement("group:g2:member"))
        .unwrap()
        .iter()
        .map(|g| g.principal().to_string())
        .collect();
    members.sort();
    assert_eq!(members, ["user:u4", "user:u5"]);

    // A deleted user: a warning, not a failure.
    let o = ok(memory(dir.path()).args(["--sync-resources", "bid:r:user/u404"]));
    let all = format!("{}{}", stdout(&o), stderr(&o));
    assert!(
        all.contains("bid:r:user/u404") && all.contains("gone"),
        "{all}"
    );
}

/// An id full of terminal escapes reaches the `error:` line escaped: it cannot clear the
/// screen, retitle the terminal or overwrite the line.
#[test]
fn control_characters_in_an_error_line_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    ok(&mut memory(dir.path()));
    let evil = "u9\x1b[2J\x1b]0;pwned\x07\r";
    let o = memory(dir.path())
        .args([
            "-p",
            "--grant-entitlement",
            "group:g2:member",
            "--grant-principal",
            evil,
            "--grant-principal-type",
            "user",
        ])
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    for raw in ['\x1b', '\x07', '\r'] {
        assert!(!err.contains(raw), "{raw:?} printed raw: {err:?}");
    }
    assert!(err.contains("u9\\x1b[2J\\x1b]0;pwned\\x07\\r"), "{err}");
}

/// A failing validate answers /health 503 with a status only: the error's text (hosts,
/// ids, an API's answer) stays in the log.
#[test]
fn health_answers_a_status_without_the_errors_text() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = memory(dir.path())
        .args([
            "--service-interval",
            "1h",
            "--health-check-port",
            "0",
            "--memory-bugs",
            "validate-fails",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (addr, _) = health_address(&mut child);
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let (status, body) = get(&addr, "/health");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    assert!(!body.contains("internal.example.corp"), "{body}");
    assert!(!body.contains("mem-key"), "{body}");
}

/// Rewrites the SQLite database inside the `.c1z` at `file` with `sql`, as an attacker with
/// plain tools would.
fn tamper(file: &Path, sql: &str) {
    let bytes = std::fs::read(file).unwrap();
    assert_eq!(&bytes[..5], b"C1ZF\0");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    std::fs::write(&db, zstd::decode_all(&bytes[5..]).unwrap()).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    let mut out = b"C1ZF\0".to_vec();
    out.extend(zstd::encode_all(std::fs::File::open(&db).unwrap(), 3).unwrap());
    std::fs::write(file, out).unwrap();
}

#[test]
fn a_sync_refuses_a_file_with_a_planted_trigger_and_leaves_it_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    ok(memory(dir.path()).arg("--no-progress"));
    let file = dir.path().join("sync.c1z");
    // Would add a grant to mallory to every sync started in the file.
    tamper(
        &file,
        "CREATE TRIGGER backdoor AFTER INSERT ON v1_sync_runs BEGIN
           INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id,
               principal_resource_type_id, principal_resource_id, external_id, data, sync_id,
               discovered_at)
           VALUES ('group', 'g1', 'group:g1:member', 'user', 'mallory',
               'group:g1:member:user:mallory', x'', NEW.sync_id, '2024-01-01 00:00:00');
         END;",
    );
    let planted = std::fs::read(&file).unwrap();
    let o = fails(memory(dir.path()).arg("--no-progress"), 2);
    let err = stderr(&o);
    assert!(err.contains(r#"trigger "backdoor""#), "{err}");
    assert!(err.contains("--file (BATON_FILE)"), "{err}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        planted,
        "nothing was written"
    );
    // The explorer's reader refuses it too.
    let o = command("baton").arg(&file).arg("stats").output().unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains(r#"trigger "backdoor""#),
        "{}",
        stderr(&o)
    );
}

#[test]
fn the_decompression_limit_is_set_by_flag_or_variable() {
    let dir = tempfile::tempdir().unwrap();
    // Two zstd frames of 4 MiB of zeros: 8 MiB once decompressed (and no database).
    let frame = zstd::encode_all(&vec![0u8; 4 << 20][..], 3).unwrap();
    let mut bomb = b"C1ZF\0".to_vec();
    bomb.extend(&frame);
    bomb.extend(&frame);
    let file = dir.path().join("bomb.c1z");
    std::fs::write(&file, &bomb).unwrap();
    let needle =
        "raise the limit with --decoder-max-decoded-size-mb (BATON_DECODER_MAX_DECODED_SIZE_MB)";

    let o = command("baton")
        .arg(&file)
        .arg("stats")
        .env("BATON_DECODER_MAX_DECODED_SIZE_MB", "1")
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("decompresses to more than 1 MiB"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    // Raised: decompressed whole, then found not to be a database.
    let o = command("baton")
        .args(["--decoder-max-decoded-size-mb", "16"])
        .arg(&file)
        .arg("stats")
        .env("BATON_DECODER_MAX_DECODED_SIZE_MB", "1")
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("does not hold a SQLite database"),
        "{}",
        stderr(&o)
    );
    // A sync appending to it: the same limit, the same advice, exit 2 (fix the flags).
    let o = fails(
        memory(dir.path()).args([
            "--no-progress",
            "-f",
            "bomb.c1z",
            "--decoder-max-decoded-size-mb",
            "1",
        ]),
        2,
    );
    assert!(stderr(&o).contains(needle), "{}", stderr(&o));
    assert_eq!(std::fs::read(&file).unwrap(), bomb);
}

/// A FIFO named `lock` in a folder named like a working folder in `TMPDIR` used to hang
/// every store open (in `open(2)`, where SIGTERM does not reach the sync's handler).
#[cfg(unix)]
#[test]
fn a_fifo_planted_in_tmpdir_does_not_hang_a_sync() {
    let dir = tempfile::tempdir().unwrap();
    let planted = dir.path().join("tmp").join("baton-c1z-1-planted");
    std::fs::create_dir_all(&planted).unwrap();
    let made = Command::new("mkfifo")
        .arg(planted.join("lock"))
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("skipped: `mkfifo` is unavailable");
        return;
    }
    let mut child = memory_with_tmp(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the sync hangs on the planted FIFO");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(dir.path().join("sync.c1z").exists());
    assert!(
        planted.join("lock").exists(),
        "someone else's folder is left alone"
    );
}
