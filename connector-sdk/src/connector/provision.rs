//! The [`Provisioner`] trait: granting and revoking entitlements, entitlements that can be
//! granted but not revoked ([`GrantOnly`]), and helpers for APIs that do not say whether a
//! write changed anything ([`idempotent_grant`], [`idempotent_revoke`]).

use std::future::Future;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorKind, Result};
use crate::model::{Entitlement, Grant, Resource};

/// What a grant did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GrantOutcome {
    /// The principal now holds the entitlement; the grants that now exist (usually one).
    Granted(Vec<Grant>),
    /// The principal held the entitlement already; nothing was changed.
    AlreadyExists,
}

/// What a revoke did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevokeOutcome {
    /// The grant was removed.
    Revoked,
    /// The grant did not exist (any more); nothing was changed.
    AlreadyRevoked,
}

/// Grants and revokes the entitlements of one resource type.
///
/// Both operations are idempotent: granting what is held reports
/// [`GrantOutcome::AlreadyExists`], revoking what is not held reports
/// [`RevokeOutcome::AlreadyRevoked`]; neither is an error.
#[async_trait]
pub trait Provisioner: Send + Sync {
    /// Grants [`GrantRequest::entitlement`] (on a resource of this syncer's type) to
    /// [`GrantRequest::principal`].
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome>;

    /// Revokes [`RevokeRequest::grant`]. Never called for an entitlement that
    /// [`grant_only`](Provisioner::grant_only) covers: the SDK refuses such a revoke first.
    ///
    /// Defaults to an [`ErrorKind::Unimplemented`] error: a grant-only provisioner (one
    /// whose [`grant_only`](Provisioner::grant_only) is [`GrantOnly::all`]) need not write it.
    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        Err(crate::Error::unimplemented(format!(
            "this connector cannot revoke {} (it can only grant)",
            req.grant.entitlement_id()
        )))
    }

    /// The entitlements of this type that can be granted but not revoked through the
    /// connector (the API has no call to remove them). Defaults to none.
    ///
    /// The SDK answers a revoke of a covered grant with [`ErrorKind::Unimplemented`]
    /// before calling [`revoke`](Provisioner::revoke), in the CLI runner and in service
    /// mode alike (see [`ConnectorHandle::revoke`](crate::handle::ConnectorHandle::revoke));
    /// the capabilities document lists them per resource type
    /// (`grant_only_entitlements`); and the conformance kit's
    /// [`check_provisioning_idempotent`](crate::testing::check_provisioning_idempotent)
    /// grants them twice without asking for a revoke.
    ///
    /// ```
    /// use connector_sdk::provision::GrantOnly;
    ///
    /// let only_owner = GrantOnly::slugs(["owner"]);
    /// assert!(only_owner.covers("owner") && !only_owner.covers("member"));
    /// assert!(GrantOnly::all().covers("member"));
    /// assert!(GrantOnly::none().is_none());
    /// ```
    fn grant_only(&self) -> GrantOnly {
        GrantOnly::none()
    }
}

/// Which entitlements of a resource type can be granted but not revoked, by slug:
/// [`Provisioner::grant_only`].
///
/// Serialized (in the capabilities document) as the list of slugs, `["*"]` meaning every
/// entitlement of the type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GrantOnly {
    slugs: Vec<String>,
}

impl GrantOnly {
    /// Every entitlement can be revoked (the default).
    pub fn none() -> Self {
        GrantOnly::default()
    }

    /// No entitlement of the type can be revoked.
    pub fn all() -> Self {
        GrantOnly {
            slugs: vec!["*".to_string()],
        }
    }

    /// The entitlements with these slugs (e.g. `owner`) cannot be revoked; the others can.
    pub fn slugs<I, S>(slugs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut slugs: Vec<String> = slugs.into_iter().map(Into::into).collect();
        slugs.sort();
        slugs.dedup();
        GrantOnly { slugs }
    }

    /// Whether every entitlement can be revoked.
    pub fn is_none(&self) -> bool {
        self.slugs.is_empty()
    }

    /// Whether the entitlement with `slug` cannot be revoked.
    pub fn covers(&self, slug: &str) -> bool {
        self.slugs.iter().any(|s| s == "*" || s == slug)
    }

    /// Whether `grant` is of an entitlement this covers. The slug is the last `:`-separated
    /// part of the grant's entitlement id (slugs cannot hold `:`).
    pub fn covers_grant(&self, grant: &Grant) -> bool {
        let id = grant.entitlement_id();
        let slug = id.rsplit_once(':').map_or(id, |(_, slug)| slug);
        self.covers(slug)
    }

    /// The slugs covered, `["*"]` for every entitlement.
    pub fn as_slice(&self) -> &[String] {
        &self.slugs
    }
}

/// What [`Provisioner::grant`] is asked for.
///
/// The fields are public to read and to destructure with `..`; the struct is
/// `#[non_exhaustive]` so the SDK can add fields without breaking connectors.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GrantRequest {
    /// Who receives the entitlement.
    pub principal: Resource,
    /// What is granted.
    pub entitlement: Entitlement,
}

impl GrantRequest {
    /// A request to grant `entitlement` to `principal`.
    pub fn new(principal: &Resource, entitlement: &Entitlement) -> Self {
        GrantRequest {
            principal: principal.clone(),
            entitlement: entitlement.clone(),
        }
    }

    /// The grant this request asks for: [`entitlement`](Self::entitlement) held by
    /// [`principal`](Self::principal).
    pub fn to_grant(&self) -> Grant {
        Grant::new(&self.entitlement, self.principal.id.clone())
    }

    /// What to answer once the grant was made: [`GrantOutcome::Granted`] with
    /// [`to_grant`](Self::to_grant).
    ///
    /// ```
    /// use connector_sdk::prelude::*;
    ///
    /// let team = Resource::with_id(ResourceId::new("team", "t1"), "Docs");
    /// let ada = Resource::with_id(ResourceId::new("user", "u1"), "Ada");
    /// let req = GrantRequest::new(&ada, &Entitlement::assignment(&team, "member"));
    /// let GrantOutcome::Granted(grants) = req.granted() else { panic!() };
    /// assert_eq!(grants[0].id(), "team:t1:member:user:u1");
    /// ```
    pub fn granted(&self) -> GrantOutcome {
        GrantOutcome::Granted(vec![self.to_grant()])
    }
}

impl RevokeOutcome {
    /// The outcome of a removal call whose [`ErrorKind::NotFound`] means the principal did
    /// not hold the entitlement (a `DELETE …/members/{id}` answering 404): success is
    /// [`Revoked`](RevokeOutcome::Revoked), `NotFound` is
    /// [`AlreadyRevoked`](RevokeOutcome::AlreadyRevoked), any other error is returned.
    ///
    /// Only for APIs whose 404 names the membership: when it could also mean the team
    /// or the user is gone, check with [`idempotent_revoke`] instead.
    ///
    /// ```
    /// use connector_sdk::{Error, ErrorKind, provision::RevokeOutcome};
    ///
    /// assert_eq!(RevokeOutcome::of_removal(Ok(())).unwrap(), RevokeOutcome::Revoked);
    /// let gone: connector_sdk::Result<()> = Err(Error::not_found("not a member"));
    /// assert_eq!(RevokeOutcome::of_removal(gone).unwrap(), RevokeOutcome::AlreadyRevoked);
    /// let down: connector_sdk::Result<()> = Err(Error::new(ErrorKind::Unavailable, "503"));
    /// assert!(RevokeOutcome::of_removal(down).is_err());
    /// ```
    pub fn of_removal<T>(removed: Result<T>) -> Result<RevokeOutcome> {
        match removed {
            Ok(_) => Ok(RevokeOutcome::Revoked),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(RevokeOutcome::AlreadyRevoked),
            Err(e) => Err(e),
        }
    }
}

/// What [`Provisioner::revoke`] is asked for. `#[non_exhaustive]` like [`GrantRequest`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RevokeRequest {
    /// The grant to remove.
    pub grant: Grant,
}

impl RevokeRequest {
    /// A request to revoke `grant`.
    pub fn new(grant: &Grant) -> Self {
        RevokeRequest {
            grant: grant.clone(),
        }
    }
}

/// Grants through an API that cannot tell whether the principal already held the
/// entitlement (a `PUT` that answers 204 either way): `holds` first asks whether the
/// principal holds it, and when it does the answer is [`GrantOutcome::AlreadyExists`]
/// without `apply` ever running (no write is made); otherwise `apply` makes the write
/// and the answer is [`GrantOutcome::Granted`] with the grant of `req`. An `apply` failing
/// with [`ErrorKind::AlreadyExists`] (the membership appeared in between) is
/// `AlreadyExists` too.
///
/// Both arguments are futures that have not started: build them with the calls your
/// client makes, and only the ones needed run.
///
/// ```
/// use connector_sdk::model::{Entitlement, Resource, ResourceId};
/// use connector_sdk::provision::{GrantOutcome, GrantRequest, idempotent_grant};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let team = Resource::with_id(ResourceId::new("team", "t1"), "Docs");
/// let member = Entitlement::assignment(&team, "member");
/// let ada = Resource::with_id(ResourceId::new("user", "u1"), "Ada");
/// let req = GrantRequest::new(&ada, &member);
///
/// // Ada is already a member: the PUT is never sent.
/// let outcome = idempotent_grant(&req, async { Ok(true) }, async {
///     unreachable!("no write when the membership exists")
/// })
/// .await?;
/// assert_eq!(outcome, GrantOutcome::AlreadyExists);
///
/// // She is not: the PUT is sent and the grant reported.
/// let outcome = idempotent_grant(&req, async { Ok(false) }, async { Ok(()) }).await?;
/// assert!(matches!(outcome, GrantOutcome::Granted(g) if g[0].id() == "team:t1:member:user:u1"));
/// # Ok::<(), connector_sdk::Error>(())
/// # }).unwrap();
/// ```
pub async fn idempotent_grant<H, A>(req: &GrantRequest, holds: H, apply: A) -> Result<GrantOutcome>
where
    H: Future<Output = Result<bool>>,
    A: Future<Output = Result<()>>,
{
    if holds.await? {
        return Ok(GrantOutcome::AlreadyExists);
    }
    match apply.await {
        Ok(()) => Ok(req.granted()),
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(GrantOutcome::AlreadyExists),
        Err(e) => Err(e),
    }
}

/// Revokes through an API that cannot tell whether the grant existed (a `DELETE` that
/// answers 204 either way): `holds` first asks whether the principal still holds the
/// entitlement, and when it does not the answer is [`RevokeOutcome::AlreadyRevoked`]
/// without `apply` running; otherwise `apply` removes it and the answer is
/// [`RevokeOutcome::Revoked`]. An `apply` failing with [`ErrorKind::NotFound`] (removed in
/// between) is `AlreadyRevoked` too.
///
/// ```
/// use connector_sdk::provision::{RevokeOutcome, idempotent_revoke};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let gone = idempotent_revoke(async { Ok(false) }, async { unreachable!() }).await?;
/// assert_eq!(gone, RevokeOutcome::AlreadyRevoked);
/// let removed = idempotent_revoke(async { Ok(true) }, async { Ok(()) }).await?;
/// assert_eq!(removed, RevokeOutcome::Revoked);
/// # Ok::<(), connector_sdk::Error>(())
/// # }).unwrap();
/// ```
pub async fn idempotent_revoke<H, A>(holds: H, apply: A) -> Result<RevokeOutcome>
where
    H: Future<Output = Result<bool>>,
    A: Future<Output = Result<()>>,
{
    if !holds.await? {
        return Ok(RevokeOutcome::AlreadyRevoked);
    }
    RevokeOutcome::of_removal(apply.await)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::model::ResourceId;

    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn req() -> GrantRequest {
        let team = Resource::with_id(ResourceId::new("team", "t1"), "T");
        let user = Resource::with_id(ResourceId::new("user", "u1"), "U");
        GrantRequest::new(&user, &Entitlement::assignment(&team, "member"))
    }

    /// A grant-only provisioner writes no `revoke`: the default refuses, Unimplemented.
    #[test]
    fn a_provisioner_without_revoke_refuses_revokes() {
        struct GrantsOnly;
        #[async_trait]
        impl Provisioner for GrantsOnly {
            async fn grant(&self, _req: GrantRequest) -> Result<GrantOutcome> {
                Ok(GrantOutcome::Granted(Vec::new()))
            }
            fn grant_only(&self) -> GrantOnly {
                GrantOnly::all()
            }
        }
        let r = req();
        let grant = Grant::new(&r.entitlement, r.principal.id.clone());
        let err = block(GrantsOnly.revoke(RevokeRequest::new(&grant))).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unimplemented);
        assert!(err.to_string().contains("team:t1:member"), "{err}");
    }

    #[test]
    fn a_race_the_api_reports_is_an_idempotent_outcome() {
        let raced = block(idempotent_grant(&req(), async { Ok(false) }, async {
            Err(Error::new(ErrorKind::AlreadyExists, "member already").with_http_status(409))
        }));
        assert_eq!(raced.unwrap(), GrantOutcome::AlreadyExists);
        let raced = block(idempotent_revoke(async { Ok(true) }, async {
            Err(Error::not_found("no such member"))
        }));
        assert_eq!(raced.unwrap(), RevokeOutcome::AlreadyRevoked);
    }

    #[test]
    fn failures_are_errors_and_a_failed_check_writes_nothing() {
        let err = block(idempotent_grant(
            &req(),
            async { Err(Error::new(ErrorKind::PermissionDenied, "no read scope")) },
            async { panic!("no write after a failed check") },
        ))
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::PermissionDenied);
        let err = block(idempotent_revoke(async { Ok(true) }, async {
            Err(Error::new(ErrorKind::Unavailable, "503"))
        }))
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
    }

    #[test]
    fn grant_only_covers_by_slug_or_all() {
        let team = Resource::with_id(ResourceId::new("team", "t:1"), "T");
        let owner = Grant::new(
            &Entitlement::assignment(&team, "owner"),
            ResourceId::new("user", "u1"),
        );
        let member = Grant::new(
            &Entitlement::assignment(&team, "member"),
            ResourceId::new("user", "u1"),
        );
        let only_owner = GrantOnly::slugs(["owner", "owner"]);
        assert_eq!(only_owner.as_slice(), ["owner"]);
        assert!(only_owner.covers_grant(&owner) && !only_owner.covers_grant(&member));
        assert!(GrantOnly::all().covers_grant(&member));
        assert!(!GrantOnly::none().covers_grant(&owner));
    }
}
