//! How a principal holds a grant: directly, or through which group (or role) and which
//! expandable grant, read back from the `sources` grant expansion stored on derived grants
//! (c1z-format.md §2.7).
//!
//! A derived grant of entitlement `E` to principal `U` with source `S` (say
//! `group:g1:member`) exists because the resource of `S` (`group:g1`) holds `E` through an
//! expandable grant, and `U` holds `S`: directly, or itself through another source.
//!
//! The walk is a breadth-first search back from `E` over the principal's grants, each
//! entitlement visited once (one index lookup for its grant, one for the entitlement), so
//! it takes time linear in the sources however the groups nest; from each entitlement the
//! principal holds directly, the shortest ways forward to `E` are the paths reported. A
//! file crafted with thousands of nested groups stops at `MAX_VISITED` (2,000) entitlements.

use std::collections::{HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Grant, ResourceId};

use super::reader::C1zReader;

/// The longest chain of groups followed (nesting deeper than this is cut).
const MAX_DEPTH: usize = 8;
/// The most paths reported for one grant.
const MAX_PATHS: usize = 10;
/// The most entitlements one walk visits.
pub const MAX_VISITED: usize = 2_000;

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
    /// How `grant`'s principal holds it: directly and/or through which groups (at most 8
    /// levels, 10 paths, 2,000 entitlements looked at).
    pub fn access(&self, grant: &Grant) -> Result<Access> {
        let graph = Held::walk(self, grant)?;
        Ok(Access {
            direct: is_direct(grant),
            paths: graph.paths(self)?,
        })
    }
}

/// An entitlement the principal holds on the way to the grant's.
struct Node {
    /// Steps from the grant's entitlement (0 is the grant's own).
    distance: usize,
    /// The resource of the entitlement (the group passing access on).
    resource: ResourceId,
    /// Whether the principal holds it directly, or the file does not say (a partial file):
    /// a path starts here.
    starts: bool,
    /// The entitlements one step nearer the grant's that it leads to.
    next: Vec<String>,
}

/// The principal's grants that lead to one grant, found breadth-first.
struct Held {
    target: String,
    nodes: HashMap<String, Node>,
}

impl Held {
    fn walk(r: &C1zReader, grant: &Grant) -> Result<Held> {
        let target = grant.entitlement_id().to_string();
        let mut nodes: HashMap<String, Node> = HashMap::new();
        nodes.insert(
            target.clone(),
            Node {
                distance: 0,
                resource: grant.entitlement_resource().clone(),
                starts: false,
                next: Vec::new(),
            },
        );
        // (entitlement, its distance, the principal's grant of it when stored)
        let mut queue = VecDeque::from([(target.clone(), 0usize, Some(grant.clone()))]);
        while let Some((id, distance, held)) = queue.pop_front() {
            let Some(held) = held else { continue };
            if distance >= MAX_DEPTH {
                continue;
            }
            for source in held.sources.keys().filter(|s| **s != id) {
                if let Some(node) = nodes.get_mut(source) {
                    // Another shortest way on: keep it (a longer one is not a path).
                    if node.distance == distance + 1 && !node.next.contains(&id) {
                        node.next.push(id.clone());
                    }
                    continue;
                }
                if nodes.len() >= MAX_VISITED {
                    break;
                }
                let Some(ent) = r.entitlement(source)? else {
                    continue;
                };
                let source_grant = r.grant_of(source, held.principal())?;
                nodes.insert(
                    source.clone(),
                    Node {
                        distance: distance + 1,
                        resource: ent.resource().clone(),
                        starts: source_grant.as_ref().is_none_or(is_direct),
                        next: vec![id.clone()],
                    },
                );
                queue.push_back((source.clone(), distance + 1, source_grant));
            }
        }
        Ok(Held { target, nodes })
    }

    /// Up to [`MAX_PATHS`] paths, nearest starts first; each is walked forward along
    /// shortest steps, which always reach the grant's entitlement.
    fn paths(&self, r: &C1zReader) -> Result<Vec<Vec<AccessStep>>> {
        let mut starts: Vec<(&String, &Node)> = self
            .nodes
            .iter()
            .filter(|(id, n)| n.starts && **id != self.target)
            .collect();
        starts.sort_by(|a, b| (a.1.distance, a.0).cmp(&(b.1.distance, b.0)));
        let mut out = Vec::new();
        for (id, _) in starts {
            self.forward(r, id, &mut Vec::new(), &mut out)?;
            if out.len() >= MAX_PATHS {
                break;
            }
        }
        out.truncate(MAX_PATHS);
        Ok(out)
    }

    fn forward(
        &self,
        r: &C1zReader,
        id: &str,
        path: &mut Vec<AccessStep>,
        out: &mut Vec<Vec<AccessStep>>,
    ) -> Result<()> {
        let Some(node) = self.nodes.get(id) else {
            return Ok(());
        };
        for next in &node.next {
            if out.len() >= MAX_PATHS {
                return Ok(());
            }
            path.push(AccessStep {
                entitlement_id: id.to_string(),
                resource: node.resource.clone(),
                // The expandable grant through which this group holds the next step.
                grant_id: r
                    .grant_of(next, &node.resource)?
                    .map(|g| g.id().to_string()),
            });
            if *next == self.target {
                out.push(path.clone());
            } else {
                self.forward(r, next, path, out)?;
            }
            path.pop();
        }
        Ok(())
    }
}
