//! Targeted syncs (`--sync-resources`, C1's refresh after provisioning, service-mode spec
//! §8.3) with the fake `op`: every type can be fetched by id; group membership and vault
//! permissions granted through the connector are in the partial sync of the principal
//! and the resource; the account getter's answers.

use connector_sdk::getter::GetRequest;
use std::sync::Arc;

use async_trait::async_trait;
use connector_onepassword::OnePassword;
use connector_onepassword::account::account_resource;
use connector_onepassword::client::AccountInfo;
use connector_onepassword::simulator::{FakeOpRunner, Fault, FaultKind};
use connector_sdk::bid::ResourceBid;
use connector_sdk::command::{Command, CommandRunner, Output};
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::store::C1zReader;
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::types_with_getter;

const ACCOUNT: &str = "ZYXWVUTSRQPONMLKJIHGFEDCBA";
const SHARED: &str = "sharedvaultsharedvaultshar";
const ENG: &str = "YZ4SPXC2GJA6FHVUNN6O6TDBMQ";
const EMPTY_GROUP: &str = "EMPTYGROUPEMPTYGROUPEMPTY";
const WENDY: &str = "WHPOFIMMYFFITBVTOTZUR3R324";

fn account() -> ResourceId {
    ResourceId::new("account", ACCOUNT)
}

fn under_account(rt: &str, id: &str) -> ResourceBid {
    ResourceBid::with_parent(ResourceId::new(rt, id), account())
}

fn ent(rt: &str, id: &str, slug: &str) -> Entitlement {
    Entitlement::from_parts(format!("{rt}:{id}:{slug}"), ResourceId::new(rt, id), slug)
}

fn principal(rt: &str, id: &str) -> Resource {
    Resource::with_id(ResourceId::new(rt, id), id)
}

/// The holders of `entitlement` as `type:id` (users and groups both hold vault access).
fn holders(file: &std::path::Path, entitlement: &str, latest: bool) -> Vec<String> {
    let mut r = C1zReader::open(file).unwrap();
    if latest {
        r = r.with_latest_sync().unwrap();
    }
    r.holders(entitlement)
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect()
}

async fn get_account(c: &OnePassword, id: &str) -> Result<Resource> {
    let s = syncer_for(c, "account").unwrap();
    s.getter()
        .unwrap()
        .get(GetRequest::new(&ResourceId::new("account", id), None))
        .await
}

#[tokio::test]
async fn every_type_has_a_getter() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    let with_getter: Vec<String> = types_with_getter(&c);
    assert_eq!(with_getter, ["account", "user", "group", "vault"]);
}

#[tokio::test]
async fn grants_are_in_the_targeted_sync_of_their_principal_and_resource() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    c.client().fast_retries_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("op.c1z");
    sync_to_file(&c, &file, &SyncOptions::default(), None)
        .await
        .unwrap();
    let full = C1zReader::open(&file).unwrap().sync().sync_id.clone();

    // Wendy joins the empty group; Engineering may now view the Shared vault.
    let groups = syncer_for(&c, "group").unwrap();
    let out = groups
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &principal("user", WENDY),
            &ent("group", EMPTY_GROUP, "member"),
        ))
        .await
        .unwrap();
    assert!(matches!(out, GrantOutcome::Granted(_)), "{out:?}");
    let vaults = syncer_for(&c, "vault").unwrap();
    let out = vaults
        .provisioner()
        .unwrap()
        .grant(GrantRequest::new(
            &principal("group", ENG),
            &ent("vault", SHARED, "view items"),
        ))
        .await
        .unwrap();
    assert!(matches!(out, GrantOutcome::Granted(_)), "{out:?}");

    // C1's refreshes: each principal and each entitlement's resource (with the account as
    // parent, as C1 names them), and the account itself.
    let options = SyncOptions::default().with_targeted(vec![
        under_account("user", WENDY),
        under_account("group", EMPTY_GROUP),
        under_account("group", ENG),
        under_account("vault", SHARED),
        ResourceBid::new(account()),
    ]);
    let report = sync_to_file(&c, &file, &options, None).await.unwrap();
    assert!(report.completed);
    assert_eq!(report.stats.resources, 5, "{:?}", report.stats);

    let partial = C1zReader::open(&file).unwrap().with_latest_sync().unwrap();
    assert_eq!(partial.sync().sync_type, "partial");
    assert_eq!(partial.sync().parent_sync_id, full);
    assert_eq!(
        holders(&file, &format!("group:{EMPTY_GROUP}:member"), true),
        [format!("user:{WENDY}")]
    );
    assert!(holders(&file, &format!("group:{EMPTY_GROUP}:member"), false).is_empty());
    assert!(
        holders(&file, &format!("vault:{SHARED}:view items"), true)
            .contains(&format!("group:{ENG}"))
    );
    assert!(
        !holders(&file, &format!("vault:{SHARED}:view items"), false)
            .contains(&format!("group:{ENG}"))
    );
    // The account refreshed with its member grants; every child keeps its parent.
    assert_eq!(
        holders(&file, &format!("account:{ACCOUNT}:member"), true).len(),
        6
    );
    let user = partial
        .resource(&ResourceId::new("user", WENDY))
        .unwrap()
        .unwrap();
    assert_eq!(user.parent, Some(account()));

    // Named without a parent, a user is placed under the signed-in account.
    let options = SyncOptions::default()
        .with_targeted(vec![ResourceBid::new(ResourceId::new("user", WENDY))]);
    sync_to_file(&c, &file, &options, None).await.unwrap();
    let partial = C1zReader::open(&file).unwrap().with_latest_sync().unwrap();
    let user = partial
        .resource(&ResourceId::new("user", WENDY))
        .unwrap()
        .unwrap();
    assert_eq!(user.parent, Some(account()));
}

#[tokio::test]
async fn the_account_getter_knows_only_the_signed_in_account() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    c.client().fast_retries_for_tests();
    let got = get_account(&c, ACCOUNT).await.unwrap();
    assert_eq!(
        got,
        account_resource(&AccountInfo {
            id: ACCOUNT.into(),
            name: "Acme Corp".into(),
            kind: "BUSINESS".into(),
        })
    );
    // Another account (or one the credentials no longer reach) is gone for this connector.
    let err = get_account(&c, "OTHERACCOUNTOTHERACCOUNTOT")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err}");
    // A renamed account is read afresh, not from the sync's cache.
    fake.state().account.name = "Acme Inc".into();
    assert_eq!(
        get_account(&c, ACCOUNT).await.unwrap().display_name,
        "Acme Inc"
    );

    // op failing: retried, then an error, never "gone".
    for kind in [
        FaultKind::ConnectionReset,
        FaultKind::DnsFailure,
        FaultKind::ServerError,
        FaultKind::Garbage,
    ] {
        let fake = FakeOpRunner::seeded();
        fake.state()
            .faults
            .push(Fault::always(&["account", "get"], kind));
        let c = fake.connector(vec![]);
        c.client().fast_retries_for_tests();
        let err = get_account(&c, ACCOUNT).await.unwrap_err();
        assert_ne!(err.kind(), ErrorKind::NotFound, "{kind:?}: {err}");
    }
}

/// A fake whose `op account get` answers `reply`, everything else as the seeded account.
struct AccountAnswers {
    fake: FakeOpRunner,
    reply: Output,
}

#[async_trait]
impl CommandRunner for AccountAnswers {
    async fn run(&self, cmd: &Command) -> Result<Output> {
        if cmd.args.len() >= 2 && cmd.args[..2] == ["account", "get"] {
            return Ok(self.reply.clone());
        }
        self.fake.run(cmd).await
    }
}

#[tokio::test]
async fn odd_answers_of_op_account_get_are_errors_not_a_missing_account() {
    for (what, status, stdout, stderr) in [
        ("an empty object", 0, "{}", ""),
        (
            "an account without an id",
            0,
            r#"{"name":"Acme Corp","type":"BUSINESS"}"#,
            "",
        ),
        ("nothing", 0, "", ""),
        (
            "op's 'not found' about its own sign-in",
            1,
            "",
            "[ERROR] 2026/11/21 12:00:00 account not found: no account found for shorthand \"acme\"",
        ),
    ] {
        let fake = FakeOpRunner::seeded();
        let config = fake.state().user_config(vec![]);
        let runner = AccountAnswers {
            fake,
            reply: Output {
                status,
                stdout: stdout.as_bytes().to_vec(),
                stderr: stderr.into(),
            },
        };
        let c = OnePassword::with_runner(config, Arc::new(runner));
        c.client().fast_retries_for_tests();
        let err = get_account(&c, ACCOUNT).await.unwrap_err();
        assert_ne!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
        if status != 0 {
            assert_eq!(err.kind(), ErrorKind::FailedPrecondition, "{what}: {err}");
        }
        // A targeted sync of the account fails rather than recording it as gone.
        let dir = tempfile::tempdir().unwrap();
        let options = SyncOptions::default().with_targeted(vec![ResourceBid::new(account())]);
        let err = sync_to_file(&c, &dir.path().join("s.c1z"), &options, None)
            .await
            .unwrap_err();
        assert_ne!(err.kind(), ErrorKind::NotFound, "{what}: {err}");
    }
}
