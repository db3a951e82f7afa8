//! Reads: lists (filter, `startIndex`/`count` paging, `attributes`/`excludedAttributes`)
//! and reads by id, and a resource as served (computed `groups`, `meta.location`).

use std::collections::{HashMap, HashSet};

use serde_json::{Value, json};
use url::Url;
use wiremock::{Request, ResponseTemplate};

use super::ScimTenant;
use super::answer::{not_found, scim_answer};
use super::filter::Filter;
use super::hooks::ResourceKind;
use super::path::key_ci;
use super::shape::TotalResults;
use crate::scim::{LIST_RESPONSE, ScimError};
use crate::testing::request_base;

/// The query parameters of a read.
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn of(req: &Request) -> Self {
        Query {
            pairs: req
                .url
                .query_pairs()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// A number parameter; a negative one reads as 0, an unreadable one as absent.
    fn number(&self, key: &str) -> Option<usize> {
        let n: i64 = self.get(key)?.trim().parse().ok()?;
        Some(usize::try_from(n).unwrap_or(0))
    }

    fn names(&self, key: &str) -> Vec<String> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(|a| a.trim().to_string())
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Applies `attributes` (keep only these, and `id`, `schemas`, `meta`) and
    /// `excludedAttributes` (drop these; never `id`) to a served resource.
    fn project(&self, resource: &mut Value) {
        let Some(object) = resource.as_object_mut() else {
            return;
        };
        let top = |a: &String| {
            a.split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        let keep: Vec<String> = self.names("attributes").iter().map(top).collect();
        if !keep.is_empty() {
            object.retain(|k, _| {
                let k = k.to_ascii_lowercase();
                ["id", "schemas", "meta"].contains(&k.as_str())
                    || keep
                        .iter()
                        .any(|a| *a == k || k.starts_with("urn:") && a.starts_with(&k))
            });
        }
        for name in self.names("excludedAttributes").iter().map(top) {
            if name != "id"
                && let Some(k) = key_ci(object, &name)
            {
                object.remove(&k);
            }
        }
    }
}

impl ScimTenant {
    /// The groups of each user of `ids`, as a user's `groups` lists them.
    fn groups_by_user(&self, ids: &HashSet<&str>) -> HashMap<String, Vec<Value>> {
        let mut by_user: HashMap<String, Vec<Value>> = HashMap::new();
        for g in &self.groups {
            for m in g
                .members
                .iter()
                .filter(|m| m.is_user() && ids.contains(m.value.as_str()))
            {
                let list = by_user.entry(m.value.clone()).or_default();
                if !list.iter().any(|x| x["value"] == g.id.as_str()) {
                    list.push(json!({"value": g.id, "display": g.display_name, "type": "direct"}));
                }
            }
        }
        by_user
    }

    /// Resource `index` of `kind` as served, given the users' groups when computed.
    fn served(
        &self,
        kind: ResourceKind,
        index: usize,
        base: &Url,
        groups: &HashMap<String, Vec<Value>>,
    ) -> Value {
        let (id, value) = match kind {
            ResourceKind::User => (
                &self.users[index].id,
                serde_json::to_value(&self.users[index]),
            ),
            ResourceKind::Group => (
                &self.groups[index].id,
                serde_json::to_value(&self.groups[index]),
            ),
        };
        let mut value = value.unwrap_or_default();
        if kind == ResourceKind::User && self.shape.groups_on_user {
            match groups.get(id) {
                Some(list) => value["groups"] = Value::Array(list.clone()),
                None => drop(value.as_object_mut().map(|o| o.remove("groups"))),
            }
        }
        if self.shape.locations {
            let path = format!(
                "{}/{}/{}",
                self.shape.base_path.trim_start_matches('/'),
                kind.endpoint(),
                id
            );
            if let Ok(location) = base.join(&path) {
                if !value["meta"].is_object() {
                    value["meta"] = json!({});
                }
                value["meta"]["resourceType"] = json!(kind.singular());
                value["meta"]["location"] = json!(location.as_str());
            }
        }
        value
    }

    /// Resource `id` of `kind` as served to `req` (`Null` when there is none).
    pub(super) fn served_one(&self, kind: ResourceKind, id: &str, req: &Request) -> Value {
        let Some(index) = self.position(kind, id) else {
            return Value::Null;
        };
        let groups = match kind {
            ResourceKind::User if self.shape.groups_on_user => {
                self.groups_by_user(&HashSet::from([id]))
            }
            _ => HashMap::new(),
        };
        self.served(kind, index, &request_base(req), &groups)
    }

    fn len(&self, kind: ResourceKind) -> usize {
        match kind {
            ResourceKind::User => self.users.len(),
            ResourceKind::Group => self.groups.len(),
        }
    }

    fn id_at(&self, kind: ResourceKind, index: usize) -> &str {
        match kind {
            ResourceKind::User => &self.users[index].id,
            ResourceKind::Group => &self.groups[index].id,
        }
    }

    /// Serves resources `indexes` of `kind`.
    fn serve_all(&self, kind: ResourceKind, indexes: &[usize], base: &Url) -> Vec<Value> {
        let groups = if kind == ResourceKind::User && self.shape.groups_on_user {
            let ids: HashSet<&str> = indexes.iter().map(|&i| self.id_at(kind, i)).collect();
            self.groups_by_user(&ids)
        } else {
            HashMap::new()
        };
        indexes
            .iter()
            .map(|&i| self.served(kind, i, base, &groups))
            .collect()
    }

    /// `GET /Users` or `/Groups`.
    pub(super) fn list(
        &self,
        kind: ResourceKind,
        req: &Request,
    ) -> Result<ResponseTemplate, ScimError> {
        let query = Query::of(req);
        let base = request_base(req);
        let start = query.number("startIndex").unwrap_or(1).max(1);
        let count = query
            .number("count")
            .unwrap_or(self.shape.default_page)
            .min(self.shape.max_page);
        let (total, mut page) = match query.get("filter").filter(|f| !f.trim().is_empty()) {
            Some(text) => {
                let filter = Filter::parse(text)?;
                let all: Vec<usize> = (0..self.len(kind)).collect();
                let matching: Vec<Value> = self
                    .serve_all(kind, &all, &base)
                    .into_iter()
                    .filter(|v| filter.matches(v))
                    .collect();
                let total = matching.len();
                (
                    total,
                    matching
                        .into_iter()
                        .skip(start - 1)
                        .take(count)
                        .collect::<Vec<_>>(),
                )
            }
            None => {
                let total = self.len(kind);
                let indexes: Vec<usize> =
                    (start - 1..total.min((start - 1).saturating_add(count))).collect();
                (total, self.serve_all(kind, &indexes, &base))
            }
        };
        page.iter_mut().for_each(|r| query.project(r));
        let mut body =
            json!({"schemas": [LIST_RESPONSE], "startIndex": start, "itemsPerPage": page.len()});
        match self.shape.total_results {
            TotalResults::Exact => body["totalResults"] = json!(total),
            TotalResults::Inflated(n) => body["totalResults"] = json!(total as u64 + n),
            TotalResults::Missing => {}
        }
        let more = start - 1 + page.len() < total;
        body["Resources"] = Value::Array(page);
        let mut answer = scim_answer(200, &body);
        if self.shape.link_next && more {
            let mut next = req.url.clone();
            let kept: Vec<(String, String)> = query
                .pairs
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("startIndex"))
                .cloned()
                .collect();
            next.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair("startIndex", &(start + count).to_string());
            if let Ok(link) = base.join(&format!(
                "{}?{}",
                next.path().trim_start_matches('/'),
                next.query().unwrap_or_default()
            )) {
                answer = answer.insert_header("link", format!("<{link}>; rel=\"next\"").as_str());
            }
        }
        Ok(answer)
    }

    /// `GET /Users/{id}` or `/Groups/{id}`.
    pub(super) fn get(
        &self,
        kind: ResourceKind,
        id: &str,
        req: &Request,
    ) -> Result<ResponseTemplate, ScimError> {
        let mut served = self.served_one(kind, id, req);
        if served.is_null() {
            return Err(not_found(id));
        }
        Query::of(req).project(&mut served);
        Ok(scim_answer(200, &served))
    }
}
