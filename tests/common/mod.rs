//! Helpers shared by the workspace's end-to-end tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// An example binary built by `cargo test` next to the test binary. (A filtered run such
/// as `cargo test --test cli` does not rebuild examples: run `cargo build --examples` first.)
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().join("examples");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; run the tests with cargo test",
        path.display()
    );
    path
}

/// A command for an example binary with no BATON_* variables inherited.
pub fn command(name: &str) -> Command {
    let mut c = Command::new(example(name));
    for (k, _) in std::env::vars() {
        if k.starts_with("BATON_") {
            c.env_remove(k);
        }
    }
    c
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A binary of a workspace crate (e.g. `fake-op`), built by `cargo test --workspace --all-features`.
pub fn workspace_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; run the tests with cargo test --workspace --all-features",
        path.display()
    );
    path
}
