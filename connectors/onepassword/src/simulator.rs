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
use connector_sdk::{Error, Result};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::OnePassword;
use crate::client::{AccountInfo, LocalAccount, OpGroup, OpUser, OpVault};
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
}

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

    /// Handles one `op` invocation.
    pub fn handle(
        &mut self,
        args: &[String],
        env: &HashMap<String, String>,
        stdin: &str,
    ) -> Output {
        self.calls.push(Call {
            args: args.to_vec(),
            env: env.keys().cloned().collect(),
            stdin_len: stdin.len(),
        });
        let a: Vec<&str> = args
            .iter()
            .map(String::as_str)
            .filter(|x| *x != "--format=json")
            .collect();
        let flag = |name: &str| {
            a.iter()
                .position(|x| *x == name)
                .and_then(|i| a.get(i + 1))
                .map(|s| s.to_string())
        };
        match a.as_slice() {
            ["--version"] => return ok_text(&self.version),
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
            ["signin", "--account", account, "--raw"] => {
                if *account != self.account.id
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

/// An in-process fake `op`.
#[derive(Clone)]
pub struct FakeOpRunner {
    state: Arc<Mutex<FakeOpState>>,
}

impl FakeOpRunner {
    /// A runner over `state`.
    pub fn new(state: FakeOpState) -> Self {
        FakeOpRunner {
            state: Arc::new(Mutex::new(state)),
        }
    }

    /// A runner over [`FakeOpState::seeded`].
    pub fn seeded() -> Self {
        Self::new(FakeOpState::seeded())
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
        c.client().rate_limit_wait_for_tests();
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
        // Like a child process: the parent's environment, minus removals, plus the command's.
        let mut env: HashMap<String, String> = HashMap::new();
        if let Ok(t) = std::env::var("OP_SERVICE_ACCOUNT_TOKEN") {
            env.insert("OP_SERVICE_ACCOUNT_TOKEN".into(), t);
        }
        for k in &cmd.env_remove {
            env.remove(k);
        }
        for (k, v) in &cmd.env {
            env.insert(k.clone(), v.expose_secret().to_string());
        }
        let stdin = cmd
            .stdin
            .as_ref()
            .map(|s| format!("{}\n", s.expose_secret()))
            .unwrap_or_default();
        Ok(self.state().handle(&cmd.args, &env, &stdin))
    }
}

/// The `fake-op` binary's main: state in `FAKE_OP_STATE` (default `fake-op-state.json`),
/// serialised between concurrent invocations by a lock file.
pub fn fake_op_main(args: Vec<String>) -> Result<Output> {
    let path = std::env::var("FAKE_OP_STATE").unwrap_or_else(|_| "fake-op-state.json".into());
    let path = Path::new(&path);
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
    let out = state.handle(&args, &env, &stdin);
    state
        .save(path)
        .map_err(|e| Error::internal(format!("fake-op: could not save {}: {e}", path.display())))?;
    Ok(out)
}

struct LockFile(std::path::PathBuf, #[allow(dead_code)] std::fs::File);

impl Drop for LockFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
