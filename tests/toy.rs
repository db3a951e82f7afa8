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

/// #26's done-when for the guide's toy: it is built on the SDK's helpers (the OAuth token
/// issuer for its simulator, typed action arguments, the grant and revoke outcomes) and is
/// smaller than the 366 lines it had before them, when it had neither OAuth nor an action.
/// A toy that grows back past that is writing by hand what the SDK should give.
#[test]
fn the_guides_toy_uses_the_sdks_helpers_and_stays_small() {
    let toy = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/toy.rs"),
    )
    .unwrap();
    for helper in [
        "TokenIssuer",
        ".gate(req, \"/oauth/token\")",
        "req.parse()?",
        "req.granted()",
        "RevokeOutcome::of_removal",
        "profile! {",
        "OAuth2ClientCredentials::new",
    ] {
        assert!(toy.contains(helper), "the toy no longer uses {helper}");
    }
    // Nothing the SDK gives is written again: no form parsing, no bearer check by hand.
    for by_hand in ["form_urlencoded", "client_secret ==", "\"authorization\""] {
        assert!(!toy.contains(by_hand), "the toy does by hand: {by_hand}");
    }
    let lines = toy.lines().count();
    assert!(
        lines < 366,
        "examples/toy.rs has {lines} lines, 366 before #26's helpers"
    );
}
