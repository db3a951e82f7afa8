//! End to end through the example binaries: sync the in-memory tenant with `memory`,
//! then read the file back with `inspect`.

mod common;

use std::process::Output;

use common::{command, stderr, stdout};

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
    let o = run("inspect", &[file, "stats", "--output", "json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stats: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(stats["resources"], 12);
    assert_eq!(stats["resources_by_resource_type"]["user"], 5);

    let o = run("inspect", &[file, "resources", "-t", "user"]);
    assert!(stdout(&o).contains("(5 rows)"), "{}", stdout(&o));
    let o = run(
        "inspect",
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
    let o = run("inspect", &[file, "diff"]);
    assert!(
        stdout(&o).contains("group:g2:member:user:u5"),
        "{}",
        stdout(&o)
    );
    let o = run("inspect", &[file, "syncs", "--output", "json"]);
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
        let o = run("inspect", &[path.to_str().unwrap(), "stats"]);
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains(needle), "{needle}: {}", stderr(&o));
    }
}
