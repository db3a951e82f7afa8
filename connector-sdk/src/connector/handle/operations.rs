//! The write and lookup operations of [`ConnectorHandle`]: grant, revoke, create an
//! account, delete, get one resource. The CLI runner and service mode both call these, so
//! the lookups, the checks and the errors are written once.

use std::sync::Arc;

use super::ConnectorHandle;
use super::panics::guarded;
use crate::account::{
    AccountInfo, AccountOutcome, AccountRequest, CredentialOption, PasswordPolicy,
};
use crate::delete::{DeleteOutcome, DeleteRequest};
use crate::error::{Error, Result};
use crate::getter::GetRequest;
use crate::model::{Resource, ResourceId};
use crate::provision::{GrantOutcome, GrantRequest, RevokeOutcome, RevokeRequest};
use crate::schema::validate_fields;
use crate::syncer::ResourceSyncer;

/// What [`ConnectorHandle::create_account`] is asked for.
///
/// `#[non_exhaustive]`: build it with [`CreateAccountRequest::new`] and the `with_*`
/// methods.
///
/// ```
/// use connector_sdk::account::{AccountInfo, CredentialOption};
/// use connector_sdk::handle::{ConnectorHandle, CreateAccountRequest};
/// use connector_sdk::testing::MemoryConnector;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let handle = ConnectorHandle::new(MemoryConnector::seeded()).unwrap();
/// let info = AccountInfo { email: Some("new@example.com".into()), ..AccountInfo::default() };
/// let req = CreateAccountRequest::new(info).with_credential(CredentialOption::NoPassword);
/// assert_eq!(handle.credential_option(&req).unwrap(), CredentialOption::NoPassword);
/// let outcome = handle.create_account(req).await.unwrap();
/// assert!(matches!(outcome, connector_sdk::account::AccountOutcome::Created { .. }));
/// # });
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CreateAccountRequest {
    /// The account's resource type; `None`: the connector's only account type, else
    /// `user` (as upstream).
    pub resource_type: Option<String>,
    /// Who the account is for. Profile keys the connector's schema does not declare reach
    /// the connector (with a warning), as upstream.
    pub info: AccountInfo,
    /// The credential option; `None`: the connector's preferred (first) one.
    pub credential: Option<CredentialOption>,
    /// The platform's password constraints, when it sent some.
    pub password_policy: Option<PasswordPolicy>,
}

impl CreateAccountRequest {
    /// An account for `info`, of the default type, with the preferred credential option.
    pub fn new(info: AccountInfo) -> Self {
        CreateAccountRequest {
            resource_type: None,
            info,
            credential: None,
            password_policy: None,
        }
    }

    /// Of resource type `type_id` (empty: the default).
    pub fn of_type(mut self, type_id: impl Into<String>) -> Self {
        let t = type_id.into();
        self.resource_type = Some(t).filter(|t| !t.trim().is_empty());
        self
    }

    /// With the credential option `option`.
    pub fn with_credential(mut self, option: CredentialOption) -> Self {
        self.credential = Some(option);
        self
    }

    /// With the platform's password constraints.
    pub fn with_password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.password_policy = Some(policy);
        self
    }
}

impl ConnectorHandle {
    /// Grants [`GrantRequest::entitlement`] to [`GrantRequest::principal`] through the
    /// provisioner of the entitlement's resource type. A type without a provisioner is
    /// [`ErrorKind::Unimplemented`](crate::ErrorKind); a principal whose type the
    /// entitlement's [`grantable_to`](crate::model::Entitlement::grantable_to) does not
    /// list is [`ErrorKind::InvalidArgument`](crate::ErrorKind), and the connector is not
    /// called. A panic in the connector is an `Internal` error.
    pub async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let rt = &req.entitlement.resource().resource_type;
        let syncer = self.syncer(rt)?;
        let prov = syncer.provisioner().ok_or_else(|| {
            Error::unimplemented(format!(
                "the connector cannot grant entitlements of {rt} resources"
            ))
        })?;
        let grantable = &req.entitlement.grantable_to;
        let ptype = &req.principal.id.resource_type;
        if !grantable.is_empty() && !grantable.iter().any(|t| t == ptype) {
            return Err(Error::invalid_argument(format!(
                "entitlement {} can be granted to {} principals, not to {ptype} {}; nothing was changed",
                req.entitlement.id(),
                grantable.join(" or "),
                req.principal.id
            )));
        }
        guarded("grant", prov.grant(req)).await
    }

    /// Revokes [`RevokeRequest::grant`] through the provisioner of its entitlement's
    /// resource type. A type without a provisioner, or an entitlement its provisioner
    /// declares grant-only
    /// ([`Provisioner::grant_only`](crate::provision::Provisioner::grant_only)), is
    /// [`ErrorKind::Unimplemented`](crate::ErrorKind), and the connector is not called.
    ///
    /// ```
    /// use connector_sdk::handle::ConnectorHandle;
    /// use connector_sdk::prelude::*;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let handle = ConnectorHandle::new(connector_sdk::testing::MemoryConnector::seeded()).unwrap();
    /// let nowhere = Resource::with_id(ResourceId::new("planet", "p1"), "P");
    /// let grant = Grant::new(&Entitlement::assignment(&nowhere, "member"), ResourceId::new("user", "u1"));
    /// let err = handle.revoke(RevokeRequest::new(&grant)).await.unwrap_err();
    /// assert!(err.to_string().contains("unknown resource type"));
    /// # });
    /// ```
    pub async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let rt = &req.grant.entitlement_resource().resource_type;
        let syncer = self.syncer(rt)?;
        let prov = syncer.provisioner().ok_or_else(|| {
            Error::unimplemented(format!(
                "the connector cannot revoke grants of {rt} resources"
            ))
        })?;
        if prov.grant_only().covers_grant(&req.grant) {
            return Err(Error::unimplemented(format!(
                "entitlement {} is grant-only: the connector can grant it but not revoke it (grant {} was not changed; remove it in the application itself)",
                req.grant.entitlement_id(),
                req.grant.id()
            )));
        }
        guarded("revoke", prov.revoke(req)).await
    }

    /// The syncer that creates accounts of `type_id`, or, without one, the connector's
    /// only account type, else its `user` type (upstream's choice).
    pub fn account_syncer_for(&self, type_id: Option<&str>) -> Result<&Arc<dyn ResourceSyncer>> {
        let cannot = || Error::unimplemented("the connector cannot create accounts");
        if let Some(t) = type_id {
            let s = self.syncer(t)?;
            return match s.account_manager() {
                Some(_) => Ok(s),
                None => Err(Error::unimplemented(format!(
                    "the connector cannot create accounts of type {t}"
                ))),
            };
        }
        let managers: Vec<&Arc<dyn ResourceSyncer>> = self
            .syncer_list()
            .iter()
            .filter(|s| s.account_manager().is_some())
            .collect();
        match managers.as_slice() {
            [] => Err(cannot()),
            [only] => Ok(only),
            several => several
                .iter()
                .find(|s| s.resource_type().id == "user")
                .copied()
                .ok_or_else(|| {
                    Error::invalid_argument(format!(
                        "the connector creates accounts of several types ({}); name one",
                        several
                            .iter()
                            .map(|s| s.resource_type().id)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                }),
        }
    }

    /// The credential option [`ConnectorHandle::create_account`] will use for `req`: the
    /// requested one, else the manager's preferred one, else no password. Callers that
    /// must decide where a generated password goes do so with this, before creating.
    pub fn credential_option(&self, req: &CreateAccountRequest) -> Result<CredentialOption> {
        if let Some(o) = req.credential {
            return Ok(o);
        }
        let syncer = self.account_syncer_for(req.resource_type.as_deref())?;
        Ok(syncer
            .account_manager()
            .and_then(|m| m.credential_options().into_iter().next())
            .unwrap_or(CredentialOption::NoPassword))
    }

    /// Creates an account: picks the account manager
    /// ([`ConnectorHandle::account_syncer_for`]), validates the profile against its schema
    /// (required fields and types; undeclared keys are passed on with a warning), picks the
    /// credential option ([`ConnectorHandle::credential_option`]) and calls the connector.
    pub async fn create_account(&self, req: CreateAccountRequest) -> Result<AccountOutcome> {
        let option = self.credential_option(&req)?;
        let syncer = self.account_syncer_for(req.resource_type.as_deref())?;
        let manager = syncer
            .account_manager()
            .ok_or_else(|| Error::unimplemented("the connector cannot create accounts"))?;
        let schema = manager.account_schema();
        let (declared, extra): (Vec<_>, Vec<_>) = req
            .info
            .profile
            .iter()
            .partition(|(k, _)| schema.iter().any(|f| &f.name == *k));
        if !extra.is_empty() {
            let keys: Vec<&str> = extra.iter().map(|(k, _)| k.as_str()).collect();
            tracing::warn!(keys = ?keys, "account profile keys the connector does not declare; passing them on");
        }
        let declared = declared
            .into_iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        validate_fields("account profile", &schema, &declared)?;
        let mut account = AccountRequest::new(req.info, option);
        if let Some(p) = req.password_policy {
            account = account.with_password_policy(p);
        }
        guarded("create_account", manager.create_account(account)).await
    }

    /// Deletes the resource `id` through its type's deleter. A type without one is
    /// [`ErrorKind::Unimplemented`](crate::ErrorKind).
    pub async fn delete(&self, id: &ResourceId) -> Result<DeleteOutcome> {
        let rt = &id.resource_type;
        let deleter = self.syncer(rt)?.deleter().ok_or_else(|| {
            Error::unimplemented(format!("the connector cannot delete {rt} resources"))
        })?;
        guarded("delete", deleter.delete(DeleteRequest::new(id))).await
    }

    /// Fetches the resource `id` (a child of `parent`, when set) through its type's getter,
    /// as a targeted sync does. A type without one is
    /// [`ErrorKind::Unimplemented`](crate::ErrorKind).
    pub async fn get(&self, id: &ResourceId, parent: Option<&ResourceId>) -> Result<Resource> {
        let rt = &id.resource_type;
        let getter = self.syncer(rt)?.getter().ok_or_else(|| {
            Error::unimplemented(format!(
                "resources of type {rt} cannot be fetched one by one"
            ))
        })?;
        guarded("get", getter.get(GetRequest::new(id, parent))).await
    }
}
