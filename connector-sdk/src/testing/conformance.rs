//! The conformance kit: drains every listing of a connector and checks what it returns.
//!
//! Call [`assert_conformance`] from a connector's tests (against its simulated tenant or a
//! wiremock server). It checks:
//!
//! * resource type ids are well-formed and unique, declared child types exist;
//! * every listing terminates: no repeated page token, at most
//!   [`ConformanceOptions::max_pages_per_listing`] pages;
//! * resource, entitlement and grant ids are well-formed, follow upstream's formats and are
//!   unique across the whole sync;
//! * resources of a type with a trait carry that trait's data;
//! * child resources name the parent they were listed under, and every parent exists;
//! * entitlements belong to the resource they were listed for; grants are of an
//!   entitlement on that resource, or on a resource of a type the syncer declares in
//!   [`ResourceSyncer::emits_grants_for`](crate::syncer::ResourceSyncer::emits_grants_for)
//!   (principal-side grants), and each declared type is one the connector syncs;
//! * every grant's entitlement and principal exist, the principal's type is one the
//!   entitlement is grantable to, and expandable grants name existing entitlements;
//! * for a type with a [`ResourceGetter`](crate::getter::ResourceGetter), fetching each
//!   listed resource by id returns what the listing returned, and fetching an id that does
//!   not exist is `NotFound`.
//!
//! Every violation names the offending id.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;

use crate::connector::Connector;
use crate::context::SyncContext;
use crate::error::Result;
use crate::model::{
    Entitlement, Grant, Resource, ResourceId, ResourceType, entitlement_id, grant_id,
};
use crate::page::{DriverOptions, Identified, ListingDriver, PAGING_ERROR, Page, PageRequest};
use crate::syncer::{EntitlementsRequest, GrantsRequest, ListRequest, undeclared_grant};

pub use super::idempotency::check_provisioning_idempotent;

/// Limits of a conformance run.
#[derive(Debug, Clone)]
pub struct ConformanceOptions {
    /// A listing with more pages than this is reported as not terminating.
    pub max_pages_per_listing: u64,
}

impl Default for ConformanceOptions {
    fn default() -> Self {
        ConformanceOptions {
            max_pages_per_listing: 10_000,
        }
    }
}

/// What a conformance run found, when it passed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConformanceReport {
    /// Resource types.
    pub resource_types: usize,
    /// Resources, all types.
    pub resources: usize,
    /// Entitlements.
    pub entitlements: usize,
    /// Grants.
    pub grants: usize,
    /// Pages fetched, all listings.
    pub pages: u64,
    /// Resources per type id.
    pub resources_by_type: BTreeMap<String, usize>,
    /// Resources fetched by id and compared with their listing (types with a getter).
    pub fetched_by_id: usize,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which check failed (e.g. `"dangling grant principal"`).
    pub check: &'static str,
    /// The offending id.
    pub id: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}: {}", self.check, self.id, self.message)
    }
}

/// A failed conformance run: every violation, and the counts of what was read.
#[derive(Debug, Clone)]
pub struct ConformanceFailure {
    /// The connector's name.
    pub connector: String,
    /// What failed.
    pub violations: Vec<Violation>,
    /// What was read before and despite the failures.
    pub report: ConformanceReport,
}

impl ConformanceFailure {
    /// Whether some violation is of `check`.
    pub fn has(&self, check: &str) -> bool {
        self.violations.iter().any(|v| v.check == check)
    }

    /// The violations of `check`.
    pub fn of(&self, check: &str) -> Vec<&Violation> {
        self.violations
            .iter()
            .filter(|v| v.check == check)
            .collect()
    }
}

impl fmt::Display for ConformanceFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "connector {:?} failed {} conformance check(s):",
            self.connector,
            self.violations.len()
        )?;
        for v in &self.violations {
            writeln!(f, "  - {v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConformanceFailure {}

/// Runs every check with default options; panics with the list of violations on failure.
pub async fn assert_conformance(connector: &dyn Connector) -> ConformanceReport {
    match check_conformance(connector, &ConformanceOptions::default()).await {
        Ok(report) => report,
        Err(failure) => panic!("{failure}"),
    }
}

struct Run {
    violations: Vec<Violation>,
    pages: u64,
    max_pages: u64,
    /// One context for the whole run, as the engine has one per sync: per-sync caches
    /// are built once, not once per listing.
    context: SyncContext,
}

impl Run {
    fn fail(&mut self, check: &'static str, id: impl Into<String>, message: impl Into<String>) {
        self.violations.push(Violation {
            check,
            id: id.into(),
            message: message.into(),
        });
    }

    /// Drains one listing through the SDK's listing driver (the one the sync engine uses,
    /// so handed-out pages are read too), recording pagination, duplicate-id and
    /// lost-data violations.
    async fn drain<'a, T, F, Fut>(&mut self, listing: &str, fetch: F) -> Vec<T>
    where
        T: Identified + Send + 'a,
        F: FnMut(PageRequest) -> Fut + Send,
        Fut: std::future::Future<Output = Result<Page<T>>> + Send + 'a,
    {
        let mut out = Vec::new();
        let mut pages = 0u64;
        let mut driver = ListingDriver::new(listing, fetch, DriverOptions::with_window(4));
        while let Some(page) = driver.next_page().await {
            if pages >= self.max_pages {
                self.fail(
                    "pagination terminates",
                    listing,
                    format!("listing did not end after {pages} pages"),
                );
                break;
            }
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    let check = if e.context_pairs().iter().any(|(k, _)| *k == PAGING_ERROR) {
                        "pagination terminates"
                    } else {
                        "listing succeeds"
                    };
                    self.fail(check, listing, e.to_string());
                    break;
                }
            };
            pages += 1;
            for id in page.repeated {
                self.fail(
                    "unique ids",
                    id,
                    format!("returned more than once by listing {listing}"),
                );
            }
            if let Some(w) = page.warning {
                self.fail("listing complete", listing, w);
            }
            out.extend(page.items);
        }
        self.pages += pages;
        out
    }
}

/// Every syncer by the id of the type it lists: the type and the syncer's index.
type Types = HashMap<String, (ResourceType, usize)>;

/// The syncers of one connector, being checked.
struct Checker {
    run: Run,
    syncers: Vec<std::sync::Arc<dyn crate::syncer::ResourceSyncer>>,
    types: Types,
    /// The handle the runtimes call (none when the types are invalid, reported already).
    handle: Option<crate::handle::ConnectorHandle>,
}

impl Checker {
    /// Resource types: well-formed, unique, and every type a syncer emits grants for listed.
    fn check_types(
        run: &mut Run,
        syncers: &[std::sync::Arc<dyn crate::syncer::ResourceSyncer>],
    ) -> Types {
        let mut types: HashMap<String, (ResourceType, usize)> = HashMap::new();
        for (i, s) in syncers.iter().enumerate() {
            let rt = s.resource_type();
            if let Err(e) = rt.validate() {
                run.fail("well-formed ids", &rt.id, e.message().to_string());
            }
            if types.insert(rt.id.clone(), (rt.clone(), i)).is_some() {
                run.fail(
                    "unique ids",
                    &rt.id,
                    "two syncers declare this resource type",
                );
            }
        }
        for s in syncers {
            for t in s.emits_grants_for() {
                if !types.contains_key(&t) {
                    run.fail(
                        "grant types declared",
                        s.resource_type().id,
                        format!(
                            "emits_grants_for names resource type {t:?}, which no syncer lists"
                        ),
                    );
                }
            }
        }
        types
    }

    /// Resources: every type at top level, then each declared child type under its parent.
    async fn list_resources(&mut self) -> Vec<Resource> {
        let (run, syncers, types) = (&mut self.run, &self.syncers, &self.types);
        let mut resources: Vec<Resource> = Vec::new();
        let mut queue: VecDeque<(String, Option<ResourceId>)> = syncers
            .iter()
            .map(|s| (s.resource_type().id, None))
            .collect();
        while let Some((type_id, parent)) = queue.pop_front() {
            let Some((rt, idx)) = types.get(&type_id).cloned() else {
                continue;
            };
            let syncer = syncers[idx].clone();
            let listing = match &parent {
                Some(p) => format!("{type_id} resources under {p}"),
                None => format!("{type_id} resources"),
            };
            let page_parent = parent.clone();
            let context = run.context.clone();
            let listed = run
                .drain(&listing, |req| {
                    let syncer = syncer.clone();
                    let req =
                        ListRequest::new(page_parent.as_ref(), req).in_context(context.clone());
                    async move { syncer.list(req).await }
                })
                .await;
            for r in listed {
                if let Err(e) = r.validate(&rt) {
                    let check = if e.message().contains("trait") {
                        "trait present"
                    } else {
                        "well-formed ids"
                    };
                    run.fail(check, r.id.to_string(), e.message().to_string());
                }
                if let Some(p) = &parent
                    && r.parent.as_ref() != Some(p)
                {
                    run.fail(
                        "parent matches",
                        r.id.to_string(),
                        format!(
                            "listed under {p} but names parent {:?}",
                            r.parent.as_ref().map(|x| x.to_string())
                        ),
                    );
                }
                for child in &r.child_types {
                    if types.contains_key(child) {
                        queue.push_back((child.clone(), Some(r.id.clone())));
                    } else {
                        run.fail(
                            "child types exist",
                            r.id.to_string(),
                            format!("declares child type {child:?}, which no syncer lists"),
                        );
                    }
                }
                resources.push(r);
            }
        }
        resources
    }

    /// Unique resource ids, listed parents; the ids and the count per type.
    fn check_resource_ids(
        &mut self,
        resources: &[Resource],
    ) -> (HashSet<ResourceId>, BTreeMap<String, usize>) {
        let run = &mut self.run;
        let mut resource_ids: HashSet<ResourceId> = HashSet::new();
        let mut by_type: BTreeMap<String, usize> = BTreeMap::new();
        for r in resources {
            if !resource_ids.insert(r.id.clone()) {
                run.fail(
                    "unique ids",
                    r.id.to_string(),
                    "resource listed by more than one listing",
                );
            }
            *by_type.entry(r.id.resource_type.clone()).or_default() += 1;
        }
        for r in resources {
            if let Some(p) = &r.parent
                && !resource_ids.contains(p)
            {
                run.fail(
                    "dangling parent",
                    r.id.to_string(),
                    format!("parent {p} was not listed"),
                );
            }
        }
        (resource_ids, by_type)
    }

    /// Fetching by id (through the handle, as a targeted sync does) agrees with listing,
    /// and a missing id is `NotFound`; how many were fetched.
    async fn check_getters(&mut self, resources: &[Resource]) -> usize {
        let (run, syncers, types) = (&mut self.run, &self.syncers, &self.types);
        let Some(handle) = &self.handle else {
            return 0;
        };
        let mut fetched_by_id = 0;
        let mut probed: HashSet<String> = HashSet::new();
        for r in resources {
            let Some((_, idx)) = types.get(&r.id.resource_type).cloned() else {
                continue;
            };
            if syncers[idx].getter().is_none() {
                continue;
            }
            fetched_by_id += 1;
            match handle.get(&r.id, r.parent.as_ref()).await {
                Ok(got) if got == *r => {}
                Ok(got) => run.fail(
                    "get agrees with list",
                    r.id.to_string(),
                    format!("get returned {got:?}, the listing {r:?}"),
                ),
                Err(e) => run.fail(
                    "get agrees with list",
                    r.id.to_string(),
                    format!("get failed: {e}"),
                ),
            }
            if probed.insert(r.id.resource_type.clone()) {
                let missing = ResourceId::new(&r.id.resource_type, "conformance-no-such-id-0");
                match handle.get(&missing, r.parent.as_ref()).await {
                    Err(e) if e.kind() == crate::error::ErrorKind::NotFound => {}
                    Err(e) => run.fail(
                        "get of a missing id is NotFound",
                        missing.to_string(),
                        format!("failed with {:?}: {e}", e.kind()),
                    ),
                    Ok(got) => run.fail(
                        "get of a missing id is NotFound",
                        missing.to_string(),
                        format!("returned {}", got.id),
                    ),
                }
            }
        }
        fetched_by_id
    }

    /// Entitlements and grants of every resource, each checked against its resource.
    async fn list_access(
        &mut self,
        resources: &[Resource],
    ) -> (HashMap<String, Entitlement>, Vec<Grant>) {
        let (run, syncers, types) = (&mut self.run, &self.syncers, &self.types);
        let mut entitlements: HashMap<String, Entitlement> = HashMap::new();
        let mut grants: Vec<Grant> = Vec::new();
        for r in resources {
            let Some((rt, idx)) = types.get(&r.id.resource_type).cloned() else {
                continue;
            };
            if rt.skip_entitlements_and_grants {
                continue;
            }
            let syncer = syncers[idx].clone();
            let context = run.context.clone();
            let ents = run
                .drain(&format!("entitlements of {}", r.id), |req| {
                    let syncer = syncer.clone();
                    let req = EntitlementsRequest::new(r, req).in_context(context.clone());
                    async move { syncer.entitlements(req).await }
                })
                .await;
            for e in ents {
                if let Err(err) = e.validate() {
                    run.fail("well-formed ids", e.id(), err.message().to_string());
                }
                if e.resource() != &r.id {
                    run.fail(
                        "belongs to its resource",
                        e.id(),
                        format!("listed for {} but is on {}", r.id, e.resource()),
                    );
                }
                if e.id() != entitlement_id(e.resource(), e.slug()) {
                    run.fail(
                        "well-formed ids",
                        e.id(),
                        format!(
                            "expected entitlement id {:?}",
                            entitlement_id(e.resource(), e.slug())
                        ),
                    );
                }
                if entitlements.insert(e.id().to_string(), e.clone()).is_some() {
                    run.fail("unique ids", e.id(), "entitlement listed more than once");
                }
            }
            let declared = syncer.emits_grants_for();
            let context = run.context.clone();
            let gs = run
                .drain(&format!("grants of {}", r.id), |req| {
                    let syncer = syncer.clone();
                    let req = GrantsRequest::new(r, req).in_context(context.clone());
                    async move { syncer.grants(req).await }
                })
                .await;
            for g in gs {
                if let Some(message) = undeclared_grant(&g, &r.id, &declared) {
                    run.fail("belongs to its resource", g.id(), message);
                }
                grants.push(g);
            }
        }
        (entitlements, grants)
    }

    /// Grants: well-formed, unique, of listed entitlements and principals.
    fn check_grants(
        &mut self,
        grants: &[Grant],
        entitlements: &HashMap<String, Entitlement>,
        resource_ids: &HashSet<ResourceId>,
    ) {
        let run = &mut self.run;
        let mut grant_ids = HashSet::new();
        for g in grants {
            if let Err(err) = g.validate() {
                run.fail("well-formed ids", g.id(), err.message().to_string());
            }
            if g.id() != grant_id(g.entitlement_id(), g.principal()) {
                run.fail(
                    "well-formed ids",
                    g.id(),
                    format!(
                        "expected grant id {:?}",
                        grant_id(g.entitlement_id(), g.principal())
                    ),
                );
            }
            if !grant_ids.insert(g.id().to_string()) {
                run.fail("unique ids", g.id(), "grant listed more than once");
            }
            match entitlements.get(g.entitlement_id()) {
                None => run.fail(
                    "dangling grant entitlement",
                    g.id(),
                    format!("entitlement {} was not listed", g.entitlement_id()),
                ),
                Some(e) => {
                    if !e.grantable_to.is_empty()
                        && !e.grantable_to.contains(&g.principal().resource_type)
                    {
                        run.fail(
                            "grantable to principal",
                            g.id(),
                            format!(
                                "principal type {:?} is not in the entitlement's grantable_to {:?}",
                                g.principal().resource_type,
                                e.grantable_to
                            ),
                        );
                    }
                }
            }
            if !resource_ids.contains(g.principal()) {
                run.fail(
                    "dangling grant principal",
                    g.id(),
                    format!("principal {} was not listed", g.principal()),
                );
            }
            if let Some(exp) = &g.expandable {
                for id in &exp.entitlement_ids {
                    if !entitlements.contains_key(id) {
                        run.fail(
                            "dangling grant entitlement",
                            g.id(),
                            format!("expands entitlement {id}, which was not listed"),
                        );
                    }
                }
            }
        }
    }
}

/// Runs every check; returns the counts, or every violation found.
pub async fn check_conformance(
    connector: &dyn Connector,
    options: &ConformanceOptions,
) -> std::result::Result<ConformanceReport, ConformanceFailure> {
    let mut run = Run {
        violations: Vec::new(),
        pages: 0,
        max_pages: options.max_pages_per_listing.max(1),
        context: SyncContext::new("conformance"),
    };
    let syncers = connector.syncers();
    let types = Checker::check_types(&mut run, &syncers);
    let mut c = Checker {
        run,
        syncers,
        types,
        handle: crate::handle::ConnectorHandle::of_parts(connector).ok(),
    };
    let resources = c.list_resources().await;
    let (resource_ids, by_type) = c.check_resource_ids(&resources);
    let fetched_by_id = c.check_getters(&resources).await;
    let (entitlements, grants) = c.list_access(&resources).await;
    c.check_grants(&grants, &entitlements, &resource_ids);
    let (run, types) = (c.run, c.types);
    let report = ConformanceReport {
        resource_types: types.len(),
        resources: resources.len(),
        entitlements: entitlements.len(),
        grants: grants.len(),
        pages: run.pages,
        resources_by_type: by_type,
        fetched_by_id,
    };
    if run.violations.is_empty() {
        Ok(report)
    } else {
        Err(ConformanceFailure {
            connector: connector.metadata().name,
            violations: run.violations,
            report,
        })
    }
}

/// Panics when any of `secrets` appears in `haystack` (logs, errors, files read as text).
///
/// ```
/// use connector_sdk::testing::assert_no_secret;
/// use secrecy::SecretString;
/// let key = SecretString::from("SG.very-secret");
/// assert_no_secret("request failed: unauthenticated", &[&key]);
/// ```
pub fn assert_no_secret(haystack: &str, secrets: &[&secrecy::SecretString]) {
    use secrecy::ExposeSecret;
    for s in secrets {
        let s = s.expose_secret();
        if !s.is_empty() && haystack.contains(s) {
            // Do not print the secret itself, even in a failing test.
            panic!("a secret of {} characters appears in the output", s.len());
        }
    }
}
