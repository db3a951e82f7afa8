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
mod credentials;
mod ops;
mod output;
mod reserved;
mod service;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::{Arg, ArgAction, Args as _, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde_json::json;

use crate::connector::{Connector, capabilities};
use crate::error::{Error, ErrorKind, Result};
use crate::handle::ConnectorHandle;
use crate::sync::{StopSignal, SyncOptions, sync_to_file};

pub use args::{
    BaseUrlArg, CommonArgs, LogFormat, config_error, env_name, flag_and_env, required, secret,
};

/// Exit code of a failed sync or operation.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code of a configuration or usage error (the message names the flag and variable).
pub const EXIT_USAGE: u8 = 2;
/// Exit code of a one-shot sync that stopped before the end (signal or
/// `--max-sync-duration`) after saving a checkpoint: the next run resumes it.
pub const EXIT_INCOMPLETE: u8 = 3;

/// Names the binary in `--help`, `--version` and the User-Agent.
#[derive(Debug, Clone, Copy)]
pub struct AppInfo {
    /// The binary name, e.g. `baton-valimail`.
    pub name: &'static str,
    /// Its version.
    pub version: &'static str,
    /// One line about it.
    pub about: &'static str,
}

impl AppInfo {
    /// App info.
    pub fn new(name: &'static str, version: &'static str, about: &'static str) -> Self {
        AppInfo {
            name,
            version,
            about,
        }
    }
}

/// What a connector config gets when it builds its connector.
#[derive(Debug, Clone)]
pub struct BuildContext {
    /// The binary.
    pub app: AppInfo,
    /// Whether `--provisioning` was given.
    pub provisioning: bool,
}

/// A connector's configuration: its flags (a `clap::Args` struct) and how to build the
/// connector from them. Building must not touch the network; check values and name the
/// flag of any bad one ([`required`], [`config_error`]).
pub trait ConnectorConfig: clap::Args + Send + 'static {
    /// Builds the connector.
    fn build(self, ctx: &BuildContext) -> Result<Box<dyn Connector>>;

    /// Builds the connector only to describe it (the `capabilities` subcommand), from
    /// whatever flags were given: required values may be missing, and the result is never
    /// asked to call the SaaS. Fill a missing credential with [`placeholder_secret`] and
    /// other missing values with placeholders; keep the flags that change what the
    /// connector offers. Must not touch the network or start processes.
    ///
    /// The default calls [`build`](Self::build), which works for a connector needing no
    /// credentials; a connector whose `build` requires some should override it.
    fn build_for_capabilities(self, ctx: &BuildContext) -> Result<Box<dyn Connector>>
    where
        Self: Sized,
    {
        self.build(ctx)
    }

    /// The flags that change what `capabilities` reports, each with what it changes;
    /// printed with the capabilities. Default: none.
    fn capability_flags() -> Vec<CapabilityFlag>
    where
        Self: Sized,
    {
        Vec::new()
    }
}

/// A flag that changes what a connector offers, listed by the `capabilities` subcommand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapabilityFlag {
    /// The flag's long name without dashes, e.g. `read-only`.
    pub flag: &'static str,
    /// What it changes, e.g. "no grant, revoke or account creation".
    pub effect: &'static str,
}

impl CapabilityFlag {
    /// A flag and what it changes.
    pub fn new(flag: &'static str, effect: &'static str) -> Self {
        CapabilityFlag { flag, effect }
    }
}

/// A stand-in credential for [`ConnectorConfig::build_for_capabilities`]: a connector
/// built with it can describe itself but is never asked to call the SaaS.
pub fn placeholder_secret() -> secrecy::SecretString {
    secrecy::SecretString::from("placeholder-for-capabilities".to_string())
}

/// The `capabilities` document: what the connector built from the given flags offers,
/// plus the flags that change it.
fn capabilities_document<C: ConnectorConfig>(
    connector: &dyn Connector,
) -> Result<serde_json::Value> {
    let mut doc = serde_json::to_value(capabilities(connector))?;
    let flags: Vec<serde_json::Value> = C::capability_flags()
        .iter()
        .map(|f| {
            json!({
                "flag": format!("--{}", f.flag),
                "env": env_name(f.flag),
                "effect": f.effect,
            })
        })
        .collect();
    if let Some(map) = doc.as_object_mut() {
        map.insert("changed_by_flags".into(), flags.into());
        map.insert(
            "note".into(),
            "computed from the flags given, without credentials or network calls; run `validate` to check credentials".into(),
        );
    }
    Ok(doc)
}

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
            eprintln!("error: could not start the async runtime: {e}");
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
    Ok(Cli::<C>::command()
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
        }))
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
    eprintln!("error: {e}");
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

/// Rewrites a clap error so it names the variable of the flag at fault, and never
/// echoes a value (which could be a secret).
fn clap_error(cmd: &clap::Command, e: clap::Error) -> Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind as K};
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let flag = arg
        .as_deref()
        .and_then(|a| a.split_whitespace().next())
        .map(|f| f.trim_start_matches('-').to_string());
    let known = flag
        .as_deref()
        .and_then(|f| cmd.get_arguments().find(|a| a.get_long() == Some(f)));
    let secret = known.is_some_and(|a| a.is_hide_env_values_set());
    let detail = match e.kind() {
        K::ValueValidation | K::InvalidValue => {
            if secret {
                "invalid value".to_string()
            } else {
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_string()
            }
        }
        _ => e
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    };
    match flag.filter(|_| known.is_some()) {
        Some(f) => Error::invalid_argument(format!("{}: {detail}", flag_and_env(&f))),
        None => Error::invalid_argument(format!("{detail}; see --help")),
    }
}

/// The JSON schema of the binary's configuration.
fn config_schema(cmd: &clap::Command, app: AppInfo) -> serde_json::Value {
    let common: Vec<String> = CommonArgs::augment_args(clap::Command::new("x"))
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for a in cmd.get_arguments() {
        let Some(long) = a.get_long() else { continue };
        if long == "help" || long == "version" {
            continue;
        }
        let is_flag = matches!(a.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        let is_required = help.ends_with("[required]");
        if is_required {
            required.push(long.to_string());
        }
        let defaults: Vec<String> = a
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let mut p = serde_json::Map::new();
        p.insert(
            "type".into(),
            if is_flag { "boolean" } else { "string" }.into(),
        );
        p.insert(
            "description".into(),
            help.trim_end_matches("[required]").trim().into(),
        );
        if let Some(env) = a.get_env() {
            p.insert("x-env".into(), env.to_string_lossy().into_owned().into());
        }
        if let Some(d) = defaults.first().filter(|_| !is_flag) {
            p.insert("default".into(), d.clone().into());
        }
        let values: Vec<String> = a
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        if !values.is_empty() && !is_flag {
            p.insert("enum".into(), values.into());
        }
        p.insert("x-secret".into(), a.is_hide_env_values_set().into());
        p.insert(
            "x-connector-field".into(),
            (!common.contains(&a.get_id().to_string())).into(),
        );
        properties.insert(long.to_string(), p.into());
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": app.name,
        "description": app.about,
        "type": "object",
        "properties": properties,
        "required": required,
    })
}

/// Runs the binary with explicit arguments (the first is the program name). The
/// environment is the process's. Used by [`run`] and by tests.
pub async fn run_with<C: ConnectorConfig>(app: AppInfo, args: Vec<OsString>) -> ExitCode {
    let cmd = match command::<C>(app) {
        Ok(cmd) => cmd,
        // A connector bug, not the operator's configuration.
        Err(e) => {
            eprintln!("error: {e}");
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
    match dispatch(app, cli).await {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Incomplete) => ExitCode::from(EXIT_INCOMPLETE),
        Ok(Outcome::Exit(code)) => ExitCode::from(code),
        Err(e) if is_usage_error(&e) => usage_error(&e),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Whether `e` is the operator's to fix in the flags: an invalid argument the runner or
/// the connector's configuration raised. An API that refused a request (an HTTP status,
/// or a CLI tool's `(4xx)`) failed the run: that is exit 1, never "bad configuration".
fn is_usage_error(e: &Error) -> bool {
    e.kind() == ErrorKind::InvalidArgument && e.http_status().is_none()
}

async fn dispatch<C: ConnectorConfig>(app: AppInfo, cli: Cli<C>) -> Result<Outcome> {
    let common = cli.common;
    let operation = ops::selected(&common)?;
    if common.workers == 0 {
        return Err(config_error("workers", "must be at least 1"));
    }
    let show_progress = !common.no_progress && operation.is_none() && cli.command.is_none();
    let bar = output::init(&common.log_level, common.log_format, show_progress)?;
    let ctx = BuildContext {
        app,
        provisioning: common.provisioning,
    };
    if let Some(Sub::Explore { file, args }) = &cli.command {
        let file = file.as_ref().unwrap_or(&common.file);
        crate::explorer::serve(file, args.listen, args.allow_remote).await?;
        return Ok(Outcome::Done);
    }
    if cli.command == Some(Sub::Capabilities) {
        let connector = cli.connector.build_for_capabilities(&ctx)?;
        let doc = capabilities_document::<C>(connector.as_ref())?;
        println!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(Outcome::Done);
    }
    // Built once: every operation, sync and service task below uses these syncers.
    let connector = ConnectorHandle::from_box(cli.connector.build(&ctx)?)?;
    match cli.command {
        Some(Sub::Validate) => {
            connector.validate().await?;
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
            )));
        }
        let out = ops::run(op, &connector, &common).await?;
        println!("{out}");
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
        return c1_service::run(app, connector, &common, options, stop).await;
    }
    match common.service_interval {
        None => {
            service::stop_on_signals(stop.clone());
            let report = sync_to_file(&connector, &common.file, &options, progress.as_ref()).await;
            if let Some(b) = &bar {
                b.finish_and_clear();
            }
            let report = report?;
            println!("{}", output::summary(&report, &common.file));
            Ok(if report.completed {
                Outcome::Done
            } else {
                Outcome::Incomplete
            })
        }
        Some(interval) => {
            // A service stopped by a signal has done its job: exit 0.
            service_loop(&connector, &common, &options, interval, stop, progress).await?;
            Ok(Outcome::Done)
        }
    }
}

async fn service_loop(
    connector: &dyn Connector,
    common: &CommonArgs,
    options: &SyncOptions,
    interval: std::time::Duration,
    stop: StopSignal,
    progress: Option<crate::sync::ProgressFn>,
) -> Result<()> {
    service::stop_on_signals(stop.clone());
    let health: service::SharedHealth = Arc::new(Mutex::new(service::Health::default()));
    if let Some(port) = common.health_check_port {
        let bound = service::serve_health(
            SocketAddr::new(common.health_check_address, port),
            health.clone(),
            stop.clone(),
        )
        .await?;
        tracing::info!(address = %bound, "health endpoint listening on /healthz");
        println!("health endpoint: http://{bound}/healthz");
    }
    tracing::info!(interval = %humantime::format_duration(interval), file = %common.file.display(), "service mode: syncing on an interval until SIGTERM");
    loop {
        health.lock().unwrap_or_else(|p| p.into_inner()).running = true;
        let result = sync_to_file(connector, &common.file, options, progress.as_ref()).await;
        {
            let mut h = health.lock().unwrap_or_else(|p| p.into_inner());
            h.running = false;
            match &result {
                Ok(r) if r.completed => h.succeeded(&r.sync_id),
                Ok(_) => {}
                Err(e) => h.failed(e),
            }
        }
        match result {
            Ok(report) => println!("{}", output::summary(&report, &common.file)),
            // Keep serving: the file still holds the last good sync.
            Err(e) => tracing::error!(
                "sync failed; the last good sync stays in {}: {e}",
                common.file.display()
            ),
        }
        if stop.is_triggered() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.triggered() => break,
        }
    }
    println!("stopped; an interrupted sync resumes on the next start");
    Ok(())
}
