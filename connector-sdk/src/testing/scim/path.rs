//! Attribute paths (RFC 7644 §3.10 and the `valuePath` of §3.5.2): `userName`,
//! `name.givenName`, `members[value eq "x"]`, `emails[type eq "work"].value` and
//! extension attributes by URN, `urn:…:2.0:User:memberType` — or with a `.` before the
//! attribute, as some applications document it.

use serde_json::{Map, Value};

use super::answer::invalid_path;
use super::filter::Filter;
use crate::scim::{GROUP, ScimError, USER};

/// A parsed attribute path.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AttrPath {
    /// The extension object holding the attribute (`None`: the resource itself).
    pub urn: Option<String>,
    /// The attribute.
    pub attr: String,
    /// The value filter selecting elements of a multi-valued attribute.
    pub filter: Option<Box<Filter>>,
    /// The sub-attribute.
    pub sub: Option<String>,
}

/// The URNs `path` may start with: the resource's extension objects and `schemas`.
fn known_urns(resource: &Value) -> Vec<String> {
    let mut urns: Vec<String> = resource
        .as_object()
        .map(|o| {
            o.keys()
                .filter(|k| k.to_ascii_lowercase().starts_with("urn:"))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if let Some(schemas) = resource.get("schemas").and_then(Value::as_array) {
        urns.extend(schemas.iter().filter_map(Value::as_str).map(String::from));
    }
    urns.extend([USER.to_string(), GROUP.to_string()]);
    urns
}

/// Splits `urn:…:Schema:attr` (or `urn:…:Schema.attr`) into the schema and the rest, the
/// schema being the longest URN `resource` knows, else everything before the last `:`.
fn split_urn<'p>(path: &'p str, resource: &Value) -> (Option<String>, &'p str) {
    if !path
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("urn:"))
    {
        return (None, path);
    }
    let known = known_urns(resource)
        .into_iter()
        .filter(|u| {
            path.len() > u.len()
                && path.is_char_boundary(u.len())
                && path[..u.len()].eq_ignore_ascii_case(u)
                && matches!(path.as_bytes()[u.len()], b':' | b'.')
        })
        .max_by_key(String::len);
    let (urn, rest) = match known {
        Some(u) => (u.clone(), &path[u.len() + 1..]),
        None => match path.rsplit_once(':') {
            Some((u, rest)) => (u.to_string(), rest),
            None => return (None, path),
        },
    };
    if urn.eq_ignore_ascii_case(USER) || urn.eq_ignore_ascii_case(GROUP) {
        return (None, rest);
    }
    (Some(urn), rest)
}

impl AttrPath {
    /// Parses `path` as an attribute of `resource` (which names the extension URNs).
    pub fn parse(path: &str, resource: &Value) -> Result<AttrPath, ScimError> {
        let (urn, rest) = split_urn(path.trim(), resource);
        let bad = || invalid_path(&format!("invalid attribute path {path:?}"));
        let end = rest.find(['[', '.']).unwrap_or(rest.len());
        let attr = &rest[..end];
        if attr.is_empty()
            || !attr
                .chars()
                .all(|c| c.is_alphanumeric() || "$_-".contains(c))
        {
            return Err(bad());
        }
        let mut after = &rest[end..];
        let mut filter = None;
        if after.starts_with('[') {
            let close = closing_bracket(after).ok_or_else(bad)?;
            let inner = Filter::parse(&after[1..close]).map_err(|_| bad())?;
            filter = Some(Box::new(inner));
            after = &after[close + 1..];
        }
        let sub = match after.strip_prefix('.') {
            Some(s) if !s.is_empty() && !s.contains(['.', '[']) => Some(s.to_string()),
            Some(_) => return Err(bad()),
            None if after.is_empty() => None,
            None => return Err(bad()),
        };
        Ok(AttrPath {
            urn,
            attr: attr.to_string(),
            filter,
            sub,
        })
    }

    /// Whether comparisons on this path are case-sensitive (ids are; RFC 7643 has most
    /// strings `caseExact: false`).
    pub fn case_exact(&self) -> bool {
        let last = self.sub.as_deref().unwrap_or(&self.attr);
        last.eq_ignore_ascii_case("id") || last.eq_ignore_ascii_case("externalId")
    }

    /// Whether the path names `name` (any case) at the top level of the resource.
    pub fn is_core(&self, name: &str) -> bool {
        self.urn.is_none() && self.attr.eq_ignore_ascii_case(name)
    }

    /// The values the path selects in `resource`, elements of multi-valued attributes
    /// one by one.
    pub fn values<'r>(&self, resource: &'r Value) -> Vec<&'r Value> {
        let container = match &self.urn {
            Some(u) => get_ci(resource, u),
            None => Some(resource),
        };
        let Some(found) = container.and_then(|c| get_ci(c, &self.attr)) else {
            return Vec::new();
        };
        let elements: Vec<&Value> = match found {
            Value::Array(items) => items.iter().collect(),
            Value::Null => Vec::new(),
            other => vec![other],
        };
        let selected = elements
            .into_iter()
            .filter(|e| self.filter.as_ref().is_none_or(|f| f.matches(e)));
        match &self.sub {
            None => selected.collect(),
            Some(sub) => selected.filter_map(|e| get_ci(e, sub)).collect(),
        }
    }
}

/// The index of the `]` closing the `[` at the start of `s`, quotes respected.
fn closing_bracket(s: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(1) {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ']' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

/// The key of `object` equal to `name` ignoring case (attribute names are
/// case-insensitive, RFC 7643 §2.1).
pub(super) fn key_ci(object: &Map<String, Value>, name: &str) -> Option<String> {
    if object.contains_key(name) {
        return Some(name.to_string());
    }
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

/// `value[name]`, the name compared ignoring case.
pub(super) fn get_ci<'v>(value: &'v Value, name: &str) -> Option<&'v Value> {
    let object = value.as_object()?;
    object.get(&key_ci(object, name)?)
}
