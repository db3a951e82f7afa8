//! Running a command-line tool as a connector's API (1Password's `op`, cloud CLIs…).
//!
//! * argv only, never a shell;
//! * secrets travel on stdin or in the child's environment, never in argv, and `Debug`
//!   of a command shows neither;
//! * a timeout per command (the child is killed when it passes);
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

use std::fmt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, ErrorKind, Result};

/// One invocation: arguments, environment changes, and an optional secret on stdin.
#[derive(Clone)]
pub struct Command {
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// Environment variables set for this child only (values are secret).
    pub env: Vec<(String, SecretString)>,
    /// Environment variables removed from this child.
    pub env_remove: Vec<String>,
    /// Written to stdin, followed by a newline; stdin is closed either way.
    pub stdin: Option<SecretString>,
    /// How long the command may run.
    pub timeout: Duration,
    /// Argument values to show as `[REDACTED]` in `Debug` and errors (e.g. a session token).
    pub redact: Vec<SecretString>,
}

impl Command {
    /// A command with `args`, a 120 s timeout and the parent's environment.
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

    /// Removes an inherited environment variable from this child.
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

/// Runs commands as child processes of one program.
#[derive(Debug, Clone)]
pub struct ProcessRunner {
    program: PathBuf,
}

impl ProcessRunner {
    /// A runner of `program` (a path, or a name looked up on `PATH`).
    pub fn new(program: impl Into<PathBuf>) -> Self {
        ProcessRunner {
            program: program.into(),
        }
    }

    /// The program.
    pub fn program(&self) -> &PathBuf {
        &self.program
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
            .kill_on_drop(true);
        for k in &cmd.env_remove {
            c.env_remove(k);
        }
        for (k, v) in &cmd.env {
            c.env(k, v.expose_secret());
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn env_is_per_child_and_removable() {
        let runner = ProcessRunner::new("sh");
        let out = runner
            .run(
                &Command::new(["-c", "echo \"$ONLY_HERE/${HOME:-unset}\""])
                    .env("ONLY_HERE", SecretString::from("x"))
                    .env_remove("HOME"),
            )
            .await
            .unwrap();
        assert_eq!(out.stdout_text().trim(), "x/unset");
        assert!(
            std::env::var("ONLY_HERE").is_err(),
            "the parent's environment is untouched"
        );
    }

    #[tokio::test]
    async fn timeouts_kill_and_missing_programs_explain() {
        let err = ProcessRunner::new("sh")
            .run(&Command::new(["-c", "sleep 5"]).timeout(Duration::from_millis(100)))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::DeadlineExceeded);
        let err = ProcessRunner::new("/nonexistent/op")
            .run(&Command::new(["--version"]))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::FailedPrecondition);
        let out = ProcessRunner::new("sh")
            .run(&Command::new(["-c", "echo oops >&2; exit 3"]))
            .await
            .unwrap();
        assert_eq!((out.status, out.stderr.trim()), (3, "oops"));
    }

    #[test]
    fn secret_args_are_redacted() {
        let c =
            Command::new(["user", "list", "--session"]).secret_arg(SecretString::from("tok-123"));
        assert_eq!(
            c.display_args(),
            ["user", "list", "--session", "[REDACTED]"]
        );
        assert!(!format!("{c:?}").contains("tok-123"));
    }
}
