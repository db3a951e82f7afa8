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
        ("valimail.yaml", "valimail"),
        ("sendgrid.yaml", "sendgrid"),
        ("ironclad.yaml", "ironclad"),
        ("onepassword.yaml", "onepassword"),
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
    assert!(dockerfile.contains("--example \"${CONNECTOR}\""));
    for name in ["valimail", "sendgrid", "ironclad", "onepassword"] {
        assert!(root.join("examples").join(format!("{name}.rs")).exists());
        assert!(
            dockerfile.contains(&format!("CONNECTOR={name}")),
            "{name} build line documented"
        );
    }
}
