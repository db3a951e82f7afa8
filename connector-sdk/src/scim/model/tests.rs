//! Tests of `scim/model.rs`.

use super::*;
use serde_json::json;

#[test]
fn a_user_with_string_booleans_nulls_and_missing_arrays_parses() {
    let u: User = serde_json::from_value(json!({
        "id": 42, "userName": "a@x.com", "active": "true", "name": null, "meta": null,
        "emails": [{"value": "a@x.com"}, {"value": "b@x.com", "primary": "true", "type": "work"}]
    }))
    .unwrap();
    assert_eq!(u.id, "42");
    assert_eq!(u.active, Some(true));
    assert!(u.name.is_none() && u.meta.is_none() && u.groups.is_empty());
    assert!(!u.emails[0].primary, "primary missing reads as false");
    assert_eq!(u.primary_email(), Some("b@x.com"));
    let bare: User = serde_json::from_value(json!({"id": "x"})).unwrap();
    assert!(bare.is_active(), "active missing means active");
    assert_eq!(bare.primary_email(), None);
    let err = serde_json::from_value::<User>(json!({"id": "x", "active": "sometimes"}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sometimes"), "{err}");
}

#[test]
fn unknown_attributes_and_extensions_survive_a_round_trip() {
    let raw = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:x:ext"],
        "id": "u1", "userName": "a@x.com", "nickName": "Al",
        "urn:x:ext": {"level": 3, "tags": ["a"]},
        ENTERPRISE_USER: {"department": "Ops", "manager": {"value": "m1"}}
    });
    let u: User = serde_json::from_value(raw.clone()).unwrap();
    assert_eq!(u.extra["nickName"], "Al");
    assert_eq!(u.extension("urn:x:ext").unwrap()["level"], 3);
    let e: EnterpriseUser = u.extension_as(ENTERPRISE_USER).unwrap().unwrap();
    assert_eq!(e.department.as_deref(), Some("Ops"));
    assert_eq!(serde_json::to_value(&u).unwrap(), raw);
    assert!(
        u.extension_as::<EnterpriseUser>("urn:absent")
            .unwrap()
            .is_none()
    );
    // An extension of the wrong shape is an error naming the URN, not a panic.
    let bad: User = serde_json::from_value(json!({"id": "u2", ENTERPRISE_USER: "Ops"})).unwrap();
    let err = bad
        .extension_as::<EnterpriseUser>(ENTERPRISE_USER)
        .unwrap_err();
    assert!(err.to_string().contains(ENTERPRISE_USER), "{err}");
    assert_eq!(bad.extension_lossy::<EnterpriseUser>(ENTERPRISE_USER), None);
}

#[test]
fn set_extension_lists_the_urn_once() {
    let mut u = User::new("a@x.com");
    let ext = EnterpriseUser {
        department: Some("Ops".into()),
        ..Default::default()
    };
    u.set_extension(ENTERPRISE_USER, &ext).unwrap();
    u.set_extension(ENTERPRISE_USER, &ext).unwrap();
    assert_eq!(u.schemas, [super::super::USER, ENTERPRISE_USER]);
    assert_eq!(
        serde_json::to_value(&u).unwrap(),
        json!({"schemas": [super::super::USER, ENTERPRISE_USER], "userName": "a@x.com",
               ENTERPRISE_USER: {"department": "Ops"}})
    );
}

#[test]
fn groups_tolerate_missing_and_null_members_and_single_objects() {
    let g: Group = serde_json::from_value(json!({"id": "g"})).unwrap();
    assert!(g.members.is_empty() && g.user_member_ids().is_empty());
    let g: Group = serde_json::from_value(json!({"id": "g", "members": null})).unwrap();
    assert!(g.members.is_empty());
    let g: Group = serde_json::from_value(
        json!({"id": "g", "members": {"value": "u1", "$ref": "https://x/Users/u1", "display": "U"}}),
    )
    .unwrap();
    assert_eq!(
        g.members[0].reference.as_deref(),
        Some("https://x/Users/u1")
    );
    assert_eq!(g.user_member_ids(), ["u1"]);
    let g: Group = serde_json::from_value(json!({"id": "g", "members": [
        {"value": ""}, {"type": "user", "value": "u2"}, {"type": "Group", "value": "g2"}
    ]}))
    .unwrap();
    assert_eq!(g.user_member_ids(), ["u2"]);
    assert!(serde_json::from_value::<Group>(json!({"id": "g", "members": 3})).is_err());
}
