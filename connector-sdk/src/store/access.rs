//! How a principal holds a grant: directly, or through which group (or role) and which
//! expandable grant, read back from the `sources` grant expansion stored on derived grants
//! (c1z-format.md §2.7).
//!
//! A derived grant of entitlement `E` to principal `U` with source `S` (say
//! `group:g1:member`) exists because the resource of `S` (`group:g1`) holds `E` through an
//! expandable grant, and `U` holds `S`: directly, or itself through another source. Each
//! path is walked back with one index lookup per step.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Grant, ResourceId};

use super::reader::C1zReader;

/// The longest chain of groups followed (nesting deeper than this is cut).
const MAX_DEPTH: usize = 8;
/// The most paths reported for one grant.
const MAX_PATHS: usize = 10;

/// One step of a path: the principal holds `entitlement_id` (on `resource`, a group or a
/// role), and `resource` holds the next step's entitlement through `grant_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessStep {
    /// The entitlement the principal holds at this step, e.g. `group:g1:member`.
    pub entitlement_id: String,
    /// The resource of that entitlement (the group or role passing access on).
    pub resource: ResourceId,
    /// The expandable grant through which `resource` passes on the next step's entitlement
    /// (`None` when the file does not have it).
    pub grant_id: Option<String>,
}

/// How a principal holds one grant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    /// Whether the principal holds it directly (a grant the connector listed).
    pub direct: bool,
    /// The inherited paths, each from the principal outward: the first step is held
    /// directly, the last step's resource holds the grant's entitlement.
    pub paths: Vec<Vec<AccessStep>>,
}

/// Whether `grant` is held directly: listed by the connector (no sources), or also
/// granted directly besides expansion (its own entitlement among its sources).
pub fn is_direct(grant: &Grant) -> bool {
    grant.sources.is_empty() || grant.sources.contains_key(grant.entitlement_id())
}

impl C1zReader {
    /// How `grant`'s principal holds it: directly and/or through which groups, walking the
    /// grant's expansion sources back (at most 8 levels and 10 paths).
    pub fn access(&self, grant: &Grant) -> Result<Access> {
        let mut seen = BTreeSet::new();
        seen.insert(grant.entitlement_id().to_string());
        Ok(Access {
            direct: is_direct(grant),
            paths: self.paths(grant, &mut seen, 0)?,
        })
    }

    fn paths(
        &self,
        grant: &Grant,
        seen: &mut BTreeSet<String>,
        depth: usize,
    ) -> Result<Vec<Vec<AccessStep>>> {
        let mut out = Vec::new();
        if depth >= MAX_DEPTH {
            return Ok(out);
        }
        let target = grant.entitlement_id();
        for source in grant.sources.keys().filter(|s| s.as_str() != target) {
            if out.len() >= MAX_PATHS || !seen.insert(source.clone()) {
                continue;
            }
            // The group (or role) whose membership `source` is.
            let Some(ent) = self.entitlement(source)? else {
                seen.remove(source);
                continue;
            };
            let via = ent.resource().clone();
            let step = AccessStep {
                entitlement_id: source.clone(),
                grant_id: self.grant_of(target, &via)?.map(|g| g.id().to_string()),
                resource: via,
            };
            // How the principal holds `source` in turn.
            match self.grant_of(source, grant.principal())? {
                Some(held) => {
                    if is_direct(&held) {
                        out.push(vec![step.clone()]);
                    }
                    for mut p in self.paths(&held, seen, depth + 1)? {
                        p.push(step.clone());
                        out.push(p);
                    }
                }
                // Not stored (a partial file): show the step alone.
                None => out.push(vec![step]),
            }
            seen.remove(source);
        }
        out.truncate(MAX_PATHS);
        Ok(out)
    }
}
