//! The 1Password connector with an injected fake `op`: the test plan of
//! `shared/specs/onepassword.md` §7 and its edge cases (§8, named `edge_NN_…`).

use connector_sdk::getter::GetRequest;
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use connector_onepassword::simulator::{FakeOpRunner, FakeOpState};
use connector_onepassword::{Auth, OnePassword, OnePasswordConfig};
use connector_sdk::command::{Command, CommandRunner, Output, ProcessRunner};
use connector_sdk::connector::syncer_for;
use connector_sdk::prelude::*;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{assert_conformance, check_provisioning_idempotent};
use secrecy::SecretString;

const PROD: &str = "ujjxsn4fd3iyt5cba4wpdh6qmi";
const SHARED: &str = "sharedvaultsharedvaultshar";
const ENG: &str = "YZ4SPXC2GJA6FHVUNN6O6TDBMQ";
const EMPTY_GROUP: &str = "EMPTYGROUPEMPTYGROUPEMPTY";
const WENDY: &str = "WHPOFIMMYFFITBVTOTZUR3R324";
const ADMIN: &str = "ADMINUUIDADMINUUIDADMINUU";
const BOB: &str = "BOBUUIDBOBUUIDBOBUUIDBOBU";

/// Records every command the connector sends, then runs the fake.
#[derive(Clone)]
struct Recording {
    fake: FakeOpRunner,
    seen: Arc<Mutex<Vec<Command>>>,
}

#[async_trait]
impl CommandRunner for Recording {
    async fn run(&self, cmd: &Command) -> Result<Output> {
        self.seen.lock().unwrap().push(cmd.clone());
        self.fake.run(cmd).await
    }
}

fn recording(state: FakeOpState) -> (Recording, OnePassword) {
    let r = Recording {
        fake: FakeOpRunner::new(state),
        seen: Default::default(),
    };
    let config = r.fake.state().user_config(vec![]);
    let c = OnePassword::with_runner(config, Arc::new(r.clone()));
    c.client().fast_retries_for_tests();
    (r, c)
}

async fn sync(c: &OnePassword) -> (tempfile::TempDir, C1zReader) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("op.c1z");
    sync_to_file(c, &path, &SyncOptions::default(), None)
        .await
        .unwrap();
    let reader = C1zReader::open(&path).unwrap();
    (dir, reader)
}

fn holders(r: &C1zReader, entitlement: &str) -> BTreeSet<String> {
    r.grants(&GrantFilter::default().with_entitlement(entitlement))
        .unwrap()
        .iter()
        .map(|g| g.principal().to_string())
        .collect()
}

fn ent(rt: &str, id: &str, slug: &str) -> Entitlement {
    Entitlement::from_parts(format!("{rt}:{id}:{slug}"), ResourceId::new(rt, id), slug)
}

fn principal(rt: &str, id: &str) -> Resource {
    Resource::with_id(ResourceId::new(rt, id), id)
}

fn calls_with(fake: &FakeOpRunner, prefix: &[&str]) -> Vec<Vec<String>> {
    fake.state()
        .calls
        .iter()
        .map(|c| c.args.clone())
        .filter(|a| {
            a.len() >= prefix.len()
                && a[..prefix.len()] == prefix.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]
        })
        .collect()
}

#[tokio::test]
async fn the_fake_tenant_passes_the_conformance_kit() {
    let fake = FakeOpRunner::seeded();
    let report = assert_conformance(&fake.connector(vec![])).await;
    assert_eq!(report.resources_by_type["account"], 1);
    assert_eq!(report.resources_by_type["user"], 6);
    assert_eq!(report.resources_by_type["group"], 3);
    assert_eq!(report.resources_by_type["vault"], 3);
    // `op account|user|group|vault get` agree with the listings.
    assert_eq!(report.fetched_by_id, 13);
}

#[tokio::test]
async fn edge_07_sign_in_keeps_every_secret_out_of_argv() {
    let (rec, c) = recording(FakeOpState::seeded());
    let (_d, reader) = sync(&c).await;
    assert_eq!(reader.stats().unwrap().resources, 13);
    let state = rec.fake.state().clone();
    let secrets = [
        state.credentials.password.as_str(),
        state.credentials.secret_key.as_str(),
        state.sessions[0].as_str(),
    ];
    for call in &state.calls {
        for s in secrets {
            assert!(
                !call.args.iter().any(|a| a.contains(s)),
                "a secret in argv: {:?}",
                call.args
            );
        }
    }
    let seen = rec.seen.lock().unwrap();
    // The Secret Key only in `account add`'s environment; the password only on stdin.
    for cmd in seen.iter() {
        let is_add = cmd
            .args
            .starts_with(&["account".to_string(), "add".to_string()]);
        assert_eq!(
            cmd.env.iter().any(|(k, _)| k == "OP_SECRET_KEY"),
            is_add,
            "{cmd:?}"
        );
        let signs_in = is_add || cmd.args.first().is_some_and(|a| a == "signin");
        assert_eq!(cmd.stdin.is_some(), signs_in, "{cmd:?}");
        // In user mode a stray service token is removed from every child.
        assert!(
            cmd.env_remove
                .iter()
                .any(|k| k == "OP_SERVICE_ACCOUNT_TOKEN"),
            "{cmd:?}"
        );
        let shown = format!("{cmd:?}");
        for s in secrets {
            assert!(!shown.contains(s), "{shown}");
        }
    }
    assert_eq!(calls_with(&rec.fake, &["account", "add"]).len(), 1);
    assert_eq!(
        calls_with(&rec.fake, &["signin"]).len(),
        1,
        "one sign-in for the whole sync"
    );
}

#[tokio::test]
async fn edge_05_a_local_account_matches_on_email_and_address() {
    let mut state = FakeOpState::seeded();
    state
        .local_accounts
        .push(connector_onepassword::client::LocalAccount {
            url: "other.1password.com".into(),
            email: "admin@acme.com".into(),
            user_uuid: "OTHER".into(),
            account_uuid: "OTHERACCOUNT".into(),
        });
    state
        .local_accounts
        .push(connector_onepassword::client::LocalAccount {
            url: "https://ACME.1password.com/".into(),
            email: "Admin@Acme.com".into(),
            user_uuid: ADMIN.into(),
            account_uuid: state.account.id.clone(),
        });
    let fake = FakeOpRunner::new(state);
    fake.connector(vec![]).validate().await.unwrap();
    let signins = calls_with(&fake, &["signin"]);
    assert_eq!(
        signins[0][2], "ZYXWVUTSRQPONMLKJIHGFEDCBA",
        "the account at the configured address"
    );
    assert!(
        calls_with(&fake, &["account", "add"]).is_empty(),
        "already known: no account add"
    );
}

#[tokio::test]
async fn edge_04_an_expired_session_signs_in_again_once() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    c.validate().await.unwrap();
    fake.state().sessions.clear(); // 30 minutes idle
    c.validate().await.unwrap();
    assert_eq!(calls_with(&fake, &["signin"]).len(), 2);
    // Credentials changed under it: one retry, then a clear Unauthenticated error.
    fake.state().sessions.clear();
    fake.state().credentials.password = "rotated".into();
    let err = c.validate().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthenticated);
    assert!(err.to_string().contains("--password"), "{err}");
}

#[tokio::test]
async fn service_mode_passes_the_token_in_the_environment_only() {
    let (rec, _) = recording(FakeOpState::seeded());
    let token = rec.fake.state().credentials.service_token.clone();
    let config = OnePasswordConfig {
        auth: Auth::Service {
            token: SecretString::from(token.clone()),
        },
        limit_vault_permissions: vec![],
        op_path: "op".into(),
    };
    let c = OnePassword::with_runner(config, Arc::new(rec.clone()));
    let (_d, reader) = sync(&c).await;
    assert_eq!(reader.stats().unwrap().resources, 13);
    assert!(calls_with(&rec.fake, &["signin"]).is_empty());
    for cmd in rec
        .seen
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.args != ["--version"])
    {
        assert!(
            cmd.env.iter().any(|(k, _)| k == "OP_SERVICE_ACCOUNT_TOKEN"),
            "{cmd:?}"
        );
        assert!(!cmd.args.iter().any(|a| a.contains(&token)));
    }
}

#[tokio::test]
async fn edge_01_a_missing_or_old_op_gets_an_actionable_message() {
    let config = FakeOpState::seeded().user_config(vec![]);
    let c = OnePassword::with_runner(config, Arc::new(ProcessRunner::new("/nonexistent/bin/op")));
    let err = c.validate().await.unwrap_err();
    assert!(
        err.to_string()
            .contains("op not found: install the 1Password CLI or pass --op-path (BATON_OP_PATH)"),
        "{err}"
    );
    let mut state = FakeOpState::seeded();
    state.version = "1.12.4".into();
    let err = FakeOpRunner::new(state)
        .connector(vec![])
        .validate()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not 1Password CLI 2"), "{err}");
    let mut state = FakeOpState::seeded();
    state.version = "2.17.9".into();
    let token = state.credentials.service_token.clone();
    let fake = FakeOpRunner::new(state);
    let err = fake
        .connector_with(OnePasswordConfig {
            auth: Auth::Service {
                token: SecretString::from(token),
            },
            limit_vault_permissions: vec![],
            op_path: "op".into(),
        })
        .validate()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("2.18.0"), "{err}");
}

/// A runner answering `user list` with fixed output, the rest from the fake.
struct Canned {
    fake: FakeOpRunner,
    user_list: Output,
}

#[async_trait]
impl CommandRunner for Canned {
    async fn run(&self, cmd: &Command) -> Result<Output> {
        if cmd.args.starts_with(&["user".into(), "list".into()]) {
            return Ok(self.user_list.clone());
        }
        self.fake.run(cmd).await
    }
}

#[tokio::test]
async fn edge_02_empty_output_is_an_error_and_extra_or_null_fields_are_fine() {
    let fake = FakeOpRunner::seeded();
    let config = fake.state().user_config(vec![]);
    let empty = OnePassword::with_runner(
        config.clone(),
        Arc::new(Canned {
            fake: fake.clone(),
            user_list: Output {
                status: 0,
                stdout: b"\n".to_vec(),
                stderr: "A new version of op is available".into(),
            },
        }),
    );
    let account = Resource::with_id(ResourceId::new("account", "A"), "A");
    let err = syncer_for(&empty, "user")
        .unwrap()
        .list(ListRequest::new(Some(&account.id), PageRequest::first()))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("printed nothing"), "{err}");
    let odd = br#"[{"id":"U1","name":"Una","email":"una@x.com","state":"ACTIVE","type":"GUEST","brand_new_field":{"x":1},"role":null}]"#.to_vec();
    let tolerant = OnePassword::with_runner(
        config,
        Arc::new(Canned {
            fake,
            user_list: Output {
                status: 0,
                stdout: odd,
                stderr: String::new(),
            },
        }),
    );
    let users = syncer_for(&tolerant, "user")
        .unwrap()
        .list(ListRequest::new(Some(&account.id), PageRequest::first()))
        .await
        .unwrap()
        .items;
    assert_eq!(users[0].display_name, "Una");
}

#[tokio::test]
async fn edge_08_unknown_permissions_are_skipped_never_an_empty_slug() {
    let (_d, reader) = sync(&FakeOpRunner::seeded().connector(vec![])).await;
    let ents: Vec<String> = reader
        .entitlements(None)
        .unwrap()
        .iter()
        .map(|e| e.id().to_string())
        .collect();
    assert!(
        !ents.iter().any(|e| e.ends_with(':') || e.contains("move")),
        "{ents:?}"
    );
    let grants = reader.grants(&GrantFilter::default()).unwrap();
    assert!(
        !grants
            .iter()
            .any(|g| g.entitlement_id().ends_with(':') || g.entitlement_id().contains("move"))
    );
    assert!(
        holders(&reader, &format!("vault:{PROD}:manage vault")).contains(&format!("user:{ADMIN}"))
    );
    // allow_* names on a BUSINESS account are unknown too.
    let mut state = FakeOpState::seeded();
    state
        .vault_users
        .get_mut(SHARED)
        .unwrap()
        .get_mut(WENDY)
        .unwrap()
        .push("allow_viewing".into());
    let (_d, reader) = sync(&FakeOpRunner::new(state).connector(vec![])).await;
    assert!(
        reader
            .entitlement(&format!("vault:{SHARED}:allow viewing"))
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn edge_18_19_statuses_and_account_membership_for_every_state() {
    let (_d, reader) = sync(&FakeOpRunner::seeded().connector(vec![])).await;
    let status = |id: &str| {
        reader
            .resource(&ResourceId::new("user", id))
            .unwrap()
            .unwrap()
            .user
            .unwrap()
            .status
    };
    assert_eq!(status(WENDY), UserStatus::Enabled);
    assert_eq!(status(BOB), UserStatus::Disabled);
    assert_eq!(status("TSUUIDTSUUIDTSUUIDTSUUIDT"), UserStatus::Disabled);
    assert_eq!(status("RAUUIDRAUUIDRAUUIDRAUUIDR"), UserStatus::Unspecified);
    assert_eq!(
        holders(&reader, "account:ZYXWVUTSRQPONMLKJIHGFEDCBA:member").len(),
        6,
        "no state filter"
    );
    let noname = reader
        .resource(&ResourceId::new("user", "NONAMEUUIDNONAMEUUIDNONAM"))
        .unwrap()
        .unwrap();
    assert_eq!(noname.display_name, "noname@acme.com");
    // The account is the parent of everything.
    for r in reader.resources(Some("vault")).unwrap() {
        assert_eq!(
            r.parent,
            Some(ResourceId::new("account", "ZYXWVUTSRQPONMLKJIHGFEDCBA"))
        );
    }
}

#[tokio::test]
async fn group_and_vault_grants_from_op_with_expandable_group_access() {
    let (_d, reader) = sync(&FakeOpRunner::seeded().connector(vec![])).await;
    assert_eq!(
        holders(&reader, &format!("group:{ENG}:member")),
        [format!("user:{WENDY}"), format!("user:{BOB}")].into()
    );
    assert_eq!(
        holders(&reader, &format!("group:{ENG}:manager")),
        [format!("user:{WENDY}")].into()
    );
    let g = reader
        .grant(&format!("vault:{PROD}:view items:group:{ENG}"))
        .unwrap()
        .unwrap();
    let x = g.expandable.unwrap();
    assert_eq!(x.entitlement_ids, [format!("group:{ENG}:member")]);
    assert!(x.shallow);
    assert_eq!(x.resource_type_ids, ["user"]);
    // Expanded to the group's members by the engine.
    assert!(holders(&reader, &format!("vault:{PROD}:view items")).contains(&format!("user:{BOB}")));
    assert!(holders(&reader, &format!("vault:{PROD}:member")).contains(&format!("group:{ENG}")));
}

#[tokio::test]
async fn the_basic_model_has_three_permissions_and_limits_filter() {
    let (_d, reader) =
        sync(&FakeOpRunner::new(FakeOpState::seeded_basic()).connector(vec![])).await;
    let slugs: BTreeSet<String> = reader
        .entitlements(Some(&ResourceId::new("vault", PROD)))
        .unwrap()
        .iter()
        .map(|e| e.slug().to_string())
        .collect();
    assert_eq!(
        slugs,
        ["allow editing", "allow managing", "allow viewing", "member"]
            .into_iter()
            .map(String::from)
            .collect()
    );
    let limited = FakeOpRunner::seeded().connector(vec!["view_items".into()]);
    let (_d, reader) = sync(&limited).await;
    let slugs: BTreeSet<String> = reader
        .entitlements(Some(&ResourceId::new("vault", PROD)))
        .unwrap()
        .iter()
        .map(|e| e.slug().to_string())
        .collect();
    assert_eq!(slugs, ["view items".to_string()].into());
    assert!(
        reader
            .grants(&GrantFilter::default())
            .unwrap()
            .iter()
            .filter(|g| g.entitlement_resource().resource_type == "vault")
            .all(|g| g.entitlement_id().ends_with("view items"))
    );
}

#[tokio::test]
async fn edge_09_17_vault_grants_use_ids_spaces_and_full_dependency_lists() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    let vaults = syncer_for(&c, "vault").unwrap();
    let p = vaults.provisioner().unwrap();
    let out = p
        .grant(GrantRequest::new(
            &principal("user", BOB),
            &ent("vault", SHARED, "edit items"),
        ))
        .await
        .unwrap();
    assert!(matches!(out, GrantOutcome::Granted(_)));
    let call = calls_with(&fake, &["vault", "user", "grant"])
        .pop()
        .unwrap();
    assert_eq!(
        call,
        [
            "vault",
            "user",
            "grant",
            "--vault",
            SHARED,
            "--user",
            BOB,
            "--permissions",
            "view_items,view_and_copy_passwords,edit_items",
            "--format=json"
        ]
    );
    // Vault member grants real permission names, never the literal `member`.
    p.grant(GrantRequest::new(
        &principal("user", "RAUUIDRAUUIDRAUUIDRAUUIDR"),
        &ent("vault", SHARED, "member"),
    ))
    .await
    .unwrap();
    let call = calls_with(&fake, &["vault", "user", "grant"])
        .pop()
        .unwrap();
    assert!(
        !call[8].split(',').any(|x| x == "member") && call[8].split(',').count() == 11,
        "{call:?}"
    );
    // Revoking view_and_copy_passwords takes its dependents Bob holds, not its prerequisite.
    let out = p
        .revoke(RevokeRequest::new(&Grant::new(
            &ent("vault", SHARED, "view and copy passwords"),
            ResourceId::new("user", BOB),
        )))
        .await
        .unwrap();
    assert_eq!(out, RevokeOutcome::Revoked);
    let call = calls_with(&fake, &["vault", "user", "revoke"])
        .pop()
        .unwrap();
    assert_eq!(call[8], "edit_items,view_and_copy_passwords");
    assert_eq!(fake.state().vault_users[SHARED][BOB], ["view_items"]);
    // Ids of the wrong shape are refused before op runs.
    let err = p
        .grant(GrantRequest::new(
            &principal("user", BOB),
            &Entitlement::from_parts("vault:a:b:c", ResourceId::new("vault", "a"), "c"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn edge_10_group_principals_use_vault_group_grant_and_revoke() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    let p = syncer_for(&c, "vault").unwrap();
    let p = p.provisioner().unwrap();
    p.grant(GrantRequest::new(
        &principal("group", EMPTY_GROUP),
        &ent("vault", SHARED, "view items"),
    ))
    .await
    .unwrap();
    assert_eq!(
        calls_with(&fake, &["vault", "group", "grant"])
            .pop()
            .unwrap()[5..7],
        ["--group", EMPTY_GROUP]
    );
    assert_eq!(
        p.revoke(RevokeRequest::new(&Grant::new(
            &ent("vault", SHARED, "view items"),
            ResourceId::new("group", EMPTY_GROUP)
        )))
        .await
        .unwrap(),
        RevokeOutcome::Revoked
    );
    assert!(!calls_with(&fake, &["vault", "group", "revoke"]).is_empty());
    assert!(
        calls_with(&fake, &["vault", "user"])
            .iter()
            .all(|c| c[2] == "list"),
        "never vault user … for a group"
    );
}

#[tokio::test]
async fn edge_11_access_inherited_from_a_group_is_already_revoked_for_the_user() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    let p = syncer_for(&c, "vault").unwrap();
    // Bob sees Prod only through Engineering: no direct permissions.
    let out = p
        .provisioner()
        .unwrap()
        .revoke(RevokeRequest::new(&Grant::new(
            &ent("vault", PROD, "view items"),
            ResourceId::new("user", BOB),
        )))
        .await
        .unwrap();
    assert_eq!(out, RevokeOutcome::AlreadyRevoked);
    assert!(calls_with(&fake, &["vault", "user", "revoke"]).is_empty());
}

#[tokio::test]
async fn edge_12_manager_grant_joins_first_and_manager_revoke_demotes() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    let g = syncer_for(&c, "group").unwrap();
    let p = g.provisioner().unwrap();
    p.grant(GrantRequest::new(
        &principal("user", ADMIN),
        &ent("group", EMPTY_GROUP, "manager"),
    ))
    .await
    .unwrap();
    let roles: Vec<String> = calls_with(&fake, &["group", "user", "grant"])
        .iter()
        .map(|c| c[6].clone())
        .collect();
    assert_eq!(roles, ["member", "manager"]);
    assert_eq!(fake.state().group_members[EMPTY_GROUP][ADMIN], "MANAGER");
    assert_eq!(
        p.revoke(RevokeRequest::new(&Grant::new(
            &ent("group", ENG, "manager"),
            ResourceId::new("user", WENDY)
        )))
        .await
        .unwrap(),
        RevokeOutcome::Revoked
    );
    assert_eq!(
        fake.state().group_members[ENG][WENDY],
        "MEMBER",
        "demoted, still a member"
    );
    assert!(calls_with(&fake, &["group", "user", "revoke"]).is_empty());
    let err = p
        .grant(GrantRequest::new(
            &principal("group", ENG),
            &ent("group", EMPTY_GROUP, "member"),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArgument);
}

#[tokio::test]
async fn edge_13_provisioning_is_idempotent() {
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    check_provisioning_idempotent(
        &c,
        &principal("user", "RAUUIDRAUUIDRAUUIDRAUUIDR"),
        &ent("group", EMPTY_GROUP, "member"),
    )
    .await
    .unwrap();
    check_provisioning_idempotent(
        &c,
        &principal("user", "RAUUIDRAUUIDRAUUIDRAUUIDR"),
        &ent("vault", SHARED, "view item history"),
    )
    .await
    .unwrap();
    check_provisioning_idempotent(
        &c,
        &principal("group", EMPTY_GROUP),
        &ent("vault", PROD, "manage vault"),
    )
    .await
    .unwrap();
    // The revoke took view_item_history (and its dependents) but kept its prerequisites.
    let left = fake.state().vault_users[SHARED]["RAUUIDRAUUIDRAUUIDRAUUIDR"].clone();
    assert_eq!(left, ["view_and_copy_passwords", "view_items"]);
}

#[tokio::test]
async fn edge_16_account_type_is_read_once_per_sync() {
    let fake = FakeOpRunner::seeded();
    sync(&fake.connector(vec![])).await;
    assert_eq!(
        calls_with(&fake, &["account", "get"]).len(),
        1,
        "cached for every vault"
    );
}

#[tokio::test]
async fn rate_limited_commands_back_off_and_succeed() {
    let mut state = FakeOpState::seeded();
    state.rate_limit_next = 2;
    let fake = FakeOpRunner::new(state);
    fake.connector(vec![]).validate().await.unwrap();
    let mut state = FakeOpState::seeded();
    state.rate_limit_next = 10;
    let err = FakeOpRunner::new(state)
        .connector(vec![])
        .validate()
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ResourceExhausted);
}

#[tokio::test]
async fn no_secret_reaches_logs_errors_or_debug_output() {
    let logs = connector_sdk::testing::LogCapture::start();
    let fake = FakeOpRunner::seeded();
    let c = fake.connector(vec![]);
    sync(&c).await;
    fake.state().sessions.clear();
    fake.state().credentials.password = "something else".into();
    let err = c.validate().await.unwrap_err();
    let state = fake.state().clone();
    let config = FakeOpState::seeded().user_config(vec![]);
    let all = format!("{err}\n{err:?}\n{c:?}\n{config:?}\n{}", logs.text());
    for s in [
        FakeOpState::seeded().credentials.password,
        state.credentials.secret_key.clone(),
        state
            .sessions
            .first()
            .cloned()
            .unwrap_or_else(|| "sess-1".into()),
    ] {
        assert!(!all.contains(&s), "{s} leaked");
    }
}

/// Ids are data, not syntax (issue #24): ids that look like op's flags (`--debug`, a
/// `--format` of op's own, an `--account` switch) reach op as positional arguments, after
/// `--`, in every command that takes an id: a sync lists them, their members and their
/// vault accessors, and the getters read each one back.
#[tokio::test]
async fn ids_that_look_like_flags_reach_op_as_positional_arguments() {
    use connector_onepassword::client::{OpGroup, OpUser, OpVault};
    const VAULT: &str = "--debug";
    const GROUP: &str = "--format=evil";
    const USER: &str = "--account=evil";
    let mut state = FakeOpState::seeded();
    state.vaults.push(OpVault {
        id: VAULT.into(),
        name: "Flag-like vault".into(),
    });
    state.groups.push(OpGroup {
        id: GROUP.into(),
        name: "Flag-like group".into(),
        ..Default::default()
    });
    state.users.push(OpUser {
        id: USER.into(),
        name: "Flag-like user".into(),
        email: "flags@example.com".into(),
        state: "ACTIVE".into(),
        ..Default::default()
    });
    state.group_members.insert(
        GROUP.into(),
        [(USER.to_string(), "MEMBER".to_string())].into(),
    );
    state.vault_groups.insert(
        VAULT.into(),
        [(GROUP.to_string(), vec!["view_items".to_string()])].into(),
    );
    let (rec, c) = recording(state);

    let (_d, reader) = sync(&c).await;
    assert_eq!(
        holders(&reader, &format!("group:{GROUP}:member")),
        BTreeSet::from([format!("user:{USER}")])
    );
    assert!(
        holders(&reader, &format!("vault:{VAULT}:view items")).contains(&format!("group:{GROUP}")),
        "{:?}",
        reader.grants(&GrantFilter::default()).unwrap().len()
    );
    for (rt, id, name) in [
        ("vault", VAULT, "Flag-like vault"),
        ("group", GROUP, "Flag-like group"),
        ("user", USER, "Flag-like user"),
    ] {
        let got = syncer_for(&c, rt)
            .unwrap()
            .getter()
            .unwrap()
            .get(GetRequest::new(&ResourceId::new(rt, id), None))
            .await
            .unwrap_or_else(|e| panic!("{rt} {id}: {e}"));
        assert_eq!(got.display_name, name);
    }

    // Every command carrying one of the ids has it after `--`, and op's own flags before.
    let seen = rec.seen.lock().unwrap();
    let mut checked = 0;
    for cmd in seen.iter() {
        let Some(at) = cmd
            .args
            .iter()
            .position(|a| [VAULT, GROUP, USER].contains(&a.as_str()))
        else {
            continue;
        };
        let dashes = cmd.args.iter().position(|a| a == "--");
        assert!(dashes.is_some_and(|d| d < at), "{:?}", cmd.args);
        let format = cmd.args.iter().position(|a| a == "--format=json");
        assert!(format < dashes, "{:?}", cmd.args);
        checked += 1;
    }
    // vault/group/user get, group user list, vault user list, vault group list.
    assert!(checked >= 6, "{checked}");
    // And the fake reads argv as op does: without `--`, `--debug` is op's debug flag.
    let out = rec.fake.state().handle(
        &[
            "vault".into(),
            "get".into(),
            VAULT.into(),
            "--format=json".into(),
        ],
        &Default::default(),
        "",
    );
    assert!(!out.success(), "{}", out.stdout_text());
}
