//! Tests of `store/convert.rs`.

use super::*;
use prost::Message;
use serde_json::json;

#[test]
fn resources_round_trip_with_every_trait() {
    let mut profile = Profile::new();
    profile.insert("n".into(), json!(3));
    profile.insert("f".into(), json!(1.5));
    profile.insert("nested".into(), json!({"a": [true, null, "x"]}));
    let t = UNIX_EPOCH + Duration::new(1_700_000_000, 123_000_000);
    let r = Resource::with_id(ResourceId::new("user", "u1"), "Zoë 李")
        .with_parent(ResourceId::new("org", "o1"))
        .with_description("d")
        .with_user_trait(UserTrait {
            created_at: Some(t),
            last_login: Some(t),
            login_aliases: vec!["z".into()],
            employee_ids: vec!["e1".into()],
            ..UserTrait::default()
                .with_email("z@x", true)
                .with_email("z2@x", false)
                .with_login("z")
                .with_status(UserStatus::Disabled)
                .with_status_details("pending")
                .with_account_type(AccountType::Service)
                .with_name("Zoë", "李")
                .with_profile(profile.clone())
        })
        .with_group_trait(GroupTrait {
            profile: profile.clone(),
        })
        .with_role_trait(RoleTrait::default())
        .with_app_trait(AppTrait {
            help_url: "https://h".into(),
            profile: Profile::new(),
        })
        .with_secret_trait(SecretTrait {
            expires_at: Some(t),
            identity: Some(ResourceId::new("user", "u2")),
            ..Default::default()
        })
        .with_child_type("token")
        .with_child_type("key")
        .with_external_link("https://app/u1");
    let p = resource_to_proto(&r);
    let bytes = p.encode_to_vec();
    let back = resource_from_proto(&proto::Resource::decode(bytes.as_slice()).unwrap()).unwrap();
    assert_eq!(back, r);
    // Upstream's resource-level copies are written too.
    assert_eq!(p.status.unwrap().status, status_value::DISABLED);
    assert!(p.profile.is_some());
    assert!(p.created_at.is_some());
}

#[test]
fn grant_expansion_goes_to_the_column_not_the_blob() {
    let e = Entitlement::from_parts("vault:v1:read", ResourceId::new("vault", "v1"), "read");
    let mut g = Grant::new(&e, ResourceId::new("group", "g1"))
        .expandable(["group:g1:member"])
        .immutable();
    g.sources.insert("group:g1:member".into(), false);
    let (p, expansion) = grant_to_proto(&g);
    assert!(proto::find::<proto::GrantExpandable>(&p.annotations).is_none());
    assert_eq!(
        expansion
            .as_deref()
            .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>()),
        Some("0a0f67726f75703a67313a6d656d626572".to_string())
    );
    let row = GrantRow {
        entitlement_id: String::new(),
        resource: ResourceId::new("x", "y"),
        principal: ResourceId::new("x", "y"),
    };
    let back = grant_from_proto(&p, expansion.as_deref(), &row).unwrap();
    assert_eq!(back, g);
}

#[test]
fn blank_expansion_ids_store_no_expansion() {
    let e = Entitlement::from_parts("a:b:c", ResourceId::new("a", "b"), "c");
    let g = Grant::new(&e, ResourceId::new("user", "u")).expandable([" "]);
    assert!(grant_to_proto(&g).1.is_none());
}

#[test]
fn slim_grants_are_rebuilt_from_the_row() {
    let p = proto::Grant {
        id: "g:1:member:user:u".into(),
        annotations: vec![
            proto::GrantExpandable {
                entitlement_ids: vec!["x:y:z".into()],
                ..Default::default()
            }
            .to_any(),
        ],
        ..Default::default()
    };
    let row = GrantRow {
        entitlement_id: "g:1:member".into(),
        resource: ResourceId::new("g", "1"),
        principal: ResourceId::new("user", "u"),
    };
    let g = grant_from_proto(&p, None, &row).unwrap();
    assert_eq!(g.entitlement_id(), "g:1:member");
    assert_eq!(g.principal(), &ResourceId::new("user", "u"));
    assert_eq!(g.expandable.unwrap().entitlement_ids, vec!["x:y:z"]);
}

#[test]
fn timestamps_round_trip_before_and_after_the_epoch() {
    for t in [
        UNIX_EPOCH + Duration::new(5, 7),
        UNIX_EPOCH - Duration::new(5, 7),
        UNIX_EPOCH,
    ] {
        assert_eq!(system_time(&timestamp(t)), t);
    }
}
