//! Marks the explorer's browser tests ignored (not silently passed) on a machine without
//! Chromium and chromedriver; under CI (`CI` set) they always run and fail when either
//! is missing.

use std::path::PathBuf;

fn found(env: &str, names: &[&str]) -> bool {
    println!("cargo::rerun-if-env-changed={env}");
    if std::env::var_os(env).is_some() {
        return true;
    }
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    names.iter().any(|n| {
        std::env::split_paths(&path)
            .map(|d: PathBuf| d.join(n))
            .any(|p| p.is_file())
    })
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(browser_tests)");
    println!("cargo::rerun-if-env-changed=PATH");
    println!("cargo::rerun-if-env-changed=CI");
    let browser = found(
        "CHROMIUM",
        &["chromium", "chromium-browser", "google-chrome"],
    ) && found("CHROMEDRIVER", &["chromedriver"]);
    if browser || std::env::var_os("CI").is_some() {
        println!("cargo::rustc-cfg=browser_tests");
    }
}
