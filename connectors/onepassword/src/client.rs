//! Driving `op`: sign-in, the session, JSON commands, and turning op's stderr into errors.
//!
//! Secrets never reach argv: the password goes to stdin, the Secret Key to the environment
//! of the one `op account add` child, the session token to each child's environment
//! (`OP_SESSION_<user uuid>`, with `OP_ACCOUNT` naming the account), the service token to
//! `OP_SERVICE_ACCOUNT_TOKEN` of each child. In user mode an inherited service token is
//! removed from the children.

use std::sync::Arc;
use std::time::Duration;

use connector_sdk::command::{Command, CommandRunner, Output};
use connector_sdk::{Error, ErrorKind, Result};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Semaphore};

use crate::config::Auth;

/// `op` processes run at once.
pub const MAX_PARALLEL: usize = 4;

/// `op account get`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// Account id.
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// `BUSINESS`, `TEAM`, `FAMILY`, `INDIVIDUAL`…
    #[serde(rename = "type", default)]
    pub kind: String,
}

/// `op accounts list` entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LocalAccount {
    /// Sign-in address.
    #[serde(default)]
    pub url: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// User id.
    #[serde(default)]
    pub user_uuid: String,
    /// Account id.
    #[serde(default)]
    pub account_uuid: String,
}

/// A user (`op user list`, `op group user list`, `op vault user list`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpUser {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Full name.
    #[serde(default)]
    pub name: String,
    /// Email.
    #[serde(default)]
    pub email: String,
    /// ACTIVE, SUSPENDED…
    #[serde(default)]
    pub state: String,
    /// MEMBER or MANAGER (group member lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Vault permissions (vault user lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// A group (`op group list`, `op vault group list`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpGroup {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Vault permissions (vault group lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<String>>,
}

/// A vault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OpVault {
    /// Id.
    #[serde(default)]
    pub id: String,
    /// Name.
    #[serde(default)]
    pub name: String,
}

struct Session {
    token: SecretString,
    user_uuid: String,
    account_uuid: String,
}

/// Runs `op` for one account.
pub struct OpClient {
    runner: Arc<dyn CommandRunner>,
    auth: Auth,
    session: Mutex<Option<Arc<Session>>>,
    version_checked: Mutex<bool>,
    slots: Semaphore,
    account: Mutex<Option<AccountInfo>>,
    /// First wait after "Too many requests" (doubles, 4 attempts).
    pub rate_limit_wait: Duration,
    /// Timeout of one command.
    pub timeout: Duration,
    short_waits: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for OpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpClient")
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

fn normalize_url(u: &str) -> String {
    u.trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_lowercase()
}

/// Maps a failed `op` run to an error, from its stderr.
pub fn op_error(what: &str, out: &Output) -> Error {
    let stderr = out.stderr.trim();
    let lower = stderr.to_lowercase();
    let detail: String = stderr
        .lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or("")
        .chars()
        .take(300)
        .collect();
    let (kind, hint) = if lower.contains("unauthorized")
        || lower.contains("not currently signed in")
        || lower.contains("session expired")
        || lower.contains("not signed in")
        || lower.contains("authentication required")
        || lower.contains("invalid session")
    {
        (
            ErrorKind::Unauthenticated,
            "not signed in: check the credentials (or the service account token)",
        )
    } else if lower.contains("too many requests") || lower.contains("rate limit") {
        (ErrorKind::ResourceExhausted, "rate-limited by 1Password")
    } else if lower.contains("doesn't have any permissions") {
        (
            ErrorKind::FailedPrecondition,
            "the accessor has no direct permissions on the vault",
        )
    } else if lower.contains("locked") {
        (ErrorKind::FailedPrecondition, "the vault is locked")
    } else if lower.contains("already a member") {
        (ErrorKind::AlreadyExists, "already a member")
    } else if lower.contains("isn't a member")
        || lower.contains("is not a member")
        || lower.contains("isn't a user")
        || lower.contains("not found")
        || lower.contains("no such")
    {
        (ErrorKind::NotFound, "not found")
    } else if lower.contains("permission")
        || lower.contains("forbidden")
        || lower.contains("not allowed")
    {
        (
            ErrorKind::PermissionDenied,
            "the signed-in identity lacks the right to do this",
        )
    } else {
        (ErrorKind::Internal, "op failed")
    };
    Error::new(
        kind,
        format!("{what}: {hint} (op exited with status {})", out.status),
    )
    .with_api_message(detail)
}

impl OpClient {
    /// A client running `op` through `runner`.
    pub fn new(runner: Arc<dyn CommandRunner>, auth: Auth) -> Self {
        OpClient {
            runner,
            auth,
            session: Mutex::new(None),
            version_checked: Mutex::new(false),
            slots: Semaphore::new(MAX_PARALLEL),
            account: Mutex::new(None),
            rate_limit_wait: Duration::from_secs(1),
            timeout: Duration::from_secs(120),
            short_waits: std::sync::atomic::AtomicBool::new(false),
        }
    }

    async fn raw(&self, mut cmd: Command) -> Result<Output> {
        // In user mode a stray service token would make op act as the service account.
        if matches!(self.auth, Auth::User { .. })
            && !cmd
                .env_remove
                .iter()
                .any(|k| k == "OP_SERVICE_ACCOUNT_TOKEN")
        {
            cmd = cmd.env_remove("OP_SERVICE_ACCOUNT_TOKEN");
        }
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| Error::internal("op runner closed"))?;
        self.runner.run(&cmd.timeout(self.timeout)).await.map_err(|e| {
            if e.kind() == ErrorKind::FailedPrecondition && e.message().contains("could not run") {
                Error::new(
                    ErrorKind::FailedPrecondition,
                    format!("op not found: install the 1Password CLI or pass --op-path (BATON_OP_PATH) ({})", e.message()),
                )
            } else {
                e
            }
        })
    }

    /// Checks `op --version` once: version 2, and at least 2.18.0 for service accounts.
    pub async fn check_version(&self) -> Result<()> {
        let mut checked = self.version_checked.lock().await;
        if *checked {
            return Ok(());
        }
        let out = self.raw(Command::new(["--version"])).await?;
        let text = out.stdout_text();
        let version: Vec<u32> = text
            .trim()
            .split('.')
            .map(|p| p.trim().parse().unwrap_or(0))
            .collect();
        let at_least = |want: &[u32]| {
            version
                .iter()
                .chain(std::iter::repeat(&0))
                .take(3)
                .copied()
                .collect::<Vec<_>>()
                >= want.to_vec()
        };
        if !out.success() || !at_least(&[2, 0, 0]) {
            return Err(Error::failed_precondition(format!(
                "the op at --op-path (BATON_OP_PATH) is not 1Password CLI 2 (it reported {:?}); install op 2",
                text.trim()
            )));
        }
        if matches!(self.auth, Auth::Service { .. }) && !at_least(&[2, 18, 0]) {
            return Err(Error::failed_precondition(format!(
                "service accounts need op 2.18.0 or newer; found {}",
                text.trim()
            )));
        }
        *checked = true;
        Ok(())
    }

    async fn local_accounts(&self) -> Result<Vec<LocalAccount>> {
        let out = self
            .raw(
                Command::new(["accounts", "list", "--format=json"])
                    .env_remove("OP_SERVICE_ACCOUNT_TOKEN"),
            )
            .await?;
        if !out.success() {
            return Err(op_error("listing the local op accounts", &out));
        }
        parse(&out, "op accounts list")
    }

    async fn sign_in(&self) -> Result<Arc<Session>> {
        let Auth::User {
            address,
            email,
            secret_key,
            password,
        } = &self.auth
        else {
            return Err(Error::internal("sign-in is for user auth"));
        };
        let matches = |a: &LocalAccount| {
            a.email.eq_ignore_ascii_case(email) && normalize_url(&a.url) == normalize_url(address)
        };
        let mut account = self.local_accounts().await?.into_iter().find(matches);
        if account.is_none() {
            let add = Command::new([
                "account",
                "add",
                "--address",
                address.as_str(),
                "--email",
                email.as_str(),
                "--raw",
            ])
            .env("OP_SECRET_KEY", secret_key.clone())
            .env_remove("OP_SERVICE_ACCOUNT_TOKEN")
            .stdin_secret(password.clone());
            let out = self.raw(add).await?;
            if !out.success() {
                return Err(op_error(
                    "adding the account to op (check --address, --email, --secret-key and --password)",
                    &out,
                ));
            }
            account = self.local_accounts().await?.into_iter().find(matches);
        }
        let account = account.ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthenticated,
                format!("op knows no account for {email} at {address} even after `op account add`"),
            )
        })?;
        let out = self
            .raw(
                Command::new([
                    "signin",
                    "--account",
                    account.account_uuid.as_str(),
                    "--raw",
                ])
                .env_remove("OP_SERVICE_ACCOUNT_TOKEN")
                .stdin_secret(password.clone()),
            )
            .await?;
        if !out.success() {
            return Err(op_error(
                "signing in (check --password and --secret-key)",
                &out,
            ));
        }
        let token = out.stdout_text().trim().to_string();
        if token.is_empty() {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "op signin printed no session token (is the 1Password app integration turned on? use a service account for headless runs)",
            ));
        }
        Ok(Arc::new(Session {
            token: SecretString::from(token),
            user_uuid: account.user_uuid,
            account_uuid: account.account_uuid,
        }))
    }

    async fn session(&self, fresh: bool) -> Result<Option<Arc<Session>>> {
        if matches!(self.auth, Auth::Service { .. }) {
            return Ok(None);
        }
        let mut slot = self.session.lock().await;
        if fresh || slot.is_none() {
            *slot = Some(self.sign_in().await?);
        }
        Ok(slot.clone())
    }

    fn data_command(&self, args: &[&str], session: Option<&Session>) -> Command {
        let mut cmd = Command::new(args.iter().copied()).arg("--format=json");
        match (&self.auth, session) {
            (Auth::Service { token }, _) => {
                cmd = cmd.env("OP_SERVICE_ACCOUNT_TOKEN", token.clone())
            }
            (Auth::User { .. }, Some(s)) => {
                cmd = cmd
                    .env(format!("OP_SESSION_{}", s.user_uuid), s.token.clone())
                    .env("OP_ACCOUNT", SecretString::from(s.account_uuid.clone()))
                    .env_remove("OP_SERVICE_ACCOUNT_TOKEN");
            }
            (Auth::User { .. }, None) => cmd = cmd.env_remove("OP_SERVICE_ACCOUNT_TOKEN"),
        }
        cmd
    }

    /// Runs a data command: signs in again once on an authentication failure, backs off on
    /// "Too many requests". Returns the output of a successful run.
    pub async fn exec(&self, what: &str, args: &[&str]) -> Result<Output> {
        self.check_version().await?;
        let mut session = self.session(false).await?;
        let mut signed_in_again = false;
        let mut wait = if self.short_waits.load(std::sync::atomic::Ordering::Relaxed) {
            Duration::from_millis(5)
        } else {
            self.rate_limit_wait
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let out = self
                .raw(self.data_command(args, session.as_deref()))
                .await?;
            if out.success() {
                return Ok(out);
            }
            let err = op_error(what, &out);
            match err.kind() {
                ErrorKind::Unauthenticated
                    if !signed_in_again && matches!(self.auth, Auth::User { .. }) =>
                {
                    tracing::debug!("op session expired; signing in again");
                    signed_in_again = true;
                    session = self.session(true).await?;
                }
                ErrorKind::ResourceExhausted if attempt < 4 => {
                    tracing::debug!(
                        wait_ms = wait.as_millis() as u64,
                        "op was rate-limited; waiting"
                    );
                    tokio::time::sleep(wait).await;
                    wait *= 2;
                }
                _ => return Err(err),
            }
        }
    }

    /// Runs a data command and parses its JSON (an empty stdout is an error).
    pub async fn json<T: DeserializeOwned>(&self, what: &str, args: &[&str]) -> Result<T> {
        let out = self.exec(what, args).await?;
        parse(&out, what)
    }

    /// `op account get`, cached until `refresh`.
    pub async fn account(&self, refresh: bool) -> Result<AccountInfo> {
        if !refresh && let Some(a) = self.account.lock().await.clone() {
            return Ok(a);
        }
        let a: AccountInfo = self
            .json("reading the account", &["account", "get"])
            .await?;
        *self.account.lock().await = Some(a.clone());
        Ok(a)
    }

    /// Shortens the rate-limit wait to a few milliseconds (for tests).
    pub fn rate_limit_wait_for_tests(&self) {
        // The field is read on each retry; a client is shared, so use interior mutability.
        self.short_waits
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the account uses the granular (BUSINESS) permission model.
    pub async fn is_business(&self) -> Result<bool> {
        Ok(self.account(false).await?.kind == "BUSINESS")
    }
}

fn parse<T: DeserializeOwned>(out: &Output, what: &str) -> Result<T> {
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::internal(format!(
            "{what}: op printed nothing where JSON was expected"
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        Error::internal(format!(
            "{what}: op printed JSON of an unexpected shape ({e})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stderr_is_classified() {
        let out = |stderr: &str| Output {
            status: 1,
            stdout: vec![],
            stderr: stderr.into(),
        };
        for (stderr, kind) in [
            (
                "[ERROR] 2026/11/21 You are not currently signed in. Please run `op signin --help`",
                ErrorKind::Unauthenticated,
            ),
            ("[ERROR] Too many requests", ErrorKind::ResourceExhausted),
            (
                "[ERROR] the accessor doesn't have any permissions",
                ErrorKind::FailedPrecondition,
            ),
            (
                "[ERROR] \"abc\" isn't a vault in this account",
                ErrorKind::Internal,
            ),
            ("[ERROR] user not found", ErrorKind::NotFound),
            ("[ERROR] something odd", ErrorKind::Internal),
        ] {
            let e = op_error("x", &out(stderr));
            assert_eq!(e.kind(), kind, "{stderr}");
        }
        assert_eq!(
            normalize_url("https://Acme.1Password.com/"),
            "acme.1password.com"
        );
    }
}
