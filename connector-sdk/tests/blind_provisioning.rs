//! A blind API: `PUT /teams/{t}/members/{u}` and `DELETE …` answer 204 whether or not the
//! membership existed. With `provision::idempotent_grant` / `idempotent_revoke` the
//! connector asks first, so a second grant reports `AlreadyExists` without writing and the
//! kit's idempotency check passes.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use connector_sdk::http::HttpClient;
use connector_sdk::prelude::*;
use connector_sdk::provision::{idempotent_grant, idempotent_revoke};
use connector_sdk::testing::{assert_conformance, check_provisioning_idempotent};
use serde::Deserialize;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// The server's state: team t1's members, and the writes it received.
#[derive(Default)]
struct Board {
    members: BTreeSet<String>,
    puts: u32,
    deletes: u32,
}

#[derive(Clone, Default)]
struct BlindApi(Arc<Mutex<Board>>);

impl Respond for BlindApi {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut board = self.0.lock().unwrap();
        let path: Vec<&str> = req.url.path().trim_matches('/').split('/').collect();
        match (req.method.as_str(), path.as_slice()) {
            ("GET", ["teams", "t1", "members"]) => {
                let members: Vec<_> = board
                    .members
                    .iter()
                    .map(|u| serde_json::json!({ "user_id": u }))
                    .collect();
                ResponseTemplate::new(200).set_body_json(members)
            }
            // Blind: 204 whether the user was a member or not.
            ("PUT", ["teams", "t1", "members", user]) => {
                board.puts += 1;
                board.members.insert(user.to_string());
                ResponseTemplate::new(204)
            }
            ("DELETE", ["teams", "t1", "members", user]) => {
                board.deletes += 1;
                board.members.remove(*user);
                ResponseTemplate::new(204)
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

#[derive(Deserialize)]
struct ApiMember {
    user_id: String,
}

fn user_type() -> ResourceType {
    ResourceType::new("user", "User").with_trait(TraitKind::User)
}

fn team_type() -> ResourceType {
    ResourceType::new("team", "Team").with_trait(TraitKind::Group)
}

fn user(id: &str) -> Resource {
    Resource::new(&user_type(), id, id).with_user_trait(UserTrait::default())
}

fn team() -> Resource {
    Resource::new(&team_type(), "t1", "Docs").with_group_trait(GroupTrait::default())
}

fn member(team: &Resource) -> Entitlement {
    Entitlement::assignment(team, "member").grantable_to(["user"])
}

struct Users;

#[async_trait]
impl ResourceSyncer for Users {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }
    async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
        Ok(Page::last(vec![user("u1"), user("u2")]))
    }
}

struct Teams {
    http: HttpClient,
}

impl Teams {
    async fn members(&self, team: &str) -> Result<Vec<ApiMember>> {
        self.http.get(&["teams", team, "members"]).send_json().await
    }

    async fn is_member(&self, team: &str, user: &str) -> Result<bool> {
        Ok(self.members(team).await?.iter().any(|m| m.user_id == user))
    }

    async fn put_member(&self, team: &str, user: &str) -> Result<()> {
        self.http
            .put(&["teams", team, "members", user])
            .send()
            .await
            .map(drop)
    }

    async fn delete_member(&self, team: &str, user: &str) -> Result<()> {
        self.http
            .delete(&["teams", team, "members", user])
            .send()
            .await
            .map(drop)
    }
}

#[async_trait]
impl ResourceSyncer for Teams {
    fn resource_type(&self) -> ResourceType {
        team_type()
    }
    async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
        Ok(Page::last(vec![team()]))
    }
    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        Ok(Page::last(vec![member(&req.resource)]))
    }
    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let ent = member(&req.resource);
        let members = self.members(&req.resource.id.resource).await?;
        Ok(Page::last(
            members
                .iter()
                .map(|m| Grant::new(&ent, ResourceId::new("user", &m.user_id)))
                .collect(),
        ))
    }
    fn provisioner(&self) -> Option<&dyn Provisioner> {
        Some(self)
    }
}

#[async_trait]
impl Provisioner for Teams {
    async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
        let team = req.entitlement.resource().resource.clone();
        let user = req.principal.id.resource.clone();
        idempotent_grant(
            &req,
            self.is_member(&team, &user),
            self.put_member(&team, &user),
        )
        .await
    }

    async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
        let team = &req.grant.entitlement_resource().resource;
        let user = &req.grant.principal().resource;
        idempotent_revoke(self.is_member(team, user), self.delete_member(team, user)).await
    }
}

struct Teamboard {
    http: HttpClient,
}

#[async_trait]
impl Connector for Teamboard {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("teamboard", "Teamboard")
    }
    async fn validate(&self) -> Result<()> {
        Ok(())
    }
    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![
            Arc::new(Users),
            Arc::new(Teams {
                http: self.http.clone(),
            }),
        ]
    }
}

async fn start() -> (MockServer, BlindApi, Teamboard) {
    let server = MockServer::start().await;
    let api = BlindApi::default();
    Mock::given(any())
        .respond_with(api.clone())
        .mount(&server)
        .await;
    let http = HttpClient::builder(&server.uri()).unwrap().build().unwrap();
    (server, api, Teamboard { http })
}

fn provisioner(board: &Teamboard) -> Teams {
    Teams {
        http: board.http.clone(),
    }
}

#[tokio::test]
async fn a_second_grant_through_a_blind_put_is_already_exists_without_a_write() {
    let (_server, api, board) = start().await;
    let teams = provisioner(&board);
    let req = GrantRequest::new(&user("u1"), &member(&team()));
    let first = teams.grant(req.clone()).await.unwrap();
    assert_eq!(
        first,
        GrantOutcome::Granted(vec![Grant::new(
            &member(&team()),
            ResourceId::new("user", "u1")
        )])
    );
    assert_eq!(teams.grant(req).await.unwrap(), GrantOutcome::AlreadyExists);
    assert_eq!(
        api.0.lock().unwrap().puts,
        1,
        "the second grant wrote nothing"
    );

    let grant = Grant::new(&member(&team()), ResourceId::new("user", "u1"));
    let revoke = || teams.revoke(RevokeRequest::new(&grant));
    assert_eq!(revoke().await.unwrap(), RevokeOutcome::Revoked);
    assert_eq!(revoke().await.unwrap(), RevokeOutcome::AlreadyRevoked);
    assert_eq!(
        api.0.lock().unwrap().deletes,
        1,
        "the second revoke wrote nothing"
    );
}

#[tokio::test]
async fn the_kit_passes_on_the_blind_api() {
    let (_server, api, board) = start().await;
    api.0.lock().unwrap().members.insert("u2".into());
    assert_conformance(&board).await;
    check_provisioning_idempotent(&board, &user("u1"), &member(&team()))
        .await
        .unwrap();
    let state = api.0.lock().unwrap();
    assert_eq!((state.puts, state.deletes), (1, 1));
    assert_eq!(
        state.members.iter().collect::<Vec<_>>(),
        ["u2"],
        "left as found"
    );
}

/// Without the helper, the same connector reports `Granted` twice: the kit catches it.
#[tokio::test]
async fn the_kit_catches_a_blind_grant_reported_as_granted_twice() {
    struct Naive(Teams);
    #[async_trait]
    impl Provisioner for Naive {
        async fn grant(&self, req: GrantRequest) -> Result<GrantOutcome> {
            let team = &req.entitlement.resource().resource;
            self.0.put_member(team, &req.principal.id.resource).await?;
            Ok(req.granted())
        }
        async fn revoke(&self, req: RevokeRequest) -> Result<RevokeOutcome> {
            self.0.revoke(req).await
        }
    }
    #[async_trait]
    impl ResourceSyncer for Naive {
        fn resource_type(&self) -> ResourceType {
            team_type()
        }
        async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
            self.0.list(req).await
        }
        fn provisioner(&self) -> Option<&dyn Provisioner> {
            Some(self)
        }
    }
    struct NaiveBoard(HttpClient);
    #[async_trait]
    impl Connector for NaiveBoard {
        fn metadata(&self) -> ConnectorMetadata {
            ConnectorMetadata::new("naive", "Naive")
        }
        async fn validate(&self) -> Result<()> {
            Ok(())
        }
        fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
            vec![Arc::new(Naive(Teams {
                http: self.0.clone(),
            }))]
        }
    }
    let (_server, _api, board) = start().await;
    let naive = NaiveBoard(board.http.clone());
    let err = check_provisioning_idempotent(&naive, &user("u1"), &member(&team()))
        .await
        .unwrap_err();
    assert!(err.contains("should report AlreadyExists"), "{err}");
}
