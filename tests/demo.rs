//! The README's main job: the demo syncs five simulated tenants and shows one provisioning
//! round trip each.

mod common;

use common::{command, stderr, stdout};

#[test]
fn the_demo_syncs_five_tenants_and_round_trips_a_grant_each() {
    let dir = tempfile::tempdir().unwrap();
    let out = command("demo").arg(dir.path()).output().unwrap();
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    let text = stdout(&out);
    for name in ["Valimail", "SendGrid", "Ironclad", "1Password", "SCIM"] {
        assert!(
            text.contains(&format!("\n{name}: ")),
            "{name} missing:\n{text}"
        );
    }
    assert_eq!(text.matches("round trip: granted").count(), 5, "{text}");
    // The service-mode part: a fake C1 received a Hello, an upload, a grant and a revoke.
    assert!(text.contains("C1 received: token requests"), "{text}");
    assert!(text.contains("sync_full "), "{text}");
    assert!(
        text.contains("GrantManagerServiceGrantResponse with scope:"),
        "{text}"
    );
    assert!(
        text.contains("c1.connector.v2.GrantManagerServiceRevokeResponse"),
        "{text}"
    );
    for f in [
        "valimail.c1z",
        "sendgrid.c1z",
        "ironclad.c1z",
        "1password.c1z",
        "scim.c1z",
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}
