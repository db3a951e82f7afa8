//! The connector built in `docs/writing-a-connector.md`: "Teamboard", a toy API with users
//! (cursor-paged) and teams (members, add and remove). The example starts a toy Teamboard
//! on loopback, runs the conformance kit, syncs, grants a membership and syncs again.
//!
//! ```text
//! cargo run --features testing --example toy
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use connector_sdk::http::HttpClient;
use connector_sdk::http::auth::BearerToken;
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

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
    fn new(base_url: &str, token: SecretString) -> Result<Self> {
        let http = HttpClient::builder(base_url)?
            .user_agent("baton-teamboard", "0.1.0")
            .auth(BearerToken::new(token))
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
        vec![
            Arc::new(Users {
                http: self.http.clone(),
            }),
            Arc::new(Teams {
                http: self.http.clone(),
            }),
        ]
    }
}

// ---- 5. A toy Teamboard to run against (a simulator, in a real connector crate) ----

#[derive(Default)]
struct Board {
    users: Vec<(String, String, String, bool)>,
    teams: BTreeMap<String, (String, BTreeSet<String>)>,
}

struct BoardApi(Arc<Mutex<Board>>);

impl Respond for BoardApi {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        if req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            != Some("Bearer toy-token")
        {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "bad token"}));
        }
        let mut b = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let segs: Vec<&str> = req
            .url
            .path_segments()
            .map(|s| s.collect())
            .unwrap_or_default();
        match (req.method.as_str(), segs.as_slice()) {
            ("GET", ["api", "users"]) => {
                let start: usize = req
                    .url
                    .query_pairs()
                    .find(|(k, _)| k == "cursor")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let page: Vec<_> = b.users.iter().skip(start).take(2).map(|(id, email, name, active)| json!({"id": id, "email": email, "name": name, "active": active})).collect();
                let next = (start + 2 < b.users.len()).then(|| (start + 2).to_string());
                ResponseTemplate::new(200)
                    .set_body_json(json!({"users": page, "next_cursor": next}))
            }
            ("GET", ["api", "teams"]) => ResponseTemplate::new(200).set_body_json(
                b.teams
                    .iter()
                    .map(|(id, (name, _))| json!({"id": id, "name": name}))
                    .collect::<Vec<_>>(),
            ),
            ("GET", ["api", "teams", t, "members"]) => match b.teams.get(*t) {
                Some((_, m)) => ResponseTemplate::new(200)
                    .set_body_json(m.iter().map(|u| json!({"user_id": u})).collect::<Vec<_>>()),
                None => ResponseTemplate::new(404),
            },
            ("PUT", ["api", "teams", t, "members", u]) => match b.teams.get_mut(*t) {
                Some((_, m)) => {
                    ResponseTemplate::new(if m.insert(u.to_string()) { 201 } else { 200 })
                }
                None => ResponseTemplate::new(404),
            },
            ("DELETE", ["api", "teams", t, "members", u]) => {
                let removed = b.teams.get_mut(*t).is_some_and(|(_, m)| m.remove(*u));
                ResponseTemplate::new(if removed { 204 } else { 404 })
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

async fn toy_teamboard() -> MockServer {
    let mut board = Board::default();
    for (i, name) in ["Ada", "Grace", "Linus", "Ken", "Barbara"]
        .iter()
        .enumerate()
    {
        board.users.push((
            format!("u{i}"),
            format!("{}@toy.example", name.to_lowercase()),
            name.to_string(),
            i != 3,
        ));
    }
    board.teams.insert(
        "t-core".into(),
        (
            "Core".into(),
            ["u0", "u1"].into_iter().map(String::from).collect(),
        ),
    );
    board
        .teams
        .insert("t-docs".into(), ("Docs".into(), BTreeSet::new()));
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(BoardApi(Arc::new(Mutex::new(board))))
        .mount(&server)
        .await;
    server
}

// ---- 6. Running it ----

async fn run() -> Result<()> {
    let server = toy_teamboard().await;
    let connector = Teamboard::new(&server.uri(), SecretString::from("toy-token"))?;
    connector.validate().await?;
    let report = connector_sdk::testing::assert_conformance(&connector).await;
    println!(
        "conformance kit: passed ({} resources, {} grants, {} pages)",
        report.resources, report.grants, report.pages
    );

    let dir = tempfile::tempdir()?;
    let file = dir.path().join("teamboard.c1z");
    sync_to_file(&connector, &file, &SyncOptions::default(), None).await?;
    let docs = Resource::new(&team_type(), "t-docs", "Docs");
    let linus = Resource::new(&user_type(), "u2", "Linus");
    let teams = connector_sdk::connector::syncer_for(&connector, "team")?;
    let outcome = teams
        .provisioner()
        .ok_or_else(|| Error::internal("no provisioner"))?
        .grant(GrantRequest::new(&linus, &member(&docs)))
        .await?;
    println!("grant: {outcome:?}");
    sync_to_file(&connector, &file, &SyncOptions::default(), None).await?;
    let members = C1zReader::open(&file)?.grants(&GrantFilter {
        entitlement: Some("team:t-docs:member".into()),
        ..Default::default()
    })?;
    println!(
        "Docs members after the re-sync: {:?}",
        members
            .iter()
            .map(|g| g.principal().resource.clone())
            .collect::<Vec<_>>()
    );
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
