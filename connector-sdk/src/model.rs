//! The data model: resource types, resources, traits, entitlements and grants.
//!
//! Ids follow upstream `baton-sdk` so that files we write read like theirs:
//!
//! * a resource is identified by `(resource_type, resource)`: [`ResourceId`];
//! * an entitlement id is `"<resource type>:<resource id>:<slug>"`;
//! * a grant id is `"<entitlement id>:<principal type>:<principal id>"`.
//!
//! Entitlement and grant ids are computed by their constructors and cannot be set by
//! hand, so they always agree with the resource, slug and principal they name.
//!
//! ```
//! use connector_sdk::model::*;
//!
//! let group_type = ResourceType::new("group", "Group").with_trait(TraitKind::Group);
//! let eng = Resource::new(&group_type, "g-1", "Engineering").with_group_trait(GroupTrait::default());
//! let member = Entitlement::assignment(&eng, "member").grantable_to(["user"]);
//! assert_eq!(member.id(), "group:g-1:member");
//!
//! let alice = ResourceId::new("user", "u-1");
//! let grant = Grant::new(&member, alice);
//! assert_eq!(grant.id(), "group:g-1:member:user:u-1");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A free-form JSON object of attributes (upstream: `google.protobuf.Struct`). Build one
/// with [`profile!`](crate::profile).
pub type Profile = serde_json::Map<String, serde_json::Value>;

/// A [`Profile`] from `json!`-style key/value pairs: `profile! { "id": id, "active": true }`.
/// Values are anything `serde_json::json!` takes (expressions, nested `{…}` and `[…]`).
///
/// ```
/// use connector_sdk::{model::Profile, profile};
/// let id = 42;
/// let p: Profile = profile! { "id": id, "email": "ada@example.com", "roles": ["admin"] };
/// assert_eq!(p["id"], 42);
/// assert_eq!(p["roles"][0], "admin");
/// assert!(profile! {}.is_empty());
/// ```
#[macro_export]
macro_rules! profile {
    ($($body:tt)*) => {
        match $crate::__private::json!({ $($body)* }) {
            $crate::__private::Value::Object(map) => map,
            // `json!({…})` is always an object.
            _ => $crate::model::Profile::new(),
        }
    };
}

/// The longest id upstream accepts for resource types, resources, entitlements and grants.
pub const MAX_ID_LEN: usize = 1024;

/// The trait a resource type declares; every resource of that type must carry the trait's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraitKind {
    /// A person or service account ([`UserTrait`]).
    User,
    /// A set of principals ([`GroupTrait`]).
    Group,
    /// A role that principals hold ([`RoleTrait`]).
    Role,
    /// An application ([`AppTrait`]).
    App,
    /// A credential such as an API key ([`SecretTrait`]).
    Secret,
}

impl TraitKind {
    /// The lower-case name (`"user"`).
    pub fn as_str(self) -> &'static str {
        match self {
            TraitKind::User => "user",
            TraitKind::Group => "group",
            TraitKind::Role => "role",
            TraitKind::App => "app",
            TraitKind::Secret => "secret",
        }
    }
}

impl fmt::Display for TraitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A kind of object a connector syncs (`user`, `group`, `vault`…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceType {
    /// Stable id, e.g. `"user"`. Short, lower-case, no `:`.
    pub id: String,
    /// Name shown to people, e.g. `"User"`.
    pub display_name: String,
    /// Traits every resource of this type carries.
    pub traits: Vec<TraitKind>,
    /// Optional description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// When set, the engine lists no entitlements or grants for resources of this type.
    #[serde(default)]
    pub skip_entitlements_and_grants: bool,
}

impl ResourceType {
    /// A resource type with no traits.
    pub fn new(id: impl Into<String>, display_name: impl Into<String>) -> Self {
        ResourceType {
            id: id.into(),
            display_name: display_name.into(),
            traits: Vec::new(),
            description: String::new(),
            skip_entitlements_and_grants: false,
        }
    }

    /// Adds a trait (once).
    pub fn with_trait(mut self, kind: TraitKind) -> Self {
        if !self.traits.contains(&kind) {
            self.traits.push(kind);
        }
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Marks the type as having no entitlements or grants.
    pub fn skip_entitlements_and_grants(mut self) -> Self {
        self.skip_entitlements_and_grants = true;
        self
    }

    /// Whether the type declares `kind`.
    pub fn has_trait(&self, kind: TraitKind) -> bool {
        self.traits.contains(&kind)
    }

    /// Checks the id (non-empty, no `:` or whitespace, at most [`MAX_ID_LEN`] bytes).
    pub fn validate(&self) -> Result<()> {
        validate_type_id(&self.id).map_err(|e| e.context("resource type"))
    }
}

/// Checks a resource type id: non-empty, at most [`MAX_ID_LEN`] bytes, no `:` and no whitespace.
pub fn validate_type_id(id: &str) -> Result<()> {
    if id.is_empty() {
        return Err(Error::invalid_argument("resource type id is empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(Error::invalid_argument(format!(
            "resource type id is {} bytes, longer than {MAX_ID_LEN}",
            id.len()
        )));
    }
    if id.contains(':') || id.chars().any(char::is_whitespace) {
        return Err(Error::invalid_argument(format!(
            "resource type id {id:?} contains ':' or whitespace"
        )));
    }
    Ok(())
}

/// Identifies one resource: its type id and its id in the SaaS.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ResourceId {
    /// The [`ResourceType::id`].
    pub resource_type: String,
    /// The object's id in the SaaS.
    pub resource: String,
}

impl ResourceId {
    /// A resource id.
    pub fn new(resource_type: impl Into<String>, resource: impl Into<String>) -> Self {
        ResourceId {
            resource_type: resource_type.into(),
            resource: resource.into(),
        }
    }

    /// Checks both parts: a valid type id and a non-empty resource id of at most [`MAX_ID_LEN`] bytes.
    pub fn validate(&self) -> Result<()> {
        validate_type_id(&self.resource_type)?;
        if self.resource.is_empty() {
            return Err(Error::invalid_argument(format!(
                "resource id of type {:?} is empty",
                self.resource_type
            )));
        }
        if self.resource.len() > MAX_ID_LEN {
            return Err(Error::invalid_argument(format!(
                "resource id {self} is longer than {MAX_ID_LEN} bytes"
            )));
        }
        Ok(())
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.resource_type, self.resource)
    }
}

/// Whether an account is enabled (upstream `UserTrait.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Not known.
    Unspecified,
    /// Can sign in.
    #[default]
    Enabled,
    /// Exists but cannot sign in (suspended, deactivated, pending invitation).
    Disabled,
    /// Deleted but still reported by the SaaS.
    Deleted,
}

impl UserStatus {
    /// [`Enabled`](UserStatus::Enabled) when `enabled`, else
    /// [`Disabled`](UserStatus::Disabled): for APIs with an `active` (or, negated, a
    /// `disabled`) flag.
    ///
    /// ```
    /// use connector_sdk::model::UserStatus;
    /// assert_eq!(UserStatus::enabled_if(true), UserStatus::Enabled);
    /// let disabled = true;
    /// assert_eq!(UserStatus::enabled_if(!disabled), UserStatus::Disabled);
    /// ```
    pub fn enabled_if(enabled: bool) -> Self {
        if enabled {
            UserStatus::Enabled
        } else {
            UserStatus::Disabled
        }
    }
}

/// What kind of account a user is (upstream `UserTrait.AccountType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountType {
    /// Not known.
    Unspecified,
    /// A person.
    #[default]
    Human,
    /// A service or machine account.
    Service,
    /// A built-in system account.
    System,
}

/// An email address of a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    /// The address.
    pub address: String,
    /// Whether this is the user's primary address (at most one is).
    pub primary: bool,
}

/// A person's name in parts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct StructuredName {
    /// Given (first) name.
    pub given_name: String,
    /// Family (last) name.
    pub family_name: String,
    /// Middle names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middle_names: Vec<String>,
}

/// Data of a resource whose type has [`TraitKind::User`].
///
/// ```
/// use connector_sdk::model::{UserTrait, UserStatus};
/// let user = UserTrait::default()
///     .with_email("ada@example.com", true)
///     .with_login("ada")
///     .with_status(UserStatus::Disabled);
/// assert_eq!(user.primary_email(), Some("ada@example.com"));
/// ```
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UserTrait {
    /// Email addresses; at most one primary.
    #[serde(default)]
    pub emails: Vec<Email>,
    /// The login name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub login: String,
    /// Other login names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub login_aliases: Vec<String>,
    /// Enabled, disabled or deleted. Defaults to enabled, as upstream does.
    #[serde(default)]
    pub status: UserStatus,
    /// Free-form detail about the status (e.g. `"pending invitation"`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_details: String,
    /// Human or service. Defaults to human, as upstream does.
    #[serde(default)]
    pub account_type: AccountType,
    /// The name in parts, when the SaaS has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<StructuredName>,
    /// Employee ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub employee_ids: Vec<String>,
    /// Free-form attributes.
    #[serde(default)]
    pub profile: Profile,
    /// When the account was created in the SaaS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<SystemTime>,
    /// When the user last signed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login: Option<SystemTime>,
}

impl UserTrait {
    /// Adds an email; a primary one makes every earlier address non-primary.
    pub fn with_email(mut self, address: impl Into<String>, primary: bool) -> Self {
        if primary {
            for e in &mut self.emails {
                e.primary = false;
            }
        }
        self.emails.push(Email {
            address: address.into(),
            primary,
        });
        self
    }

    /// Sets the login.
    pub fn with_login(mut self, login: impl Into<String>) -> Self {
        self.login = login.into();
        self
    }

    /// Sets the status.
    pub fn with_status(mut self, status: UserStatus) -> Self {
        self.status = status;
        self
    }

    /// Sets the status detail text.
    pub fn with_status_details(mut self, details: impl Into<String>) -> Self {
        self.status_details = details.into();
        self
    }

    /// Sets the account type.
    pub fn with_account_type(mut self, account_type: AccountType) -> Self {
        self.account_type = account_type;
        self
    }

    /// Sets the structured name.
    pub fn with_name(mut self, given: impl Into<String>, family: impl Into<String>) -> Self {
        self.name = Some(StructuredName {
            given_name: given.into(),
            family_name: family.into(),
            middle_names: Vec::new(),
        });
        self
    }

    /// Sets the profile.
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// The primary email, or the first one when none is marked primary.
    pub fn primary_email(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary)
            .or_else(|| self.emails.first())
            .map(|e| e.address.as_str())
    }
}

/// Data of a resource whose type has [`TraitKind::Group`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupTrait {
    /// Free-form attributes.
    #[serde(default)]
    pub profile: Profile,
}

/// Data of a resource whose type has [`TraitKind::Role`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct RoleTrait {
    /// Free-form attributes.
    #[serde(default)]
    pub profile: Profile,
}

/// Data of a resource whose type has [`TraitKind::App`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AppTrait {
    /// An `https://` link to help for the app.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help_url: String,
    /// Free-form attributes.
    #[serde(default)]
    pub profile: Profile,
}

/// Data of a resource whose type has [`TraitKind::Secret`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SecretTrait {
    /// Free-form attributes (never the secret's value).
    #[serde(default)]
    pub profile: Profile,
    /// When the secret was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<SystemTime>,
    /// When the secret expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<SystemTime>,
    /// The identity the secret belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<ResourceId>,
}

/// One object in the SaaS: a user, a group, a vault…
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Resource {
    /// Type and id.
    pub id: ResourceId,
    /// The resource this one was listed under, for child resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<ResourceId>,
    /// Name shown to people.
    pub display_name: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Set when the type has [`TraitKind::User`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserTrait>,
    /// Set when the type has [`TraitKind::Group`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupTrait>,
    /// Set when the type has [`TraitKind::Role`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<RoleTrait>,
    /// Set when the type has [`TraitKind::App`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<AppTrait>,
    /// Set when the type has [`TraitKind::Secret`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretTrait>,
    /// Resource types listed with this resource as their parent (e.g. a vault's items).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub child_types: Vec<String>,
    /// A link to the object in the SaaS's web interface.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_link: Option<String>,
}

impl Resource {
    /// A resource of `resource_type` with no traits; add the type's trait with `with_*_trait`.
    pub fn new(
        resource_type: &ResourceType,
        id: impl Into<String>,
        display_name: impl Into<String>,
    ) -> Self {
        Resource::with_id(ResourceId::new(&resource_type.id, id), display_name)
    }

    /// A resource from a ready [`ResourceId`].
    pub fn with_id(id: ResourceId, display_name: impl Into<String>) -> Self {
        Resource {
            id,
            parent: None,
            display_name: display_name.into(),
            description: String::new(),
            user: None,
            group: None,
            role: None,
            app: None,
            secret: None,
            child_types: Vec::new(),
            external_link: None,
        }
    }

    /// Sets the parent.
    pub fn with_parent(mut self, parent: ResourceId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the user trait.
    pub fn with_user_trait(mut self, user: UserTrait) -> Self {
        self.user = Some(user);
        self
    }

    /// Sets the group trait.
    pub fn with_group_trait(mut self, group: GroupTrait) -> Self {
        self.group = Some(group);
        self
    }

    /// Sets the role trait.
    pub fn with_role_trait(mut self, role: RoleTrait) -> Self {
        self.role = Some(role);
        self
    }

    /// Sets the app trait.
    pub fn with_app_trait(mut self, app: AppTrait) -> Self {
        self.app = Some(app);
        self
    }

    /// Sets the secret trait.
    pub fn with_secret_trait(mut self, secret: SecretTrait) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Declares a child resource type listed with this resource as parent.
    pub fn with_child_type(mut self, resource_type_id: impl Into<String>) -> Self {
        let id = resource_type_id.into();
        if !self.child_types.contains(&id) {
            self.child_types.push(id);
        }
        self
    }

    /// Sets a link to the object in the SaaS's web interface.
    pub fn with_external_link(mut self, url: impl Into<String>) -> Self {
        self.external_link = Some(url.into());
        self
    }

    /// Whether the resource carries the data of trait `kind`.
    pub fn has_trait(&self, kind: TraitKind) -> bool {
        match kind {
            TraitKind::User => self.user.is_some(),
            TraitKind::Group => self.group.is_some(),
            TraitKind::Role => self.role.is_some(),
            TraitKind::App => self.app.is_some(),
            TraitKind::Secret => self.secret.is_some(),
        }
    }

    /// Checks the id, the parent id, and that every trait `resource_type` declares is present.
    pub fn validate(&self, resource_type: &ResourceType) -> Result<()> {
        self.id.validate()?;
        if self.id.resource_type != resource_type.id {
            return Err(Error::invalid_argument(format!(
                "resource {} was listed by the syncer of type {:?}",
                self.id, resource_type.id
            )));
        }
        if let Some(parent) = &self.parent {
            parent
                .validate()
                .map_err(|e| e.context(format!("parent of resource {}", self.id)))?;
        }
        for kind in &resource_type.traits {
            if !self.has_trait(*kind) {
                return Err(Error::invalid_argument(format!(
                    "resource {} is missing the {kind} trait that type {:?} declares",
                    self.id, resource_type.id
                )));
            }
        }
        for child in &self.child_types {
            validate_type_id(child)
                .map_err(|e| e.context(format!("child type of resource {}", self.id)))?;
        }
        Ok(())
    }
}

/// What an entitlement means (upstream `Entitlement.PurposeValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Not stated.
    Unspecified,
    /// Membership or assignment (a group's `member`, a role).
    #[default]
    Assignment,
    /// A permission on the resource (a scope, a vault permission).
    Permission,
    /// Ownership of the resource.
    Ownership,
}

/// Something that can be granted on a resource: `member` of a group, `read` on a vault…
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entitlement {
    id: String,
    resource: ResourceId,
    slug: String,
    /// Name shown to people; defaults to `"<resource display name> <slug>"`.
    pub display_name: String,
    /// Optional description.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// What the entitlement means.
    pub purpose: Purpose,
    /// Resource type ids of principals that can receive it (e.g. `["user", "group"]`).
    #[serde(default)]
    pub grantable_to: Vec<String>,
    /// Whether it cannot be granted or revoked through the connector.
    #[serde(default)]
    pub immutable: bool,
}

impl Entitlement {
    /// An entitlement of `purpose` with `slug` on `resource`; its id is `rt:rid:slug`.
    pub fn new(resource: &Resource, slug: impl Into<String>, purpose: Purpose) -> Self {
        let slug = slug.into();
        Entitlement {
            id: entitlement_id(&resource.id, &slug),
            display_name: format!("{} {}", resource.display_name, slug),
            resource: resource.id.clone(),
            slug,
            description: String::new(),
            purpose,
            grantable_to: Vec::new(),
            immutable: false,
        }
    }

    /// An [`Purpose::Assignment`] entitlement (membership, role).
    pub fn assignment(resource: &Resource, slug: impl Into<String>) -> Self {
        Self::new(resource, slug, Purpose::Assignment)
    }

    /// A [`Purpose::Permission`] entitlement (scope, vault permission).
    pub fn permission(resource: &Resource, slug: impl Into<String>) -> Self {
        Self::new(resource, slug, Purpose::Permission)
    }

    /// An entitlement with an id that need not follow the `rt:rid:slug` convention, as read
    /// from a file another tool wrote. Connectors should use [`Entitlement::new`].
    pub fn from_parts(
        id: impl Into<String>,
        resource: ResourceId,
        slug: impl Into<String>,
    ) -> Self {
        let slug = slug.into();
        Entitlement {
            id: id.into(),
            display_name: slug.clone(),
            resource,
            slug,
            description: String::new(),
            purpose: Purpose::Unspecified,
            grantable_to: Vec::new(),
            immutable: false,
        }
    }

    /// Sets the display name.
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.display_name = name.into();
        self
    }

    /// Sets the description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = description.into();
        self
    }

    /// Sets the principal types that can receive the entitlement.
    pub fn grantable_to<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.grantable_to = types.into_iter().map(Into::into).collect();
        self
    }

    /// Marks the entitlement as not provisionable through the connector.
    pub fn immutable(mut self) -> Self {
        self.immutable = true;
        self
    }

    /// The id, `rt:rid:slug` for entitlements built with [`Entitlement::new`].
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The resource the entitlement is on.
    pub fn resource(&self) -> &ResourceId {
        &self.resource
    }

    /// The short name, e.g. `member`.
    pub fn slug(&self) -> &str {
        &self.slug
    }

    /// Checks the id, the resource id and the slug.
    pub fn validate(&self) -> Result<()> {
        self.resource.validate()?;
        // Slugs may hold spaces (upstream's 1Password slugs do: `allow viewing`), but not
        // `:`, which separates the parts of entitlement and grant ids.
        if self.slug.trim().is_empty() || self.slug.contains(':') {
            return Err(Error::invalid_argument(format!(
                "entitlement {:?} has a slug {:?} that is blank or contains ':'",
                self.id, self.slug
            )));
        }
        if self.id.is_empty() || self.id.len() > MAX_ID_LEN {
            return Err(Error::invalid_argument(format!(
                "entitlement id {:?} is empty or longer than {MAX_ID_LEN} bytes",
                self.id
            )));
        }
        for t in &self.grantable_to {
            validate_type_id(t)
                .map_err(|e| e.context(format!("grantable_to of entitlement {}", self.id)))?;
        }
        Ok(())
    }
}

/// The id upstream gives the entitlement `slug` on `resource`: `rt:rid:slug`.
pub fn entitlement_id(resource: &ResourceId, slug: &str) -> String {
    format!("{}:{}:{}", resource.resource_type, resource.resource, slug)
}

/// The id upstream gives the grant of `entitlement_id` to `principal`: `ent:ptype:pid`.
pub fn grant_id(entitlement_id: &str, principal: &ResourceId) -> String {
    format!(
        "{entitlement_id}:{}:{}",
        principal.resource_type, principal.resource
    )
}

/// Marks a grant to a group or role as inherited by the members of that principal.
///
/// A grant of `vault:v1:read` to `group:g1` carrying `Expandable` with entitlement
/// `group:g1:member` means: everyone holding `group:g1:member` also holds `vault:v1:read`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expandable {
    /// The entitlements whose holders inherit the grant (at least one).
    pub entitlement_ids: Vec<String>,
    /// Expand one level only (direct holders), not transitively.
    #[serde(default)]
    pub shallow: bool,
    /// Only expand to principals of these types (all types when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resource_type_ids: Vec<String>,
}

/// That `principal` holds `entitlement`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grant {
    id: String,
    entitlement_id: String,
    entitlement_resource: ResourceId,
    principal: ResourceId,
    /// Set when members of the principal inherit the grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expandable: Option<Expandable>,
    /// Whether the grant cannot be revoked through the connector.
    #[serde(default)]
    pub immutable: bool,
    /// Free-form attributes of the grant.
    #[serde(default, skip_serializing_if = "Profile::is_empty")]
    pub metadata: Profile,
    /// For grants derived by grant expansion: the source entitlement ids, each with whether
    /// the principal holds it directly. Empty for grants a connector lists.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, bool>,
}

impl Grant {
    /// A grant of `entitlement` to `principal`; its id is `<entitlement id>:<ptype>:<pid>`.
    pub fn new(entitlement: &Entitlement, principal: ResourceId) -> Self {
        Grant {
            id: grant_id(entitlement.id(), &principal),
            entitlement_id: entitlement.id().to_string(),
            entitlement_resource: entitlement.resource().clone(),
            principal,
            expandable: None,
            immutable: false,
            metadata: Profile::new(),
            sources: BTreeMap::new(),
        }
    }

    /// A grant with an id that need not follow the convention, as read from a file another
    /// tool wrote. Connectors should use [`Grant::new`].
    pub fn from_parts(
        id: impl Into<String>,
        entitlement_id: impl Into<String>,
        entitlement_resource: ResourceId,
        principal: ResourceId,
    ) -> Self {
        Grant {
            id: id.into(),
            entitlement_id: entitlement_id.into(),
            entitlement_resource,
            principal,
            expandable: None,
            immutable: false,
            metadata: Profile::new(),
            sources: BTreeMap::new(),
        }
    }

    /// Members holding any of `entitlement_ids` inherit this grant (transitively).
    pub fn expandable<I, S>(mut self, entitlement_ids: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.expandable = Some(Expandable {
            entitlement_ids: entitlement_ids.into_iter().map(Into::into).collect(),
            shallow: false,
            resource_type_ids: Vec::new(),
        });
        self
    }

    /// Marks the grant as not revocable through the connector.
    pub fn immutable(mut self) -> Self {
        self.immutable = true;
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: Profile) -> Self {
        self.metadata = metadata;
        self
    }

    /// The grant id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id of the granted entitlement.
    pub fn entitlement_id(&self) -> &str {
        &self.entitlement_id
    }

    /// The resource the granted entitlement is on.
    pub fn entitlement_resource(&self) -> &ResourceId {
        &self.entitlement_resource
    }

    /// Who holds the entitlement.
    pub fn principal(&self) -> &ResourceId {
        &self.principal
    }

    /// Checks ids and the expansion annotation.
    pub fn validate(&self) -> Result<()> {
        self.principal
            .validate()
            .map_err(|e| e.context(format!("principal of grant {}", self.id)))?;
        self.entitlement_resource
            .validate()
            .map_err(|e| e.context(format!("entitlement resource of grant {}", self.id)))?;
        if self.id.is_empty() || self.id.len() > MAX_ID_LEN {
            return Err(Error::invalid_argument(format!(
                "grant id {:?} is empty or longer than {MAX_ID_LEN} bytes",
                self.id
            )));
        }
        if let Some(exp) = &self.expandable {
            if exp.entitlement_ids.is_empty() {
                return Err(Error::invalid_argument(format!(
                    "grant {} is expandable but names no entitlement to expand",
                    self.id
                )));
            }
            let unique: BTreeSet<_> = exp.entitlement_ids.iter().collect();
            if unique.len() != exp.entitlement_ids.len() {
                return Err(Error::invalid_argument(format!(
                    "grant {} names an expandable entitlement twice",
                    self.id
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
