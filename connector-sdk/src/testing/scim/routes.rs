//! Which route a request is, authentication, and the writes: create, PATCH, PUT, DELETE.

use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde_json::Value;
use wiremock::{Request, ResponseTemplate};

use super::ScimTenant;
use super::answer::{error_answer, invalid_value, not_found, scim_answer, scim_error};
use super::hooks::{ResourceKind, TenantHooks};
use super::patch::{Rules, apply};
use super::shape::{PatchAnswer, TenantAuth};
use crate::scim::{Group, Meta, PATCH_OP, PatchOp, ScimError, User};
use crate::testing::oauth;
use crate::time::format_rfc3339;

/// A SCIM route: a resource type, and the id when the path names one.
struct Route {
    kind: ResourceKind,
    id: Option<String>,
}

/// One path segment, percent-decoded.
fn decode(segment: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", segment.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| segment.to_string())
}

/// A request body as JSON; a 400 `invalidSyntax` when it is not.
fn json_body(req: &Request) -> Result<Value, ScimError> {
    serde_json::from_slice(&req.body).map_err(|_| {
        scim_error(
            400,
            Some("invalidSyntax"),
            "Request is unparsable, syntactically incorrect, or violates schema",
        )
    })
}

/// `value` read as a `T`; a 400 `invalidValue` naming what is wrong when it is not.
fn read_as<T: DeserializeOwned>(value: Value, kind: ResourceKind) -> Result<T, ScimError> {
    serde_json::from_value(value)
        .map_err(|e| invalid_value(&format!("not a valid {}: {e}", kind.singular())))
}

fn now() -> String {
    format_rfc3339(SystemTime::now())
}

impl ScimTenant {
    /// The route name and the answer of `req`.
    pub(super) fn route(
        &mut self,
        req: &Request,
        hooks: &mut dyn TenantHooks,
    ) -> (String, ResponseTemplate) {
        let path = req.url.path();
        if let TenantAuth::ClientCredentials { token_path, .. } = &self.shape.auth
            && path == token_path
        {
            return ("token".into(), self.issue_token(req));
        }
        if let Err(e) = self.authenticate(req) {
            return (
                "unauthenticated".into(),
                error_answer(&e).insert_header("www-authenticate", "Bearer"),
            );
        }
        let Some(route) = self.parse_route(path) else {
            return (
                "other".into(),
                error_answer(&scim_error(404, None, "Not found")),
            );
        };
        let method = req.method.as_str();
        let name = match route.id {
            Some(_) => format!("{method} {}", route.kind.singular()),
            None => format!("{method} {}", route.kind.endpoint()),
        };
        let answer = match (method, route.id) {
            ("GET", None) => self.list(route.kind, req),
            ("GET", Some(id)) => self.get(route.kind, &id, req),
            ("POST", None) => self.create(route.kind, req, hooks),
            ("PATCH", Some(id)) => self.patch(route.kind, &id, req, hooks),
            ("PUT", Some(id)) => self.put(route.kind, &id, req),
            ("DELETE", Some(id)) => self.delete(route.kind, &id),
            _ => Err(scim_error(
                405,
                None,
                &format!("{method} is not allowed here"),
            )),
        };
        (name, answer.unwrap_or_else(|e| error_answer(&e)))
    }

    /// The SCIM route of `path`, when it is one this tenant serves.
    fn parse_route(&self, path: &str) -> Option<Route> {
        let rest = path.strip_prefix(self.shape.base_path.as_str())?;
        let segments: Vec<&str> = rest.strip_prefix('/')?.split('/').collect();
        let kind = match segments[0] {
            "Users" => ResourceKind::User,
            "Groups" if self.shape.groups_endpoint => ResourceKind::Group,
            _ => return None,
        };
        match segments.as_slice() {
            [_] | [_, ""] => Some(Route { kind, id: None }),
            [_, id] => Some(Route {
                kind,
                id: Some(decode(id)),
            }),
            _ => None,
        }
    }

    /// Checks the request's credentials against the shape's.
    fn authenticate(&self, req: &Request) -> Result<(), ScimError> {
        let ok = match &self.shape.auth {
            TenantAuth::None => true,
            TenantAuth::Bearer(token) => oauth::bearer(req) == Some(token.as_str()),
            TenantAuth::ClientCredentials { .. } => self.tokens.authorized(req),
        };
        if ok {
            Ok(())
        } else {
            Err(scim_error(401, None, "Unauthorized"))
        }
    }

    /// Answers the client-credentials token endpoint.
    fn issue_token(&mut self, req: &Request) -> ResponseTemplate {
        let TenantAuth::ClientCredentials {
            client_id,
            client_secret,
            ..
        } = &self.shape.auth
        else {
            return oauth::error(400, "invalid_request", "no token endpoint");
        };
        // The shape is public: its credentials may have changed since the last token.
        self.tokens.set_client(client_id, client_secret);
        self.tokens.issue(req)
    }

    /// A new id: UUID-shaped, counting up.
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        format!("5c1a0000-0000-4000-8000-{:012x}", self.next_id)
    }

    pub(super) fn position(&self, kind: ResourceKind, id: &str) -> Option<usize> {
        match kind {
            ResourceKind::User => self.users.iter().position(|u| u.id == id),
            ResourceKind::Group => self.groups.iter().position(|g| g.id == id),
        }
    }

    /// Refuses a `userName` (or group `displayName`) another resource has.
    fn check_unique(&self, kind: ResourceKind, name: &str, except: &str) -> Result<(), ScimError> {
        let taken = match kind {
            ResourceKind::User => self
                .users
                .iter()
                .any(|u| u.id != except && u.user_name.eq_ignore_ascii_case(name)),
            ResourceKind::Group => self
                .groups
                .iter()
                .any(|g| g.id != except && g.display_name.eq_ignore_ascii_case(name)),
        };
        if taken {
            let attr = if kind == ResourceKind::User {
                "userName"
            } else {
                "displayName"
            };
            return Err(scim_error(
                409,
                Some("uniqueness"),
                &format!("{attr} {name:?} is already taken"),
            ));
        }
        Ok(())
    }

    /// Sets `type` on members that have none: `Group` for a group's id, else `User`.
    fn type_members(&self, group: &mut Group) {
        for m in group.members.iter_mut().filter(|m| m.kind.is_none()) {
            let is_group = self.groups.iter().any(|g| g.id == m.value);
            m.kind = Some(if is_group { "Group" } else { "User" }.into());
        }
    }

    fn create(
        &mut self,
        kind: ResourceKind,
        req: &Request,
        hooks: &mut dyn TenantHooks,
    ) -> Result<ResponseTemplate, ScimError> {
        let body = json_body(req)?;
        if !body.is_object() {
            return Err(invalid_value("the body must be an object"));
        }
        hooks.check_create(kind, &body)?;
        let created = Some(Meta {
            created: Some(now()),
            last_modified: Some(now()),
            ..Meta::default()
        });
        let id = match kind {
            ResourceKind::User => {
                let mut user: User = read_as(body, kind)?;
                if user.user_name.trim().is_empty() {
                    return Err(invalid_value("userName is required"));
                }
                self.check_unique(kind, &user.user_name, "")?;
                user.id = self.new_id();
                (user.password, user.groups, user.meta) = (None, Vec::new(), created);
                user.active.get_or_insert(true);
                hooks.new_user(&mut user);
                self.users.push(user);
                self.users[self.users.len() - 1].id.clone()
            }
            ResourceKind::Group => {
                let mut group: Group = read_as(body, kind)?;
                if group.display_name.trim().is_empty() {
                    return Err(invalid_value("displayName is required"));
                }
                self.check_unique(kind, &group.display_name, "")?;
                (group.id, group.meta) = (self.new_id(), created);
                self.type_members(&mut group);
                self.groups.push(group);
                self.groups[self.groups.len() - 1].id.clone()
            }
        };
        let served = self.served_one(kind, &id, req);
        let mut answer = scim_answer(201, &served);
        if let Some(location) = served["meta"]["location"].as_str() {
            answer = answer.insert_header("location", location);
        }
        Ok(answer)
    }

    fn patch(
        &mut self,
        kind: ResourceKind,
        id: &str,
        req: &Request,
        hooks: &mut dyn TenantHooks,
    ) -> Result<ResponseTemplate, ScimError> {
        let mut body = json_body(req)?;
        let has_schema = body["schemas"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x == PATCH_OP));
        if !has_schema {
            return Err(scim_error(
                400,
                Some("invalidSyntax"),
                &format!("schemas must hold {PATCH_OP}"),
            ));
        }
        // Operation names in any case, as Azure AD and others send them (`Replace`).
        for op in body["Operations"].as_array_mut().into_iter().flatten() {
            if let Some(name) = op["op"].as_str() {
                op["op"] = Value::String(name.to_ascii_lowercase());
            }
        }
        let message: PatchOp = serde_json::from_value(body)
            .map_err(|e| scim_error(400, Some("invalidSyntax"), &format!("not a PatchOp: {e}")))?;
        let index = self.position(kind, id).ok_or_else(|| not_found(id))?;
        let mut resource = match kind {
            ResourceKind::User => serde_json::to_value(&self.users[index]),
            ResourceKind::Group => serde_json::to_value(&self.groups[index]),
        }
        .unwrap_or_default();
        let read_only: &[&str] = match kind {
            ResourceKind::User => &["id", "meta", "groups"],
            ResourceKind::Group => &["id", "meta"],
        };
        let rules = Rules {
            read_only,
            strict_remove: self.shape.strict_remove,
        };
        for op in message.operations() {
            let mut op = op.clone();
            hooks.check_patch(kind, &mut op)?;
            apply(&mut resource, &op, rules)?;
        }
        self.store(kind, index, resource)?;
        if self.shape.patch == PatchAnswer::NoContent {
            return Ok(ResponseTemplate::new(204));
        }
        let served = self.served_one(kind, id, req);
        Ok(scim_answer(200, &served))
    }

    /// Replaces resource `index` with `resource` (JSON), keeping its id and `meta`
    /// (`lastModified` now) and dropping what a server never stores.
    fn store(
        &mut self,
        kind: ResourceKind,
        index: usize,
        resource: Value,
    ) -> Result<(), ScimError> {
        let touch = |meta: &mut Option<Meta>, old: &Option<Meta>| {
            *meta = old.clone();
            if let Some(m) = meta.as_mut() {
                m.last_modified = Some(now());
            }
        };
        match kind {
            ResourceKind::User => {
                let mut user: User = read_as(resource, kind)?;
                let old = &self.users[index];
                self.check_unique(kind, &user.user_name, &old.id)?;
                user.id = old.id.clone();
                touch(&mut user.meta, &old.meta);
                (user.password, user.groups) = (None, old.groups.clone());
                self.users[index] = user;
            }
            ResourceKind::Group => {
                let mut group: Group = read_as(resource, kind)?;
                let old = &self.groups[index];
                group.id = old.id.clone();
                touch(&mut group.meta, &old.meta);
                self.type_members(&mut group);
                self.groups[index] = group;
            }
        }
        Ok(())
    }

    fn put(
        &mut self,
        kind: ResourceKind,
        id: &str,
        req: &Request,
    ) -> Result<ResponseTemplate, ScimError> {
        let body = json_body(req)?;
        let index = self.position(kind, id).ok_or_else(|| not_found(id))?;
        self.store(kind, index, body)?;
        let served = self.served_one(kind, id, req);
        Ok(scim_answer(200, &served))
    }

    fn delete(&mut self, kind: ResourceKind, id: &str) -> Result<ResponseTemplate, ScimError> {
        let index = self.position(kind, id).ok_or_else(|| not_found(id))?;
        match kind {
            ResourceKind::User => {
                self.users.remove(index);
            }
            ResourceKind::Group => {
                self.groups.remove(index);
            }
        }
        for g in &mut self.groups {
            g.members.retain(|m| m.value != id);
        }
        Ok(ResponseTemplate::new(204))
    }
}
