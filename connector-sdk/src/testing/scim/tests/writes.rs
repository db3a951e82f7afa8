//! PATCH in its forms, 204 or 200, create, PUT, DELETE, and an application's hooks.

use serde_json::{Value, json};

use super::*;
use crate::scim::{PatchKind, PatchOperation, ScimError};
use crate::testing::scim::{PatchAnswer, ResourceKind, TenantHooks, scim_error};

const ENG: &str = "/scim/v2/Groups/g00000";

#[tokio::test]
async fn member_patches_in_every_form_servers_receive() {
    let sim = start(ScimShape::default().patch_answer(PatchAnswer::NoContent)).await;
    let members = || sim.state().members("g00000");
    let add = patch(&sim, ENG, json!([{"op": "add", "path": "members", "value": [{"value": "u000003"}, {"value": "u000000"}]}])).await;
    assert_eq!((add.status, &add.body), (204, &Value::Null));
    assert_eq!(
        members(),
        ["u000000", "u000001", "u000003"],
        "an existing member is not added twice"
    );
    assert_eq!(
        sim.state().group("g00000").unwrap().members[2]
            .kind
            .as_deref(),
        Some("User")
    );
    // RFC 7644 filter form, then the Azure AD value form.
    patch(
        &sim,
        ENG,
        json!([{"op": "remove", "path": "members[value eq \"u000000\"]"}]),
    )
    .await;
    assert_eq!(members(), ["u000001", "u000003"]);
    patch(
        &sim,
        ENG,
        json!([{"op": "Remove", "path": "members", "value": [{"value": "u000003"}]}]),
    )
    .await;
    assert_eq!(members(), ["u000001"]);
    // Slack and baton-scim: removal by replacing the whole list, `null` when nobody is left.
    patch(&sim, ENG, json!([{"op": "replace", "path": "members", "value": [{"value": "u000004"}, {"value": "u000005"}]}])).await;
    assert_eq!(members(), ["u000004", "u000005"]);
    patch(
        &sim,
        ENG,
        json!([{"op": "replace", "path": "members", "value": null}]),
    )
    .await;
    assert!(members().is_empty());
    // Without a path: the value's attributes; a bare remove empties the attribute.
    patch(
        &sim,
        ENG,
        json!([{"op": "add", "value": {"members": [{"value": "u000006"}], "displayName": "Eng"}}]),
    )
    .await;
    assert_eq!(
        (members(), sim.state().groups[0].display_name.clone()),
        (vec!["u000006".to_string()], "Eng".to_string())
    );
    patch(&sim, ENG, json!([{"op": "remove", "path": "members"}])).await;
    assert!(members().is_empty());
    assert_eq!(sim.state().count("PATCH Group"), 7);
}

#[tokio::test]
async fn a_strict_server_refuses_a_remove_by_value_but_takes_the_filter() {
    let sim = start(ScimShape::default().strict_remove(true)).await;
    let refused = patch(
        &sim,
        ENG,
        json!([{"op": "remove", "path": "members", "value": [{"value": "u000000"}]}]),
    )
    .await;
    assert_eq!(
        (refused.status, refused.body["scimType"].as_str()),
        (400, Some("invalidValue"))
    );
    assert_eq!(
        sim.state().members("g00000"),
        ["u000000", "u000001"],
        "nothing removed"
    );
    let ok = patch(
        &sim,
        ENG,
        json!([{"op": "remove", "path": "members[value eq \"u000000\"]"}]),
    )
    .await;
    assert_eq!(ok.status, 200, "answered with the resource by default");
    assert_eq!(
        ok.body["members"],
        json!([{"value": "u000001", "type": "User"}])
    );
}

#[tokio::test]
async fn roles_and_attributes_on_the_user_and_what_is_read_only() {
    let sim = start(ScimShape::default()).await;
    let user = "/scim/v2/Users/u000006";
    let added = patch(&sim, user, json!([{"op": "add", "path": "roles", "value": [{"value": "billing"}, {"value": "admin"}]}])).await;
    assert_eq!(added.status, 200);
    assert_eq!(sim.state().roles("u000006"), ["admin", "billing"]);
    patch(
        &sim,
        user,
        json!([{"op": "remove", "path": "roles[value eq \"admin\"]"}]),
    )
    .await;
    assert_eq!(sim.state().roles("u000006"), ["billing"]);
    let ops = json!([
        {"op": "replace", "path": "name.givenName", "value": "Zoë"},
        {"op": "Replace", "path": "active", "value": false},
        {"op": "replace", "path": "emails[primary eq true].value", "value": "z@acme.example"},
        {"op": "add", "path": "urn:acme:2.0:User:level", "value": "silver"},
    ]);
    let answer = patch(&sim, user, ops).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let u = sim.state().user("u000006").unwrap().clone();
    assert_eq!(
        (u.given_name(), u.active, u.primary_email()),
        (Some("Zoë"), Some(false), Some("z@acme.example"))
    );
    assert_eq!(u.extension("urn:acme:2.0:User").unwrap()["level"], "silver");
    assert_ne!(
        u.meta.unwrap().last_modified.as_deref(),
        Some(crate::testing::scim::GENERATED_AT)
    );
    for (path, scim_type) in [
        ("groups", "mutability"),
        ("id", "mutability"),
        ("roles[value eq \"nobody\"]", "noTarget"),
    ] {
        let refused = patch(
            &sim,
            user,
            json!([{"op": "replace", "path": path, "value": "x"}]),
        )
        .await;
        assert_eq!(
            (refused.status, refused.body["scimType"].as_str()),
            (400, Some(scim_type)),
            "{path}"
        );
    }
    let not_json = call(&sim, "PATCH", user, None, None).await;
    assert_eq!(
        (not_json.status, not_json.body["scimType"].as_str()),
        (400, Some("invalidSyntax"))
    );
    let no_schema = call(&sim, "PATCH", user, Some(json!({"Operations": []})), None).await;
    assert_eq!(no_schema.status, 400);
    assert_eq!(
        patch(&sim, "/scim/v2/Users/nobody", json!([])).await.status,
        404
    );
}

#[tokio::test]
async fn create_replace_and_delete() {
    let sim = start(ScimShape::default()).await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "new@acme.example", "password": "pw", "groups": [{"value": "g00000"}]});
    let created = call(&sim, "POST", "/scim/v2/Users", Some(body.clone()), None).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.headers["location"],
        format!("{}/scim/v2/Users/{id}", sim.uri())
    );
    assert_eq!(
        (
            created.body["active"].as_bool(),
            created.body.get("password"),
            created.body.get("groups")
        ),
        (Some(true), None, None)
    );
    let again = call(
        &sim,
        "POST",
        "/scim/v2/Users",
        Some(json!({"userName": "NEW@acme.example"})),
        None,
    )
    .await;
    assert_eq!(
        (again.status, again.body["scimType"].as_str()),
        (409, Some("uniqueness"))
    );
    let nameless = call(
        &sim,
        "POST",
        "/scim/v2/Groups",
        Some(json!({"members": []})),
        None,
    )
    .await;
    assert_eq!(nameless.status, 400);
    let put = call(
        &sim,
        "PUT",
        &format!("/scim/v2/Users/{id}"),
        Some(json!({"userName": "renamed@acme.example", "id": "hijack"})),
        None,
    )
    .await;
    assert_eq!(
        (
            put.status,
            put.body["id"].as_str(),
            put.body["userName"].as_str()
        ),
        (200, Some(id.as_str()), Some("renamed@acme.example"))
    );
    let put = call(
        &sim,
        "PUT",
        ENG,
        Some(json!({"displayName": "Eng", "members": [{"value": "u000002"}]})),
        None,
    )
    .await;
    assert_eq!(put.status, 200);
    assert_eq!(sim.state().members("g00000"), ["u000002"]);
    assert_eq!(
        call(&sim, "DELETE", "/scim/v2/Users/u000002", None, None)
            .await
            .status,
        204
    );
    assert!(sim.state().user("u000002").is_none());
    assert!(
        sim.state().groups_of("u000002").is_empty(),
        "a deleted user leaves its groups"
    );
    assert_eq!(
        call(&sim, "DELETE", "/scim/v2/Users/u000002", None, None)
            .await
            .status,
        404
    );
}

/// An application allowing only `replace` of `active`, and normalising the value.
struct ActiveOnly;

impl TenantHooks for ActiveOnly {
    fn check_create(&mut self, _: ResourceKind, body: &Value) -> Result<(), ScimError> {
        match body["userName"].as_str() {
            Some(n) if n.ends_with("@acme.example") => Ok(()),
            _ => Err(scim_error(400, Some("invalidValue"), "not our domain")),
        }
    }

    fn new_user(&mut self, user: &mut User) {
        user.title = Some("Newcomer".into());
    }

    fn check_patch(&mut self, _: ResourceKind, op: &mut PatchOperation) -> Result<(), ScimError> {
        match (op.kind(), op.path(), op.value()) {
            (PatchKind::Replace, Some("active"), Some(Value::String(s))) => {
                *op = PatchOperation::replace("active", json!(s == "True"));
                Ok(())
            }
            (PatchKind::Replace, Some("active"), _) => Ok(()),
            _ => Err(scim_error(400, Some("invalidPath"), "only active")),
        }
    }
}

/// Answers through [`ActiveOnly`].
struct Application(ScimTenant);

impl crate::testing::SimHandler for Application {
    fn handle(&mut self, req: &wiremock::Request) -> wiremock::ResponseTemplate {
        self.0.answer(req, &mut ActiveOnly)
    }
}

#[tokio::test]
async fn hooks_refuse_rewrite_and_fill_in_and_a_refused_patch_changes_nothing() {
    let sim = SimServer::start(Application(small(ScimShape::default()))).await;
    let client = reqwest::Client::new();
    let send = |method: reqwest::Method, path: &str, body: Value| {
        client
            .request(method, format!("{}{path}", sim.uri()))
            .json(&body)
            .send()
    };
    let op = |ops: Value| json!({"schemas": [PATCH_OP], "Operations": ops});
    let res = send(
        reqwest::Method::PATCH,
        "/scim/v2/Users/u000001",
        op(json!([{"op": "replace", "path": "active", "value": "False"}])),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(sim.state().0.user("u000001").unwrap().active, Some(false));
    let two = json!([{"op": "replace", "path": "active", "value": true}, {"op": "replace", "path": "title", "value": "x"}]);
    let res = send(reqwest::Method::PATCH, "/scim/v2/Users/u000001", op(two))
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert_eq!(
        sim.state().0.user("u000001").unwrap().active,
        Some(false),
        "the first operation was not kept"
    );
    let res = send(
        reqwest::Method::POST,
        "/scim/v2/Users",
        json!({"userName": "a@elsewhere.example"}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 400);
    let res = send(
        reqwest::Method::POST,
        "/scim/v2/Users",
        json!({"userName": "a@acme.example"}),
    )
    .await
    .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["title"], "Newcomer");
}
