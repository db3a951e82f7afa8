//! The Kubernetes manifests under `deploy/k8s/` only name variables the matching binary
//! accepts (checked against each binary's `config` schema), and the Dockerfile builds the
//! example binaries this repository has.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{command, stderr};

/// Every `BATON_*` name in a manifest: `KEY: value` lines and `- name: KEY` entries.
fn variables(manifest: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in manifest.lines() {
        let line = line.trim().trim_start_matches("- ").trim();
        let candidate = line.strip_prefix("name: ").unwrap_or(line);
        let key: String = candidate
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || *c == '_' || c.is_ascii_digit())
            .collect();
        if key.starts_with("BATON_") && key.len() > 6 {
            out.insert(key);
        }
    }
    out
}

fn accepted(binary: &str) -> BTreeSet<String> {
    let out = command(binary).arg("config").output().unwrap();
    assert!(out.status.success(), "{binary} config: {}", stderr(&out));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    schema["properties"]
        .as_object()
        .unwrap()
        .values()
        .filter_map(|p| p["x-env"].as_str().map(String::from))
        .collect()
}

#[test]
fn every_manifest_variable_is_accepted_by_its_binary() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s");
    let mut checked = 0;
    for (manifest, binary) in [
        ("valimail.yaml", "baton-valimail"),
        ("sendgrid.yaml", "baton-sendgrid"),
        ("ironclad.yaml", "baton-ironclad"),
        ("onepassword.yaml", "baton-1password"),
        ("scim.yaml", "baton-scim"),
    ] {
        let text = std::fs::read_to_string(dir.join(manifest)).unwrap();
        let vars = variables(&text);
        assert!(vars.len() >= 8, "{manifest}: {vars:?}");
        let ok = accepted(binary);
        for v in &vars {
            assert!(
                ok.contains(v),
                "{manifest} sets {v}, which {binary} does not accept"
            );
            checked += 1;
        }
        assert!(
            text.contains("BATON_SERVICE_INTERVAL")
                && text.contains("path: /live")
                && text.contains("path: /ready")
                && text.contains("BATON_HEALTH_CHECK_BIND_ADDRESS"),
            "{manifest} runs in service mode with liveness and readiness probes the kubelet can reach"
        );
    }
    assert!(checked > 40);
}

/// Each pod runs as a non-root user with a read-only root filesystem (temporary files on
/// their own volume), no privilege escalation, no capabilities and no service account
/// token; the image build context leaves out build output, history, sync files and keys.
#[test]
fn manifests_and_the_image_build_are_hardened() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for manifest in [
        "valimail.yaml",
        "sendgrid.yaml",
        "ironclad.yaml",
        "onepassword.yaml",
        "scim.yaml",
    ] {
        let text = std::fs::read_to_string(root.join("deploy/k8s").join(manifest)).unwrap();
        for needed in [
            "runAsNonRoot: true",
            "allowPrivilegeEscalation: false",
            "readOnlyRootFilesystem: true",
            "drop: [\"ALL\"]",
            "type: RuntimeDefault",
            "automountServiceAccountToken: false",
            "mountPath: /tmp",
        ] {
            assert!(text.contains(needed), "{manifest} lacks {needed}");
        }
        assert!(!text.contains("privileged: true"), "{manifest}");
    }
    let ignore = std::fs::read_to_string(root.join(".dockerignore")).unwrap();
    for needed in ["target/", ".git/", "**/*.c1z", ".env"] {
        assert!(
            ignore.lines().any(|l| l.trim() == needed),
            ".dockerignore lacks {needed}"
        );
    }
}

#[test]
fn the_dockerfile_builds_an_example_named_by_its_argument() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("--example \"${CONNECTOR}\" --features \"${CONNECTOR}\""));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for name in ["valimail", "sendgrid", "ironclad", "1password", "scim"] {
        assert!(
            dockerfile.contains(&format!("CONNECTOR=baton-{name}")),
            "{name} build line documented"
        );
        assert!(
            manifest.contains(&format!("name = \"baton-{name}\"")),
            "baton-{name} is an example of the root package"
        );
    }
}

/// What `cargo install --example baton-X --features baton-X` compiles: that connector
/// and the runner, none of the other connectors, no test kit (wiremock), no fake
/// ConductorOne (its certificate and JWT crates).
#[test]
fn an_installed_connector_binary_compiles_only_its_connector_and_nothing_for_tests() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let connectors = [
        ("baton-valimail", "connector-valimail"),
        ("baton-sendgrid", "connector-sendgrid"),
        ("baton-ironclad", "connector-ironclad"),
        ("baton-1password", "connector-onepassword"),
        ("baton-scim", "connector-scim"),
    ];
    for (feature, krate) in connectors {
        let out = std::process::Command::new(env!("CARGO"))
            .current_dir(root)
            .args([
                "tree",
                "--offline",
                "--locked",
                "-p",
                "connector-examples",
                "--no-default-features",
                "--features",
                feature,
                "-e",
                "normal,build",
                "--prefix",
                "none",
                "--format",
                "{p}",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "cargo tree: {}", stderr(&out));
        let tree = String::from_utf8_lossy(&out.stdout);
        let names: BTreeSet<&str> = tree
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert!(names.contains(krate), "{feature}: {names:?}");
        for (_, other) in connectors.iter().filter(|(_, k)| *k != krate) {
            assert!(!names.contains(other), "{feature} compiles {other}");
        }
        for test_only in ["wiremock", "rcgen", "jsonwebtoken"] {
            assert!(!names.contains(test_only), "{feature} compiles {test_only}");
        }
    }
}

/// With `autoexamples` and `autotests` off, a new file under `tests/` or `examples/` runs
/// only once it is declared: every one is.
#[test]
fn every_test_and_example_file_is_declared() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    for dir in ["tests", "examples"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let stem = path.file_stem().unwrap().to_str().unwrap();
                assert!(
                    manifest.contains(&format!("name = \"{stem}\""))
                        || manifest.contains(&format!("path = \"{dir}/{stem}.rs\"")),
                    "{dir}/{stem}.rs is not declared in Cargo.toml"
                );
            }
        }
    }
}
