//! What the engine checks before storing: the sync scope against the connector's types,
//! each entitlement and grant against the resource it was listed under.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::flags::flag_and_env;
use crate::model::{Entitlement, Grant, Resource};
use crate::syncer::ResourceSyncer;

use super::*;

/// Checks the narrowing options against the connector's types: an unknown type id in
/// `--sync-resource-types`, or a targeted resource of an unknown type or of a type that
/// cannot be fetched by id, is an error naming the flag.
pub(super) fn check_scope(
    options: &SyncOptions,
    syncers: &BTreeMap<String, Arc<dyn ResourceSyncer>>,
) -> Result<()> {
    let known = || syncers.keys().cloned().collect::<Vec<_>>().join(", ");
    for t in &options.resource_types {
        if !syncers.contains_key(t) {
            return Err(Error::invalid_argument(format!(
                "{}: unknown resource type {t:?}; this connector syncs [{}]",
                flag_and_env("sync-resource-types"),
                known()
            )));
        }
    }
    for bid in &options.targeted {
        let Some(syncer) = syncers.get(&bid.id.resource_type) else {
            return Err(Error::invalid_argument(format!(
                "{}: {bid} is of unknown resource type {:?}; this connector syncs [{}]",
                flag_and_env("sync-resources"),
                bid.id.resource_type,
                known()
            )));
        };
        if syncer.getter().is_none() {
            let fetchable: Vec<_> = syncers
                .iter()
                .filter(|(_, s)| s.getter().is_some())
                .map(|(t, _)| t.clone())
                .collect();
            return Err(Error::invalid_argument(format!(
                "{}: resources of type {:?} cannot be fetched one by one (targeted sync supports [{}])",
                flag_and_env("sync-resources"),
                bid.id.resource_type,
                fetchable.join(", ")
            )));
        }
    }
    Ok(())
}

/// A listed entitlement must be well formed and belong to the resource it was listed for.
pub(super) fn check_entitlement(e: &Entitlement, resource: &Resource) -> Result<()> {
    e.validate().map_err(|err| {
        Error::internal(format!(
            "connector returned an invalid entitlement: {}",
            err.message()
        ))
    })?;
    if e.resource() != &resource.id {
        return Err(Error::internal(format!(
            "connector bug: entitlement {} is on {}, but was listed for {}",
            e.id(),
            e.resource(),
            resource.id
        )));
    }
    Ok(())
}

/// A listed grant must be well formed and be of an entitlement on the resource it was
/// listed for, or on a resource of a type its syncer declares in
/// [`ResourceSyncer::emits_grants_for`] (`declared`).
pub(super) fn check_grant(g: &Grant, resource: &Resource, declared: &[String]) -> Result<()> {
    g.validate().map_err(|err| {
        Error::internal(format!(
            "connector returned an invalid grant: {}",
            err.message()
        ))
    })?;
    match crate::syncer::undeclared_grant(g, &resource.id, declared) {
        Some(message) => Err(Error::internal(format!("connector bug: {message}"))),
        None => Ok(()),
    }
}
