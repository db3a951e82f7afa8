//! The tenant over HTTP, as a client sees it.

mod reads;
mod writes;

use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use super::{Population, ScimShape, ScimTenant};
use crate::scim::{Group, Member, PATCH_OP, User};
use crate::testing::SimServer;

/// An answer: status, JSON body (`Null` when empty or not JSON), headers.
struct Answer {
    status: u16,
    body: Value,
    headers: HeaderMap,
}

/// `METHOD uri+path` with `body`, and a bearer token when given.
async fn call(
    sim: &SimServer<ScimTenant>,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Answer {
    crate::http::ensure_tls_provider();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = reqwest::Client::new().request(method, format!("{}{path}", sim.uri()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.unwrap();
    Answer {
        status,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        headers,
    }
}

async fn get(sim: &SimServer<ScimTenant>, path: &str) -> Answer {
    call(sim, "GET", path, None, None).await
}

async fn patch(sim: &SimServer<ScimTenant>, path: &str, operations: Value) -> Answer {
    call(
        sim,
        "PATCH",
        path,
        Some(json!({"schemas": [PATCH_OP], "Operations": operations})),
        None,
    )
    .await
}

/// The ids of a list answer's resources.
fn ids(answer: &Answer) -> Vec<String> {
    answer.body["Resources"]
        .as_array()
        .unwrap_or_else(|| panic!("no Resources: {}", answer.body))
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

/// A small tenant: users `u000000`…`u000006` (`user6` with a role), groups `g00000`
/// (`Engineering`: u0, u1) and `g00001` (`Sales`: u2 and group g00000), and user `x` of an
/// extension.
fn small(shape: ScimShape) -> ScimTenant {
    let mut t = ScimTenant::new(shape).with_population(&Population::new(7, 2, 0));
    t.groups[0].display_name = "Engineering".into();
    t.groups[0].members = vec![Member::user("u000000"), Member::user("u000001")];
    t.groups[1].display_name = "Sales".into();
    t.groups[1].members = vec![
        Member::user("u000002"),
        Member {
            kind: Some("Group".into()),
            ..Member::new("g00000")
        },
    ];
    t.users[6].extra.insert(
        "roles".into(),
        json!([{"value": "admin", "display": "Admin"}]),
    );
    let mut x: User = serde_json::from_value(json!({
        "id": "X-1", "userName": "Ext@Acme.example",
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:acme:2.0:User"],
        "urn:acme:2.0:User": {"level": "Gold"}
    }))
    .unwrap();
    x.active = Some(false);
    t.users.push(x);
    t
}

async fn start(shape: ScimShape) -> SimServer<ScimTenant> {
    SimServer::start(small(shape)).await
}

#[test]
fn populations_are_deterministic_and_spread_as_asked() {
    let even = ScimTenant::default().with_population(&Population::new(10, 3, 14).roles(2));
    // 14 / 3 = 4 per group, consecutive users wrapping around.
    assert_eq!(
        even.members("g00002"),
        ["u000008", "u000009", "u000000", "u000001"]
    );
    assert_eq!(even.roles("u000003"), ["role-1"]);
    let seeded = |seed| {
        ScimTenant::default()
            .with_population(&Population::new(50, 5, 120).seed(seed))
            .groups
    };
    let a: Vec<Group> = seeded(1);
    assert_eq!(a, seeded(1));
    assert_ne!(a, seeded(2));
    assert_eq!(a.iter().map(|g| g.members.len()).sum::<usize>(), 120);
    for g in &a {
        let mut m: Vec<&str> = g.members.iter().map(|m| m.value.as_str()).collect();
        m.sort_unstable();
        m.dedup();
        assert_eq!(m.len(), g.members.len(), "a member twice in {}", g.id);
    }
    // More memberships than pairs: every pair once.
    let full = ScimTenant::default().with_population(&Population::new(3, 2, 100).seed(9));
    assert_eq!(
        full.groups.iter().map(|g| g.members.len()).sum::<usize>(),
        6
    );
}
