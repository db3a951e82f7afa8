//! The standard flags every connector binary takes, and helpers for connector fields.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::ValueEnum;
use secrecy::SecretString;

use crate::error::{Error, Result};
pub use crate::flags::{env_name, flag_and_env};
use crate::http::parse_base_url;

/// A `value_parser` for secrets: reads the value into a [`SecretString`]. It never fails,
/// so a secret is never echoed by a parse error; check it in your config's `build`.
///
/// ```
/// #[derive(clap::Args, Debug)]
/// struct Config {
///     /// The API key.
///     #[arg(long, value_parser = connector_sdk::cli::secret, hide_env_values = true)]
///     api_key: secrecy::SecretString,
/// }
/// ```
pub fn secret(value: &str) -> std::result::Result<SecretString, std::convert::Infallible> {
    Ok(SecretString::from(value.to_string()))
}

/// A required value that was not given: an error naming the flag and its variable.
///
/// ```
/// let err = connector_sdk::cli::required::<String>(None, "valimail-slug").unwrap_err();
/// assert!(err.to_string().contains("--valimail-slug (BATON_VALIMAIL_SLUG)"));
/// ```
pub fn required<T>(value: Option<T>, flag: &str) -> Result<T> {
    value.ok_or_else(|| {
        Error::invalid_argument(format!(
            "missing {}: set the flag or the environment variable",
            flag_and_env(flag)
        ))
    })
}

/// A configuration error about `flag`: `"--flag (BATON_FLAG): message"`.
pub fn config_error(flag: &str, message: impl std::fmt::Display) -> Error {
    Error::invalid_argument(format!("{}: {message}", flag_and_env(flag)))
}

/// `--base-url` (`BATON_BASE_URL`): points an HTTP connector at a proxy or a simulator;
/// and `--allow-insecure-http` (`BATON_ALLOW_INSECURE_HTTP`), without which a plain
/// `http://` base URL to a host that is not loopback is refused. Flatten it into a
/// connector's config and pass `allow_insecure_http` to
/// [`HttpClientBuilder::allow_insecure_http`](crate::http::HttpClientBuilder::allow_insecure_http).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BaseUrlArg {
    /// Override the API base URL (for a proxy or a simulated tenant); an absolute http(s) URL.
    #[arg(long = "base-url")]
    pub base_url: Option<String>,
    /// Allow a plain http:// base URL to a host that is not this machine (credentials and
    /// data then cross the network unencrypted). http://127.0.0.1 and http://localhost are
    /// always allowed.
    #[arg(long = "allow-insecure-http")]
    pub allow_insecure_http: bool,
}

impl BaseUrlArg {
    /// The override, checked: an absolute http or https URL (plain http only to loopback
    /// unless `--allow-insecure-http`), or `None` when not given.
    pub fn parsed(&self) -> Result<Option<url::Url>> {
        let Some(raw) = self.base_url.as_deref().filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        let url = parse_base_url(raw, &flag_and_env("base-url"))?;
        crate::http::check_transport(&url, self.allow_insecure_http)?;
        Ok(Some(url))
    }
}

/// Limits on reading a `.c1z` (the file a sync appends to, `explore`, the ids one-shot
/// operations read): `--decoder-max-decoded-size-mb` (`BATON_DECODER_MAX_DECODED_SIZE_MB`,
/// the variable upstream's SDK reads) and `--c1z-max-row-size-mb`
/// (`BATON_C1Z_MAX_ROW_SIZE_MB`). Flattened into [`CommonArgs`]; a file tool flattens it
/// into its own flags (it names its variables itself, so it works in any clap parser).
///
/// ```
/// use clap::Parser;
/// use connector_sdk::cli::StoreLimitArgs;
///
/// #[derive(Parser)]
/// struct Tool {
///     #[command(flatten)]
///     limits: StoreLimitArgs,
/// }
///
/// let tool = Tool::parse_from(["tool", "--decoder-max-decoded-size-mb", "20480"]);
/// assert_eq!(tool.limits.limits().max_decoded_size(), 20 << 30);
/// assert_eq!(tool.limits.limits().max_row_size(), 16 << 20);
/// assert!(Tool::try_parse_from(["tool", "--c1z-max-row-size-mb", "0"]).is_err());
/// ```
#[derive(clap::Args, Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimitArgs {
    /// The most a .c1z may decompress to, in MiB: a larger file (or a decompression bomb)
    /// is refused. Raise it for a trusted file bigger than that.
    #[arg(
        long = "decoder-max-decoded-size-mb",
        env = "BATON_DECODER_MAX_DECODED_SIZE_MB",
        value_name = "MIB",
        default_value_t = crate::store::DEFAULT_MAX_DECODED_SIZE_MB,
        value_parser = clap::value_parser!(u64).range(1..),
        global = true,
        help_heading = "Sync file limits"
    )]
    pub decoder_max_decoded_size_mb: u64,
    /// The largest row of a .c1z read or written, in MiB (up to 953): a larger one is an
    /// error instead of a huge allocation.
    #[arg(
        long = "c1z-max-row-size-mb",
        env = "BATON_C1Z_MAX_ROW_SIZE_MB",
        value_name = "MIB",
        default_value_t = crate::store::DEFAULT_MAX_ROW_SIZE_MB,
        value_parser = clap::value_parser!(u64).range(1..=crate::store::MAX_ROW_SIZE_CEILING_MB),
        global = true,
        help_heading = "Sync file limits"
    )]
    pub c1z_max_row_size_mb: u64,
}

impl Default for StoreLimitArgs {
    fn default() -> Self {
        StoreLimitArgs {
            decoder_max_decoded_size_mb: crate::store::DEFAULT_MAX_DECODED_SIZE_MB,
            c1z_max_row_size_mb: crate::store::DEFAULT_MAX_ROW_SIZE_MB,
        }
    }
}

impl StoreLimitArgs {
    /// The limits these flags ask for.
    pub fn limits(&self) -> crate::store::StoreLimits {
        crate::store::StoreLimits::default()
            .with_max_decoded_size_mb(self.decoder_max_decoded_size_mb)
            .with_max_row_size_mb(self.c1z_max_row_size_mb)
    }
}

/// Log output format.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Console,
    /// One JSON object per line.
    Json,
}

impl CommonArgs {
    /// The sync options these flags ask for (scope flags included; `stop` is fresh).
    /// A malformed `--sync-resources` BID is an error naming the flag and its variable.
    pub fn sync_options(&self) -> Result<crate::sync::SyncOptions> {
        let targeted = match self.sync_resources.as_deref() {
            Some(list) => crate::bid::parse_resource_bids(list)
                .map_err(|e| config_error("sync-resources", e.message()))?,
            None => Vec::new(),
        };
        Ok(crate::sync::SyncOptions {
            workers: self.workers,
            max_duration: self.max_sync_duration,
            checkpoint_interval: self.checkpoint_interval,
            expand_grants: !self.skip_expand_grants,
            resource_types: self
                .sync_resource_types
                .iter()
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect(),
            skip_entitlements_and_grants: self.skip_entitlements_and_grants,
            skip_grants: self.skip_grants,
            targeted,
            store_limits: self.store_limits.limits(),
            ..crate::sync::SyncOptions::default()
        })
    }
}

/// The flags every connector binary takes, named as upstream's `baton-sdk` names them.
#[derive(clap::Args, Debug, Clone)]
pub struct CommonArgs {
    /// The .c1z file a sync writes, and that one-shot operations read ids from.
    #[arg(long, short = 'f', default_value = "sync.c1z")]
    pub file: PathBuf,
    /// Log level (error, warn, info, debug, trace) or a tracing filter such as "info,connector_sdk=debug".
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Console)]
    pub log_format: LogFormat,
    /// Allow operations that change the SaaS: grant, revoke, create or delete accounts, actions.
    #[arg(long, short = 'p')]
    pub provisioning: bool,
    /// Connector calls in flight at once during a sync.
    #[arg(long, default_value_t = 8)]
    pub workers: usize,
    /// Stop a sync after this long (e.g. "10m"), saving a checkpoint; the next run resumes.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub max_sync_duration: Option<Duration>,
    /// How often a sync saves a checkpoint to --file (e.g. "5s", "1m"; "0s": after every
    /// page). A sync stopped or killed resumes from its last checkpoint.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "5s")]
    pub checkpoint_interval: Duration,
    /// Do not show a progress display on a terminal.
    #[arg(long)]
    pub no_progress: bool,
    /// What reading --file may cost (it is untrusted input).
    #[command(flatten)]
    pub store_limits: StoreLimitArgs,

    /// Only list resources of these types (comma-separated resource type ids, e.g.
    /// "user,group"); grants whose principal is of another type are still kept.
    #[arg(long, value_delimiter = ',', help_heading = "Sync scope")]
    pub sync_resource_types: Vec<String>,
    /// Sync resources only: no entitlements and no grants.
    #[arg(long, help_heading = "Sync scope")]
    pub skip_entitlements_and_grants: bool,
    /// Sync resources and entitlements, but no grants.
    #[arg(long, help_heading = "Sync scope")]
    pub skip_grants: bool,
    /// Store grants unexpanded (leave group-nesting expansion to the reader).
    #[arg(long, help_heading = "Sync scope")]
    pub skip_expand_grants: bool,
    /// A targeted sync of these resources (comma-separated BIDs: `bid:r:<type>/<id>` or
    /// `bid:r:<parent type>/<parent id>/<type>/<id>`, with `\` escaping `:`, `/` and `\`
    /// in ids): each is re-read with its entitlements and grants and stored as a partial
    /// sync; the file's last full sync stays its default view.
    #[arg(long, help_heading = "Sync scope")]
    pub sync_resources: Option<String>,

    /// Grant this entitlement id (from the last sync in --file) to --grant-principal.
    #[arg(long, help_heading = "One-shot operations")]
    pub grant_entitlement: Option<String>,
    /// The id of the principal to grant to.
    #[arg(long, help_heading = "One-shot operations")]
    pub grant_principal: Option<String>,
    /// The resource type of the principal to grant to (e.g. user).
    #[arg(long, help_heading = "One-shot operations")]
    pub grant_principal_type: Option<String>,
    /// Revoke this grant id (from the last sync in --file).
    #[arg(long, help_heading = "One-shot operations")]
    pub revoke_grant: Option<String>,
    /// Create an account with this login.
    #[arg(long, help_heading = "One-shot operations")]
    pub create_account_login: Option<String>,
    /// Create an account with this email.
    #[arg(long, help_heading = "One-shot operations")]
    pub create_account_email: Option<String>,
    /// Profile of the account to create, as a JSON object.
    #[arg(long, help_heading = "One-shot operations")]
    pub create_account_profile: Option<String>,
    /// Delete the resource with this id.
    #[arg(long, help_heading = "One-shot operations")]
    pub delete_resource: Option<String>,
    /// The resource type of the resource to delete.
    #[arg(long, help_heading = "One-shot operations")]
    pub delete_resource_type: Option<String>,
    /// Invoke the action with this name.
    #[arg(long, help_heading = "One-shot operations")]
    pub invoke_action: Option<String>,
    /// Arguments of the action, as a JSON object.
    #[arg(long, help_heading = "One-shot operations")]
    pub invoke_action_args: Option<String>,
    /// Print the schemas of the connector's actions as JSON.
    #[arg(long, help_heading = "One-shot operations")]
    pub list_action_schemas: bool,

    /// Write generated credentials (e.g. a new account's password) to this file, mode 0600;
    /// "-" with --credentials-recipient writes the encrypted text to standard output.
    #[arg(long, help_heading = "Generated credentials")]
    pub credentials_file: Option<PathBuf>,
    /// Encrypt generated credentials to this age recipient (age1…) instead of writing them in clear.
    #[arg(long, help_heading = "Generated credentials")]
    pub credentials_recipient: Option<String>,
    /// Print generated credentials in clear on standard output.
    #[arg(long, help_heading = "Generated credentials")]
    pub print_credentials: bool,

    /// ConductorOne client id (NAME@HOST/SUFFIX, as ConductorOne shows it). With
    /// --client-secret, the binary runs in service mode: it connects to ConductorOne, runs its
    /// tasks (syncs, grants, revokes, account creation…) and uploads syncs.
    #[arg(
        id = "baton_client_id",
        long = "client-id",
        help_heading = "Service mode"
    )]
    pub client_id: Option<String>,
    /// ConductorOne client secret (secret-token:…); never printed.
    #[arg(id = "baton_client_secret", long = "client-secret", value_parser = secret, hide_env_values = true, help_heading = "Service mode")]
    pub client_secret: Option<SecretString>,
    /// Host id sent to ConductorOne (default: the host name).
    #[arg(id = "baton_host_id", long = "host-id", help_heading = "Service mode")]
    pub host_id: Option<String>,
    /// ConductorOne tasks run at once in service mode (1..100).
    #[arg(long, default_value_t = 3, help_heading = "Service mode")]
    pub task_concurrency: usize,
    /// After SIGTERM or SIGINT in service mode, how long running tasks may go on before they
    /// are stopped and finished as retryable (e.g. "25s", under Kubernetes' 30 s).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "25s", help_heading = "Service mode")]
    pub shutdown_grace_period: Duration,
    /// Without ConductorOne: run as a local service, syncing into --file every interval
    /// (e.g. "1h", "15m") until SIGTERM. Ignored when --client-id is set (ConductorOne then
    /// schedules the syncs).
    #[arg(long, value_parser = humantime::parse_duration, help_heading = "Service mode")]
    pub service_interval: Option<Duration>,
    /// How long a provisioning task (grant, revoke, account creation, delete) may run in
    /// service mode before it is finished as DeadlineExceeded (retryable).
    #[arg(long, value_parser = humantime::parse_duration, default_value = "30m", help_heading = "Service mode")]
    pub provisioning_timeout: Duration,
    /// How long an action may run (--invoke-action, and action tasks in service mode)
    /// before it is stopped as DeadlineExceeded.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "1h", help_heading = "Service mode")]
    pub action_timeout: Duration,
    /// Serve health checks (GET /health runs the connector's validate; /ready, /live and
    /// /healthz report the service loop) on --health-check-port.
    #[arg(long, help_heading = "Health checks")]
    pub health_check: bool,
    /// The health checks' port [default: 8081]; setting it also turns them on.
    #[arg(long, help_heading = "Health checks")]
    pub health_check_port: Option<u16>,
    /// The address the health checks listen on (0.0.0.0 for a kubelet probe from outside
    /// the pod's network namespace).
    #[arg(
        long,
        alias = "health-check-address",
        default_value = "127.0.0.1",
        help_heading = "Health checks"
    )]
    pub health_check_bind_address: IpAddr,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{AppInfo, BuildContext, ConnectorConfig};

    #[derive(clap::Args, Debug)]
    struct WithBaseUrl {
        #[command(flatten)]
        base_url: BaseUrlArg,
    }

    impl ConnectorConfig for WithBaseUrl {
        fn build(self, _ctx: &BuildContext) -> Result<Box<dyn crate::Connector>> {
            Ok(Box::new(crate::testing::MemoryConnector::seeded()))
        }
    }

    #[test]
    fn plain_http_to_a_remote_base_url_needs_the_flag_or_its_variable() {
        let cmd = crate::cli::command::<WithBaseUrl>(AppInfo::new("baton-x", "0", "x")).unwrap();
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some("allow-insecure-http"))
            .expect("--allow-insecure-http is declared");
        assert_eq!(
            arg.get_env().and_then(|e| e.to_str()),
            Some("BATON_ALLOW_INSECURE_HTTP")
        );
        let parse = |args: &[&str]| {
            let m = cmd.clone().try_get_matches_from(args).unwrap();
            <BaseUrlArg as clap::FromArgMatches>::from_arg_matches(&m).unwrap()
        };
        let refused = parse(&["baton-x", "--base-url", "http://example.com/api"]);
        let err = refused.parsed().unwrap_err();
        assert!(
            err.to_string()
                .contains("--allow-insecure-http (BATON_ALLOW_INSECURE_HTTP)"),
            "{err}"
        );
        let allowed = parse(&[
            "baton-x",
            "--base-url",
            "http://example.com/api",
            "--allow-insecure-http",
        ]);
        assert_eq!(
            allowed.parsed().unwrap().unwrap().as_str(),
            "http://example.com/api/"
        );
        let local = parse(&["baton-x", "--base-url", "http://127.0.0.1:9/"]);
        assert!(local.parsed().unwrap().is_some());
    }
}
