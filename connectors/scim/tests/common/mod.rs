//! Provider files for the tests (shipped ones, and baton-scim's own as test data) and a
//! connector against the simulated SCIM application (`connector_scim::simulator`, the
//! SDK's tenant in a provider file's shape).

#![allow(dead_code)]

use std::path::PathBuf;

use connector_scim::simulator::{ScimSimulator, SimState, shape_for};
use connector_scim::{Provider, Scim, ScimApi};
use connector_sdk::testing::fast_retry;
use connector_sdk::testing::scim::ScimShape;

/// baton-scim's own provider files (test data, never copied into the repository).
pub fn upstream_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs/scim-providers")
}

/// One of baton-scim's files, by name (`slack`).
pub fn upstream(name: &str) -> Provider {
    let file = format!("{name}.yaml");
    let text = std::fs::read_to_string(upstream_dir().join(&file)).unwrap();
    Provider::parse(&file, &text).unwrap()
}

/// One of the shipped files, by name.
pub fn shipped(name: &str) -> Provider {
    Provider::load(&connector_scim::Source::Shipped(name.into())).unwrap()
}

/// The seeded application in `provider`'s shape, changed by `tweak`.
pub async fn start(
    provider: &Provider,
    tweak: impl FnOnce(ScimShape) -> ScimShape,
) -> ScimSimulator {
    ScimSimulator::start(SimState::seeded(tweak(shape_for(provider)))).await
}

/// A connector for `provider` against `sim`, retrying fast.
pub fn connector(sim: &ScimSimulator, provider: Provider) -> Scim {
    Scim::with_api(ScimApi::with_retry(&sim.config(provider), fast_retry()).unwrap())
}

use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;

/// User `id`, as a principal.
pub fn user(id: &str) -> Resource {
    Resource::with_id(ResourceId::new("user", id), id)
}

/// Group `id`.
pub fn group(id: &str) -> Resource {
    Resource::with_id(ResourceId::new("group", id), id)
}

/// Role `id`.
pub fn role(id: &str) -> Resource {
    Resource::with_id(ResourceId::new("role", id), id)
}

/// A targeted read of `rt` `id`.
pub async fn get(c: &Scim, rt: &str, id: &str) -> Result<Resource> {
    syncer_for(c, rt)
        .unwrap()
        .getter()
        .unwrap()
        .get(GetRequest::new(&ResourceId::new(rt, id), None))
        .await
}

/// Grants `ent` to `principal` through the connector's provisioner.
pub async fn grant(c: &Scim, principal: &Resource, ent: &Entitlement) -> GrantOutcome {
    syncer_for(c, &ent.resource().resource_type)
        .unwrap()
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(principal, ent))
        .await
        .unwrap()
}

/// Revokes `ent` from `principal` through the connector's provisioner.
pub async fn revoke(c: &Scim, principal: &Resource, ent: &Entitlement) -> RevokeOutcome {
    syncer_for(c, &ent.resource().resource_type)
        .unwrap()
        .provisioner()
        .unwrap()
        .revoke(RevokeRequest::new(&Grant::new(ent, principal.id.clone())))
        .await
        .unwrap()
}

/// A connector for `provider` at `base` (a wiremock server) with the API key `k`.
pub fn keyed(provider: Provider, base: &str) -> Scim {
    let creds = connector_scim::Credentials {
        api_key: Some("k".to_string().into()),
        ..connector_scim::Credentials::default()
    };
    let config =
        connector_scim::ScimConfig::with_env(provider, creds, Some(base), &|_| None).unwrap();
    Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap())
}
