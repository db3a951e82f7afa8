//! The connector of `docs/writing-a-connector.md` runs as the guide says.

mod common;

use common::{command, stderr, stdout};

#[test]
fn the_guides_connector_passes_the_kit_and_round_trips_a_grant() {
    let out = command("toy").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("conformance kit: passed (7 resources, 2 grants"),
        "{text}"
    );
    assert!(
        text.contains("Docs members after the re-sync: [\"u2\"]"),
        "{text}"
    );
    // The action with typed arguments, and the OAuth token fetched once and reused.
    assert!(
        text.contains("rename_team: {\"renamed\":\"t-docs\"}"),
        "{text}"
    );
    assert!(
        text.contains("t-docs is named \"Documentation\" after the re-sync"),
        "{text}"
    );
    assert!(text.contains("token requests: 1"), "{text}");
}
