//! Driving `op`: sign-in, the session, JSON commands, retries, and turning op's stderr
//! into errors.
//!
//! Secrets never reach argv: the password goes to stdin, the Secret Key to the environment
//! of the one `op account add` child, the session token to each child's environment
//! (`OP_SESSION_<user uuid>`, with `OP_ACCOUNT` naming the account), the service token to
//! `OP_SERVICE_ACCOUNT_TOKEN` of each child. Children start from a clean environment (the
//! SDK's allow-list plus [`op_env_allow_list`]'s `OP_*` settings), so they never see the
//! connector's `BATON_*` variables, and in user mode never a stray service token.
//!
//! op talks to 1Password over the network, and its failures are the HTTP client's: a
//! connection reset, a timeout, a `(500)` or a `(429)` is retried with the SDK's
//! [`RetryPolicy`] (the schedule and total-wait budget of the HTTP connectors). Reads and
//! idempotent writes are retried; when a write's answer was lost (the connection dropped
//! after op sent it), [`OpClient::write`] reads the state back so the outcome reported is
//! the vault's or group's.

use std::sync::Arc;
use std::time::Duration;

use std::future::Future;

use connector_sdk::command::{Command, CommandRunner, EnvAllowList, Output};
use connector_sdk::flags::flag_and_env;
use connector_sdk::retry::{Backoff, RetryPolicy};
use connector_sdk::{Error, ErrorKind, Result};
use secrecy::SecretString;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, Semaphore};

use crate::config::Auth;

/// `op` processes run at once.
pub const MAX_PARALLEL: usize = 4;

/// The variables an `op` child inherits: the SDK's standard allow-list (`PATH`, `HOME`,
/// locale, proxies, CA files, XDG directories…) plus op's own non-secret settings
/// `OP_CONFIG_DIR` (where op keeps its accounts; point it at a writable directory in
/// containers), `OP_CACHE` and `OP_BIOMETRIC_UNLOCK_ENABLED` (set it to `false` when the
/// desktop-app integration makes `op signin --raw` print no token). Never a `BATON_*`
/// variable, a session or a service token: the client passes those on purpose.
pub fn op_env_allow_list() -> EnvAllowList {
    EnvAllowList::standard()
        .allow("OP_CONFIG_DIR")
        .allow("OP_CACHE")
        .allow("OP_BIOMETRIC_UNLOCK_ENABLED")
}

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
    tuning: std::sync::Mutex<Tuning>,
}

#[derive(Debug, Clone, Copy)]
struct Tuning {
    retry: RetryPolicy,
    timeout: Duration,
}

/// A failed run, and whether an attempt may have been applied by 1Password before its
/// answer was lost.
struct Failed {
    error: Error,
    ambiguous: bool,
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            ambiguous: false,
        }
    }
}

impl std::fmt::Debug for OpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpClient")
            .field("auth", &self.auth)
            .field("retry", &self.retry_policy())
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

/// Maps a failed `op` run to an error, from its stderr: op's own messages about vault
/// permissions and group membership first, then the SDK's classification of network
/// failures and HTTP statuses (see [`connector_sdk::command::classify_stderr`]), then op's
/// wording for missing and forbidden things.
pub fn op_error(what: &str, out: &Output) -> Error {
    let lower = out.stderr.to_lowercase();
    let op_specific = if lower.contains("doesn't have any permissions") {
        Some((
            ErrorKind::FailedPrecondition,
            "the accessor has no direct permissions on the vault",
        ))
    } else if lower.contains("already a member") {
        Some((ErrorKind::AlreadyExists, "already a member"))
    } else if lower.contains("isn't a member") || lower.contains("is not a member") {
        Some((ErrorKind::NotFound, "not a member"))
    } else {
        None
    };
    let (kind, hint, status) = match (op_specific, out.failure()) {
        (Some((kind, hint)), f) => (kind, hint, f.and_then(|f| f.http_status)),
        (None, Some(f)) => (f.kind, f.reason, f.http_status),
        (None, None) => {
            if lower.contains("locked") {
                (ErrorKind::FailedPrecondition, "the vault is locked", None)
            } else if lower.contains("isn't a user")
                || lower.contains("not found")
                || lower.contains("no such")
            {
                (ErrorKind::NotFound, "not found", None)
            } else if lower.contains("permission")
                || lower.contains("forbidden")
                || lower.contains("not allowed")
            {
                (
                    ErrorKind::PermissionDenied,
                    "the signed-in identity lacks the right to do this",
                    None,
                )
            } else {
                (ErrorKind::Internal, "op failed", None)
            }
        }
    };
    let mut err = Error::new(
        kind,
        format!("{what}: {hint} (op exited with status {})", out.status),
    )
    .with_api_message(connector_sdk::command::stderr_summary(&out.stderr));
    if let Some(s) = status {
        err = err.with_http_status(s);
    }
    err
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
            tuning: std::sync::Mutex::new(Tuning {
                retry: RetryPolicy::default(),
                timeout: Duration::from_secs(120),
            }),
        }
    }

    fn tuning(&self) -> Tuning {
        *self.tuning.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The retry policy of op commands (by default the HTTP client's: 6 attempts, 250 ms
    /// doubling to 30 s, at most 300 s of waiting in all).
    pub fn retry_policy(&self) -> RetryPolicy {
        self.tuning().retry
    }

    /// Sets the retry policy.
    pub fn set_retry_policy(&self, retry: RetryPolicy) {
        self.tuning.lock().unwrap_or_else(|p| p.into_inner()).retry = retry;
    }

    /// How long one `op` command may run before it is killed (120 s by default).
    pub fn command_timeout(&self) -> Duration {
        self.tuning().timeout
    }

    /// Sets how long one `op` command may run.
    pub fn set_command_timeout(&self, timeout: Duration) {
        self.tuning
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .timeout = timeout;
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
        let timeout = self.command_timeout();
        self.runner.run(&cmd.timeout(timeout)).await.map_err(|e| {
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

    /// Signs in, retrying the whole procedure (each step looks at op's state first, so a
    /// repeated `op account add` is skipped) on network failures; errors say whether the
    /// network or the credentials failed.
    async fn sign_in(&self) -> Result<Arc<Session>> {
        let Auth::User { address, .. } = &self.auth else {
            return Err(Error::internal("sign-in is for user auth"));
        };
        connector_sdk::retry::retry(self.retry_policy(), |_| self.sign_in_once())
            .await
            .map_err(|e| sign_in_error(e, address))
    }

    async fn sign_in_once(&self) -> Result<Arc<Session>> {
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
            let out = self
                .raw(add)
                .await
                .map_err(|e| e.context("op account add"))?;
            if !out.success() {
                return Err(op_error("op account add", &out));
            }
            account = self.local_accounts().await?.into_iter().find(matches);
        }
        let account = account.ok_or_else(|| {
            Error::new(
                ErrorKind::Unauthenticated,
                format!(
                    "op knows no account for {email} at {address} even after `op account add`; check {} and {}",
                    flag_and_env("address"),
                    flag_and_env("email")
                ),
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
            .await
            .map_err(|e| e.context("op signin"))?;
        if !out.success() {
            return Err(op_error("op signin", &out));
        }
        let token = out.stdout_text().trim().to_string();
        if token.is_empty() {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "op signin printed no session token (is the 1Password app integration turned on? set OP_BIOMETRIC_UNLOCK_ENABLED=false, or use a service account for headless runs)",
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

    /// `op <args> --format=json -- <operands>`: ids go after `--`, so an id such as
    /// `--debug`, `--account=other` or `--format=evil` reaches op as a positional argument
    /// (op is a cobra CLI) and never as a flag.
    fn data_command(&self, args: &[&str], operands: &[&str], session: Option<&Session>) -> Command {
        let mut cmd = Command::new(args.iter().copied())
            .arg("--format=json")
            .operands(operands.iter().copied());
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

    /// Runs a data command until it succeeds and `parse` accepts its output: signs in again
    /// once on an authentication failure, and retries retryable failures (network errors,
    /// `(5xx)`, `(429)`, timeouts, output cut short) under the retry policy.
    async fn run<T>(
        &self,
        what: &str,
        args: &[&str],
        operands: &[&str],
        parse: impl Fn(&Output) -> Result<T>,
    ) -> std::result::Result<T, Failed> {
        self.check_version().await?;
        let mut session = self.session(false).await?;
        let mut signed_in_again = false;
        let mut backoff = Backoff::new(self.retry_policy());
        let mut ambiguous = false;
        loop {
            backoff.start_attempt();
            let command = self.data_command(args, operands, session.as_deref());
            let err = match self.raw(command).await {
                Ok(out) if out.success() => match parse(&out) {
                    Ok(v) => return Ok(v),
                    Err(e) => e,
                },
                Ok(out) => op_error(what, &out),
                Err(e) => e.context(what),
            };
            if err.kind() == ErrorKind::Unauthenticated
                && !signed_in_again
                && matches!(self.auth, Auth::User { .. })
            {
                tracing::debug!("op session expired; signing in again");
                signed_in_again = true;
                session = self
                    .session(true)
                    .await
                    .map_err(|error| Failed { error, ambiguous })?;
                continue;
            }
            if !err.is_retryable() {
                let error = match (&self.auth, err.kind()) {
                    (Auth::Service { .. }, ErrorKind::Unauthenticated) => Error::new(
                        err.kind(),
                        format!(
                            "{}; check the service account token in OP_SERVICE_ACCOUNT_TOKEN",
                            err.message()
                        ),
                    )
                    .with_api_message(err.api_message().unwrap_or_default()),
                    _ => err,
                };
                return Err(Failed { error, ambiguous });
            }
            // A rate-limited request was refused before anything happened; a lost
            // connection, a timeout or a (5xx) may come after 1Password applied it.
            if err.kind() != ErrorKind::ResourceExhausted {
                ambiguous = true;
            }
            if let Err(error) = backoff.wait_or_give_up(err).await {
                return Err(Failed { error, ambiguous });
            }
        }
    }

    /// Runs a read command (signing in again once on an authentication failure, retrying
    /// retryable failures) and returns the output of a successful run.
    pub async fn exec(&self, what: &str, args: &[&str]) -> Result<Output> {
        self.run(what, args, &[], |out| Ok(out.clone()))
            .await
            .map_err(|f| f.error)
    }

    /// Runs a read command and parses its JSON (an empty stdout is an error; output cut
    /// short is retried like a lost connection). `args` are the subcommand and its flags;
    /// `operands` its positional arguments (ids), passed after `--` so that none is read
    /// as a flag: `json("…", &["vault", "get"], &[id])` runs
    /// `op vault get --format=json -- <id>`.
    pub async fn json<T: DeserializeOwned>(
        &self,
        what: &str,
        args: &[&str],
        operands: &[&str],
    ) -> Result<T> {
        self.run(what, args, operands, |out| parse(out, what))
            .await
            .map_err(|f| f.error)
    }

    /// Runs an idempotent write (`op group user grant|revoke`, `op vault user|group
    /// grant|revoke`), retried like a read. When an attempt failed in a way that leaves
    /// open whether 1Password applied the change (the connection dropped, a timeout, a
    /// `(5xx)`) and the command then did not succeed (retries ran out, or the repeat says
    /// "already a member" / "no permissions"), `applied` reads the state back: the write
    /// succeeded if the change is in place.
    pub async fn write<F, Fut>(&self, what: &str, args: &[&str], applied: F) -> Result<()>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<bool>>,
    {
        match self.run(what, args, &[], |_| Ok(())).await {
            Ok(()) => Ok(()),
            Err(Failed {
                error,
                ambiguous: false,
            }) => Err(error),
            Err(Failed {
                error,
                ambiguous: true,
            }) => match applied().await {
                Ok(true) => {
                    tracing::info!(
                        what,
                        error = %error,
                        "op's answer was lost, but reading back shows the change in place"
                    );
                    Ok(())
                }
                Ok(false) => Err(error),
                Err(check) => Err(Error::new(
                    error.kind(),
                    format!(
                        "{}; whether 1Password applied the change is unknown: reading it back failed too ({check}); sync again to see the current state",
                        error.message()
                    ),
                )),
            },
        }
    }

    /// `op account get`, cached until `refresh`.
    pub async fn account(&self, refresh: bool) -> Result<AccountInfo> {
        if !refresh && let Some(a) = self.account.lock().await.clone() {
            return Ok(a);
        }
        let a: AccountInfo = self
            .json("reading the account", &["account", "get"], &[])
            .await?;
        *self.account.lock().await = Some(a.clone());
        Ok(a)
    }

    /// Shortens retry waits to a few milliseconds (for tests), keeping the number of
    /// attempts.
    pub fn fast_retries_for_tests(&self) {
        self.set_retry_policy(RetryPolicy {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            max_total_wait: Duration::from_secs(2),
            ..self.retry_policy()
        });
    }

    /// Whether the account uses the granular (BUSINESS) permission model.
    pub async fn is_business(&self) -> Result<bool> {
        Ok(self.account(false).await?.kind == "BUSINESS")
    }
}

/// Why signing in failed, said so that the operator looks at the right thing: the network
/// (connection, DNS, proxy), a rate limit, or the credentials (named with their flags and
/// variables only then).
fn sign_in_error(e: Error, address: &str) -> Error {
    let advice = match e.kind() {
        ErrorKind::Unavailable | ErrorKind::DeadlineExceeded => format!(
            "the network failed, not the credentials: check that {address} can be reached from here (DNS, firewall, and HTTPS_PROXY/NO_PROXY if a proxy is needed), then try again"
        ),
        ErrorKind::ResourceExhausted => {
            "1Password rate-limited the sign-in; try again later".to_string()
        }
        ErrorKind::Unauthenticated => format!(
            "check {}, {}, {} and {}",
            flag_and_env("address"),
            flag_and_env("email"),
            flag_and_env("secret-key"),
            flag_and_env("password")
        ),
        _ => return e,
    };
    let mut out = Error::new(
        e.kind(),
        format!(
            "signing in to 1Password at {address}: {}; {advice}",
            e.message()
        ),
    );
    if let Some(s) = e.http_status() {
        out = out.with_http_status(s);
    }
    if let Some(m) = e.api_message() {
        out = out.with_api_message(m);
    }
    out
}

fn parse<T: DeserializeOwned>(out: &Output, what: &str) -> Result<T> {
    if out.stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::internal(format!(
            "{what}: op printed nothing where JSON was expected"
        )));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| {
        if e.is_eof() || e.is_syntax() {
            // Cut short or mangled on the way: worth another try.
            Error::new(
                ErrorKind::Unavailable,
                format!("{what}: op printed output that is not complete JSON ({e})"),
            )
        } else {
            Error::internal(format!(
                "{what}: op printed JSON of an unexpected shape ({e})"
            ))
        }
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
            (
                "[ERROR] Post \"https://acme.1password.com/api\": read: connection reset by peer",
                ErrorKind::Unavailable,
            ),
            (
                "[ERROR] dial tcp: lookup acme.1password.com: no such host",
                ErrorKind::Unavailable,
            ),
            (
                "[ERROR] (500) Internal Server Error",
                ErrorKind::Unavailable,
            ),
            (
                "[ERROR] (429) Too many requests",
                ErrorKind::ResourceExhausted,
            ),
            ("[ERROR] (403) Forbidden", ErrorKind::PermissionDenied),
            (
                "[ERROR] (409) Conflict: the user is already a member of the group",
                ErrorKind::AlreadyExists,
            ),
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
