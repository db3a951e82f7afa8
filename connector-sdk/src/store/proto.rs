//! The protobuf messages of package `c1.connector.v2` stored in a `.c1z`, written by hand
//! with `prost` derives (no protoc). Field numbers follow `shared/specs/c1z-format.md` §3.2;
//! fields we never write or read are left out (readers skip unknown fields).
//!
//! Enums are plain `int32` fields with the constants below: same wire encoding as proto3
//! enums, and unknown values from newer writers survive a read.

use std::collections::BTreeMap;

pub use prost_types::{Any, ListValue, Struct, Timestamp, Value};

/// The prefix of every annotation's `type_url`.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/c1.connector.v2.";

/// `ResourceType.Trait` values.
pub mod trait_value {
    /// Resources of the type are users.
    pub const USER: i32 = 1;
    /// Resources of the type are groups.
    pub const GROUP: i32 = 2;
    /// Resources of the type are roles.
    pub const ROLE: i32 = 3;
    /// Resources of the type are apps.
    pub const APP: i32 = 4;
    /// Resources of the type are secrets (keys, tokens).
    pub const SECRET: i32 = 5;
}

/// `UserTrait.Status.Status` and `Status.ResourceStatus` values (numerically identical).
pub mod status_value {
    /// The connector does not know the status.
    pub const UNSPECIFIED: i32 = 0;
    /// Active.
    pub const ENABLED: i32 = 1;
    /// Suspended or deactivated.
    pub const DISABLED: i32 = 2;
    /// Deleted but still listed.
    pub const DELETED: i32 = 3;
}

/// `UserTrait.AccountType` values.
pub mod account_type_value {
    /// Not stated.
    pub const UNSPECIFIED: i32 = 0;
    /// A person.
    pub const HUMAN: i32 = 1;
    /// A service account.
    pub const SERVICE: i32 = 2;
    /// A built-in system account.
    pub const SYSTEM: i32 = 3;
}

/// `Entitlement.PurposeValue` values.
pub mod purpose_value {
    /// Not stated.
    pub const UNSPECIFIED: i32 = 0;
    /// Membership or assignment (a group's `member`).
    pub const ASSIGNMENT: i32 = 1;
    /// A permission on the resource.
    pub const PERMISSION: i32 = 2;
    /// Ownership of the resource.
    pub const OWNERSHIP: i32 = 3;
}

/// A resource type: users, groups, vaults… with its traits.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ResourceType {
    /// The id (field 1).
    #[prost(string, tag = "1")]
    pub id: String,
    /// The name shown to people (field 2).
    #[prost(string, tag = "2")]
    pub display_name: String,
    /// The traits (`trait_value` constants) (field 3).
    #[prost(int32, repeated, tag = "3")]
    pub traits: Vec<i32>,
    /// Annotations, each an `Any` wrapping a message of this module (field 4).
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
    /// A description (field 5).
    #[prost(string, tag = "5")]
    pub description: String,
    /// Whether the type comes from another connector (field 6).
    #[prost(bool, tag = "6")]
    pub sourced_externally: bool,
}

/// The identity of a resource: its type id and its id within the type.
#[derive(Clone, PartialEq, Eq, Hash, prost::Message)]
pub struct ResourceId {
    /// The resource type id (field 1).
    #[prost(string, tag = "1")]
    pub resource_type: String,
    /// The resource (field 2).
    #[prost(string, tag = "2")]
    pub resource: String,
    /// Whether the resource belongs to baton itself (field 3).
    #[prost(bool, tag = "3")]
    pub baton_resource: bool,
}

/// One resource (a user, a group, a vault…) as stored in `v1_resources.data`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Resource {
    /// The id (field 1).
    #[prost(message, optional, tag = "1")]
    pub id: Option<ResourceId>,
    /// The parent resource, if any (field 2).
    #[prost(message, optional, tag = "2")]
    pub parent_resource_id: Option<ResourceId>,
    /// The name shown to people (field 3).
    #[prost(string, tag = "3")]
    pub display_name: String,
    /// Annotations, each an `Any` wrapping a message of this module (field 4).
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
    /// A description (field 5).
    #[prost(string, tag = "5")]
    pub description: String,
    /// Whether the resource belongs to baton itself (field 6).
    #[prost(bool, tag = "6")]
    pub baton_resource: bool,
    /// Free-form profile values (field 9).
    #[prost(message, optional, tag = "9")]
    pub profile: Option<Struct>,
    /// The status (field 11).
    #[prost(message, optional, tag = "11")]
    pub status: Option<Status>,
    /// When it was created (field 12).
    #[prost(message, optional, tag = "12")]
    pub created_at: Option<Timestamp>,
}

/// The status of a resource (`status_value` constants).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    /// The status (field 1).
    #[prost(int32, tag = "1")]
    pub status: i32,
    /// A human-readable detail of the status (field 2).
    #[prost(string, tag = "2")]
    pub details: String,
}

/// Something a principal can be granted on a resource, as stored in `v1_entitlements.data`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Entitlement {
    /// The resource (field 1).
    #[prost(message, optional, tag = "1")]
    pub resource: Option<Resource>,
    /// The id (field 2).
    #[prost(string, tag = "2")]
    pub id: String,
    /// The name shown to people (field 3).
    #[prost(string, tag = "3")]
    pub display_name: String,
    /// A description (field 4).
    #[prost(string, tag = "4")]
    pub description: String,
    /// The resource types of principals this can be granted to (field 5).
    #[prost(message, repeated, tag = "5")]
    pub grantable_to: Vec<ResourceType>,
    /// Annotations, each an `Any` wrapping a message of this module (field 6).
    #[prost(message, repeated, tag = "6")]
    pub annotations: Vec<Any>,
    /// The purpose (`purpose_value` constants) (field 7).
    #[prost(int32, tag = "7")]
    pub purpose: i32,
    /// The short name of the entitlement within its resource (field 8).
    #[prost(string, tag = "8")]
    pub slug: String,
}

/// A principal holding an entitlement, as stored in `v1_grants.data`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Grant {
    /// The entitlement granted (field 1).
    #[prost(message, optional, tag = "1")]
    pub entitlement: Option<Entitlement>,
    /// The principal holding the grant (field 2).
    #[prost(message, optional, tag = "2")]
    pub principal: Option<Resource>,
    /// The id (field 3).
    #[prost(string, tag = "3")]
    pub id: String,
    /// Annotations, each an `Any` wrapping a message of this module (field 4).
    #[prost(message, repeated, tag = "4")]
    pub annotations: Vec<Any>,
    /// The sources, keyed by entitlement id (field 5).
    #[prost(message, optional, tag = "5")]
    pub sources: Option<GrantSources>,
}

/// Where a grant came from: the entitlement ids it was expanded from.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantSources {
    /// The sources, keyed by entitlement id (field 1).
    #[prost(btree_map = "string, message", tag = "1")]
    pub sources: BTreeMap<String, GrantSource>,
}

/// One source of a grant.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct GrantSource {
    /// Whether the principal was granted the entitlement directly (field 1).
    #[prost(bool, tag = "1")]
    pub is_direct: bool,
}

/// The user annotation of a resource: emails, status, login, names.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserTrait {
    /// The email addresses (field 1).
    #[prost(message, repeated, tag = "1")]
    pub emails: Vec<UserEmail>,
    /// The status (field 2).
    #[prost(message, optional, tag = "2")]
    pub status: Option<UserStatus>,
    /// Free-form profile values (field 3).
    #[prost(message, optional, tag = "3")]
    pub profile: Option<Struct>,
    /// The kind of account (`account_type_value` constants) (field 5).
    #[prost(int32, tag = "5")]
    pub account_type: i32,
    /// The login name (field 6).
    #[prost(string, tag = "6")]
    pub login: String,
    /// Other login names (field 7).
    #[prost(string, repeated, tag = "7")]
    pub login_aliases: Vec<String>,
    /// When it was created (field 8).
    #[prost(message, optional, tag = "8")]
    pub created_at: Option<Timestamp>,
    /// When the user last signed in (field 9).
    #[prost(message, optional, tag = "9")]
    pub last_login: Option<Timestamp>,
    /// The name in parts (field 12).
    #[prost(message, optional, tag = "12")]
    pub structured_name: Option<StructuredName>,
    /// Employee ids (field 13).
    #[prost(string, repeated, tag = "13")]
    pub employee_ids: Vec<String>,
}

/// One email address of a user.
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserEmail {
    /// The email address (field 1).
    #[prost(string, tag = "1")]
    pub address: String,
    /// Whether this is the primary address (field 2).
    #[prost(bool, tag = "2")]
    pub is_primary: bool,
}

/// The status of a user account (`status_value` constants).
#[derive(Clone, PartialEq, prost::Message)]
pub struct UserStatus {
    /// The status (field 1).
    #[prost(int32, tag = "1")]
    pub status: i32,
    /// A human-readable detail of the status (field 2).
    #[prost(string, tag = "2")]
    pub details: String,
}

/// A user's name in parts.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StructuredName {
    /// The given name (field 1).
    #[prost(string, tag = "1")]
    pub given_name: String,
    /// The family name (field 2).
    #[prost(string, tag = "2")]
    pub family_name: String,
    /// Middle names (field 3).
    #[prost(string, repeated, tag = "3")]
    pub middle_names: Vec<String>,
    /// An honorific prefix (field 4).
    #[prost(string, tag = "4")]
    pub prefix: String,
    /// An honorific suffix (field 5).
    #[prost(string, tag = "5")]
    pub suffix: String,
}

/// The group annotation of a resource.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GroupTrait {
    /// Free-form profile values (field 2).
    #[prost(message, optional, tag = "2")]
    pub profile: Option<Struct>,
}

/// The role annotation of a resource.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RoleTrait {
    /// Free-form profile values (field 1).
    #[prost(message, optional, tag = "1")]
    pub profile: Option<Struct>,
}

/// The app annotation of a resource.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AppTrait {
    /// Where to get help with the app (field 1).
    #[prost(string, tag = "1")]
    pub help_url: String,
    /// Free-form profile values (field 4).
    #[prost(message, optional, tag = "4")]
    pub profile: Option<Struct>,
    /// App flags (field 5).
    #[prost(int32, repeated, tag = "5")]
    pub flags: Vec<i32>,
}

/// The secret annotation of a resource (API keys, tokens).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SecretTrait {
    /// Free-form profile values (field 1).
    #[prost(message, optional, tag = "1")]
    pub profile: Option<Struct>,
    /// When it was created (field 2).
    #[prost(message, optional, tag = "2")]
    pub created_at: Option<Timestamp>,
    /// When it expires (field 3).
    #[prost(message, optional, tag = "3")]
    pub expires_at: Option<Timestamp>,
    /// When it was last used (field 4).
    #[prost(message, optional, tag = "4")]
    pub last_used_at: Option<Timestamp>,
    /// The principal that created it (field 5).
    #[prost(message, optional, tag = "5")]
    pub created_by_id: Option<ResourceId>,
    /// The identity the secret belongs to (field 6).
    #[prost(message, optional, tag = "6")]
    pub identity_id: Option<ResourceId>,
}

/// Annotation: resources of this type have children of another type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ChildResourceType {
    /// The child resource type id (field 1).
    #[prost(string, tag = "1")]
    pub resource_type_id: String,
}

/// Annotation: do not list entitlements or grants of this resource (type).
#[derive(Clone, PartialEq, prost::Message)]
pub struct SkipEntitlementsAndGrants {}

/// Annotation: a link to the resource in the vendor's console.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ExternalLink {
    /// The URL (field 1).
    #[prost(string, tag = "1")]
    pub url: String,
}

/// Annotation: the grant's principal is itself an entitlement whose holders inherit this grant.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantExpandable {
    /// The entitlements whose holders inherit the grant (field 1).
    #[prost(string, repeated, tag = "1")]
    pub entitlement_ids: Vec<String>,
    /// Whether only direct holders inherit it (field 2).
    #[prost(bool, tag = "2")]
    pub shallow: bool,
    /// The principal types that inherit it (all when empty) (field 3).
    #[prost(string, repeated, tag = "3")]
    pub resource_type_ids: Vec<String>,
}

/// Annotation: the grant is managed elsewhere and cannot be revoked here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantImmutable {
    /// The id of the system that manages it (field 1).
    #[prost(string, tag = "1")]
    pub source_id: String,
    /// Free-form metadata (field 2).
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<Struct>,
}

/// Annotation: free-form metadata of a grant.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GrantMetadata {
    /// Free-form metadata (field 1).
    #[prost(message, optional, tag = "1")]
    pub metadata: Option<Struct>,
}

/// Annotation: the entitlement is managed elsewhere and cannot be granted here.
#[derive(Clone, PartialEq, prost::Message)]
pub struct EntitlementImmutable {
    /// The id of the system that manages it (field 1).
    #[prost(string, tag = "1")]
    pub source_id: String,
    /// Free-form metadata (field 2).
    #[prost(message, optional, tag = "2")]
    pub metadata: Option<Struct>,
}

/// A message that can travel as an annotation: it knows its full name.
pub trait Annotation: prost::Message + Default {
    /// The message name after `c1.connector.v2.`.
    const NAME: &'static str;

    /// This message wrapped in an `Any` with upstream's type URL.
    fn to_any(&self) -> Any {
        Any {
            type_url: format!("{TYPE_URL_PREFIX}{}", Self::NAME),
            value: self.encode_to_vec(),
        }
    }
}

macro_rules! annotation {
    ($($t:ident),*) => {
        $(impl Annotation for $t {
            const NAME: &'static str = stringify!($t);
        })*
    };
}

annotation!(
    UserTrait,
    GroupTrait,
    RoleTrait,
    AppTrait,
    SecretTrait,
    ChildResourceType,
    SkipEntitlementsAndGrants,
    ExternalLink,
    GrantExpandable,
    GrantImmutable,
    GrantMetadata,
    EntitlementImmutable
);

/// Whether `any` holds a message of type `T` (matched on the part after the last `/`, as
/// upstream does).
pub fn is<T: Annotation>(any: &Any) -> bool {
    any.type_url
        .rsplit('/')
        .next()
        .is_some_and(|n| n == format!("c1.connector.v2.{}", T::NAME))
}

/// The first annotation of type `T` in `list`, decoded; `None` when absent or malformed.
pub fn find<T: Annotation>(list: &[Any]) -> Option<T> {
    list.iter()
        .find(|a| is::<T>(a))
        .and_then(|a| T::decode(a.value.as_slice()).ok())
}

/// Every annotation of type `T` in `list`, decoded.
pub fn find_all<T: Annotation>(list: &[Any]) -> Vec<T> {
    list.iter()
        .filter(|a| is::<T>(a))
        .filter_map(|a| T::decode(a.value.as_slice()).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    //! Reference encodings from `c1z-format.md` Appendix B, byte for byte.
    use super::*;
    use prost::Message;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn rid(t: &str, r: &str) -> ResourceId {
        ResourceId {
            resource_type: t.into(),
            resource: r.into(),
            baton_resource: false,
        }
    }

    #[test]
    fn resource_type_reference_encoding() {
        let rt = ResourceType {
            id: "user".into(),
            display_name: "User".into(),
            traits: vec![trait_value::USER],
            annotations: vec![SkipEntitlementsAndGrants {}.to_any()],
            ..Default::default()
        };
        assert_eq!(
            hex(&rt.encode_to_vec()),
            "0a04757365721204557365721a0101223f0a3d747970652e676f6f676c65617069732e636f6d2f63312e636f6e6e6563746f722e76322e536b6970456e7469746c656d656e7473416e644772616e7473"
        );
    }

    #[test]
    fn resource_with_user_trait_reference_encoding() {
        let user = UserTrait {
            emails: vec![UserEmail {
                address: "alice@example.com".into(),
                is_primary: true,
            }],
            status: Some(UserStatus {
                status: status_value::ENABLED,
                details: String::new(),
            }),
            account_type: account_type_value::HUMAN,
            login: "alice".into(),
            ..Default::default()
        };
        let r = Resource {
            id: Some(rid("user", "u1")),
            display_name: "Alice".into(),
            annotations: vec![user.to_any()],
            status: Some(Status {
                status: status_value::ENABLED,
                details: String::new(),
            }),
            ..Default::default()
        };
        assert_eq!(
            hex(&r.encode_to_vec()),
            "0a0a0a0475736572120275311a05416c69636522550a2d747970652e676f6f676c65617069732e636f6d2f63312e636f6e6e6563746f722e76322e55736572547261697412240a150a11616c696365406578616d706c652e636f6d10011202080128013205616c6963655a020801"
        );
    }

    #[test]
    fn grant_reference_encoding() {
        let g = Grant {
            entitlement: Some(Entitlement {
                id: "group:g1:member".into(),
                resource: Some(Resource {
                    id: Some(rid("group", "g1")),
                    display_name: "Admins".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            principal: Some(Resource {
                id: Some(rid("user", "u1")),
                ..Default::default()
            }),
            id: "group:g1:member:user:u1".into(),
            ..Default::default()
        };
        assert_eq!(
            hex(&g.encode_to_vec()),
            "0a280a150a0b0a0567726f7570120267311a0641646d696e73120f67726f75703a67313a6d656d626572120c0a0a0a0475736572120275311a1767726f75703a67313a6d656d6265723a757365723a7531"
        );
    }

    #[test]
    fn grant_sources_expansion_and_immutable_reference_encodings() {
        let mut sources = BTreeMap::new();
        sources.insert(
            "group:g2:member".to_string(),
            GrantSource { is_direct: true },
        );
        assert_eq!(
            hex(&GrantSources { sources }.encode_to_vec()),
            "0a150a0f67726f75703a67323a6d656d62657212020801"
        );
        let exp = GrantExpandable {
            entitlement_ids: vec!["group:g2:member".into()],
            ..Default::default()
        };
        assert_eq!(
            hex(&exp.encode_to_vec()),
            "0a0f67726f75703a67323a6d656d626572"
        );
        assert_eq!(
            hex(&GrantImmutable::default().to_any().encode_to_vec()),
            "0a32747970652e676f6f676c65617069732e636f6d2f63312e636f6e6e6563746f722e76322e4772616e74496d6d757461626c65"
        );
    }

    #[test]
    fn type_urls_match_the_spec() {
        let names = [
            (UserTrait::default().to_any().type_url, "UserTrait"),
            (GroupTrait::default().to_any().type_url, "GroupTrait"),
            (RoleTrait::default().to_any().type_url, "RoleTrait"),
            (AppTrait::default().to_any().type_url, "AppTrait"),
            (SecretTrait::default().to_any().type_url, "SecretTrait"),
            (
                ChildResourceType::default().to_any().type_url,
                "ChildResourceType",
            ),
            (
                SkipEntitlementsAndGrants::default().to_any().type_url,
                "SkipEntitlementsAndGrants",
            ),
            (ExternalLink::default().to_any().type_url, "ExternalLink"),
            (
                GrantExpandable::default().to_any().type_url,
                "GrantExpandable",
            ),
            (
                GrantImmutable::default().to_any().type_url,
                "GrantImmutable",
            ),
            (GrantMetadata::default().to_any().type_url, "GrantMetadata"),
            (
                EntitlementImmutable::default().to_any().type_url,
                "EntitlementImmutable",
            ),
        ];
        for (url, name) in names {
            assert_eq!(url, format!("type.googleapis.com/c1.connector.v2.{name}"));
        }
    }

    /// Field numbers of the messages whose reference encodings the spec does not give,
    /// checked by encoding one field at a time and reading the tag byte.
    #[test]
    fn field_numbers_match_the_spec_tables() {
        fn tag(bytes: Vec<u8>) -> u64 {
            (bytes[0] >> 3) as u64
        }
        let s = || "x".to_string();
        let ts = || {
            Some(Timestamp {
                seconds: 1,
                nanos: 0,
            })
        };
        let st = || Some(Struct::default());
        assert_eq!(
            tag(ResourceType {
                description: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            5
        );
        assert_eq!(
            tag(ResourceType {
                sourced_externally: true,
                ..Default::default()
            }
            .encode_to_vec()),
            6
        );
        assert_eq!(
            tag(Resource {
                parent_resource_id: Some(rid("a", "b")),
                ..Default::default()
            }
            .encode_to_vec()),
            2
        );
        assert_eq!(
            tag(Resource {
                description: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            5
        );
        assert_eq!(
            tag(Resource {
                profile: st(),
                ..Default::default()
            }
            .encode_to_vec()),
            9
        );
        assert_eq!(
            tag(Resource {
                status: Some(Status::default()),
                ..Default::default()
            }
            .encode_to_vec()),
            11
        );
        assert_eq!(
            tag(Resource {
                created_at: ts(),
                ..Default::default()
            }
            .encode_to_vec()),
            12
        );
        assert_eq!(
            tag(Entitlement {
                display_name: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            3
        );
        assert_eq!(
            tag(Entitlement {
                description: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            4
        );
        assert_eq!(
            tag(Entitlement {
                grantable_to: vec![ResourceType::default()],
                ..Default::default()
            }
            .encode_to_vec()),
            5
        );
        assert_eq!(
            tag(Entitlement {
                annotations: vec![Any::default()],
                ..Default::default()
            }
            .encode_to_vec()),
            6
        );
        assert_eq!(
            tag(Entitlement {
                purpose: 1,
                ..Default::default()
            }
            .encode_to_vec()),
            7
        );
        assert_eq!(
            tag(Entitlement {
                slug: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            8
        );
        assert_eq!(
            tag(Grant {
                annotations: vec![Any::default()],
                ..Default::default()
            }
            .encode_to_vec()),
            4
        );
        assert_eq!(
            tag(Grant {
                sources: Some(GrantSources::default()),
                ..Default::default()
            }
            .encode_to_vec()),
            5
        );
        assert_eq!(
            tag(UserTrait {
                profile: st(),
                ..Default::default()
            }
            .encode_to_vec()),
            3
        );
        assert_eq!(
            tag(UserTrait {
                login_aliases: vec![s()],
                ..Default::default()
            }
            .encode_to_vec()),
            7
        );
        assert_eq!(
            tag(UserTrait {
                created_at: ts(),
                ..Default::default()
            }
            .encode_to_vec()),
            8
        );
        assert_eq!(
            tag(UserTrait {
                last_login: ts(),
                ..Default::default()
            }
            .encode_to_vec()),
            9
        );
        assert_eq!(
            tag(UserTrait {
                structured_name: Some(StructuredName::default()),
                ..Default::default()
            }
            .encode_to_vec()),
            12
        );
        assert_eq!(
            tag(UserTrait {
                employee_ids: vec![s()],
                ..Default::default()
            }
            .encode_to_vec()),
            13
        );
        assert_eq!(
            tag(StructuredName {
                family_name: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            2
        );
        assert_eq!(
            tag(StructuredName {
                middle_names: vec![s()],
                ..Default::default()
            }
            .encode_to_vec()),
            3
        );
        assert_eq!(tag(GroupTrait { profile: st() }.encode_to_vec()), 2);
        assert_eq!(tag(RoleTrait { profile: st() }.encode_to_vec()), 1);
        assert_eq!(
            tag(AppTrait {
                help_url: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            1
        );
        assert_eq!(
            tag(AppTrait {
                profile: st(),
                ..Default::default()
            }
            .encode_to_vec()),
            4
        );
        assert_eq!(
            tag(AppTrait {
                flags: vec![1],
                ..Default::default()
            }
            .encode_to_vec()),
            5
        );
        assert_eq!(
            tag(SecretTrait {
                expires_at: ts(),
                ..Default::default()
            }
            .encode_to_vec()),
            3
        );
        assert_eq!(
            tag(SecretTrait {
                identity_id: Some(rid("a", "b")),
                ..Default::default()
            }
            .encode_to_vec()),
            6
        );
        assert_eq!(tag(ExternalLink { url: s() }.encode_to_vec()), 1);
        assert_eq!(
            tag(GrantExpandable {
                shallow: true,
                ..Default::default()
            }
            .encode_to_vec()),
            2
        );
        assert_eq!(
            tag(GrantExpandable {
                resource_type_ids: vec![s()],
                ..Default::default()
            }
            .encode_to_vec()),
            3
        );
        assert_eq!(
            tag(GrantImmutable {
                metadata: st(),
                ..Default::default()
            }
            .encode_to_vec()),
            2
        );
        assert_eq!(tag(GrantMetadata { metadata: st() }.encode_to_vec()), 1);
        assert_eq!(
            tag(EntitlementImmutable {
                source_id: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            1
        );
        assert_eq!(
            tag(Status {
                details: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            2
        );
        assert_eq!(
            tag(UserStatus {
                details: s(),
                ..Default::default()
            }
            .encode_to_vec()),
            2
        );
        // ResourceType.traits is packed: one tag, length, then values.
        assert_eq!(
            ResourceType {
                traits: vec![1, 2],
                ..Default::default()
            }
            .encode_to_vec(),
            vec![0x1a, 2, 1, 2]
        );
    }
}
