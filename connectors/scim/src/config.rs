//! Configuration: the provider file (shipped by name, or the operator's own), the
//! credentials its `authType` needs, baton-scim's flags and `BATON_*` variables, and the
//! pacing and page size. `Debug` never shows a credential.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use connector_sdk::flags::flag_and_env;
use connector_sdk::ratelimit::RateLimitConfig;
use connector_sdk::{Error, Result};
use secrecy::SecretString;
use url::Url;

use crate::provider::{Provider, RequestDefaults};

/// Items per SCIM page unless `--scim-page-size` says otherwise (baton-scim's fixed size).
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// The largest page size accepted.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// The operator's credentials; which ones are needed depends on the file's `authType`.
/// `Debug` shows only which are set.
#[derive(Clone, Default)]
pub struct Credentials {
    /// `--api-key` (`apiKey`).
    pub api_key: Option<SecretString>,
    /// `--username` (`basic`).
    pub username: Option<SecretString>,
    /// `--password` (`basic`).
    pub password: Option<SecretString>,
    /// `--scim-client-id` (`shouldObtainToken`, `basicTokenSource`).
    pub client_id: Option<SecretString>,
    /// `--scim-client-secret`.
    pub client_secret: Option<SecretString>,
    /// `--account-id` (Zoom's server-to-server OAuth grant).
    pub account_id: Option<String>,
    /// `--token` (`oauth2`: a bearer token).
    pub token: Option<SecretString>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |s: &Option<SecretString>| if s.is_some() { "[REDACTED]" } else { "unset" };
        f.debug_struct("Credentials")
            .field("api_key", &set(&self.api_key))
            .field("username", &set(&self.username))
            .field("password", &set(&self.password))
            .field("client_id", &set(&self.client_id))
            .field("client_secret", &set(&self.client_secret))
            .field("account_id", &self.account_id.is_some())
            .field("token", &set(&self.token))
            .finish()
    }
}

/// What the connector needs, resolved: `${VAR}` expanded, URLs checked.
#[derive(Clone)]
pub struct ScimConfig {
    /// The provider file.
    pub provider: Arc<Provider>,
    /// The credentials.
    pub credentials: Credentials,
    /// The SCIM base URL (`apiEndpoint` or `--base-url`), without its query.
    pub endpoint: Url,
    /// The query of `apiEndpoint`, sent on every request.
    pub endpoint_query: Vec<(String, String)>,
    /// `requestDefaults` (headers and query parameters), expanded.
    pub request_defaults: RequestDefaults,
    /// `auth.authUrl`, expanded and checked, when the auth type uses it.
    pub auth_url: Option<Url>,
    /// `auth.tokenRequestDefaults`, expanded.
    pub token_defaults: RequestDefaults,
    /// Client-side pacing (`--scim-rate-limit`); none by default.
    pub rate_limit: Option<RateLimitConfig>,
    /// Items per page (`--scim-page-size`).
    pub page_size: u32,
    /// Allow plain http to a host that is not loopback.
    pub allow_insecure_http: bool,
}

/// Values that came from the file or the environment (a query, a token URL's query) may be
/// keys: names only.
impl fmt::Debug for ScimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys =
            |pairs: &[(String, String)]| pairs.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        let without_query = |u: &Url| {
            let mut u = u.clone();
            u.set_query(None);
            u.to_string()
        };
        f.debug_struct("ScimConfig")
            .field("provider", &self.provider.file)
            .field("credentials", &self.credentials)
            .field("endpoint", &self.endpoint.as_str())
            .field("endpoint_query", &keys(&self.endpoint_query))
            .field("request_defaults", &self.request_defaults)
            .field("auth_url", &self.auth_url.as_ref().map(without_query))
            .field("token_defaults", &self.token_defaults)
            .field("rate_limit", &self.rate_limit)
            .field("page_size", &self.page_size)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .finish()
    }
}

impl ScimConfig {
    /// Resolves `provider` with `${VAR}` read from the process environment.
    pub fn new(
        provider: Provider,
        credentials: Credentials,
        base_url: Option<&str>,
    ) -> Result<Self> {
        Self::with_env(provider, credentials, base_url, &|k| std::env::var(k).ok())
    }

    /// Resolves `provider` with `${VAR}` read by `env`; `base_url` replaces
    /// `apiEndpoint` (a proxy or a test server). Errors name the file and field, or the flag.
    pub fn with_env(
        provider: Provider,
        credentials: Credentials,
        base_url: Option<&str>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self> {
        let (raw_endpoint, field) = match base_url.filter(|b| !b.trim().is_empty()) {
            Some(b) => (b.trim().to_string(), None),
            None => (
                provider.expand("apiEndpoint", &provider.api_endpoint, env)?,
                Some("apiEndpoint"),
            ),
        };
        let mut endpoint = Url::parse(&raw_endpoint)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                // The file's text, not the expanded one: a variable's value stays out of
                // the message.
                let shown: String = match field {
                    Some(_) => provider.api_endpoint.chars().take(200).collect(),
                    None => raw_endpoint.chars().take(200).collect(),
                };
                match field {
                    Some(f) => Error::invalid_argument(format!(
                        "{}: {f}: {shown:?} is not an absolute http(s) URL",
                        provider.file
                    )),
                    None => Error::invalid_argument(format!(
                        "{}: {shown:?} is not an absolute http(s) URL",
                        flag_and_env("base-url")
                    )),
                }
            })?;
        let endpoint_query: Vec<(String, String)> = endpoint
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        endpoint.set_query(None);
        endpoint.set_fragment(None);
        let expand_map = |field: &str,
                          map: &BTreeMap<String, String>|
         -> Result<BTreeMap<String, String>> {
            map.iter()
                .map(|(k, v)| Ok((k.clone(), provider.expand(&format!("{field}.{k}"), v, env)?)))
                .collect()
        };
        let request_defaults = RequestDefaults {
            headers: expand_map(
                "requestDefaults.headers",
                &provider.request_defaults.headers,
            )?,
            query_params: expand_map(
                "requestDefaults.queryParams",
                &provider.request_defaults.query_params,
            )?,
            ..RequestDefaults::default()
        };
        let td = &provider.auth.token_request_defaults;
        let token_defaults = RequestDefaults {
            headers: expand_map("auth.tokenRequestDefaults.headers", &td.headers)?,
            query_params: expand_map("auth.tokenRequestDefaults.queryParams", &td.query_params)?,
            content_type: td.content_type.clone(),
            form_body_values: expand_map(
                "auth.tokenRequestDefaults.formBodyValues",
                &td.form_body_values,
            )?,
        };
        let auth_url = match &provider.auth.auth_url {
            None => None,
            Some(raw) => {
                let expanded = provider.expand("auth.authUrl", raw, env)?;
                let url = Url::parse(&expanded)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
                    .ok_or_else(|| {
                        // The file's text: a variable's value stays out of the message.
                        let shown: String = raw.chars().take(200).collect();
                        Error::invalid_argument(format!(
                            "{}: auth.authUrl: {shown:?} is not an absolute http(s) URL; edit the file to name the token endpoint",
                            provider.file
                        ))
                    })?;
                Some(url)
            }
        };
        Ok(ScimConfig {
            provider: Arc::new(provider),
            credentials,
            endpoint,
            endpoint_query,
            request_defaults,
            auth_url,
            token_defaults,
            rate_limit: None,
            page_size: DEFAULT_PAGE_SIZE,
            allow_insecure_http: false,
        })
    }
}

/// The command-line fields: baton-scim's flags and variables, plus pacing and page size.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug)]
pub struct ScimArgs {
    /// A provider file shipped with the connector: canva, jellyfish, miro, postman,
    /// sap-success-factors, slack, tesorio, whimsical or zoom.
    #[arg(long = "service-provider")]
    pub service_provider: Option<String>,
    /// Path to your own provider file (YAML, baton-scim's format).
    #[arg(long = "scim-config")]
    pub scim_config: Option<std::path::PathBuf>,
    /// Path to your own provider file (baton-scim's spelling of --scim-config).
    #[arg(long = "scim-config-file")]
    pub scim_config_file: Option<std::path::PathBuf>,
    /// The provider file's YAML itself (kept as a secret: it may hold a token form).
    #[arg(long = "scim-config-value", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub scim_config_value: Option<SecretString>,
    /// API key (authType apiKey).
    #[arg(long = "api-key", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub api_key: Option<SecretString>,
    /// User name for basic auth (authType basic).
    #[arg(long = "username", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub username: Option<SecretString>,
    /// Password for basic auth (authType basic).
    #[arg(long = "password", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub password: Option<SecretString>,
    /// Client id for the token request (shouldObtainToken, basicTokenSource).
    #[arg(long = "scim-client-id", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub scim_client_id: Option<SecretString>,
    /// Client secret for the token request (shouldObtainToken, basicTokenSource).
    #[arg(long = "scim-client-secret", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub scim_client_secret: Option<SecretString>,
    /// Account id for Zoom's server-to-server OAuth token request.
    #[arg(long = "account-id")]
    pub account_id: Option<String>,
    /// Bearer token (authType oauth2).
    #[arg(long = "token", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub token: Option<SecretString>,
    /// Client-side request rate, e.g. 20/s or 600/m (none by default; Retry-After and
    /// rate-limit headers are honoured either way).
    #[arg(long = "scim-rate-limit")]
    pub scim_rate_limit: Option<String>,
    /// Users or groups asked for per page (1 to 1000).
    #[arg(long = "scim-page-size", default_value_t = DEFAULT_PAGE_SIZE)]
    pub scim_page_size: u32,
    /// `--base-url` (`BATON_BASE_URL`) replaces the file's apiEndpoint (a proxy, a test
    /// tenant), and `--allow-insecure-http` (`BATON_ALLOW_INSECURE_HTTP`).
    #[command(flatten)]
    pub base_url: connector_sdk::cli::BaseUrlArg,
}

#[cfg(feature = "cli")]
impl ScimArgs {
    /// The provider file the flags name: `--scim-config-file`, then `--scim-config`
    /// (the same file, in either spelling), then `--service-provider`, then
    /// `--scim-config-value`.
    pub fn source(&self) -> Result<crate::provider::Source> {
        use crate::provider::Source;
        let file = match (&self.scim_config_file, &self.scim_config) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::invalid_argument(format!(
                    "{} and {} name different files; give one",
                    flag_and_env("scim-config-file"),
                    flag_and_env("scim-config")
                )));
            }
            (Some(a), _) | (None, Some(a)) => Some(a.clone()),
            (None, None) => None,
        };
        let named = |s: &Option<String>| {
            s.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        if let Some(path) = file.filter(|p| !p.as_os_str().is_empty()) {
            return Ok(Source::File(path));
        }
        if let Some(name) = named(&self.service_provider) {
            return Ok(Source::Shipped(name));
        }
        if let Some(text) = self
            .scim_config_value
            .as_ref()
            .map(|t| secrecy::ExposeSecret::expose_secret(t).to_string())
            .filter(|t| !t.trim().is_empty())
        {
            return Ok(Source::Value(text));
        }
        Err(Error::invalid_argument(format!(
            "no provider file: give {} (one of {}), or your own file with {}",
            flag_and_env("service-provider"),
            crate::provider::shipped_names().join(", "),
            flag_and_env("scim-config")
        )))
    }

    /// The resolved configuration (reads the provider file).
    pub fn config(&self) -> Result<ScimConfig> {
        let provider = Provider::load(&self.source()?)?;
        let base = self.base_url.parsed()?;
        let credentials = Credentials {
            api_key: connector_sdk::config::optional_secret(self.api_key.clone()),
            username: connector_sdk::config::optional_secret(self.username.clone()),
            password: connector_sdk::config::optional_secret(self.password.clone()),
            client_id: connector_sdk::config::optional_secret(self.scim_client_id.clone()),
            client_secret: connector_sdk::config::optional_secret(self.scim_client_secret.clone()),
            account_id: self
                .account_id
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
            token: connector_sdk::config::optional_secret(self.token.clone()),
        };
        let mut config = ScimConfig::new(provider, credentials, base.as_ref().map(Url::as_str))?;
        config.allow_insecure_http = self.base_url.allow_insecure_http;
        config.rate_limit = match self.scim_rate_limit.as_deref().map(str::trim) {
            None | Some("") | Some("none") => None,
            Some(raw) => Some(RateLimitConfig::parse(raw).map_err(|e| {
                Error::invalid_argument(format!("{}: {e}", flag_and_env("scim-rate-limit")))
            })?),
        };
        if !(1..=MAX_PAGE_SIZE).contains(&self.scim_page_size) {
            return Err(Error::invalid_argument(format!(
                "{}: {} is out of range; use 1 to {MAX_PAGE_SIZE}",
                flag_and_env("scim-page-size"),
                self.scim_page_size
            )));
        }
        config.page_size = self.scim_page_size;
        Ok(config)
    }
}

#[cfg(feature = "cli")]
impl connector_sdk::cli::ConnectorConfig for ScimArgs {
    fn build(
        self,
        _ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        Ok(Box::new(crate::Scim::new(self.config()?)?))
    }

    fn build_for_capabilities(
        mut self,
        ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        use connector_sdk::cli::placeholder_secret;
        for s in [
            &mut self.api_key,
            &mut self.username,
            &mut self.password,
            &mut self.scim_client_id,
            &mut self.scim_client_secret,
            &mut self.token,
        ] {
            s.get_or_insert_with(placeholder_secret);
        }
        self.build(ctx)
    }

    /// Every credential flag; which ones matter depends on the file's authType.
    fn credential_fields() -> Vec<connector_sdk::cli::CredentialField> {
        use connector_sdk::cli::CredentialField;
        [
            "api-key",
            "username",
            "password",
            "scim-client-id",
            "scim-client-secret",
            "token",
        ]
        .into_iter()
        .map(CredentialField::flag)
        .collect()
    }
}

#[cfg(all(test, feature = "cli"))]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: ScimArgs,
    }

    fn args(flags: &[&str]) -> ScimArgs {
        let mut argv = vec!["baton-scim"];
        argv.extend_from_slice(flags);
        Cli::try_parse_from(argv).unwrap().args
    }

    #[test]
    fn the_file_comes_from_either_spelling_then_the_name_then_the_value() {
        use crate::provider::Source;
        let a = args(&[
            "--scim-config-file",
            "a.yaml",
            "--service-provider",
            "slack",
        ]);
        assert_eq!(a.source().unwrap(), Source::File("a.yaml".into()));
        let a = args(&["--scim-config", "a.yaml", "--scim-config-file", "a.yaml"]);
        assert_eq!(a.source().unwrap(), Source::File("a.yaml".into()));
        let err = args(&["--scim-config", "a.yaml", "--scim-config-file", "b.yaml"])
            .source()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--scim-config-file (BATON_SCIM_CONFIG_FILE)")
                && err.contains("--scim-config (BATON_SCIM_CONFIG)"),
            "{err}"
        );
        let a = args(&["--service-provider", " zoom "]);
        assert_eq!(a.source().unwrap(), Source::Shipped("zoom".into()));
        let a = args(&["--scim-config-value", "apiEndpoint: x"]);
        assert_eq!(a.source().unwrap(), Source::Value("apiEndpoint: x".into()));
        assert!(!format!("{a:?}").contains("apiEndpoint"));
        let err = args(&[]).source().unwrap_err().to_string();
        assert!(
            err.contains("--service-provider (BATON_SERVICE_PROVIDER)") && err.contains("canva"),
            "{err}"
        );
    }

    /// The runner accepts the flags (none shadows one of its own) and gives each its
    /// `BATON_*` variable, baton-scim's spellings included.
    #[test]
    fn the_runner_accepts_the_flags_with_baton_scims_variables() {
        let app = connector_sdk::cli::AppInfo::new("baton-scim", "0.0.0", "test");
        let cmd = connector_sdk::cli::command::<ScimArgs>(app).unwrap();
        let env = |long: &str| {
            cmd.get_arguments()
                .find(|a| a.get_long() == Some(long))
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        };
        for (flag, var) in [
            ("service-provider", "BATON_SERVICE_PROVIDER"),
            ("scim-config", "BATON_SCIM_CONFIG"),
            ("scim-config-file", "BATON_SCIM_CONFIG_FILE"),
            ("scim-config-value", "BATON_SCIM_CONFIG_VALUE"),
            ("api-key", "BATON_API_KEY"),
            ("username", "BATON_USERNAME"),
            ("password", "BATON_PASSWORD"),
            ("scim-client-id", "BATON_SCIM_CLIENT_ID"),
            ("scim-client-secret", "BATON_SCIM_CLIENT_SECRET"),
            ("account-id", "BATON_ACCOUNT_ID"),
            ("token", "BATON_TOKEN"),
            ("scim-rate-limit", "BATON_SCIM_RATE_LIMIT"),
        ] {
            assert_eq!(env(flag).as_deref(), Some(var), "--{flag}");
        }
    }

    #[test]
    fn rate_limit_page_size_and_credentials() {
        let c = args(&[
            "--service-provider",
            "slack",
            "--scim-rate-limit",
            "20/s",
            "--api-key",
            " k3y-SECRET\n",
        ])
        .config()
        .unwrap();
        assert_eq!(c.rate_limit, Some(RateLimitConfig::per_second(20)));
        assert_eq!(c.page_size, DEFAULT_PAGE_SIZE);
        assert!(!format!("{c:?}").contains("k3y-SECRET"));
        let err = args(&["--service-provider", "slack", "--scim-rate-limit", "fast"])
            .config()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--scim-rate-limit (BATON_SCIM_RATE_LIMIT)") && err.contains("20/s"),
            "{err}"
        );
        let err = args(&["--service-provider", "slack", "--scim-page-size", "0"])
            .config()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("--scim-page-size (BATON_SCIM_PAGE_SIZE)"),
            "{err}"
        );
        let c = args(&[
            "--service-provider",
            "slack",
            "--base-url",
            "http://127.0.0.1:9/scim/v1",
        ])
        .config()
        .unwrap();
        assert_eq!(c.endpoint.as_str(), "http://127.0.0.1:9/scim/v1/");
    }
}
