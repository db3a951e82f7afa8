//! The connector built in `docs/writing-a-connector.md`: "Teamboard", a toy API with users
//! (cursor-paged), teams (members, add and remove), OAuth client credentials and one action
//! with typed arguments. The example starts a toy Teamboard on loopback (the SDK's
//! `SimServer` and OAuth token endpoint), runs the conformance kit, syncs, grants a
//! membership, renames a team and syncs again.
//!
//! ```text
//! cargo run --features testing --example toy
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;

use connector_sdk::http::HttpClient;
use connector_sdk::http::auth::OAuth2ClientCredentials;
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{SimHandler, SimServer, oauth};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
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

struct Users {
    http: HttpClient,
}

#[async_trait]
impl ResourceSyncer for Users {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }

    /// One page per call: the SDK follows `next` and guards against repeats.
    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let users = users_listing().page::<ApiUser>(&self.http, page).await?;
        Ok(users.map(|u| {
            let status = if u.active {
                UserStatus::Enabled
            } else {
                UserStatus::Disabled
            };
            Resource::new(&user_type(), &u.id, &u.name).with_user_trait(
                UserTrait::default()
                    .with_email(&u.email, true)
                    .with_login(&u.email)
                    .with_status(status),
            )
        }))
    }
}

struct Teams {
    http: HttpClient,
}

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
        let page = req.page;
        let teams = teams_listing().page::<ApiTeam>(&self.http, page).await?;
        Ok(teams.map(|t| {
            Resource::new(&team_type(), &t.id, &t.name).with_group_trait(GroupTrait::default())
        }))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let team = &req.resource;
        Ok(Page::last(vec![member(team)]))
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (team, page) = (&req.resource, req.page);
        let members = members_listing(&team.id.resource);
        let members = members.page::<ApiMember>(&self.http, page).await?;
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
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let (principal, entitlement) = (&req.principal, &req.entitlement);
        let team = &entitlement.resource().resource;
        let resp = self
            .http
            .put(&["api", "teams", team, "members", &principal.id.resource])
            .send_raw()
            .await?;
        match resp.status() {
            201 => Ok(GrantOutcome::Granted(vec![Grant::new(
                entitlement,
                principal.id.clone(),
            )])),
            200 => Ok(GrantOutcome::AlreadyExists),
            _ => Err(resp.to_error()),
        }
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let grant = &req.grant;
        let team = &grant.entitlement_resource().resource;
        match self
            .http
            .delete(&["api", "teams", team, "members", &grant.principal().resource])
            .send()
            .await
        {
            Ok(_) => Ok(RevokeOutcome::Revoked),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(RevokeOutcome::AlreadyRevoked),
            Err(e) => Err(e),
        }
    }
}

// ---- 4. The connector ----

struct Teamboard {
    http: HttpClient,
}

impl Teamboard {
    /// Teamboard's API at `base_url`, its OAuth token endpoint at `/oauth/token`.
    fn new(base_url: &str, client_id: &str, secret: SecretString) -> Result<Self> {
        let token_url = connector_sdk::Url::parse(base_url)
            .and_then(|u| u.join("/oauth/token"))
            .map_err(|e| Error::invalid_argument(format!("base URL {base_url:?}: {e}")))?;
        let http = HttpClient::builder(base_url)?
            .user_agent("baton-teamboard", "0.1.0")
            .auth(OAuth2ClientCredentials::new(
                token_url,
                client_id,
                secret,
                Vec::new(),
            ))
            .build()?;
        Ok(Teamboard { http })
    }
}

/// `rename_team`: its arguments arrive checked against the schema, then typed.
struct RenameTeam {
    http: HttpClient,
}

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
        self.http
            .patch(&["api", "teams", &team_id])
            .json(&body)
            .send()
            .await?;
        Ok(json!({"renamed": team_id})
            .as_object()
            .cloned()
            .unwrap_or_default())
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
        vec![
            Arc::new(Users {
                http: self.http.clone(),
            }),
            Arc::new(Teams {
                http: self.http.clone(),
            }),
        ]
    }

    fn actions(&self) -> Vec<Arc<dyn ActionHandler>> {
        vec![Arc::new(RenameTeam {
            http: self.http.clone(),
        })]
    }
}

// ---- 5. A toy Teamboard to run against (a simulator, in a real connector crate) ----

#[derive(Default)]
struct Board {
    users: Vec<serde_json::Value>,
    teams: BTreeMap<String, (String, BTreeSet<String>)>,
    tokens: Vec<String>,
}

impl SimHandler for Board {
    fn handle(&mut self, req: &Request) -> ResponseTemplate {
        let segs: Vec<&str> = req
            .url
            .path_segments()
            .map(|s| s.collect())
            .unwrap_or_default();
        if segs == ["oauth", "token"] {
            let grant = match oauth::ClientCredentials::read(req) {
                Ok(g)
                    if (g.client_id.as_str(), g.client_secret.as_deref())
                        == ("toy", Some("toy-secret")) =>
                {
                    g
                }
                Ok(_) => return oauth::error(401, "invalid_client", "unknown client"),
                Err(answer) => return answer,
            };
            self.tokens.push(format!("toy-token-{}", self.tokens.len()));
            return oauth::token(&self.tokens[self.tokens.len() - 1], 3600, &grant.scopes);
        }
        if !oauth::bearer(req).is_some_and(|t| self.tokens.iter().any(|x| x == t)) {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "bad token"}));
        }
        let answer = |status: u16, body: serde_json::Value| {
            ResponseTemplate::new(status).set_body_json(body)
        };
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["api", "users"]) => {
                let cursor = req.url.query_pairs().find(|(k, _)| k == "cursor");
                let start = cursor.and_then(|(_, v)| v.parse().ok()).unwrap_or(0usize);
                let page =
                    &self.users[start.min(self.users.len())..(start + 2).min(self.users.len())];
                let next = (start + 2 < self.users.len()).then(|| (start + 2).to_string());
                answer(200, json!({"users": page, "next_cursor": next}))
            }
            ("GET", ["api", "teams"]) => {
                let teams: Vec<_> = self
                    .teams
                    .iter()
                    .map(|(id, (name, _))| json!({"id": id, "name": name}))
                    .collect();
                answer(200, json!(teams))
            }
            ("PATCH", ["api", "teams", t]) => {
                let name = req
                    .body_json::<serde_json::Value>()
                    .ok()
                    .and_then(|b| b["name"].as_str().map(String::from));
                match (self.teams.get_mut(*t), name) {
                    (Some(team), Some(name)) => {
                        team.0 = name;
                        ResponseTemplate::new(204)
                    }
                    (team, _) => ResponseTemplate::new(if team.is_none() { 404 } else { 400 }),
                }
            }
            ("GET", ["api", "teams", t, "members"]) => match self.teams.get(*t) {
                Some((_, m)) => answer(
                    200,
                    json!(m.iter().map(|u| json!({"user_id": u})).collect::<Vec<_>>()),
                ),
                None => ResponseTemplate::new(404),
            },
            ("PUT", ["api", "teams", t, "members", u]) => match self.teams.get_mut(*t) {
                Some((_, m)) => {
                    ResponseTemplate::new(if m.insert(u.to_string()) { 201 } else { 200 })
                }
                None => ResponseTemplate::new(404),
            },
            ("DELETE", ["api", "teams", t, "members", u]) => {
                let removed = self.teams.get_mut(*t).is_some_and(|(_, m)| m.remove(*u));
                ResponseTemplate::new(if removed { 204 } else { 404 })
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

async fn toy_teamboard() -> SimServer<Board> {
    let mut board = Board::default();
    for (i, name) in ["Ada", "Grace", "Linus", "Ken", "Barbara"]
        .iter()
        .enumerate()
    {
        let email = format!("{}@toy.example", name.to_lowercase());
        board
            .users
            .push(json!({"id": format!("u{i}"), "email": email, "name": name, "active": i != 3}));
    }
    let core = ["u0", "u1"].map(String::from).into();
    board.teams.insert("t-core".into(), ("Core".into(), core));
    board
        .teams
        .insert("t-docs".into(), ("Docs".into(), BTreeSet::new()));
    SimServer::start(board).await
}

// ---- 6. Running it ----

async fn run() -> Result<()> {
    let server = toy_teamboard().await;
    let connector = Teamboard::new(&server.uri(), "toy", SecretString::from("toy-secret"))?;
    connector.validate().await?;
    let report = connector_sdk::testing::assert_conformance(&connector).await;
    println!(
        "conformance kit: passed ({} resources, {} grants, {} pages)",
        report.resources, report.grants, report.pages
    );

    // What the CLI and service mode call: one handle for syncs, grants and actions.
    let handle = ConnectorHandle::new(connector)?;
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("teamboard.c1z");
    sync_to_file(&handle, &file, &SyncOptions::default(), None).await?;
    let (docs, linus) = (
        Resource::new(&team_type(), "t-docs", "Docs"),
        Resource::new(&user_type(), "u2", "Linus"),
    );
    let outcome = handle
        .grant(GrantRequest::new(&linus, &member(&docs)))
        .await?;
    println!("grant: {outcome:?}");
    let args = json!({"team_id": "t-docs", "name": "Documentation"});
    let args = args.as_object().cloned().unwrap_or_default();
    let rename = handle
        .invoke_and_wait("rename_team", args, std::time::Duration::from_secs(30))
        .await?;
    println!("rename_team: {}", serde_json::Value::Object(rename));
    println!(
        "token requests: {}",
        server.requests("POST", "/oauth/token")
    );

    sync_to_file(&handle, &file, &SyncOptions::default(), None).await?;
    let reader = C1zReader::open(&file)?;
    let docs = reader
        .resource(&docs.id)?
        .map(|r| r.display_name)
        .unwrap_or_default();
    println!("t-docs is named {docs:?} after the re-sync");
    let filter = GrantFilter {
        entitlement: Some("team:t-docs:member".into()),
        ..Default::default()
    };
    let members: Vec<String> = reader
        .grants(&filter)?
        .iter()
        .map(|g| g.principal().resource.clone())
        .collect();
    println!("Docs members after the re-sync: {members:?}");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "error: {}",
                connector_sdk::printable::printable_lines(&e.to_string())
            );
            ExitCode::FAILURE
        }
    }
}
