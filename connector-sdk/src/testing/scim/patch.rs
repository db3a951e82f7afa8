//! PATCH operations (RFC 7644 §3.5.2) applied to a resource as JSON: `add`, `remove` and
//! `replace`, with or without a path, on single- and multi-valued attributes, extension
//! attributes by URN, and `valuePath` filters (`members[value eq "x"]`).

use serde_json::{Map, Value, json};

use super::answer::{invalid_path, invalid_value, scim_error};
use super::path::{AttrPath, key_ci};
use crate::scim::{PatchKind, PatchOperation, ScimError};

/// What the tenant allows beyond the RFC's operations.
#[derive(Debug, Clone, Copy)]
pub(super) struct Rules<'a> {
    /// Attributes no PATCH may touch (`id`, `meta`, a user's `groups`).
    pub read_only: &'a [&'a str],
    /// Refuse a `remove` that names its values in `value`.
    pub strict_remove: bool,
}

/// Applies `op` to `resource` (a JSON object).
pub(super) fn apply(
    resource: &mut Value,
    op: &PatchOperation,
    rules: Rules<'_>,
) -> Result<(), ScimError> {
    let Some(path) = op.path() else {
        return apply_without_path(resource, op, rules);
    };
    let path = AttrPath::parse(path, resource)?;
    if rules.read_only.iter().any(|a| path.is_core(a)) {
        return Err(mutability(&path.attr));
    }
    match op.kind() {
        PatchKind::Add => add(
            resource,
            &path,
            op.value()
                .cloned()
                .ok_or_else(|| invalid_value("add needs a value"))?,
        ),
        PatchKind::Replace => replace(resource, &path, op.value().cloned().unwrap_or(Value::Null)),
        PatchKind::Remove => remove(resource, &path, op.value(), rules.strict_remove),
    }
}

fn mutability(attr: &str) -> ScimError {
    scim_error(400, Some("mutability"), &format!("{attr} is read-only"))
}

/// `add`/`replace` without a path: each attribute of the value object, extension objects
/// attribute by attribute.
fn apply_without_path(
    resource: &mut Value,
    op: &PatchOperation,
    rules: Rules<'_>,
) -> Result<(), ScimError> {
    if op.kind() == PatchKind::Remove {
        return Err(scim_error(400, Some("noTarget"), "remove needs a path"));
    }
    let Some(Value::Object(attrs)) = op.value() else {
        return Err(invalid_value(
            "an operation without a path needs an object value",
        ));
    };
    for (name, value) in attrs {
        if ["id", "meta", "schemas"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(name))
        {
            continue;
        }
        let single = |path: &str, value: &Value| match op.kind() {
            PatchKind::Add => PatchOperation::add(path, value.clone()),
            _ => PatchOperation::replace(path, value.clone()),
        };
        match value {
            Value::Object(ext) if name.to_ascii_lowercase().starts_with("urn:") => {
                for (sub, v) in ext {
                    apply(resource, &single(&format!("{name}:{sub}"), v), rules)?;
                }
            }
            v => apply(resource, &single(name, v), rules)?,
        }
    }
    Ok(())
}

/// The object holding the path's attribute: the resource, or its extension object
/// (created, and listed in `schemas`, when `create`).
fn container<'r>(
    resource: &'r mut Value,
    path: &AttrPath,
    create: bool,
) -> Option<&'r mut Map<String, Value>> {
    let root = resource.as_object_mut()?;
    let Some(urn) = &path.urn else {
        return Some(root);
    };
    let key = match key_ci(root, urn) {
        Some(k) => k,
        None if create => {
            if let Some(Value::Array(schemas)) = root.get_mut("schemas") {
                schemas.push(json!(urn));
            }
            urn.clone()
        }
        None => return None,
    };
    let slot = root.entry(key).or_insert_with(|| json!({}));
    if !slot.is_object() {
        *slot = json!({});
    }
    slot.as_object_mut()
}

/// Whether two elements of a multi-valued attribute are the same: equal `value`s, or
/// equal as a whole.
fn same(a: &Value, b: &Value) -> bool {
    match (a.get("value"), b.get("value")) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

/// The value as a list of elements (a lone object is one element).
fn elements(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Sets `sub` on every element of `items` the filter selects; `false` when none is.
fn set_in_matching(items: &mut [Value], path: &AttrPath, value: &Value) -> bool {
    let mut hit = false;
    for item in items
        .iter_mut()
        .filter(|i| path.filter.as_ref().is_some_and(|f| f.matches(i)))
    {
        hit = true;
        match (&path.sub, item.as_object_mut(), value) {
            (Some(sub), Some(o), v) => {
                let key = key_ci(o, sub).unwrap_or_else(|| sub.clone());
                o.insert(key, v.clone());
            }
            (None, Some(o), Value::Object(v)) => o.extend(v.clone()),
            (None, _, v) => *item = v.clone(),
            (Some(_), None, _) => {}
        }
    }
    hit
}

fn add(resource: &mut Value, path: &AttrPath, value: Value) -> Result<(), ScimError> {
    if path.filter.is_some() {
        if path.sub.is_none() {
            return Err(invalid_path(
                "add cannot take a value filter without a sub-attribute",
            ));
        }
        return replace(resource, path, value);
    }
    let object = container(resource, path, true).ok_or_else(|| invalid_path("not an object"))?;
    let key = key_ci(object, &path.attr).unwrap_or_else(|| path.attr.clone());
    let slot = object.entry(key).or_insert(Value::Null);
    if let Some(sub) = &path.sub {
        if !slot.is_object() {
            if slot.is_array() {
                return Err(invalid_path(
                    "a sub-attribute of a multi-valued attribute needs a filter",
                ));
            }
            *slot = json!({});
        }
        slot[sub.as_str()] = value;
        return Ok(());
    }
    match (&mut *slot, value) {
        (Value::Array(items), value) => {
            for v in elements(value) {
                if !items.iter().any(|i| same(i, &v)) {
                    items.push(v);
                }
            }
        }
        (Value::Object(o), Value::Object(v)) => o.extend(v),
        (slot, Value::Array(v)) => {
            let mut items: Vec<Value> = Vec::new();
            for e in v {
                if !items.iter().any(|i| same(i, &e)) {
                    items.push(e);
                }
            }
            *slot = Value::Array(items);
        }
        (slot, v) => *slot = v,
    }
    Ok(())
}

fn replace(resource: &mut Value, path: &AttrPath, value: Value) -> Result<(), ScimError> {
    let object = container(resource, path, true).ok_or_else(|| invalid_path("not an object"))?;
    let key = key_ci(object, &path.attr).unwrap_or_else(|| path.attr.clone());
    if path.filter.is_some() {
        let hit = match object.get_mut(&key) {
            Some(Value::Array(items)) => set_in_matching(items, path, &value),
            _ => false,
        };
        if !hit {
            return Err(scim_error(
                400,
                Some("noTarget"),
                "the filter matches no value",
            ));
        }
        return Ok(());
    }
    match &path.sub {
        Some(sub) => {
            let slot = object.entry(key).or_insert_with(|| json!({}));
            if !slot.is_object() {
                return Err(invalid_path(
                    "a sub-attribute of a multi-valued attribute needs a filter",
                ));
            }
            slot[sub.as_str()] = value;
        }
        None if value.is_null() => {
            object.remove(&key);
        }
        None => {
            object.insert(key, value);
        }
    }
    Ok(())
}

fn remove(
    resource: &mut Value,
    path: &AttrPath,
    value: Option<&Value>,
    strict: bool,
) -> Result<(), ScimError> {
    let Some(object) = container(resource, path, false) else {
        return Ok(());
    };
    let Some(key) = key_ci(object, &path.attr) else {
        return Ok(());
    };
    let Some(slot) = object.get_mut(&key) else {
        return Ok(());
    };
    let unset = match (slot, &path.filter, &path.sub, value) {
        (Value::Array(items), Some(filter), sub, _) => {
            match sub {
                Some(sub) => items
                    .iter_mut()
                    .filter(|i| filter.matches(i))
                    .for_each(|i| drop_sub(i, sub)),
                None => items.retain(|i| !filter.matches(i)),
            }
            false
        }
        (Value::Array(_), None, None, Some(_)) if strict => {
            return Err(invalid_value(
                "remove takes no value: select the values with a filter",
            ));
        }
        (Value::Array(items), None, None, Some(v)) => {
            let gone = elements(v.clone());
            items.retain(|i| !gone.iter().any(|g| same(i, g)));
            false
        }
        (Value::Array(items), None, Some(sub), _) => {
            items.iter_mut().for_each(|i| drop_sub(i, sub));
            false
        }
        (item @ Value::Object(_), None, Some(sub), _) => {
            drop_sub(item, sub);
            false
        }
        (_, Some(_), _, _) => false,
        _ => true,
    };
    if unset {
        object.remove(&key);
    }
    Ok(())
}

/// Removes sub-attribute `sub` of `item`.
fn drop_sub(item: &mut Value, sub: &str) {
    if let Some(o) = item.as_object_mut() {
        o.retain(|k, _| !k.eq_ignore_ascii_case(sub));
    }
}
