//! Tests of `model.rs`.

use super::*;

fn user_type() -> ResourceType {
    ResourceType::new("user", "User").with_trait(TraitKind::User)
}

#[test]
fn ids_follow_upstream_formats() {
    let vault = Resource::with_id(ResourceId::new("vault", "v:1"), "Ops");
    let ent = Entitlement::permission(&vault, "read");
    assert_eq!(ent.id(), "vault:v:1:read");
    let grant = Grant::new(&ent, ResourceId::new("group", "g1"));
    assert_eq!(grant.id(), "vault:v:1:read:group:g1");
    assert_eq!(grant.entitlement_id(), ent.id());
    assert_eq!(grant.entitlement_resource(), &vault.id);
}

#[test]
fn missing_trait_is_rejected_with_the_resource_id() {
    let r = Resource::new(&user_type(), "u1", "Ada");
    let err = r.validate(&user_type()).unwrap_err();
    assert!(err.to_string().contains("user:u1"), "{err}");
    assert!(err.to_string().contains("user trait"), "{err}");
    let ok = r.with_user_trait(UserTrait::default());
    ok.validate(&user_type()).unwrap();
}

#[test]
fn bad_ids_are_rejected() {
    assert!(validate_type_id("").is_err());
    assert!(validate_type_id("a:b").is_err());
    assert!(validate_type_id("a b").is_err());
    assert!(validate_type_id("vault_item").is_ok());
    assert!(ResourceId::new("user", "").validate().is_err());
    assert!(
        ResourceId::new("user", "x".repeat(1025))
            .validate()
            .is_err()
    );
    let r = Resource::new(&user_type(), "u1", "Ada").with_user_trait(UserTrait::default());
    assert!(Entitlement::assignment(&r, "").validate().is_err());
    assert!(Entitlement::assignment(&r, " ").validate().is_err());
    assert!(Entitlement::assignment(&r, "a:b").validate().is_err());
    Entitlement::assignment(&r, "allow viewing")
        .validate()
        .unwrap();
}

#[test]
fn resource_listed_under_wrong_type_is_rejected() {
    let r = Resource::with_id(ResourceId::new("group", "g"), "G");
    let err = r.validate(&ResourceType::new("user", "User")).unwrap_err();
    assert!(err.to_string().contains("group:g"));
}

#[test]
fn expandable_grant_needs_entitlements() {
    let g = Resource::with_id(ResourceId::new("group", "g"), "G");
    let e = Entitlement::assignment(&g, "member");
    let grant = Grant::new(&e, ResourceId::new("group", "h")).expandable(Vec::<String>::new());
    assert!(grant.validate().is_err());
    let grant = Grant::new(&e, ResourceId::new("group", "h")).expandable(["a", "a"]);
    assert!(grant.validate().is_err());
    let grant = Grant::new(&e, ResourceId::new("group", "h")).expandable(["group:h:member"]);
    grant.validate().unwrap();
}

#[test]
fn one_primary_email() {
    let u = UserTrait::default()
        .with_email("a@x", true)
        .with_email("b@x", true);
    assert_eq!(u.emails.iter().filter(|e| e.primary).count(), 1);
    assert_eq!(u.primary_email(), Some("b@x"));
}

#[test]
fn model_round_trips_through_json() {
    let r = Resource::new(&user_type(), "u1", "Ada")
        .with_user_trait(UserTrait::default().with_email("ada@x", true))
        .with_child_type("token");
    let json = serde_json::to_string(&r).unwrap();
    let back: Resource = serde_json::from_str(&json).unwrap();
    assert_eq!(back, r);
}
