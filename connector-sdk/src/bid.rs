//! Baton ids (BIDs) of resources, as upstream's `pkg/bid` writes them.
//!
//! A resource is `bid:r:<type>/<id>`, or `bid:r:<parent type>/<parent id>/<type>/<id>` when
//! it has a parent. Inside a part, `\` escapes `:`, `/` and `\` itself, so any id can be
//! written. `--sync-resources` (`BATON_SYNC_RESOURCES`) takes a comma-separated list of them.
//!
//! ```
//! use connector_sdk::bid::{ResourceBid, parse_resource_bid};
//! use connector_sdk::model::ResourceId;
//!
//! let bid = parse_resource_bid("bid:r:vault/v1/item/a\\/b").unwrap();
//! assert_eq!(bid.id, ResourceId::new("item", "a/b"));
//! assert_eq!(bid.parent, Some(ResourceId::new("vault", "v1")));
//! assert_eq!(bid.to_string(), "bid:r:vault/v1/item/a\\/b");
//! ```

use crate::error::{Error, Result};
use crate::model::ResourceId;

/// A resource named by its BID: its id and, when given, its parent's.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceBid {
    /// The resource.
    pub id: ResourceId,
    /// Its parent, when the BID names one.
    pub parent: Option<ResourceId>,
}

impl ResourceBid {
    /// A BID of a resource without a parent.
    pub fn new(id: ResourceId) -> Self {
        ResourceBid { id, parent: None }
    }

    /// A BID of a resource under `parent`.
    pub fn with_parent(id: ResourceId, parent: ResourceId) -> Self {
        ResourceBid {
            id,
            parent: Some(parent),
        }
    }
}

fn escape(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        if matches!(c, ':' | '/' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl std::fmt::Display for ResourceBid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("bid:r:")?;
        if let Some(p) = &self.parent {
            write!(f, "{}/{}/", escape(&p.resource_type), escape(&p.resource))?;
        }
        write!(
            f,
            "{}/{}",
            escape(&self.id.resource_type),
            escape(&self.id.resource)
        )
    }
}

impl std::str::FromStr for ResourceBid {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        parse_resource_bid(s)
    }
}

/// Parses one resource BID. Errors say what is wrong with it (the caller adds the flag).
pub fn parse_resource_bid(bid: &str) -> Result<ResourceBid> {
    let bad = |why: &str| Error::invalid_argument(format!("malformed resource BID {bid:?}: {why}"));
    let body = bid
        .strip_prefix("bid:r:")
        .ok_or_else(|| bad("a resource BID starts with \"bid:r:\""))?;
    let mut parts = vec![String::new()];
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e @ (':' | '/' | '\\')) => parts.last_mut().expect("non-empty").push(e),
                Some(other) => {
                    return Err(bad(&format!(
                        "\"\\{other}\" is not an escape (only \\:, \\/ and \\\\ are)"
                    )));
                }
                None => return Err(bad("it ends with a lone \"\\\"")),
            },
            '/' => parts.push(String::new()),
            ':' => return Err(bad("an unescaped \":\" (write \"\\:\" inside an id)")),
            c => parts.last_mut().expect("non-empty").push(c),
        }
    }
    if parts.iter().any(String::is_empty) {
        return Err(bad("a part is empty"));
    }
    let id = |t: &str, r: &str| -> Result<ResourceId> {
        let id = ResourceId::new(t, r);
        id.validate().map_err(|e| bad(e.message()))?;
        Ok(id)
    };
    match parts.as_slice() {
        [t, r] => Ok(ResourceBid::new(id(t, r)?)),
        [pt, pr, t, r] => Ok(ResourceBid::with_parent(id(t, r)?, id(pt, pr)?)),
        _ => Err(bad(&format!(
            "expected <type>/<id> or <parent type>/<parent id>/<type>/<id>, found {} parts",
            parts.len()
        ))),
    }
}

/// Parses a comma-separated list of resource BIDs (commas inside ids are not supported,
/// as upstream's flag splits on them too); blank entries are skipped.
pub fn parse_resource_bids(list: &str) -> Result<Vec<ResourceBid>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(parse_resource_bid)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_and_parented_bids_parse() {
        assert_eq!(
            parse_resource_bid("bid:r:user/1234").unwrap(),
            ResourceBid::new(ResourceId::new("user", "1234"))
        );
        assert_eq!(
            parse_resource_bid("bid:r:vault/v1/item/i9").unwrap(),
            ResourceBid::with_parent(
                ResourceId::new("item", "i9"),
                ResourceId::new("vault", "v1")
            )
        );
    }

    #[test]
    fn escapes_round_trip() {
        let b = ResourceBid::with_parent(
            ResourceId::new("item", "a:b/c\\d"),
            ResourceId::new("vault", "x/y"),
        );
        let s = b.to_string();
        assert_eq!(s, "bid:r:vault/x\\/y/item/a\\:b\\/c\\\\d");
        assert_eq!(parse_resource_bid(&s).unwrap(), b);
    }

    #[test]
    fn malformed_bids_are_errors() {
        for bad in [
            "user/1",
            "bid:e:user/1",
            "bid:r:user",
            "bid:r:user/",
            "bid:r:/1",
            "bid:r:a/b/c",
            "bid:r:a/b/c/d/e",
            "bid:r:user/1:2",
            "bid:r:user/1\\x",
            "bid:r:user/1\\",
            "bid:r:User Type/1",
        ] {
            let err = parse_resource_bid(bad).unwrap_err();
            assert!(
                err.message().contains("malformed resource BID"),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn lists_split_on_commas() {
        let v = parse_resource_bids("bid:r:user/1, bid:r:group/g ,").unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].id, ResourceId::new("group", "g"));
        assert!(parse_resource_bids("bid:r:user/1,nope").is_err());
    }
}
