//! End to end through the example binaries: sync the in-memory tenant with `memory`,
//! then read the file back with `inspect`.

mod common;

use std::process::Output;

use common::{command, stderr, stdout};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::MemoryConnector;

fn run(name: &str, args: &[&str]) -> Output {
    command(name).args(args).output().unwrap()
}

#[test]
fn memory_sync_then_inspect() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let o = run("memory", &[out]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("granted group:g2:member to user:u5"),
        "{}",
        stdout(&o)
    );

    let file = dir.path().join("memory.c1z");
    let file = file.to_str().unwrap();
    let o = run("baton", &[file, "stats", "--output", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(stats["resources"], 12);
    assert_eq!(stats["resources_by_resource_type"]["user"], 5);

    let o = run("baton", &[file, "resources", "-t", "user"]);
    assert!(stdout(&o).contains("(5 rows)"), "{}", stdout(&o));
    let o = run(
        "baton",
        &[file, "grants", "-e", "group:g2:member", "--output", "json"],
    );
    let grants: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let principals: Vec<&str> = grants
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["principal"]["resource"].as_str().unwrap())
        .collect();
    assert_eq!(principals, ["u4", "u5"]);
    let o = run("baton", &[file, "diff"]);
    assert!(
        stdout(&o).contains("group:g2:member:user:u5"),
        "{}",
        stdout(&o)
    );
    // The group Ed joined is a changed resource: its member count.
    assert!(
        stdout(&o).contains(
            "~       resource  group:g2                  group.profile.member_count: 1 → 2"
        ),
        "{}",
        stdout(&o)
    );
    let o = run("baton", &[file, "syncs", "--output", "json"]);
    let syncs: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(syncs.as_array().unwrap().len(), 2);
}

#[test]
fn inspect_explains_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let not_c1z = dir.path().join("notes.txt");
    std::fs::write(&not_c1z, "hello world").unwrap();
    let truncated = dir.path().join("truncated.c1z");
    std::fs::write(&truncated, b"C1ZF\0\x28\xb5\x2f\xfd\x00").unwrap();
    let v3 = dir.path().join("v3.c1z");
    std::fs::write(&v3, b"C1Z3\0....").unwrap();
    for (path, needle) in [
        (not_c1z, "not a c1z file"),
        (truncated, "truncated or corrupt"),
        (v3, "v3 (Pebble)"),
        (dir.path().join("missing.c1z"), "does not exist"),
    ] {
        let o = run("baton", &[path.to_str().unwrap(), "stats"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
    }
}

/// Two syncs of the in-memory tenant: a user disabled and renamed, a user enabled, a user
/// removed with their membership (the group's profile counts its members).
fn two_syncs(path: &std::path::Path) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let c = MemoryConnector::seeded();
        sync_to_file(&c, path, &SyncOptions::default(), None)
            .await
            .unwrap();
        c.update(|s| {
            let u2 = s.users.get_mut("u2").unwrap();
            u2.enabled = false;
            u2.name = "Bob Mason".into();
            s.users.get_mut("u4").unwrap().enabled = true;
            s.users.remove("u3");
            for g in s.groups.values_mut() {
                g.members.remove("u3");
            }
        });
        sync_to_file(&c, path, &SyncOptions::default(), None)
            .await
            .unwrap();
    });
}

#[test]
fn inspect_diff_shows_changed_resources_with_what_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.c1z");
    two_syncs(&path);
    let file = path.to_str().unwrap();

    let o = run("baton", &[file, "diff"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    let row = |id: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().nth(2) == Some(id))
            .copied()
            .unwrap_or_else(|| panic!("no row for {id}:\n{text}"))
    };
    assert!(row("user:u3").starts_with("-       resource"), "{text}");
    let u2 = row("user:u2");
    assert!(u2.starts_with("~       resource"), "{text}");
    assert!(
        u2.contains("display_name: Bob Builder → Bob Mason"),
        "{text}"
    );
    assert!(u2.contains("user.status: enabled → disabled"), "{text}");
    assert!(
        row("user:u4").ends_with("user.status: disabled → enabled"),
        "{text}"
    );
    assert!(
        row("group:g1").ends_with("group.profile.member_count: 3 → 2"),
        "{text}"
    );
    assert!(
        row("group:g1:member:user:u3").starts_with("-       grant"),
        "{text}"
    );
    assert!(!text.contains("user:u1"), "u1 did not change:\n{text}");

    let o = run("baton", &[file, "diff", "--output", "json"]);
    let diff: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let changed: Vec<&str> = diff["resources_changed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(changed, ["group:g1", "user:u2", "user:u4"], "{diff}");
    let u4 = &diff["resources_changed"][2]["fields"][0];
    assert_eq!(
        (
            u4["field"].as_str(),
            u4["before"].as_str(),
            u4["after"].as_str()
        ),
        (Some("user.status"), Some("disabled"), Some("enabled"))
    );
}

#[test]
fn inspect_resources_groups_by_type_then_id() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("two.c1z");
    two_syncs(&path);
    let file = path.to_str().unwrap();

    let o = run("baton", &[file, "resources"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let headings: Vec<&str> = text
        .lines()
        .filter(|l| l.ends_with(')') && !l.starts_with('('))
        .collect();
    assert_eq!(
        headings,
        ["document (3)", "folder (2)", "group (2)", "user (4)"],
        "{text}"
    );
    // Within a type, by id; the type is the heading, not a column.
    let users = &text[text.find("user (4)").unwrap()..];
    let ids: Vec<&str> = users
        .lines()
        .skip(3)
        .take(4)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(ids, ["u1", "u2", "u4", "u5"], "{text}");
    assert!(
        users.lines().nth(1).unwrap().starts_with("ID  NAME"),
        "{text}"
    );

    let o = run("baton", &[file, "resources", "--output", "json"]);
    let all: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys: Vec<String> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{}:{}",
                r["id"]["resource_type"].as_str().unwrap(),
                r["id"]["resource"].as_str().unwrap()
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted);
    assert_eq!(keys.len(), 11);
}

/// A name that would erase the screen and forge a line of the review, and a sync id with
/// a bell in it: `inspect` prints them escaped in tables and in `error:` lines; JSON keeps
/// the exact value.
#[test]
fn control_characters_from_a_file_or_an_argument_are_escaped_on_the_terminal() {
    use connector_sdk::model::{Resource, ResourceId, ResourceType, TraitKind};
    use connector_sdk::store::SyncStore;
    const EVIL: &str = "Mallory\x1b[2J\x1b[H\rroot  Administrator\x07\u{202e}";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.c1z");
    let mut store = SyncStore::open(&path).unwrap();
    store.start_sync().unwrap();
    store
        .put_resource_types(&[ResourceType::new("user", "User").with_trait(TraitKind::User)])
        .unwrap();
    store
        .put_resources(&[Resource::with_id(ResourceId::new("user", "u\r1"), EVIL)])
        .unwrap();
    store.finish().unwrap();
    drop(store);
    let file = path.to_str().unwrap();

    let o = run("baton", &[file, "resources"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for raw in ['\x1b', '\r', '\x07', '\u{202e}'] {
        assert!(!text.contains(raw), "{raw:?} printed raw: {text:?}");
    }
    assert!(text.contains("Mallory\\x1b[2J\\x1b[H\\rroot"), "{text}");
    assert!(text.contains("u\\r1"), "{text}");

    let o = run("baton", &[file, "resources", "--output", "json"]);
    let all: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(all[0]["display_name"], EVIL);

    let o = run(
        "baton",
        &[file, "--sync-id", "x\x1b]0;pwned\x07", "resources"],
    );
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(err.contains("x\\x1b]0;pwned\\x07"), "{err}");
}

/// `baton FILE grants | head -1`: the reader closes the pipe after one line; baton ends
/// quietly with exit 0, no panic, no backtrace.
#[test]
fn a_closed_stdout_ends_baton_quietly() {
    use connector_sdk::model::{Resource, ResourceId, ResourceType, TraitKind};
    use connector_sdk::store::SyncStore;
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.c1z");
    // Far more than a pipe's buffer (64 KiB): baton is still writing when the pipe closes.
    let mut store = SyncStore::open(&path).unwrap();
    store.start_sync().unwrap();
    store
        .put_resource_types(&[ResourceType::new("user", "User").with_trait(TraitKind::User)])
        .unwrap();
    let users: Vec<Resource> = (0..5000)
        .map(|i| {
            Resource::with_id(
                ResourceId::new("user", format!("u{i:05}")),
                format!("User number {i:05} of a large tenant"),
            )
        })
        .collect();
    store.put_resources(&users).unwrap();
    store.finish().unwrap();
    drop(store);
    for args in [
        vec![path.to_str().unwrap(), "resources"],
        vec![path.to_str().unwrap(), "resources", "--output", "json"],
    ] {
        let mut child = common::command("baton")
            .args(&args)
            .env("RUST_BACKTRACE", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        // The read end is closed here; baton has more to write.
        let o = child.wait_with_output().unwrap();
        assert!(!first.is_empty());
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    }
}
