//! What changed in a resource between two syncs, field by field (status, profile, display
//! name…), for [`DiffReport`](super::DiffReport) and the explorer.

use std::collections::{BTreeMap, BTreeSet};

use prost::Message;
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::c1z::sql_error;
use super::{convert, proto};
use crate::error::{Error, Result};
use crate::model::Resource;

/// One field of a resource that differs between two syncs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The field, as a dotted path of the resource's JSON form: `display_name`,
    /// `user.status`, `user.profile.department`… (arrays are compared whole).
    pub field: String,
    /// Its value in the older sync (`null` when absent).
    pub before: Value,
    /// Its value in the newer sync (`null` when absent).
    pub after: Value,
}

/// A resource in both syncs whose stored record differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceChange {
    /// The resource's id, `type:id`.
    pub id: String,
    /// Its display name in the newer sync.
    pub display_name: String,
    /// The fields that differ (empty when only something the model does not show
    /// changed, such as an annotation).
    pub fields: Vec<FieldChange>,
}

/// Flattens nested objects into `a.b.c` keys (arrays stay whole).
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.clone());
        }
    }
}

/// The fields that differ between two versions of a resource, sorted by field.
///
/// ```
/// use connector_sdk::model::{Resource, ResourceType, TraitKind, UserStatus, UserTrait};
/// use connector_sdk::store::field_changes;
/// let rt = ResourceType::new("user", "User").with_trait(TraitKind::User);
/// let before = Resource::new(&rt, "u1", "Ada").with_user_trait(UserTrait::default());
/// let after = Resource::new(&rt, "u1", "Ada L.")
///     .with_user_trait(UserTrait::default().with_status(UserStatus::Disabled));
/// let fields: Vec<String> = field_changes(&before, &after).into_iter().map(|c| c.field).collect();
/// assert_eq!(fields, ["display_name", "user.status"]);
/// ```
pub fn field_changes(before: &Resource, after: &Resource) -> Vec<FieldChange> {
    let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
    flatten(
        "",
        &serde_json::to_value(before).unwrap_or_default(),
        &mut a,
    );
    flatten("", &serde_json::to_value(after).unwrap_or_default(), &mut b);
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| FieldChange {
            field: k.clone(),
            before: a.get(k).cloned().unwrap_or(Value::Null),
            after: b.get(k).cloned().unwrap_or(Value::Null),
        })
        .collect()
}

fn decode(data: &[u8]) -> Result<Resource> {
    let p = proto::Resource::decode(data).map_err(|e| {
        Error::internal(format!(
            "a stored resource is not a valid protobuf message: {e}"
        ))
    })?;
    convert::resource_from_proto(&p)
}

/// The resources in both syncs whose stored record differs from sync `from` to sync
/// `to`, by id.
pub(crate) fn changed_resources(
    conn: &Connection,
    from: &str,
    to: &str,
) -> Result<Vec<ResourceChange>> {
    let mut stmt = conn
        .prepare(
            "SELECT b.external_id, a.data, b.data FROM v1_resources b JOIN v1_resources a
               ON a.external_id = b.external_id AND a.sync_id = ?1
             WHERE b.sync_id = ?2 AND a.data != b.data ORDER BY b.external_id",
        )
        .map_err(sql_error)?;
    let rows = stmt
        .query_map(params![from, to], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .map_err(sql_error)?;
    let mut out = Vec::new();
    for row in rows {
        let (id, before, after) = row.map_err(sql_error)?;
        let (before, after) = (decode(&before)?, decode(&after)?);
        out.push(ResourceChange {
            id,
            fields: field_changes(&before, &after),
            display_name: after.display_name,
        });
    }
    Ok(out)
}
