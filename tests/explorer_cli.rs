//! The explorer from the command line: `inspect serve FILE` and every connector's
//! `explore` subcommand (no credentials needed), the refusal of a file that is not a c1z,
//! and of a non-loopback address without `--allow-remote`.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::{command, stderr};
use connector_sdk::model::{Resource, ResourceId, ResourceType, TraitKind, UserTrait};
use connector_sdk::store::SyncStore;

fn small_file(path: &Path) {
    let mut store = SyncStore::open(path).unwrap();
    store.start_sync().unwrap();
    store
        .put_resource_types(&[ResourceType::new("user", "User").with_trait(TraitKind::User)])
        .unwrap();
    store
        .put_resources(&[Resource::with_id(ResourceId::new("user", "u1"), "Ada")
            .with_user_trait(UserTrait::default().with_email("ada@example.com", true))])
        .unwrap();
    store.finish().unwrap();
}

/// Starts `cmd`, reads the first line of its output (the URL), and stops it on drop.
struct Running(Child);

impl Running {
    fn start(mut cmd: Command) -> (Running, String) {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        (Running(child), line)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The link the explorer printed (`http://127.0.0.1:PORT/#token=…`).
struct Link {
    base: String,
    token: String,
}

fn url_in(line: &str) -> Link {
    let link = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no URL in {line:?}"));
    let (base, token) = link
        .split_once("/#token=")
        .unwrap_or_else(|| panic!("no token in {link:?}"));
    assert!(
        token.len() == 32
            && token
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{link}"
    );
    Link {
        base: base.to_string(),
        token: token.to_string(),
    }
}

async fn file_name(link: &Link) -> String {
    connector_sdk::http::ensure_tls_provider();
    let v: serde_json::Value = reqwest::Client::new()
        .get(format!("{}/api/file", link.base))
        .bearer_auth(&link.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["file"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn every_connector_binary_explores_its_file_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sync.c1z");
    small_file(&file);
    for bin in [
        "baton-sendgrid",
        "baton-valimail",
        "baton-ironclad",
        "baton-1password",
    ] {
        let mut cmd = command(bin);
        // The file comes from --file, as for every other operation of the binary.
        cmd.arg("--file")
            .arg(&file)
            .args(["explore", "--listen", "127.0.0.1:0"]);
        let (_running, line) = Running::start(cmd);
        assert!(
            line.starts_with("explorer: http://127.0.0.1:"),
            "{bin}: {line}"
        );
        assert_eq!(file_name(&url_in(&line)).await, "sync.c1z", "{bin}");
    }
    // Or as an argument.
    let mut cmd = command("baton-sendgrid");
    cmd.arg("explore")
        .arg(&file)
        .args(["--listen", "127.0.0.1:0"]);
    let (_running, line) = Running::start(cmd);
    assert_eq!(file_name(&url_in(&line)).await, "sync.c1z");
}

#[tokio::test]
async fn inspect_serve_serves_the_file_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tenant.c1z");
    small_file(&file);
    let mut cmd = command("baton");
    cmd.arg("serve")
        .arg(&file)
        .args(["--listen", "127.0.0.1:0"]);
    let (_running, line) = Running::start(cmd);
    let link = url_in(&line);
    assert_eq!(file_name(&link).await, "tenant.c1z");
    // The page is anyone's (it holds nothing of the file); the data is the token's.
    connector_sdk::http::ensure_tls_provider();
    let anonymous = reqwest::Client::new();
    let refused = anonymous
        .get(format!("{}/api/file", link.base))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let page = anonymous
        .get(format!("{}/", link.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Access explorer"));
}

#[test]
fn a_file_that_is_not_a_c1z_stops_the_server_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let notes = dir.path().join("notes.txt");
    std::fs::write(&notes, "hello\n").unwrap();
    let out = command("baton")
        .arg("serve")
        .arg(&notes)
        .args(["--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("not a c1z"), "{err}");
    assert!(err.contains("notes.txt"), "{err}");
    assert!(out.stdout.is_empty(), "it printed a URL");

    let out = command("baton-sendgrid")
        .args(["explore"])
        .arg(dir.path().join("missing.c1z"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn a_non_loopback_address_needs_allow_remote_and_warns() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.c1z");
    small_file(&file);
    let out = command("baton")
        .arg("serve")
        .arg(&file)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_ne!(out.status.code(), Some(0));
    let err = stderr(&out);
    assert!(err.contains("--allow-remote"), "{err}");
    assert!(err.contains("only authentication is the token"), "{err}");

    // With --allow-remote it goes ahead, with a warning. Tests bind only loopback, so the
    // address is one this machine does not have (TEST-NET-1): the warning comes, then the
    // bind fails.
    let out = command("baton")
        .arg("serve")
        .arg(&file)
        .args(["--listen", "192.0.2.1:0", "--allow-remote"])
        .output()
        .unwrap();
    let warning = stderr(&out);
    assert!(warning.contains("warning"), "{warning}");
    assert!(
        warning.contains("cannot listen on 192.0.2.1:0"),
        "{warning}"
    );
    assert!(warning.contains("over plain HTTP"), "{warning}");
}

/// A file handed to the operator may be named to rewrite the terminal (an escape that
/// clears the line, a carriage return): the line that prints the link shows it escaped.
#[test]
fn a_file_name_with_control_characters_is_printed_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok\x1b[2K\rforged.c1z");
    small_file(&file);
    let mut cmd = command("baton");
    cmd.arg("serve")
        .arg(&file)
        .args(["--listen", "127.0.0.1:0"]);
    let (_running, line) = Running::start(cmd);
    assert!(!line.contains('\x1b') && !line.contains('\r'), "{line:?}");
    assert!(line.contains("ok\\x1b[2K\\rforged.c1z"), "{line:?}");
    url_in(&line);
}
