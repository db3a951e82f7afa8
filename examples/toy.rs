//! The connector built in `docs/writing-a-connector.md`: "Teamboard", a toy API with users
//! (cursor-paged), teams (members, add and remove), OAuth client credentials and one action
//! with typed arguments. The example starts a toy Teamboard on loopback (the SDK's
//! `SimServer` and OAuth token issuer), runs the conformance kit, syncs, grants a
//! membership, renames a team and syncs again.
//!
//! ```text
//! cargo run --features testing --example toy
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use connector_sdk::http::HttpClient;
use connector_sdk::http::auth::OAuth2ClientCredentials;
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{SimHandler, SimServer, oauth::TokenIssuer};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use wiremock::{Request, ResponseTemplate};

// ---- 1. The API's shapes and listings (client.rs in a real connector) ----

#[derive(Deserialize)]
struct ApiUser {
    id: String,
    email: String,
    name: String,
    active: bool,
}

#[derive(Deserialize)]
struct ApiTeam {
    id: String,
    name: String,
}

#[derive(Deserialize)]
struct ApiMember {
    user_id: String,
}

/// `GET /api/users?cursor=C`: `{"users": [...], "next_cursor": "…" or null}`.
fn users_listing() -> Listing {
    Listing::get("/api/users")
        .items_at("/users")
        .cursor_in_body("/next_cursor", "cursor")
}

/// `GET /api/teams`: one page, `[{"id","name"}]`.
fn teams_listing() -> Listing {
    Listing::get("/api/teams")
}

/// `GET /api/teams/{id}/members`: one page, `[{"user_id"}]`.
fn members_listing(team: &str) -> Listing {
    Listing::get("/api/teams/{team}/members").bind("team", team)
}

// ---- 2. One syncer per resource type ----

fn user_type() -> ResourceType {
    ResourceType::new("user", "User").with_trait(TraitKind::User)
}

fn team_type() -> ResourceType {
    ResourceType::new("team", "Team").with_trait(TraitKind::Group)
}

struct Users(HttpClient);

#[async_trait]
impl ResourceSyncer for Users {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }

    /// One page per call: the SDK follows `next` and guards against repeats.
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let users = users_listing().page::<ApiUser>(&self.0, req.page).await?;
        Ok(users.map(|u| {
            let user = UserTrait::default()
                .with_email(&u.email, true)
                .with_login(&u.email)
                .with_status(UserStatus::enabled_if(u.active));
            Resource::new(&user_type(), &u.id, &u.name).with_user_trait(user)
        }))
    }
}

struct Teams(HttpClient);

fn member(team: &Resource) -> Entitlement {
    Entitlement::assignment(team, "member")
        .with_display_name(format!("{} member", team.display_name))
        .grantable_to(["user"])
}

#[async_trait]
impl ResourceSyncer for Teams {
    fn resource_type(&self) -> ResourceType {
        team_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let teams = teams_listing().page::<ApiTeam>(&self.0, req.page).await?;
        Ok(teams.map(|t| {
            Resource::new(&team_type(), &t.id, &t.name).with_group_trait(GroupTrait::default())
        }))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        Ok(Page::last(vec![member(&req.resource)]))
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (team, page) = (&req.resource, req.page);
        let members = members_listing(&team.id.resource);
        let members = members.page::<ApiMember>(&self.0, page).await?;
        let ent = member(team);
        Ok(members.map(|m| Grant::new(&ent, ResourceId::new("user", &m.user_id))))
    }

    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }
}

// ---- 3. Provisioning: idempotent, outcomes rather than errors ----

#[async_trait]
impl Provisioner for Teams {
    /// `PUT` answers 201 when it added the member, 200 when the user was one already.
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (team, user) = (req.entitlement.resource(), &req.principal.id);
        let path = ["api", "teams", &team.resource, "members", &user.resource];
        let resp = self.0.put(&path).send_raw().await?;
        match resp.status() {
            201 => Ok(req.granted()),
            200 => Ok(GrantOutcome::AlreadyExists),
            _ => Err(resp.to_error()),
        }
    }

    /// `DELETE` answers 404 for a user who is not a member: already revoked.
    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let (team, user) = (req.grant.entitlement_resource(), req.grant.principal());
        let path = ["api", "teams", &team.resource, "members", &user.resource];
        RevokeOutcome::of_removal(self.0.delete(&path).send().await)
    }
}

// ---- 4. An action, and the connector ----

/// `rename_team`: its arguments arrive checked against the schema, then typed.
struct RenameTeam(HttpClient);

#[derive(Deserialize)]
struct RenameArgs {
    team_id: String,
    name: String,
}

#[async_trait]
impl ActionHandler for RenameTeam {
    fn schema(&self) -> ActionSchema {
        ActionSchema::new("rename_team", "Rename team")
            .with_argument(FieldSchema::new("team_id", FieldType::String).required())
            .with_argument(FieldSchema::new("name", FieldType::String).required())
    }

    async fn invoke(&self, req: ActionRequest) -> Result<Profile> {
        let RenameArgs { team_id, name } = req.parse()?;
        let body = json!({ "name": name });
        self.0
            .patch(&["api", "teams", &team_id])
            .json(&body)
            .send()
            .await?;
        Ok(profile! { "renamed": team_id })
    }
}

struct Teamboard {
    http: HttpClient,
}

impl Teamboard {
    /// Teamboard's API at `base_url`, its OAuth token endpoint at `oauth/token` under it.
    fn new(base_url: &str, client_id: &str, secret: SecretString) -> Result<Self> {
        let b = HttpClient::builder(base_url)?;
        let token_url = b.url(&["oauth", "token"])?;
        let auth = OAuth2ClientCredentials::new(token_url, client_id, secret, Vec::new());
        let http = b
            .user_agent("baton-teamboard", "0.1.0")
            .auth(auth)
            .build()?;
        Ok(Teamboard { http })
    }
}

#[async_trait]
impl Connector for Teamboard {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("teamboard", "Teamboard")
    }

    async fn validate(&self) -> Result<()> {
        self.http.get(&["api", "users"]).send().await.map(|_| ())
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        let http = &self.http;
        vec![Arc::new(Users(http.clone())), Arc::new(Teams(http.clone()))]
    }

    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        vec![Arc::new(RenameTeam(self.http.clone()))]
    }
}

// ---- 5. A toy Teamboard to run against (a simulator, in a real connector crate) ----

struct Board {
    oauth: TokenIssuer,
    users: Vec<Value>,
    teams: BTreeMap<String, (String, BTreeSet<String>)>,
}

impl SimHandler for Board {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        // The token endpoint, and 401 for a request without a token it issued.
        if let Some(answer) = self.oauth.gate(req, "/oauth/token") {
            return answer;
        }
        let ok = |body: Value| ResponseTemplate::new(200).set_body_json(body);
        let status = ResponseTemplate::new;
        let path: Vec<&str> = req.url.path_segments().into_iter().flatten().collect();
        match (req.method.as_str(), path.as_slice()) {
            ("GET", ["api", "users"]) => {
                let cursor = req.url.query_pairs().find(|(k, _)| k == "cursor");
                let start = cursor.and_then(|(_, v)| v.parse().ok()).unwrap_or(0usize);
                let len = self.users.len();
                let (start, end) = (start.min(len), (start + 2).min(len));
                let next = (end < len).then(|| end.to_string());
                ok(json!({"users": &self.users[start..end], "next_cursor": next}))
            }
            ("GET", ["api", "teams"]) => {
                let teams = self.teams.iter();
                ok(teams
                    .map(|(id, (name, _))| json!({"id": id, "name": name}))
                    .collect())
            }
            ("PATCH", ["api", "teams", t]) => {
                let body = req.body_json::<Value>().unwrap_or_default();
                match (self.teams.get_mut(*t), body["name"].as_str()) {
                    (None, _) => status(404),
                    (Some(team), Some(name)) => {
                        team.0 = name.to_string();
                        status(204)
                    }
                    (Some(_), None) => status(400),
                }
            }
            ("GET", ["api", "teams", t, "members"]) => match self.teams.get(*t) {
                Some((_, m)) => ok(m.iter().map(|u| json!({"user_id": u})).collect()),
                None => status(404),
            },
            ("PUT", ["api", "teams", t, "members", u]) => match self.teams.get_mut(*t) {
                Some((_, m)) => status(if m.insert(u.to_string()) { 201 } else { 200 }),
                None => status(404),
            },
            ("DELETE", ["api", "teams", t, "members", u]) => {
                let removed = self.teams.get_mut(*t).is_some_and(|(_, m)| m.remove(*u));
                status(if removed { 204 } else { 404 })
            }
            _ => status(404),
        }
    }
}

async fn toy_teamboard() -> SimServer<Board> {
    let names = ["Ada", "Grace", "Linus", "Ken", "Barbara"];
    let users = names.iter().enumerate().map(|(i, name)| {
        let email = format!("{}@toy.example", name.to_lowercase());
        json!({"id": format!("u{i}"), "email": email, "name": name, "active": i != 3})
    });
    let mut teams = BTreeMap::new();
    let core = ["u0", "u1"].map(String::from).into();
    teams.insert("t-core".into(), ("Core".into(), core));
    teams.insert("t-docs".into(), ("Docs".into(), BTreeSet::new()));
    SimServer::start(Board {
        oauth: TokenIssuer::new("toy", "toy-secret"),
        users: users.collect(),
        teams,
    })
    .await
}

// ---- 6. Running it ----

async fn run() -> Result<()> {
    let server = toy_teamboard().await;
    let connector = Teamboard::new(&server.uri(), "toy", SecretString::from("toy-secret"))?;
    connector.validate().await?;
    let report = connector_sdk::testing::assert_conformance(&connector).await;
    let (resources, grants, pages) = (report.resources, report.grants, report.pages);
    println!("conformance kit: passed ({resources} resources, {grants} grants, {pages} pages)");

    // What the CLI and service mode call: one handle for syncs, grants and actions.
    let handle = ConnectorHandle::new(connector)?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("teamboard.c1z");
    sync_to_file(&handle, &file, &SyncOptions::default(), None).await?;
    let docs = Resource::new(&team_type(), "t-docs", "Docs");
    let linus = Resource::new(&user_type(), "u2", "Linus");
    let outcome = handle.grant(GrantRequest::new(&linus, &member(&docs)));
    println!("grant: {:?}", outcome.await?);
    let args = profile! { "team_id": "t-docs", "name": "Documentation" };
    let renamed = handle.invoke_and_wait("rename_team", args, Duration::from_secs(30));
    println!("rename_team: {}", Value::Object(renamed.await?));
    let tokens = server.requests("POST", "/oauth/token");
    println!("token requests: {tokens}");

    sync_to_file(&handle, &file, &SyncOptions::default(), None).await?;
    let reader = C1zReader::open(&file)?;
    let name = reader.resource(&docs.id)?.map(|r| r.display_name);
    let name = name.unwrap_or_default();
    println!("t-docs is named {name:?} after the re-sync");
    let members = reader.grants(&GrantFilter::default().with_entitlement("team:t-docs:member"))?;
    let members: Vec<_> = members.iter().map(|g| &g.principal().resource).collect();
    println!("Docs members after the re-sync: {members:?}");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    connector_sdk::printable::exit_code(run().await)
}
