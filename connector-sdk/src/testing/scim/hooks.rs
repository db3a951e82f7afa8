//! Where a simulated application departs from plain SCIM: checks of what it accepts and
//! the defaults it fills in, called by the tenant around each write.

use serde_json::Value;

use crate::scim::{PatchOperation, ScimError, User};

/// A resource type the tenant serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `/Users`.
    User,
    /// `/Groups`.
    Group,
}

impl ResourceKind {
    /// The endpoint name, `Users` or `Groups`.
    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// The singular name, `User` or `Group` (`meta.resourceType`, route names).
    pub fn singular(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }
}

/// An application's own rules on top of the generic tenant. Every method has a default
/// that accepts everything, so an application overrides only where it differs; pass it to
/// [`ScimTenant::answer`](super::ScimTenant::answer).
///
/// ```
/// use connector_sdk::scim::{PatchKind, PatchOperation, ScimError};
/// use connector_sdk::testing::scim::{ResourceKind, TenantHooks, scim_error};
///
/// /// An application whose PATCH only replaces.
/// struct ReplaceOnly;
///
/// impl TenantHooks for ReplaceOnly {
///     fn check_patch(&mut self, _: ResourceKind, op: &mut PatchOperation) -> Result<(), ScimError> {
///         match op.kind() {
///             PatchKind::Replace => Ok(()),
///             _ => Err(scim_error(400, Some("invalidValue"), "Unsupported operation type")),
///         }
///     }
/// }
/// ```
pub trait TenantHooks {
    /// Checks the body of a `POST` before anything is created.
    fn check_create(&mut self, kind: ResourceKind, body: &Value) -> Result<(), ScimError> {
        let _ = (kind, body);
        Ok(())
    }

    /// Fills in what the application sets on a new user (after the tenant's id, `meta`
    /// and `active`, before it is stored and answered).
    fn new_user(&mut self, user: &mut User) {
        let _ = user;
    }

    /// Checks one PATCH operation, and may rewrite it (normalise a value, say), before
    /// it is applied. An error refuses the whole request; nothing is changed.
    fn check_patch(
        &mut self,
        kind: ResourceKind,
        op: &mut PatchOperation,
    ) -> Result<(), ScimError> {
        let _ = (kind, op);
        Ok(())
    }
}

/// Plain SCIM: no rule of an application's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoHooks;

impl TenantHooks for NoHooks {}
