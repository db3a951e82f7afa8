//! Running a command-line tool as a connector's API (1Password's `op`, cloud CLIs…).
//!
//! * argv only, never a shell;
//! * secrets travel on stdin or in the child's environment, never in argv, and `Debug`
//!   of a command shows neither;
//! * **a clean environment**: a child does not inherit the connector's environment (which
//!   holds `BATON_PASSWORD`, `BATON_SECRET_KEY` and other credentials, readable in
//!   `/proc/<pid>/environ` of every child). It starts from a cleared environment plus the
//!   allow-listed variables of [`DEFAULT_ENV_ALLOW`] (`PATH`, `HOME`, `USER`/`LOGNAME`,
//!   the locale, `TZ`, `TMPDIR`, proxies in both cases, `SSL_CERT_FILE`/`SSL_CERT_DIR`,
//!   `XDG_CONFIG_HOME`/`XDG_RUNTIME_DIR`), plus what the command sets on purpose with
//!   [`Command::env`]. A connector allows more names with [`ProcessRunner::allow_env`]
//!   (see [`EnvAllowList`]);
//! * a timeout per command (the child is killed when it passes);
//! * failures classified from stderr into the SDK's error kinds ([`classify_stderr`],
//!   [`Output::to_error`]): a `(500)` or a connection reset is
//!   [`Unavailable`](crate::ErrorKind::Unavailable) and retryable, a `(429)` is rate
//!   limited, a `(401)` unauthenticated…; [`run_retrying`] retries the retryable ones with
//!   the HTTP client's schedule and budget ([`RetryPolicy`], see [`crate::retry`]);
//! * the runner is a trait, so tests inject a fake instead of spawning processes.
//!
//! ```
//! use connector_sdk::command::{Command, CommandRunner, ProcessRunner};
//! use secrecy::SecretString;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let cmd = Command::new(["-c", "read line; echo \"got ${#line} chars\""])
//!     .stdin_secret(SecretString::from("hunter2"));
//! assert!(!format!("{cmd:?}").contains("hunter2"));
//! let out = ProcessRunner::new("sh").run(&cmd).await.unwrap();
//! assert_eq!(out.stdout_text().trim(), "got 7 chars");
//! # });
//! ```

mod classify;
mod env;

pub use classify::{Failure, classify_stderr, stderr_summary};
pub use env::{DEFAULT_ENV_ALLOW, EnvAllowList};

use std::ffi::OsString;
use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, ErrorKind, Result};
pub use crate::retry::RetryPolicy;

/// One invocation: arguments, environment changes, and an optional secret on stdin.
#[derive(Clone)]
pub struct Command {
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Environment variables set for this child only (values are secret); they are passed
    /// whether or not the runner's allow-list names them.
    pub env: Vec<(String, SecretString)>,
    /// Environment variables kept from this child even when the allow-list names them.
    pub env_remove: Vec<String>,
    /// Written to stdin, followed by a newline; stdin is closed either way.
    pub stdin: Option<SecretString>,
    /// How long the command may run.
    pub timeout: Duration,
    /// Argument values to show as `[REDACTED]` in `Debug` and errors (e.g. a session token).
    pub redact: Vec<SecretString>,
}

impl Command {
    /// A command with `args`, a 120 s timeout and the runner's allow-listed environment.
    pub fn new<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Command {
            args: args.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            env_remove: Vec::new(),
            stdin: None,
            timeout: Duration::from_secs(120),
            redact: Vec::new(),
        }
    }

    /// Appends an argument.
    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    /// Appends `--` and then `operands`: values the tool must take as positional
    /// arguments whatever they hold (ids, names from the SaaS or from ConductorOne). After
    /// `--`, getopt, cobra (1Password's `op`, `gh`, `kubectl`), clap and argparse tools
    /// read an argument such as `--debug` or `--format=evil` as data, never as an option.
    /// Call it last: arguments appended after it are operands too. Nothing is appended
    /// when `operands` is empty.
    ///
    /// ```
    /// use connector_sdk::command::Command;
    /// let cmd = Command::new(["vault", "get", "--format=json"]).operands(["--debug"]);
    /// assert_eq!(cmd.args, ["vault", "get", "--format=json", "--", "--debug"]);
    /// assert_eq!(Command::new(["user", "list"]).operands(Vec::<String>::new()).args, ["user", "list"]);
    /// ```
    pub fn operands<I, S>(mut self, operands: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut operands = operands.into_iter().map(Into::into).peekable();
        if operands.peek().is_some() {
            self.args.push("--".to_string());
            self.args.extend(operands);
        }
        self
    }

    /// Appends a secret argument (shown redacted). Prefer stdin or the environment when the
    /// tool allows it: argv is visible to other local users.
    pub fn secret_arg(mut self, value: SecretString) -> Self {
        self.args.push(value.expose_secret().to_string());
        self.redact.push(value);
        self
    }

    /// Sets a (secret) environment variable for this child only.
    pub fn env(mut self, key: impl Into<String>, value: SecretString) -> Self {
        self.env.push((key.into(), value));
        self
    }

    /// Keeps an allow-listed variable of the parent from this child.
    pub fn env_remove(mut self, key: impl Into<String>) -> Self {
        self.env_remove.push(key.into());
        self
    }

    /// Writes `value` and a newline to stdin.
    pub fn stdin_secret(mut self, value: SecretString) -> Self {
        self.stdin = Some(value);
        self
    }

    /// Sets the timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The arguments with every secret argument replaced by `[REDACTED]`.
    pub fn display_args(&self) -> Vec<String> {
        self.args
            .iter()
            .map(|a| {
                if self.redact.iter().any(|r| r.expose_secret() == a) {
                    "[REDACTED]".to_string()
                } else {
                    a.clone()
                }
            })
            .collect()
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env: Vec<&str> = self.env.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Command")
            .field("args", &self.display_args())
            .field("env", &env)
            .field("env_remove", &self.env_remove)
            .field("stdin", &self.stdin.as_ref().map(|_| "[REDACTED]"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What a command did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The exit code (`-1` when killed by a signal).
    pub status: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error, as text.
    pub stderr: String,
}

impl Output {
    /// Whether the exit code is 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }

    /// Standard output as text (lossy).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Runs commands; implement it in tests to fake the tool.
#[async_trait]
pub trait CommandRunner: Send + Sync {
    /// Runs `cmd` to completion (or its timeout).
    async fn run(&self, cmd: &Command) -> Result<Output>;
}

/// Runs commands as child processes of one program, each in a clean environment (see the
/// [module docs](self)).
#[derive(Clone)]
pub struct ProcessRunner {
    program: PathBuf,
    allow: EnvAllowList,
    parent_env: Option<Arc<Vec<(OsString, OsString)>>>,
}

impl fmt::Debug for ProcessRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Names only: a parent snapshot may hold secrets.
        f.debug_struct("ProcessRunner")
            .field("program", &self.program)
            .field("allow_env", &self.allow.names())
            .field("parent_env", &self.parent_env.as_ref().map(|e| e.len()))
            .finish()
    }
}

impl ProcessRunner {
    /// A runner of `program` (a path, or a name looked up on `PATH`), whose children
    /// inherit only the [`DEFAULT_ENV_ALLOW`] variables.
    pub fn new(program: impl Into<PathBuf>) -> Self {
        ProcessRunner {
            program: program.into(),
            allow: EnvAllowList::standard(),
            parent_env: None,
        }
    }

    /// Lets children also inherit the variable `name` (a trailing `*` makes it a prefix),
    /// e.g. `OP_CONFIG_DIR` for 1Password's `op`. Never allow a credential here: give a
    /// secret to the child that needs it with [`Command::env`].
    pub fn allow_env(mut self, name: impl Into<String>) -> Self {
        self.allow = self.allow.allow(name);
        self
    }

    /// Replaces the allow-list.
    pub fn env_allow_list(mut self, allow: EnvAllowList) -> Self {
        self.allow = allow;
        self
    }

    /// Inherits from `snapshot` instead of this process's environment (the allow-list still
    /// applies): for tests, which cannot change the process environment without racing each
    /// other, and for hosts that keep a separate environment for their children.
    pub fn with_parent_env<I, K, V>(mut self, snapshot: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<OsString>,
        V: Into<OsString>,
    {
        self.parent_env = Some(Arc::new(
            snapshot
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        ));
        self
    }

    /// The program.
    pub fn program(&self) -> &PathBuf {
        &self.program
    }

    /// The allow-list of inherited variables.
    pub fn allowed_env(&self) -> &EnvAllowList {
        &self.allow
    }

    /// The complete environment a child running `cmd` starts with.
    pub fn child_env(&self, cmd: &Command) -> std::collections::BTreeMap<OsString, OsString> {
        match &self.parent_env {
            Some(snapshot) => self
                .allow
                .child_env(snapshot.iter().map(|(k, v)| (k, v)), cmd),
            None => self.allow.child_env(std::env::vars_os(), cmd),
        }
    }
}

#[async_trait]
impl CommandRunner for ProcessRunner {
    async fn run(&self, cmd: &Command) -> Result<Output> {
        let mut c = tokio::process::Command::new(&self.program);
        c.args(&cmd.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .env_clear()
            .envs(self.child_env(cmd));
        let program = self.program.display().to_string();
        let mut child = c.spawn().map_err(|e| {
            let kind = if e.kind() == std::io::ErrorKind::NotFound {
                ErrorKind::FailedPrecondition
            } else {
                ErrorKind::Internal
            };
            Error::new(kind, format!("could not run {program}: {e}"))
        })?;
        let stdin = child.stdin.take();
        let secret = cmd
            .stdin
            .as_ref()
            .map(|s| format!("{}\n", s.expose_secret()));
        let io = async move {
            if let Some(mut pipe) = stdin {
                if let Some(s) = secret {
                    // A child that exits without reading is not an error here.
                    let _ = pipe.write_all(s.as_bytes()).await;
                }
                drop(pipe);
            }
            child.wait_with_output().await
        };
        match tokio::time::timeout(cmd.timeout, io).await {
            Err(_) => Err(Error::new(
                ErrorKind::DeadlineExceeded,
                format!(
                    "{program} {} did not finish within {:.0}s",
                    cmd.display_args().join(" "),
                    cmd.timeout.as_secs_f64()
                ),
            )),
            Ok(Err(e)) => Err(Error::internal(format!("{program}: {e}"))),
            Ok(Ok(out)) => Ok(Output {
                status: out.status.code().unwrap_or(-1),
                stdout: out.stdout,
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            }),
        }
    }
}

/// Runs `cmd` and returns the output of a successful run; a failed run becomes
/// [`Output::to_error`]`(what)`, and retryable failures (network errors, `(5xx)`, `(429)`,
/// timeouts) are retried under `policy`. Only for commands that are safe to repeat (reads,
/// idempotent writes).
///
/// ```
/// use std::time::Duration;
/// use connector_sdk::command::{Command, ProcessRunner, RetryPolicy, run_retrying};
/// use connector_sdk::ErrorKind;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let fast = RetryPolicy { max_attempts: 3, min_delay: Duration::from_millis(1), max_delay: Duration::from_millis(1), ..RetryPolicy::default() };
/// let cmd = Command::new(["-c", "echo '[ERROR] (503) Service Unavailable' >&2; exit 1"]);
/// let err = run_retrying(&ProcessRunner::new("sh"), &cmd, "listing users", fast).await.unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::Unavailable);
/// assert!(err.to_string().contains("giving up after 3 attempt(s)"));
/// # });
/// ```
pub async fn run_retrying(
    runner: &dyn CommandRunner,
    cmd: &Command,
    what: &str,
    policy: RetryPolicy,
) -> Result<Output> {
    crate::retry::retry(policy, |_| async {
        let out = runner.run(cmd).await?;
        if out.success() {
            Ok(out)
        } else {
            Err(out.to_error(what))
        }
    })
    .await
}

#[cfg(test)]
mod tests;
