//! Conversions between the SDK's model and the stored protobuf messages.
//!
//! Writing follows upstream's builders: trait annotations on resources, the deprecated
//! trait-level `profile`/`status`/`created_at` *and* the resource-level copies, the full
//! resource embedded in each entitlement, and `{id, resource.id}` plus `principal.id` in
//! each grant. Reading accepts what upstream writes, including files whose grants still
//! carry `GrantExpandable` in the blob.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};
use crate::model::{
    AccountType, AppTrait, Email, Entitlement, Expandable, Grant, GroupTrait, Profile, Purpose,
    Resource, ResourceId, ResourceType, RoleTrait, SecretTrait, StructuredName, TraitKind,
    UserStatus, UserTrait,
};

use super::proto::{
    self, Annotation, account_type_value, purpose_value, status_value, trait_value,
};

/// JSON object → `google.protobuf.Struct` (keys sorted).
pub fn struct_from_profile(profile: &Profile) -> proto::Struct {
    proto::Struct {
        fields: profile
            .iter()
            .map(|(k, v)| (k.clone(), value_from_json(v)))
            .collect(),
    }
}

fn value_from_json(v: &serde_json::Value) -> proto::Value {
    use prost_types::value::Kind;
    use serde_json::Value as J;
    let kind = match v {
        J::Null => Kind::NullValue(0),
        J::Bool(b) => Kind::BoolValue(*b),
        J::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        J::String(s) => Kind::StringValue(s.clone()),
        J::Array(a) => Kind::ListValue(proto::ListValue {
            values: a.iter().map(value_from_json).collect(),
        }),
        J::Object(o) => Kind::StructValue(struct_from_profile(o)),
    };
    proto::Value { kind: Some(kind) }
}

/// `google.protobuf.Struct` → JSON object; integral numbers come back as integers.
pub fn profile_from_struct(s: &proto::Struct) -> Profile {
    s.fields
        .iter()
        .map(|(k, v)| (k.clone(), json_from_value(v)))
        .collect()
}

fn json_from_value(v: &proto::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    use serde_json::Value as J;
    match &v.kind {
        None | Some(Kind::NullValue(_)) => J::Null,
        Some(Kind::BoolValue(b)) => J::Bool(*b),
        Some(Kind::NumberValue(n)) => {
            if n.fract() == 0.0 && n.abs() < 9.007_199_254_740_992e15 {
                J::from(*n as i64)
            } else {
                serde_json::Number::from_f64(*n).map_or(J::Null, J::Number)
            }
        }
        Some(Kind::StringValue(s)) => J::String(s.clone()),
        Some(Kind::ListValue(l)) => J::Array(l.values.iter().map(json_from_value).collect()),
        Some(Kind::StructValue(s)) => J::Object(profile_from_struct(s)),
    }
}

fn opt_struct(profile: &Profile) -> Option<proto::Struct> {
    (!profile.is_empty()).then(|| struct_from_profile(profile))
}

fn profile_of(s: &Option<proto::Struct>) -> Profile {
    s.as_ref().map(profile_from_struct).unwrap_or_default()
}

/// `SystemTime` → `Timestamp`.
pub fn timestamp(t: SystemTime) -> proto::Timestamp {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => proto::Timestamp {
            seconds: d.as_secs() as i64,
            nanos: d.subsec_nanos() as i32,
        },
        Err(e) => {
            let d = e.duration();
            let mut seconds = -(d.as_secs() as i64);
            let mut nanos = d.subsec_nanos() as i32;
            if nanos > 0 {
                seconds -= 1;
                nanos = 1_000_000_000 - nanos;
            }
            proto::Timestamp { seconds, nanos }
        }
    }
}

/// `Timestamp` → `SystemTime`.
pub fn system_time(t: &proto::Timestamp) -> SystemTime {
    let nanos = t.nanos.clamp(0, 999_999_999) as u32;
    if t.seconds >= 0 {
        UNIX_EPOCH + Duration::new(t.seconds as u64, nanos)
    } else {
        UNIX_EPOCH - Duration::from_secs(t.seconds.unsigned_abs())
            + Duration::from_nanos(nanos as u64)
    }
}

fn trait_to_i32(t: TraitKind) -> i32 {
    match t {
        TraitKind::User => trait_value::USER,
        TraitKind::Group => trait_value::GROUP,
        TraitKind::Role => trait_value::ROLE,
        TraitKind::App => trait_value::APP,
        TraitKind::Secret => trait_value::SECRET,
    }
}

fn trait_from_i32(v: i32) -> Option<TraitKind> {
    Some(match v {
        trait_value::USER => TraitKind::User,
        trait_value::GROUP => TraitKind::Group,
        trait_value::ROLE => TraitKind::Role,
        trait_value::APP => TraitKind::App,
        trait_value::SECRET => TraitKind::Secret,
        _ => return None,
    })
}

fn status_to_i32(s: UserStatus) -> i32 {
    match s {
        UserStatus::Unspecified => status_value::UNSPECIFIED,
        UserStatus::Enabled => status_value::ENABLED,
        UserStatus::Disabled => status_value::DISABLED,
        UserStatus::Deleted => status_value::DELETED,
    }
}

fn status_from_i32(v: i32) -> UserStatus {
    match v {
        status_value::ENABLED => UserStatus::Enabled,
        status_value::DISABLED => UserStatus::Disabled,
        status_value::DELETED => UserStatus::Deleted,
        _ => UserStatus::Unspecified,
    }
}

fn account_type_to_i32(a: AccountType) -> i32 {
    match a {
        AccountType::Unspecified => account_type_value::UNSPECIFIED,
        AccountType::Human => account_type_value::HUMAN,
        AccountType::Service => account_type_value::SERVICE,
        AccountType::System => account_type_value::SYSTEM,
    }
}

fn account_type_from_i32(v: i32) -> AccountType {
    match v {
        account_type_value::HUMAN => AccountType::Human,
        account_type_value::SERVICE => AccountType::Service,
        account_type_value::SYSTEM => AccountType::System,
        _ => AccountType::Unspecified,
    }
}

fn purpose_to_i32(p: Purpose) -> i32 {
    match p {
        Purpose::Unspecified => purpose_value::UNSPECIFIED,
        Purpose::Assignment => purpose_value::ASSIGNMENT,
        Purpose::Permission => purpose_value::PERMISSION,
        Purpose::Ownership => purpose_value::OWNERSHIP,
    }
}

fn purpose_from_i32(v: i32) -> Purpose {
    match v {
        purpose_value::ASSIGNMENT => Purpose::Assignment,
        purpose_value::PERMISSION => Purpose::Permission,
        purpose_value::OWNERSHIP => Purpose::Ownership,
        _ => Purpose::Unspecified,
    }
}

/// Model id → proto id.
pub fn resource_id_to_proto(id: &ResourceId) -> proto::ResourceId {
    proto::ResourceId {
        resource_type: id.resource_type.clone(),
        resource: id.resource.clone(),
        baton_resource: false,
    }
}

fn resource_id_from_proto(id: &proto::ResourceId) -> ResourceId {
    ResourceId::new(&id.resource_type, &id.resource)
}

/// Model resource type → proto.
pub fn resource_type_to_proto(rt: &ResourceType) -> proto::ResourceType {
    let mut annotations = Vec::new();
    if rt.skip_entitlements_and_grants {
        annotations.push(proto::SkipEntitlementsAndGrants {}.to_any());
    }
    proto::ResourceType {
        id: rt.id.clone(),
        display_name: rt.display_name.clone(),
        traits: rt.traits.iter().map(|t| trait_to_i32(*t)).collect(),
        annotations,
        description: rt.description.clone(),
        sourced_externally: false,
    }
}

/// Proto resource type → model.
pub fn resource_type_from_proto(rt: &proto::ResourceType) -> ResourceType {
    ResourceType {
        id: rt.id.clone(),
        display_name: rt.display_name.clone(),
        traits: rt
            .traits
            .iter()
            .filter_map(|t| trait_from_i32(*t))
            .collect(),
        description: rt.description.clone(),
        skip_entitlements_and_grants: proto::find::<proto::SkipEntitlementsAndGrants>(
            &rt.annotations,
        )
        .is_some(),
    }
}

fn user_trait_to_proto(u: &UserTrait) -> proto::UserTrait {
    proto::UserTrait {
        emails: u
            .emails
            .iter()
            .map(|e| proto::UserEmail {
                address: e.address.clone(),
                is_primary: e.primary,
            })
            .collect(),
        status: Some(proto::UserStatus {
            status: status_to_i32(u.status),
            details: u.status_details.clone(),
        }),
        profile: opt_struct(&u.profile),
        account_type: account_type_to_i32(u.account_type),
        login: u.login.clone(),
        login_aliases: u.login_aliases.clone(),
        created_at: u.created_at.map(timestamp),
        last_login: u.last_login.map(timestamp),
        structured_name: u.name.as_ref().map(|n| proto::StructuredName {
            given_name: n.given_name.clone(),
            family_name: n.family_name.clone(),
            middle_names: n.middle_names.clone(),
            ..Default::default()
        }),
        employee_ids: u.employee_ids.clone(),
    }
}

fn user_trait_from_proto(u: &proto::UserTrait) -> UserTrait {
    let status = u.status.clone().unwrap_or_default();
    UserTrait {
        emails: u
            .emails
            .iter()
            .map(|e| Email {
                address: e.address.clone(),
                primary: e.is_primary,
            })
            .collect(),
        login: u.login.clone(),
        login_aliases: u.login_aliases.clone(),
        status: status_from_i32(status.status),
        status_details: status.details,
        account_type: account_type_from_i32(u.account_type),
        name: u.structured_name.as_ref().map(|n| StructuredName {
            given_name: n.given_name.clone(),
            family_name: n.family_name.clone(),
            middle_names: n.middle_names.clone(),
        }),
        employee_ids: u.employee_ids.clone(),
        profile: profile_of(&u.profile),
        created_at: u.created_at.as_ref().map(system_time),
        last_login: u.last_login.as_ref().map(system_time),
    }
}

/// Model resource → proto, with trait annotations and upstream's resource-level copies.
pub fn resource_to_proto(r: &Resource) -> proto::Resource {
    let mut annotations = Vec::new();
    let mut profile = None;
    let mut status = None;
    let mut created_at = None;
    if let Some(u) = &r.user {
        annotations.push(user_trait_to_proto(u).to_any());
        profile = opt_struct(&u.profile);
        status = Some(proto::Status {
            status: status_to_i32(u.status),
            details: u.status_details.clone(),
        });
        created_at = u.created_at.map(timestamp);
    }
    if let Some(g) = &r.group {
        let p = opt_struct(&g.profile);
        profile = profile.or(p.clone());
        annotations.push(proto::GroupTrait { profile: p }.to_any());
    }
    if let Some(role) = &r.role {
        let p = opt_struct(&role.profile);
        profile = profile.or(p.clone());
        annotations.push(proto::RoleTrait { profile: p }.to_any());
    }
    if let Some(app) = &r.app {
        let p = opt_struct(&app.profile);
        profile = profile.or(p.clone());
        annotations.push(
            proto::AppTrait {
                help_url: app.help_url.clone(),
                profile: p,
                flags: Vec::new(),
            }
            .to_any(),
        );
    }
    if let Some(secret) = &r.secret {
        let p = opt_struct(&secret.profile);
        profile = profile.or(p.clone());
        created_at = created_at.or(secret.created_at.map(timestamp));
        annotations.push(
            proto::SecretTrait {
                profile: p,
                created_at: secret.created_at.map(timestamp),
                expires_at: secret.expires_at.map(timestamp),
                identity_id: secret.identity.as_ref().map(resource_id_to_proto),
                ..Default::default()
            }
            .to_any(),
        );
    }
    for child in &r.child_types {
        annotations.push(
            proto::ChildResourceType {
                resource_type_id: child.clone(),
            }
            .to_any(),
        );
    }
    if let Some(url) = &r.external_link {
        annotations.push(proto::ExternalLink { url: url.clone() }.to_any());
    }
    proto::Resource {
        id: Some(resource_id_to_proto(&r.id)),
        parent_resource_id: r.parent.as_ref().map(resource_id_to_proto),
        display_name: r.display_name.clone(),
        annotations,
        description: r.description.clone(),
        baton_resource: false,
        profile,
        status,
        created_at,
    }
}

/// Proto resource → model. Fails when the id is missing.
pub fn resource_from_proto(r: &proto::Resource) -> Result<Resource> {
    let id =
        r.id.as_ref()
            .ok_or_else(|| Error::internal("stored resource has no id"))?;
    let a = &r.annotations;
    Ok(Resource {
        id: resource_id_from_proto(id),
        parent: r.parent_resource_id.as_ref().map(resource_id_from_proto),
        display_name: r.display_name.clone(),
        description: r.description.clone(),
        user: proto::find::<proto::UserTrait>(a).map(|u| user_trait_from_proto(&u)),
        group: proto::find::<proto::GroupTrait>(a).map(|g| GroupTrait {
            profile: profile_of(&g.profile),
        }),
        role: proto::find::<proto::RoleTrait>(a).map(|g| RoleTrait {
            profile: profile_of(&g.profile),
        }),
        app: proto::find::<proto::AppTrait>(a).map(|g| AppTrait {
            help_url: g.help_url,
            profile: profile_of(&g.profile),
        }),
        secret: proto::find::<proto::SecretTrait>(a).map(|s| SecretTrait {
            profile: profile_of(&s.profile),
            created_at: s.created_at.as_ref().map(system_time),
            expires_at: s.expires_at.as_ref().map(system_time),
            identity: s.identity_id.as_ref().map(resource_id_from_proto),
        }),
        child_types: proto::find_all::<proto::ChildResourceType>(a)
            .into_iter()
            .map(|c| c.resource_type_id)
            .collect(),
        external_link: proto::find::<proto::ExternalLink>(a).map(|l| l.url),
    })
}

/// Model entitlement → proto, embedding the full `resource` when given (as upstream's
/// connectors do) and full resource types for `grantable_to` when known.
pub fn entitlement_to_proto(
    e: &Entitlement,
    resource: Option<&Resource>,
    types: &BTreeMap<String, ResourceType>,
) -> proto::Entitlement {
    let resource = match resource {
        Some(r) if r.id == *e.resource() => resource_to_proto(r),
        _ => proto::Resource {
            id: Some(resource_id_to_proto(e.resource())),
            ..Default::default()
        },
    };
    let mut annotations = Vec::new();
    if e.immutable {
        annotations.push(proto::EntitlementImmutable::default().to_any());
    }
    proto::Entitlement {
        resource: Some(resource),
        id: e.id().to_string(),
        display_name: e.display_name.clone(),
        description: e.description.clone(),
        grantable_to: e
            .grantable_to
            .iter()
            .map(|t| match types.get(t) {
                Some(rt) => resource_type_to_proto(rt),
                None => proto::ResourceType {
                    id: t.clone(),
                    ..Default::default()
                },
            })
            .collect(),
        annotations,
        purpose: purpose_to_i32(e.purpose),
        slug: e.slug().to_string(),
    }
}

/// Proto entitlement → model. Fails when the id or the resource id is missing.
pub fn entitlement_from_proto(e: &proto::Entitlement) -> Result<Entitlement> {
    let rid = e
        .resource
        .as_ref()
        .and_then(|r| r.id.as_ref())
        .ok_or_else(|| {
            Error::internal(format!("stored entitlement {:?} has no resource id", e.id))
        })?;
    if e.id.is_empty() {
        return Err(Error::internal("stored entitlement has an empty id"));
    }
    let mut out = Entitlement::from_parts(&e.id, resource_id_from_proto(rid), &e.slug)
        .with_display_name(&e.display_name)
        .with_description(&e.description)
        .grantable_to(e.grantable_to.iter().map(|t| t.id.clone()));
    out.purpose = purpose_from_i32(e.purpose);
    out.immutable = proto::find::<proto::EntitlementImmutable>(&e.annotations).is_some();
    Ok(out)
}

/// Model grant → proto (without the `GrantExpandable`, which goes to the `expansion` column)
/// and the encoded `expansion` column value.
pub fn grant_to_proto(g: &Grant) -> (proto::Grant, Option<Vec<u8>>) {
    use prost::Message;
    let mut annotations = Vec::new();
    if g.immutable {
        annotations.push(proto::GrantImmutable::default().to_any());
    }
    if !g.metadata.is_empty() {
        annotations.push(
            proto::GrantMetadata {
                metadata: opt_struct(&g.metadata),
            }
            .to_any(),
        );
    }
    let expansion = g.expandable.as_ref().and_then(|x| {
        x.entitlement_ids
            .iter()
            .any(|id| !id.trim().is_empty())
            .then(|| {
                proto::GrantExpandable {
                    entitlement_ids: x.entitlement_ids.clone(),
                    shallow: x.shallow,
                    resource_type_ids: x.resource_type_ids.clone(),
                }
                .encode_to_vec()
            })
    });
    let sources = (!g.sources.is_empty()).then(|| proto::GrantSources {
        sources: g
            .sources
            .iter()
            .map(|(k, d)| (k.clone(), proto::GrantSource { is_direct: *d }))
            .collect(),
    });
    let grant = proto::Grant {
        entitlement: Some(proto::Entitlement {
            id: g.entitlement_id().to_string(),
            resource: Some(proto::Resource {
                id: Some(resource_id_to_proto(g.entitlement_resource())),
                ..Default::default()
            }),
            ..Default::default()
        }),
        principal: Some(proto::Resource {
            id: Some(resource_id_to_proto(g.principal())),
            ..Default::default()
        }),
        id: g.id().to_string(),
        annotations,
        sources,
    };
    (grant, expansion)
}

/// Proto grant (plus its `expansion` column) → model. Rebuilds missing parts from `row`
/// (upstream's "slim" grants) and accepts `GrantExpandable` left inside the blob.
pub fn grant_from_proto(
    g: &proto::Grant,
    expansion: Option<&[u8]>,
    row: &GrantRow,
) -> Result<Grant> {
    use prost::Message;
    let ent_id = g
        .entitlement
        .as_ref()
        .map(|e| e.id.clone())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| row.entitlement_id.clone());
    let ent_resource = g
        .entitlement
        .as_ref()
        .and_then(|e| e.resource.as_ref())
        .and_then(|r| r.id.as_ref())
        .map(resource_id_from_proto)
        .unwrap_or_else(|| row.resource.clone());
    let principal = g
        .principal
        .as_ref()
        .and_then(|p| p.id.as_ref())
        .map(resource_id_from_proto)
        .unwrap_or_else(|| row.principal.clone());
    if g.id.is_empty() {
        return Err(Error::internal("stored grant has an empty id"));
    }
    let mut out = Grant::from_parts(&g.id, ent_id, ent_resource, principal);
    let expandable = match expansion {
        Some(bytes) => proto::GrantExpandable::decode(bytes).ok(),
        None => proto::find::<proto::GrantExpandable>(&g.annotations),
    };
    out.expandable = expandable.map(|x| Expandable {
        entitlement_ids: x.entitlement_ids,
        shallow: x.shallow,
        resource_type_ids: x.resource_type_ids,
    });
    out.immutable = proto::find::<proto::GrantImmutable>(&g.annotations).is_some();
    if let Some(m) = proto::find::<proto::GrantMetadata>(&g.annotations) {
        out.metadata = profile_of(&m.metadata);
    }
    if let Some(s) = &g.sources {
        out.sources = s
            .sources
            .iter()
            .map(|(k, v)| (k.clone(), v.is_direct))
            .collect();
    }
    Ok(out)
}

/// The index columns of a grant row, used to rebuild slim grants.
#[derive(Debug, Clone)]
pub struct GrantRow {
    /// `entitlement_id`.
    pub entitlement_id: String,
    /// `resource_type_id`, `resource_id`.
    pub resource: ResourceId,
    /// `principal_resource_type_id`, `principal_resource_id`.
    pub principal: ResourceId,
}

#[cfg(test)]
mod tests;
