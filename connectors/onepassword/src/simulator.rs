//! A fake `op` (feature `testing`): the commands the connector issues, answered from a
//! state that a grant changes, as op 2 would. Two transports share the logic:
//!
//! * [`FakeOpRunner`], an in-process [`CommandRunner`] for fast tests;
//! * the `fake-op` binary of this crate, backed by a JSON state file (`FAKE_OP_STATE`), for
//!   the example binary, the demo and end-to-end tests (`--op-path path/to/fake-op`).
//!
//! The fake checks what real op checks: a valid session or service token on every data
//! command, the Secret Key in `op account add`'s environment and the password on stdin,
//! prerequisites included in a vault grant and dependents in a revoke. It records every
//! call (argv, environment variable names, stdin length) so tests can prove no secret
//! reached argv.
//!
//! ```
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! use connector_onepassword::simulator::FakeOpRunner;
//! let fake = FakeOpRunner::seeded();
//! let connector = fake.connector(vec![]);
//! connector_sdk::testing::assert_conformance(&connector).await;
//! # });
//! ```

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use async_trait::async_trait;
use connector_sdk::command::{Command, CommandRunner, Output};
use connector_sdk::{Error, ErrorKind, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::OnePassword;
use crate::client::{AccountInfo, LocalAccount, OpGroup, OpUser, OpVault, op_env_allow_list};
use crate::config::{Auth, OnePasswordConfig};
use crate::permissions::{BASIC, BUSINESS};

/// The credentials the fake account accepts.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Credentials {
    /// Sign-in address.
    pub address: String,
    /// Email.
    pub email: String,
    /// Secret Key.
    pub secret_key: String,
    /// Password.
    pub password: String,
    /// The signed-in user's id.
    pub user_uuid: String,
    /// The service account token.
    pub service_token: String,
}

/// One recorded call.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Call {
    /// Arguments.
    pub args: Vec<String>,
    /// Names (not values) of the environment variables the call set.
    pub env: Vec<String>,
    /// Bytes written to stdin.
    pub stdin_len: usize,
}

/// The fake account.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FakeOpState {
    /// What `op --version` prints.
    pub version: String,
    /// `op account get`.
    pub account: AccountInfo,
    /// Accounts known to this op's config (empty until `op account add`).
    pub local_accounts: Vec<LocalAccount>,
    /// Accepted credentials.
    pub credentials: Credentials,
    /// Valid session tokens.
    pub sessions: Vec<String>,
    /// Users.
    pub users: Vec<OpUser>,
    /// Groups.
    pub groups: Vec<OpGroup>,
    /// Group id → user id → role (`MEMBER` or `MANAGER`).
    pub group_members: BTreeMap<String, BTreeMap<String, String>>,
    /// Vaults.
    pub vaults: Vec<OpVault>,
    /// Vault id → user id → permissions.
    pub vault_users: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Vault id → group id → permissions.
    pub vault_groups: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    /// Answer the next N data commands with "Too many requests".
    #[serde(default)]
    pub rate_limit_next: u32,
    /// Every call, in order.
    #[serde(default)]
    pub calls: Vec<Call>,
    /// Scripted failures (see [`Fault`]).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Random failures from a seed (see [`Chaos`]).
    #[serde(default)]
    pub chaos: Option<Chaos>,
    /// Faults injected so far, as `"<kind> <argv>"`.
    #[serde(default)]
    pub injected: Vec<String>,
}

/// How an injected failure looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// op exits 1: `read: connection reset by peer`. Nothing is applied.
    ConnectionReset,
    /// op exits 1: `(500) Internal Server Error`. Nothing is applied.
    ServerError,
    /// op exits 1: `(429) Too many requests`. Nothing is applied.
    TooManyRequests,
    /// op exits 1: `dial tcp: lookup …: no such host`. Nothing is applied.
    DnsFailure,
    /// op never answers; the runner's timeout has to end it. Nothing is applied.
    Hang,
    /// The command runs, but its output is cut short in the middle (a successful exit
    /// with half a JSON document).
    Garbage,
    /// The command runs and is applied, then op reports a connection reset: the answer
    /// is lost.
    AppliedThenReset,
}

/// A scripted failure: the `nth` call (from 1) whose argv starts with `command`, and the
/// `times - 1` matching calls after it, fail as `kind`. Local commands (`--version`,
/// `accounts list`) never fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    /// The argv prefix the fault applies to (`["vault", "user", "grant"]`); empty: every
    /// command that talks to 1Password.
    pub command: Vec<String>,
    /// The first matching call that fails (1 is the first).
    pub nth: u32,
    /// How many matching calls in a row fail (`u32::MAX`: every one from `nth` on).
    pub times: u32,
    /// How they fail.
    pub kind: FaultKind,
    /// Matching calls seen so far.
    #[serde(default)]
    pub seen: u32,
}

impl Fault {
    /// Fails the `nth` call whose argv starts with `command` (once).
    pub fn nth(command: &[&str], nth: u32, kind: FaultKind) -> Self {
        Fault {
            command: command.iter().map(|s| s.to_string()).collect(),
            nth: nth.max(1),
            times: 1,
            kind,
            seen: 0,
        }
    }

    /// Fails every call whose argv starts with `command`.
    pub fn always(command: &[&str], kind: FaultKind) -> Self {
        Fault::nth(command, 1, kind).times(u32::MAX)
    }

    /// Fails `times` matching calls in a row.
    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    fn matches(&self, args: &[String]) -> bool {
        args.len() >= self.command.len() && args[..self.command.len()] == self.command[..]
    }
}

/// Random failures: each call that talks to 1Password fails with probability
/// `percent`/100 as one of `kinds`, decided by `seed`, the call's argv and how many times
/// that argv ran; never more than `max_in_a_row` times in a row for the same argv.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chaos {
    /// The seed: the same seed and calls give the same failures.
    pub seed: u64,
    /// Chance of failure per call, in percent.
    pub percent: u32,
    /// The most failures in a row for one argv.
    pub max_in_a_row: u32,
    /// The kinds to choose from.
    pub kinds: Vec<FaultKind>,
    /// Per argv: calls so far and failures in a row.
    #[serde(default)]
    pub runs: BTreeMap<String, (u32, u32)>,
}

impl Chaos {
    /// `percent` % of calls fail as one of `kinds`, at most two in a row per argv.
    pub fn new(seed: u64, percent: u32, kinds: &[FaultKind]) -> Self {
        Chaos {
            seed,
            percent,
            max_in_a_row: 2,
            kinds: kinds.to_vec(),
            runs: BTreeMap::new(),
        }
    }

    fn roll(&mut self, key: &str) -> Option<FaultKind> {
        let (count, streak) = self.runs.entry(key.to_string()).or_default();
        *count += 1;
        let mut h = self.seed ^ 0xcbf2_9ce4_8422_2325;
        for b in key.bytes().chain(count.to_le_bytes()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        let r = splitmix64(h);
        if self.kinds.is_empty() || *streak >= self.max_in_a_row || (r % 100) as u32 >= self.percent
        {
            *streak = 0;
            return None;
        }
        *streak += 1;
        Some(self.kinds[((r >> 32) % self.kinds.len() as u64) as usize])
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// What the fake does with one invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Exit with this output.
    Output(Output),
    /// Never answer: the runner's timeout has to end the command.
    Hang,
}

const RESET: &str = "[ERROR] 2026/11/21 12:00:00 Post \"https://acme.1password.com/api/v2/request\": read tcp 10.0.0.2:51234->13.1.2.3:443: read: connection reset by peer";

fn user(id: &str, name: &str, email: &str, state: &str) -> OpUser {
    OpUser {
        id: id.into(),
        name: name.into(),
        email: email.into(),
        state: state.into(),
        ..Default::default()
    }
}

fn perms(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl FakeOpState {
    /// A BUSINESS account: six users in every state, three groups (one with a manager, one
    /// empty), three vaults with group and user access, including an unknown `move_items`.
    pub fn seeded() -> Self {
        let mut s = FakeOpState {
            version: "2.30.0".into(),
            account: AccountInfo {
                id: "ZYXWVUTSRQPONMLKJIHGFEDCBA".into(),
                name: "Acme Corp".into(),
                kind: "BUSINESS".into(),
            },
            credentials: Credentials {
                address: "acme.1password.com".into(),
                email: "admin@acme.com".into(),
                secret_key: "A3-ASWWYB-798JRY-LJVD4-23DC2-86TVM-H43EB".into(),
                password: "correct horse battery staple".into(),
                user_uuid: "ADMINUUIDADMINUUIDADMINUU".into(),
                service_token: "ops_fakeServiceAccountToken".into(),
            },
            ..Default::default()
        };
        s.users = vec![
            user(
                "ADMINUUIDADMINUUIDADMINUU",
                "Alice Admin",
                "admin@acme.com",
                "ACTIVE",
            ),
            user(
                "WHPOFIMMYFFITBVTOTZUR3R324",
                "Wendy Appleseed",
                "wendy@acme.com",
                "ACTIVE",
            ),
            user(
                "BOBUUIDBOBUUIDBOBUUIDBOBU",
                "Bob Builder",
                "bob@acme.com",
                "SUSPENDED",
            ),
            user(
                "TSUUIDTSUUIDTSUUIDTSUUIDT",
                "Tess Transfer",
                "tess@acme.com",
                "TRANSFER_SUSPENDED",
            ),
            user(
                "RAUUIDRAUUIDRAUUIDRAUUIDR",
                "Ray Recovery",
                "ray@acme.com",
                "RECOVERY_ACCEPTED",
            ),
            user("NONAMEUUIDNONAMEUUIDNONAM", "", "noname@acme.com", "ACTIVE"),
        ];
        s.groups = vec![
            OpGroup {
                id: "OWNERSGROUPOWNERSGROUPOWN".into(),
                name: "Owners".into(),
                ..Default::default()
            },
            OpGroup {
                id: "YZ4SPXC2GJA6FHVUNN6O6TDBMQ".into(),
                name: "Engineering".into(),
                description: Some("Eng team".into()),
                ..Default::default()
            },
            OpGroup {
                id: "EMPTYGROUPEMPTYGROUPEMPTY".into(),
                name: "Empty".into(),
                ..Default::default()
            },
        ];
        s.group_members.insert(
            "OWNERSGROUPOWNERSGROUPOWN".into(),
            [(
                "ADMINUUIDADMINUUIDADMINUU".to_string(),
                "MANAGER".to_string(),
            )]
            .into(),
        );
        s.group_members.insert(
            "YZ4SPXC2GJA6FHVUNN6O6TDBMQ".into(),
            [
                (
                    "WHPOFIMMYFFITBVTOTZUR3R324".to_string(),
                    "MANAGER".to_string(),
                ),
                (
                    "BOBUUIDBOBUUIDBOBUUIDBOBU".to_string(),
                    "MEMBER".to_string(),
                ),
            ]
            .into(),
        );
        s.vaults = vec![
            OpVault {
                id: "ujjxsn4fd3iyt5cba4wpdh6qmi".into(),
                name: "Prod".into(),
            },
            OpVault {
                id: "sharedvaultsharedvaultshar".into(),
                name: "Shared".into(),
            },
            OpVault {
                id: "emptyvaultemptyvaultemptyv".into(),
                name: "Empty".into(),
            },
        ];
        s.vault_groups.insert(
            "ujjxsn4fd3iyt5cba4wpdh6qmi".into(),
            [(
                "YZ4SPXC2GJA6FHVUNN6O6TDBMQ".to_string(),
                perms(&["view_items", "view_and_copy_passwords"]),
            )]
            .into(),
        );
        s.vault_users.insert(
            "ujjxsn4fd3iyt5cba4wpdh6qmi".into(),
            [(
                "ADMINUUIDADMINUUIDADMINUU".to_string(),
                perms(&[
                    "view_items",
                    "view_and_copy_passwords",
                    "edit_items",
                    "manage_vault",
                    "move_items",
                ]),
            )]
            .into(),
        );
        s.vault_users.insert(
            "sharedvaultsharedvaultshar".into(),
            [(
                "WHPOFIMMYFFITBVTOTZUR3R324".to_string(),
                perms(&["view_items"]),
            )]
            .into(),
        );
        s
    }

    /// The same account with the basic (non-business) permission model.
    pub fn seeded_basic() -> Self {
        let mut s = Self::seeded();
        s.account.kind = "TEAM".into();
        s.vault_groups.insert(
            "ujjxsn4fd3iyt5cba4wpdh6qmi".into(),
            [(
                "YZ4SPXC2GJA6FHVUNN6O6TDBMQ".to_string(),
                perms(&["allow_viewing"]),
            )]
            .into(),
        );
        s.vault_users.insert(
            "ujjxsn4fd3iyt5cba4wpdh6qmi".into(),
            [(
                "ADMINUUIDADMINUUIDADMINUU".to_string(),
                perms(&["allow_viewing", "allow_editing", "allow_managing"]),
            )]
            .into(),
        );
        s.vault_users.insert(
            "sharedvaultsharedvaultshar".into(),
            [(
                "WHPOFIMMYFFITBVTOTZUR3R324".to_string(),
                perms(&["allow_viewing", "view_items"]),
            )]
            .into(),
        );
        s
    }

    /// A user-auth config with the right credentials.
    pub fn user_config(&self, limit: Vec<String>) -> OnePasswordConfig {
        let c = &self.credentials;
        OnePasswordConfig {
            auth: Auth::User {
                address: c.address.clone(),
                email: c.email.clone(),
                secret_key: SecretString::from(c.secret_key.clone()),
                password: SecretString::from(c.password.clone()),
            },
            limit_vault_permissions: limit,
            op_path: "op".into(),
        }
    }

    /// Handles one `op` invocation, failing it when a [`Fault`] or [`Chaos`] says so.
    pub fn respond(
        &mut self,
        args: &[String],
        env: &HashMap<String, String>,
        stdin: &str,
    ) -> Reply {
        let mut names: Vec<String> = env.keys().cloned().collect();
        names.sort();
        self.calls.push(Call {
            args: args.to_vec(),
            env: names,
            stdin_len: stdin.len(),
        });
        let local = matches!(
            args.iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice(),
            ["--version", ..] | ["accounts", "list", ..]
        );
        let fault = if local { None } else { self.next_fault(args) };
        let Some(kind) = fault else {
            return Reply::Output(self.answer(args, env, stdin));
        };
        self.injected.push(format!("{kind:?} {}", args.join(" ")));
        Reply::Output(match kind {
            FaultKind::ConnectionReset => fail(RESET),
            FaultKind::ServerError => {
                fail("[ERROR] 2026/11/21 12:00:00 (500) Internal Server Error")
            }
            FaultKind::TooManyRequests => fail(
                "[ERROR] 2026/11/21 12:00:00 (429) Too many requests. Your client has been rate-limited. Try again in a few seconds.",
            ),
            FaultKind::DnsFailure => fail(&format!(
                "[ERROR] 2026/11/21 12:00:00 Post \"https://{0}/api/v2/auth\": dial tcp: lookup {0} on 127.0.0.53:53: no such host",
                self.credentials.address
            )),
            FaultKind::Hang => return Reply::Hang,
            FaultKind::Garbage => {
                let mut out = self.answer(args, env, stdin);
                out.stdout.truncate(out.stdout.len() / 2);
                out
            }
            FaultKind::AppliedThenReset => {
                self.answer(args, env, stdin);
                fail(RESET)
            }
        })
    }

    /// Handles one `op` invocation; a hang is answered at once with a failure.
    pub fn handle(
        &mut self,
        args: &[String],
        env: &HashMap<String, String>,
        stdin: &str,
    ) -> Output {
        match self.respond(args, env, stdin) {
            Reply::Output(out) => out,
            Reply::Hang => fail("fake-op: this call was scripted to hang"),
        }
    }

    fn next_fault(&mut self, args: &[String]) -> Option<FaultKind> {
        let mut fired = None;
        for f in self.faults.iter_mut().filter(|f| f.matches(args)) {
            f.seen += 1;
            if fired.is_none() && f.seen >= f.nth && f.seen - f.nth < f.times {
                fired = Some(f.kind);
            }
        }
        let key = args.join(" ");
        let chaos = self.chaos.as_mut().and_then(|c| c.roll(&key));
        fired.or(chaos)
    }

    fn answer(&mut self, args: &[String], env: &HashMap<String, String>, stdin: &str) -> Output {
        // Read like op (a cobra CLI) reads its argv: an argument starting with `-` before
        // `--` is a flag; everything after `--` is a positional argument.
        let argv = match OpArgv::parse(args) {
            Ok(argv) => argv,
            Err(e) => return fail(&e),
        };
        if let Some(format) = argv.flags.get("format")
            && !matches!(format.as_str(), "json" | "human-readable")
        {
            return fail(&format!(
                "[ERROR] invalid value \"{format}\" for --format: use json or human-readable"
            ));
        }
        let a: Vec<&str> = argv.words.iter().map(String::as_str).collect();
        let flag = |name: &str| argv.flags.get(name.trim_start_matches('-')).cloned();
        if a.is_empty() && argv.flags.contains_key("version") {
            return ok_text(&self.version);
        }
        match a.as_slice() {
            ["accounts", "list"] => return ok(json!(self.local_accounts)),
            ["account", "add", ..] => {
                let c = &self.credentials;
                let right = flag("--address").as_deref() == Some(c.address.as_str())
                    && flag("--email").as_deref() == Some(c.email.as_str())
                    && env.get("OP_SECRET_KEY") == Some(&c.secret_key)
                    && stdin.trim_end_matches('\n') == c.password;
                if !right {
                    return fail(
                        "[ERROR] 401: Unauthorized: the email, Secret Key or password is incorrect",
                    );
                }
                self.local_accounts.push(LocalAccount {
                    url: c.address.clone(),
                    email: c.email.clone(),
                    user_uuid: c.user_uuid.clone(),
                    account_uuid: self.account.id.clone(),
                });
                return ok_text("");
            }
            ["signin"] if flag("--raw").is_some() => {
                let account = flag("--account").unwrap_or_default();
                if account != self.account.id
                    || stdin.trim_end_matches('\n') != self.credentials.password
                {
                    return fail("[ERROR] 401: Unauthorized: incorrect password");
                }
                let token = format!("sess-{}-{}", self.sessions.len() + 1, self.calls.len());
                self.sessions.push(token.clone());
                return ok_text(&format!("{token}\n"));
            }
            _ => {}
        }
        // Every other command needs a session or the service token.
        let service = env
            .get("OP_SERVICE_ACCOUNT_TOKEN")
            .is_some_and(|t| *t == self.credentials.service_token);
        let session = env
            .iter()
            .filter(|(k, _)| k.starts_with("OP_SESSION_"))
            .map(|(_, v)| v.clone())
            .chain(flag("--session"))
            .any(|t| self.sessions.contains(&t));
        if !service && !session {
            return fail(
                "[ERROR] 2026/11/21 12:00:00 You are not currently signed in. Please run `op signin --help` for instructions",
            );
        }
        if self.rate_limit_next > 0 {
            self.rate_limit_next -= 1;
            return fail(
                "[ERROR] 2026/11/21 12:00:00 Too many requests. Your client has been rate-limited. Try again in a few seconds.",
            );
        }
        let business = self.account.kind == "BUSINESS";
        match a.as_slice() {
            ["whoami"] => ok(json!({"url": format!("https://{}", self.credentials.address), "email": self.credentials.email, "user_uuid": self.credentials.user_uuid, "account_uuid": self.account.id})),
            ["account", "get"] => ok(json!({"id": self.account.id, "name": self.account.name, "domain": "acme", "type": self.account.kind, "state": "ACTIVE", "created_at": "2021-03-04T17:21:02Z"})),
            ["user", "list"] => ok(json!(self.users.iter().map(|u| json!({"id": u.id, "name": u.name, "email": u.email, "type": "MEMBER", "state": u.state})).collect::<Vec<_>>())),
            ["user", "get", uid] => match self.users.iter().find(|u| u.id == *uid) {
                Some(u) => ok(json!({"id": u.id, "name": u.name, "email": u.email, "type": "MEMBER", "state": u.state, "created_at": "2021-03-04T17:21:02Z"})),
                None => fail(&format!("[ERROR] 2026/11/21 12:00:00 \"{uid}\" isn't a user in this account")),
            },
            ["group", "get", gid] => match self.groups.iter().find(|g| g.id == *gid) {
                Some(g) => ok(json!(g)),
                None => fail(&format!("[ERROR] 2026/11/21 12:00:00 \"{gid}\" isn't a group in this account")),
            },
            ["vault", "get", vid] => match self.vaults.iter().find(|v| v.id == *vid) {
                Some(v) => ok(json!({"id": v.id, "name": v.name, "content_version": 5, "items": 3, "type": "USER_CREATED"})),
                None => fail(&format!("[ERROR] 2026/11/21 12:00:00 \"{vid}\" isn't a vault in this account")),
            },
            ["group", "list"] => ok(json!(self.groups)),
            ["vault", "list"] => ok(json!(self.vaults.iter().map(|v| json!({"id": v.id, "name": v.name, "content_version": 5, "items": 3})).collect::<Vec<_>>())),
            ["group", "user", "list", gid] => match self.group_members.get(*gid).cloned().or_else(|| self.groups.iter().any(|g| g.id == *gid).then(BTreeMap::new)) {
                Some(members) => ok(json!(members.iter().filter_map(|(uid, role)| self.users.iter().find(|u| u.id == *uid).map(|u| json!({"id": u.id, "name": u.name, "email": u.email, "type": "MEMBER", "state": u.state, "role": role}))).collect::<Vec<_>>())),
                None => fail(&format!("[ERROR] \"{gid}\" isn't a group in this account")),
            },
            ["vault", "user", "list", vid] => self.vault_accessors(vid, true),
            ["vault", "group", "list", vid] => self.vault_accessors(vid, false),
            ["group", "user", "grant", ..] => {
                let (Some(g), Some(u), Some(role)) = (flag("--group"), flag("--user"), flag("--role")) else {
                    return fail("[ERROR] --group, --user and --role are required");
                };
                if !self.groups.iter().any(|x| x.id == g) || !self.users.iter().any(|x| x.id == u) {
                    return fail("[ERROR] user or group not found");
                }
                let members = self.group_members.entry(g).or_default();
                match role.as_str() {
                    "member" => {
                        members.entry(u).and_modify(|r| *r = "MEMBER".into()).or_insert_with(|| "MEMBER".into());
                    }
                    "manager" if members.contains_key(&u) => {
                        members.insert(u, "MANAGER".into());
                    }
                    "manager" => return fail("[ERROR] the user must be a member of the group before becoming a manager"),
                    _ => return fail("[ERROR] --role must be member or manager"),
                }
                ok_text("")
            }
            ["group", "user", "revoke", ..] => {
                let (Some(g), Some(u)) = (flag("--group"), flag("--user")) else { return fail("[ERROR] --group and --user are required") };
                match self.group_members.get_mut(&g).and_then(|m| m.remove(&u)) {
                    Some(_) => ok_text(""),
                    None => fail("[ERROR] the user isn't a member of the group"),
                }
            }
            ["vault", kind @ ("user" | "group"), op @ ("grant" | "revoke"), ..] => {
                let who = if *kind == "user" { flag("--user") } else { flag("--group") };
                let (Some(v), Some(who), Some(list)) = (flag("--vault"), who, flag("--permissions")) else {
                    return fail("[ERROR] --vault, the accessor and --permissions are required");
                };
                if !self.vaults.iter().any(|x| x.id == v) {
                    return fail(&format!("[ERROR] \"{v}\" isn't a vault in this account"));
                }
                let exists = if *kind == "user" { self.users.iter().any(|x| x.id == who) } else { self.groups.iter().any(|x| x.id == who) };
                if !exists {
                    return fail(&format!("[ERROR] \"{who}\" isn't a {kind} in this account"));
                }
                let model: &[&str] = if business { &BUSINESS } else { &BASIC };
                let list: Vec<String> = list.split(',').map(String::from).collect();
                if let Some(bad) = list.iter().find(|p| !model.contains(&p.as_str())) {
                    return fail(&format!("[ERROR] \"{bad}\" isn't a permission for this account type"));
                }
                let table = if *kind == "user" { &mut self.vault_users } else { &mut self.vault_groups };
                let current: BTreeSet<String> = table.get(&v).and_then(|m| m.get(&who)).cloned().unwrap_or_default().into_iter().collect();
                if *op == "grant" {
                    let after: BTreeSet<String> = current.iter().cloned().chain(list.iter().cloned()).collect();
                    for p in &after {
                        for pre in crate::permissions::grant_list(p, business) {
                            if !after.contains(&pre) && model.contains(&pre.as_str()) {
                                return fail(&format!("[ERROR] {p} requires {pre}; include it with --permissions"));
                            }
                        }
                    }
                    table.entry(v).or_default().insert(who, after.into_iter().collect());
                } else {
                    if current.is_empty() {
                        return fail("[ERROR] the accessor doesn't have any permissions");
                    }
                    let after: BTreeSet<String> = current.iter().filter(|p| !list.contains(p)).cloned().collect();
                    for p in &after {
                        for pre in crate::permissions::grant_list(p, business) {
                            if !after.contains(&pre) && model.contains(&pre.as_str()) {
                                return fail(&format!("[ERROR] {p} depends on {pre}; revoke it too"));
                            }
                        }
                    }
                    let entry = table.entry(v).or_default();
                    if after.is_empty() {
                        entry.remove(&who);
                    } else {
                        entry.insert(who, after.into_iter().collect());
                    }
                }
                ok_text("")
            }
            _ => fail(&format!("[ERROR] unknown command \"{}\" for \"op\"", a.join(" "))),
        }
    }

    fn vault_accessors(&self, vid: &str, users: bool) -> Output {
        if !self.vaults.iter().any(|v| v.id == vid) {
            return fail(&format!("[ERROR] \"{vid}\" isn't a vault in this account"));
        }
        let table = if users {
            &self.vault_users
        } else {
            &self.vault_groups
        };
        let entries = table.get(vid).cloned().unwrap_or_default();
        let list: Vec<serde_json::Value> = entries
            .iter()
            .filter_map(|(id, perms)| {
                if users {
                    self.users.iter().find(|u| u.id == *id).map(|u| json!({"id": u.id, "name": u.name, "email": u.email, "type": "MEMBER", "state": u.state, "permissions": perms}))
                } else {
                    self.groups.iter().find(|g| g.id == *id).map(|g| json!({"id": g.id, "name": g.name, "description": "", "state": "ACTIVE", "permissions": perms}))
                }
            })
            .collect();
        ok(json!(list))
    }

    /// Loads the state file, seeding it when missing.
    pub fn load_or_seed(path: &Path) -> Self {
        std::fs::read(path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_else(Self::seeded)
    }

    /// Saves the state file (temp file, then rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(self)?)?;
        std::fs::rename(tmp, path)
    }
}

/// op's flags that take a value (`--name value` or `--name=value`).
const VALUE_FLAGS: &[&str] = &[
    "account",
    "address",
    "cache",
    "config",
    "email",
    "encoding",
    "format",
    "group",
    "permissions",
    "role",
    "session",
    "user",
    "vault",
];

/// op's boolean flags.
const BOOL_FLAGS: &[&str] = &[
    "debug",
    "help",
    "iso-timestamps",
    "no-color",
    "raw",
    "version",
];

/// An `op` argv as cobra (pflag) reads it: before `--`, an argument starting with `-` is a
/// flag (a value flag takes the next argument, or what follows its `=`); after `--`, every
/// argument is positional, whatever it looks like.
#[derive(Debug, Default, PartialEq)]
struct OpArgv {
    /// The subcommand words and the positional arguments, in order.
    words: Vec<String>,
    /// Flags by name (without dashes); a boolean flag holds `"true"`.
    flags: HashMap<String, String>,
}

impl OpArgv {
    fn parse(args: &[String]) -> std::result::Result<OpArgv, String> {
        let mut argv = OpArgv::default();
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            if arg == "--" {
                argv.words.extend(rest.cloned());
                break;
            }
            let Some(flag) = arg.strip_prefix('-').filter(|f| !f.is_empty()) else {
                // Including "-", which op reads as "standard input".
                argv.words.push(arg.clone());
                continue;
            };
            let Some(long) = flag.strip_prefix('-') else {
                return Err(format!("[ERROR] unknown shorthand flag: {arg:?}"));
            };
            let (name, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            let value = if VALUE_FLAGS.contains(&name) {
                match inline.or_else(|| rest.next().cloned()) {
                    Some(v) => v,
                    None => return Err(format!("[ERROR] flag needs an argument: --{name}")),
                }
            } else if BOOL_FLAGS.contains(&name) {
                inline.unwrap_or_else(|| "true".to_string())
            } else {
                return Err(format!("[ERROR] unknown flag: --{name}"));
            };
            argv.flags.insert(name.to_string(), value);
        }
        Ok(argv)
    }
}

fn ok(v: serde_json::Value) -> Output {
    Output {
        status: 0,
        stdout: v.to_string().into_bytes(),
        stderr: String::new(),
    }
}

fn ok_text(s: &str) -> Output {
    Output {
        status: 0,
        stdout: s.as_bytes().to_vec(),
        stderr: String::new(),
    }
}

fn fail(stderr: &str) -> Output {
    Output {
        status: 1,
        stdout: Vec::new(),
        stderr: format!("{stderr}\n"),
    }
}

/// An in-process fake `op`. Like [`ProcessRunner`](connector_sdk::command::ProcessRunner)
/// it gives each call a clean environment: the allow-listed variables of the parent (this
/// process, or a snapshot given with [`FakeOpRunner::with_parent_env`]) plus the command's.
#[derive(Clone)]
pub struct FakeOpRunner {
    state: Arc<Mutex<FakeOpState>>,
    parent_env: Option<Arc<Vec<(String, String)>>>,
}

impl FakeOpRunner {
    /// A runner over `state`.
    pub fn new(state: FakeOpState) -> Self {
        FakeOpRunner {
            state: Arc::new(Mutex::new(state)),
            parent_env: None,
        }
    }

    /// A runner over [`FakeOpState::seeded`].
    pub fn seeded() -> Self {
        Self::new(FakeOpState::seeded())
    }

    /// Calls inherit from `snapshot` instead of this process's environment (tests cannot
    /// change the process environment without racing each other).
    pub fn with_parent_env(mut self, snapshot: &[(&str, &str)]) -> Self {
        self.parent_env = Some(Arc::new(
            snapshot
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        ));
        self
    }

    /// The state (lock held while the guard lives).
    pub fn state(&self) -> MutexGuard<'_, FakeOpState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connector (user auth, right credentials) running this fake, with short waits.
    pub fn connector(&self, limit: Vec<String>) -> OnePassword {
        let config = self.state().user_config(limit);
        self.connector_with(config)
    }

    /// A connector with `config` running this fake, with short waits.
    pub fn connector_with(&self, config: OnePasswordConfig) -> OnePassword {
        let c = OnePassword::with_runner(config, Arc::new(self.clone()));
        c.client().fast_retries_for_tests();
        c
    }
}

impl std::fmt::Debug for FakeOpRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FakeOpRunner")
    }
}

#[async_trait]
impl CommandRunner for FakeOpRunner {
    async fn run(&self, cmd: &Command) -> Result<Output> {
        let allow = op_env_allow_list();
        let env = match &self.parent_env {
            Some(snapshot) => allow.child_env(snapshot.iter().map(|(k, v)| (k, v)), cmd),
            None => allow.child_env(std::env::vars_os(), cmd),
        };
        let env: HashMap<String, String> = env
            .into_iter()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.to_string_lossy().into_owned(),
                )
            })
            .collect();
        let stdin = cmd
            .stdin
            .as_ref()
            .map(|s| format!("{}\n", s.expose_secret()))
            .unwrap_or_default();
        let reply = self.state().respond(&cmd.args, &env, &stdin);
        match reply {
            Reply::Output(out) => Ok(out),
            Reply::Hang => {
                // What ProcessRunner does with a child that never answers.
                tokio::time::sleep(cmd.timeout).await;
                Err(Error::new(
                    ErrorKind::DeadlineExceeded,
                    format!(
                        "op {} did not finish within {:.1}s",
                        cmd.display_args().join(" "),
                        cmd.timeout.as_secs_f64()
                    ),
                ))
            }
        }
    }
}

/// Where the `fake-op` binary keeps its state: `FAKE_OP_STATE`, else `fake-op-state.json`
/// in op's config directory `OP_CONFIG_DIR` (which the connector passes to its children),
/// else `fake-op-state.json` in the working directory.
pub fn fake_op_state_path() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("FAKE_OP_STATE") {
        return p.into();
    }
    match std::env::var_os("OP_CONFIG_DIR") {
        Some(dir) => Path::new(&dir).join("fake-op-state.json"),
        None => "fake-op-state.json".into(),
    }
}

/// The `fake-op` binary's main: state at [`fake_op_state_path`], serialised between
/// concurrent invocations by a lock file. A call scripted to hang sleeps (after saving the
/// state and releasing the lock) until the runner's timeout kills it.
pub fn fake_op_main(args: Vec<String>) -> Result<Output> {
    let path = fake_op_state_path();
    let path = path.as_path();
    let lock = path.with_extension("lock");
    let mut tries = 0;
    let _guard = loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
        {
            Ok(f) => break LockFile(lock.clone(), f),
            Err(_) if tries < 2000 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Err(e) => {
                return Err(Error::internal(format!(
                    "fake-op: could not lock {}: {e}",
                    lock.display()
                )));
            }
        }
    };
    let mut state = FakeOpState::load_or_seed(path);
    let env: HashMap<String, String> = std::env::vars().collect();
    let mut stdin = String::new();
    let reads_stdin = args.iter().any(|a| a == "signin" || a == "add");
    if reads_stdin {
        let _ = std::io::stdin().read_line(&mut stdin);
    }
    let reply = state.respond(&args, &env, &stdin);
    state
        .save(path)
        .map_err(|e| Error::internal(format!("fake-op: could not save {}: {e}", path.display())))?;
    drop(_guard);
    match reply {
        Reply::Output(out) => Ok(out),
        Reply::Hang => {
            std::thread::sleep(std::time::Duration::from_secs(3600));
            Ok(fail("fake-op: hung for an hour"))
        }
    }
}

struct LockFile(std::path::PathBuf, #[allow(dead_code)] std::fs::File);

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
