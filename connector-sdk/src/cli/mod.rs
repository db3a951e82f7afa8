//! The command-line runner (feature `cli`): one interface for every connector binary,
//! a drop-in for upstream's (`BATON_*` variables, `--file sync.c1z`, one-shot operations).
//!
//! A connector binary is its config struct plus one call:
//!
//! ```no_run
//! use connector_sdk::cli::{self, AppInfo, BuildContext, ConnectorConfig};
//! use connector_sdk::testing::MemoryConnector;
//! use connector_sdk::{Connector, Result};
//!
//! /// Fields of this connector; each `--foo-bar` also reads `BATON_FOO_BAR`.
//! #[derive(clap::Args, Debug)]
//! struct Config {
//!     /// API key of the tenant.
//!     #[arg(long, value_parser = cli::secret, hide_env_values = true)]
//!     api_key: Option<secrecy::SecretString>,
//! }
//!
//! impl ConnectorConfig for Config {
//!     fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
//!         let _key = cli::required(self.api_key, "api-key")?;
//!         Ok(Box::new(MemoryConnector::seeded()))
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     cli::run::<Config>(AppInfo::new("baton-example", env!("CARGO_PKG_VERSION"), "Syncs Example"))
//! }
//! ```
//!
//! What the runner gives every binary:
//!
//! * flags and variables: every flag `--foo-bar` reads `BATON_FOO_BAR` unless it names its
//!   own; `--help` shows each variable; secrets (`hide_env_values`) are never echoed;
//!   a missing required value fails before any network call, naming flag and variable;
//! * the default operation, a sync to `--file` (default `sync.c1z`), with a progress display
//!   on a terminal and a summary at the end;
//! * one-shot operations: `--grant-entitlement`/`--grant-principal`/`--grant-principal-type`,
//!   `--revoke-grant`, `--create-account-*`, `--delete-resource`/`--delete-resource-type`,
//!   `--invoke-action`/`--invoke-action-args`, `--list-action-schemas`; all but the last
//!   refuse to run without `--provisioning`;
//! * subcommands `capabilities` (works without credentials or network: see
//!   [`ConnectorConfig::build_for_capabilities`]), `config` (JSON schema of the fields),
//!   `validate`, and `explore [FILE] [--listen ADDR]`, the access explorer over the sync
//!   file (see [`crate::explorer`]; no credentials needed);
//! * service mode (`--client-id`/`--client-secret`, `BATON_CLIENT_ID`/`BATON_CLIENT_SECRET`):
//!   a worker of ConductorOne's task queue ([`crate::service`]), with `/healthz`;
//! * local service mode without ConductorOne (`--service-interval 1h`): syncs into `--file`
//!   until SIGTERM, with `/healthz`.
//!
//! Exit codes, for supervisors and scripts:
//!
//! | code | meaning |
//! |---:|---|
//! | 0 | success: the sync finished (or the operation or subcommand succeeded); a service stopped by SIGTERM or SIGINT |
//! | 1 | failure: the sync or operation failed (the SaaS refused, even with a 400; the network; a connector bug…) |
//! | 2 | bad configuration or usage: a missing or malformed flag or variable, named in the message (never an API's answer) |
//! | 3 | sync incomplete, resumable: a one-shot sync stopped before the end (SIGTERM, SIGINT, `--max-sync-duration`) after saving a checkpoint; run again to resume |
//!
//! The codes are [`EXIT_FAILURE`], [`EXIT_USAGE`] and [`EXIT_INCOMPLETE`]. In service mode
//! with a client id, a failure exits with its gRPC code, as upstream (16 when ConductorOne
//! refuses the credentials, 2 for a malformed one, 0 after SIGTERM/SIGINT).

mod args;
mod c1_service;
mod config;
mod credential_hint;
mod credentials;
mod health;
mod interval;
mod ops;
mod output;
mod reserved;
mod schema;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Arg, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::connector::Connector;
use crate::error::{Error, ErrorKind, Result};
use crate::handle::ConnectorHandle;
use crate::sync::{StopSignal, SyncOptions, sync_to_file};
use config::capabilities_document;
use schema::{clap_error, config_schema};

pub use args::{
    BaseUrlArg, CommonArgs, LogFormat, StoreLimitArgs, config_error, env_name, flag_and_env,
    required, secret,
};
pub use config::{AppInfo, BuildContext, CapabilityFlag, ConnectorConfig, placeholder_secret};
pub use credential_hint::CredentialField;

/// Exit code of a failed sync or operation.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a configuration or usage error (the message names the flag and variable).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a one-shot sync that stopped before the end (signal or
/// `--max-sync-duration`) after saving a checkpoint: the next run resumes it.
pub const EXIT_INCOMPLETE: u8 = 3;

#[derive(Parser, Debug)]
struct Cli<C: clap::Args> {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    connector: C,
    #[command(subcommand)]
    command: Option<Sub>,
}

#[derive(Subcommand, Debug, Clone, PartialEq, Eq)]
enum Sub {
    /// Print what the connector can do, as JSON (no credentials needed; flags such as a
    /// read-only mode are taken into account).
    Capabilities,
    /// Print the JSON schema of the configuration fields.
    Config,
    /// Check the configuration and credentials with one cheap call.
    Validate,
    /// Browse a sync file in a web page (read-only, loopback by default): who has what,
    /// through which group, and what changed since the previous sync. No credentials needed.
    Explore {
        /// The .c1z file to browse (default: --file).
        file: Option<std::path::PathBuf>,
        #[command(flatten)]
        args: crate::explorer::ExploreArgs,
    },
}

/// Runs the binary: parses `std::env::args`, then syncs or runs the operation asked for.
pub fn run<C: ConnectorConfig>(app: AppInfo) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            crate::printable::eprint_error(format!("could not start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run_with::<C>(app, std::env::args_os().collect()))
}

/// The clap command of a binary with config `C`: standard flags, connector flags, each
/// with its `BATON_*` variable. Required connector flags are marked in their help and
/// checked by the runner (so its message can name the variable too).
///
/// Fails when a connector field reuses a name the runner reserves (a long flag such as
/// `--client-id`, `--file` or `--log-level`, its `BATON_*` variable, a short flag, or the
/// field name clap uses as its id), naming the field, the SDK's flag and the fix (e.g.
/// rename the flag to `--myapp-client-id`). Clap would panic on such a clash in a debug
/// build and mix the two flags up in a release build.
///
/// ```
/// use connector_sdk::cli::{command, AppInfo, BuildContext, ConnectorConfig};
/// use connector_sdk::{Connector, Result};
///
/// #[derive(clap::Args, Debug)]
/// struct Config {
///     /// The app's OAuth client id (named like the SDK's --client-id).
///     #[arg(long)]
///     client_id: Option<String>,
/// }
///
/// impl ConnectorConfig for Config {
///     fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
///         Err(connector_sdk::Error::unimplemented("not in this example"))
///     }
/// }
///
/// let err = command::<Config>(AppInfo::new("baton-myapp", "0.1.0", "Syncs MyApp")).unwrap_err();
/// assert!(err.to_string().contains("--myapp-client-id (BATON_MYAPP_CLIENT_ID)"));
/// ```
pub fn command<C: ConnectorConfig>(app: AppInfo) -> Result<clap::Command> {
    reserved::check::<C>(&app)?;
    let cmd = Cli::<C>::command()
        .name(app.name)
        .bin_name(app.name)
        .version(app.version)
        .about(app.about)
        .subcommand_negates_reqs(true)
        .mut_args(|a| {
            let mut a = a;
            let long = a.get_long().map(str::to_string);
            if a.get_env().is_none()
                && let Some(long) = long.filter(|l| l != "help" && l != "version")
            {
                a = a.env(env_name(&long));
            }
            if a.is_required_set() {
                let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                a = a.required(false).help(format!("{help} [required]"));
            }
            a
        });
    credential_hint::resolve(&cmd, &C::credential_fields())?;
    Ok(cmd)
}

/// Flags whose help says `[required]`.
fn required_args(cmd: &clap::Command) -> Vec<Arg> {
    cmd.get_arguments()
        .filter(|a| {
            a.get_help()
                .is_some_and(|h| h.to_string().ends_with("[required]"))
        })
        .cloned()
        .collect()
}

fn usage_error(e: &Error) -> ExitCode {
    crate::printable::eprint_error(e);
    ExitCode::from(EXIT_USAGE)
}

/// How a run that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Everything asked for was done.
    Done,
    /// A one-shot sync stopped early with a checkpoint.
    Incomplete,
    /// Service mode ended with this exit code (a gRPC code), its error already printed.
    Exit(u8),
}

/// Runs the binary with explicit arguments (the first is the program name). The
/// environment is the process's. Used by [`run`] and by tests.
pub async fn run_with<C: ConnectorConfig>(app: AppInfo, args: Vec<OsString>) -> ExitCode {
    let (cmd, hint) = match command::<C>(app).and_then(|cmd| {
        Ok((
            credential_hint::resolve(&cmd, &C::credential_fields())?,
            cmd,
        ))
    }) {
        Ok((hint, cmd)) => (cmd, hint),
        // A connector bug, not the operator's configuration.
        Err(e) => {
            crate::printable::eprint_error(&e);
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    let matches = match cmd.clone().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind as K;
            if matches!(
                e.kind(),
                K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            return usage_error(&clap_error(&cmd, e));
        }
    };
    if matches.subcommand_name() == Some("config") {
        println!(
            "{}",
            serde_json::to_string_pretty(&config_schema(&cmd, app)).unwrap_or_default()
        );
        return ExitCode::SUCCESS;
    }
    // `capabilities` describes the connector without credentials; `explore` only reads a file.
    let describe_only = matches!(
        matches.subcommand_name(),
        Some("capabilities") | Some("explore")
    );
    // Required connector values, checked before any network call.
    let missing: Vec<String> = required_args(&cmd)
        .iter()
        .filter(|a| matches.value_source(a.get_id().as_str()).is_none())
        .filter_map(|a| a.get_long().map(flag_and_env))
        .collect();
    if !missing.is_empty() && !describe_only {
        return usage_error(&Error::invalid_argument(format!(
            "missing required {}: set each flag or its environment variable",
            missing.join(", ")
        )));
    }
    let cli = match Cli::<C>::from_arg_matches(&matches) {
        Ok(c) => c,
        Err(e) => return usage_error(&clap_error(&cmd, e)),
    };
    match dispatch(app, cli, &hint).await {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Incomplete) => ExitCode::from(EXIT_INCOMPLETE),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(Failed { error, .. }) if is_usage_error(&error) => usage_error(&error),
        Err(Failed {
            error,
            from_connector,
        }) => {
            if from_connector {
                crate::printable::eprint_error(hint.describe(&error));
            } else {
                crate::printable::eprint_error(&error);
            }
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Why a run failed, and whether the error came from the connector's work against the
/// SaaS (a sync, `validate`, a one-shot operation): only those name the credential flags
/// when the credentials were refused.
struct Failed {
    error: Error,
    from_connector: bool,
}

impl Failed {
    fn connector(error: Error) -> Self {
        Failed {
            error,
            from_connector: true,
        }
    }
}

impl From<Error> for Failed {
    fn from(error: Error) -> Self {
        Failed {
            error,
            from_connector: false,
        }
    }
}

/// Whether `e` is the operator's to fix in the flags: an invalid argument the runner or
/// the connector's configuration raised. An API that refused a request (an HTTP status,
/// or a CLI tool's `(4xx)`) failed the run: that is exit 1, never "bad configuration".
fn is_usage_error(e: &Error) -> bool {
    e.kind() == ErrorKind::InvalidArgument && e.http_status().is_none()
}

async fn dispatch<C: ConnectorConfig>(
    app: AppInfo,
    cli: Cli<C>,
    hint: &credential_hint::CredentialHint,
) -> std::result::Result<Outcome, Failed> {
    let common = cli.common;
    let operation = ops::selected(&common)?;
    if common.workers == 0 {
        return Err(config_error("workers", "must be at least 1").into());
    }
    let show_progress = !common.no_progress && operation.is_none() && cli.command.is_none();
    let bar = output::init(&common.log_level, common.log_format, show_progress)?;
    let ctx = BuildContext {
        app,
        provisioning: common.provisioning,
    };
    if let Some(Sub::Explore { file, args }) = &cli.command {
        let file = file.as_ref().unwrap_or(&common.file);
        crate::explorer::serve(
            file,
            &common.store_limits.limits(),
            args.listen,
            args.allow_remote,
            &args.public_hosts,
        )
        .await?;
        return Ok(Outcome::Done);
    }
    if cli.command == Some(Sub::Capabilities) {
        let connector = cli.connector.build_for_capabilities(&ctx)?;
        let doc = capabilities_document::<C>(connector.as_ref())?;
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).map_err(Error::from)?
        );
        return Ok(Outcome::Done);
    }
    // Built once: every operation, sync and service task below uses these syncers.
    let connector = ConnectorHandle::from_box(cli.connector.build(&ctx)?)?;
    match cli.command {
        Some(Sub::Validate) => {
            connector.validate().await.map_err(Failed::connector)?;
            println!("{}: configuration and credentials are valid", app.name);
            return Ok(Outcome::Done);
        }
        Some(Sub::Capabilities | Sub::Config | Sub::Explore { .. }) | None => {}
    }
    if let Some(op) = operation {
        if op.writes() && !common.provisioning {
            return Err(Error::invalid_argument(format!(
                "this operation changes the SaaS and provisioning is off; add {} to allow it",
                flag_and_env("provisioning")
            ))
            .into());
        }
        let out = ops::run(op, &connector, &common)
            .await
            .map_err(Failed::connector)?;
        // Text answers name what the SaaS returned: escaped. JSON answers stay exact
        // (serde_json already escapes control characters).
        if serde_json::from_str::<serde_json::Value>(&out).is_ok() {
            println!("{out}");
        } else {
            println!("{}", crate::printable::printable_lines(&out));
        }
        return Ok(Outcome::Done);
    }
    let stop = StopSignal::new();
    let options = SyncOptions {
        stop: stop.clone(),
        ..common.sync_options()?
    };
    let progress = bar.as_ref().map(output::progress_fn);
    // Upstream's manifests set BATON_CLIENT_ID and BATON_CLIENT_SECRET: service mode, a
    // worker of ConductorOne's task queue.
    if common.client_id.is_some() || common.client_secret.is_some() {
        if let Some(b) = &bar {
            b.finish_and_clear();
        }
        return Ok(c1_service::run(app, connector, &common, options, stop).await?);
    }
    match common.service_interval {
        None => {
            interval::stop_on_signals(stop.clone());
            let report = sync_to_file(&connector, &common.file, &options, progress.as_ref()).await;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let report = report.map_err(Failed::connector)?;
            println!(
                "{}",
                crate::printable::printable_lines(&output::summary(&report, &common.file))
            );
            Ok(if report.completed {
                Outcome::Done
            } else {
                Outcome::Incomplete
            })
        }
        Some(every) => {
            // A service stopped by a signal has done its job: exit 0.
            interval::sync_on_interval(&connector, &common, &options, every, stop, progress, hint)
                .await?;
            Ok(Outcome::Done)
        }
    }
}
