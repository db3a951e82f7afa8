//! SCIM 2.0 for every SCIM connector: the RFC 7643 resources ([`User`], [`Group`], their
//! extensions), the RFC 7644 messages ([`ListResponse`], [`PatchOp`], [`ScimError`]),
//! filter literals, and a [`ScimClient`] over the SDK's HTTP client. A connector keeps only
//! its endpoints, its extension attributes and its mapping; no connector declares SCIM
//! JSON of its own.
//!
//! Real servers differ from the RFCs, so reading is lenient: `active` may be `"true"`,
//! arrays may be missing or `null`, `Resources` may be spelled `resources`, and attributes
//! nobody typed, extension objects included, are kept and readable by URN.
//!
//! ```
//! use connector_sdk::scim::{ListResponse, User, filter_eq, patch_replace};
//! use serde_json::json;
//!
//! let page: ListResponse<User> = serde_json::from_value(json!({"totalResults": 1, "Resources": [
//!     {"id": "a", "userName": "a@x.com", "active": "false",
//!      "urn:example:ext:2.0:User": {"level": "gold"}}
//! ]})).unwrap();
//! let user = &page.resources[0];
//! assert!(!user.is_active());
//! assert_eq!(user.extension("urn:example:ext:2.0:User").unwrap()["level"], "gold");
//!
//! assert_eq!(filter_eq("userName", r#"a"b\c@x.com"#), r#"userName eq "a\"b\\c@x.com""#);
//! assert_eq!(
//!     patch_replace("active", json!(false)),
//!     json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
//!            "Operations": [{"op": "replace", "path": "active", "value": false}]})
//! );
//! ```

mod client;
mod error;
mod filter;
mod list;
mod mapping;
mod model;
mod pager;
mod patch;

/// The SCIM models' lenient reading, also for a connector's extension types (it lives in
/// [`crate::lenient`]: it is not SCIM's alone).
pub use crate::lenient;
pub use client::{Created, ListQuery, ScimClient};
pub use error::{ScimError, scim_type};
pub use filter::filter_eq;
pub use list::ListResponse;
pub use mapping::{display_name, looks_like_email};
pub use model::{
    Attributes, ENTERPRISE_USER, Email, EnterpriseUser, Group, Member, Meta, Name, Password,
    ScimResource, User,
};
pub use pager::{ScimPager, ScimRequest};
pub use patch::{MemberId, PatchKind, PatchOp, PatchOperation, Patched, patch_add, patch_replace};

/// The PatchOp message URN.
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// The Error message URN.
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The ListResponse message URN.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The core User schema URN.
pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The core Group schema URN.
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
