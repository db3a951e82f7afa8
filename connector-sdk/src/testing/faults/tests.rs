//! Tests of `testing/faults.rs`.

use super::*;

#[test]
fn chunked_bodies_are_reassembled() {
    assert_eq!(
        dechunk(b"4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n").unwrap(),
        b"Wikipedia"
    );
    assert!(dechunk(b"zz\r\n").is_none());
}

#[test]
fn a_lying_total_replaces_only_total_results() {
    let raw = reframe(
        200,
        &[("Content-Type".into(), "application/scim+json".into())],
        br#"{"totalResults":3,"Resources":[]}"#,
    );
    let (_, _, body) = split_response(&lie_about_total(&raw, 1_000_000_000)).unwrap();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["totalResults"], 1_000_000_000u64);
    // Not a SCIM list: untouched.
    let other = reframe(200, &[], b"[1,2]");
    assert_eq!(lie_about_total(&other, 9), other);
}

#[test]
fn seeded_plans_repeat_and_spare_what_they_are_told() {
    let a = FaultPlan::seeded(7, 50, vec![Fault::Status(500), Fault::Reset]);
    let b = FaultPlan::seeded(7, 50, vec![Fault::Status(500), Fault::Reset]);
    let draws_a: Vec<_> = (1..50).map(|n| a.pick(n)).collect();
    let draws_b: Vec<_> = (1..50).map(|n| b.pick(n)).collect();
    assert_eq!(draws_a, draws_b);
    assert!(draws_a.iter().any(Option::is_some) && draws_a.iter().any(Option::is_none));
    let plan = FaultPlan::always(Fault::Reset).sparing("/oauth");
    assert!(!plan.eligible("GET", "/oauth/token"));
    assert!(!plan.eligible("POST", "/users"));
    assert!(plan.eligible("GET", "/users"));
}
