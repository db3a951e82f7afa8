//! Configuration: upstream's `BATON_IC_*` / `BATON_ENVIRONMENT` variables, the as-user
//! email, read-only mode and the base-URL override.

use connector_sdk::config::{endpoint, required_secret};
use connector_sdk::flags::flag_and_env;
use connector_sdk::ratelimit::RateLimitConfig;
use connector_sdk::scim::looks_like_email;
use connector_sdk::{Error, Result};
use secrecy::SecretString;
use url::Url;

/// An Ironclad environment (a separate stack; clients do not cross environments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// North America (default).
    Na1,
    /// Europe.
    Eu1,
    /// The demo (test) environment, with lower rate limits.
    Demo,
}

impl Environment {
    /// Parses `na1`, `eu1` or `demo` (any case, trimmed); anything else names the flag.
    pub fn parse(raw: &str) -> Result<Environment> {
        match raw.trim().to_lowercase().as_str() {
            "" | "na1" => Ok(Environment::Na1),
            "eu1" => Ok(Environment::Eu1),
            "demo" => Ok(Environment::Demo),
            other => Err(Error::invalid_argument(format!(
                "{}: {other:?} is not an Ironclad environment; use na1, eu1 or demo",
                flag_and_env("environment")
            ))),
        }
    }

    /// The environment's host.
    pub fn base_url(self) -> &'static str {
        match self {
            Environment::Na1 => "https://na1.ironcladapp.com/",
            Environment::Eu1 => "https://eu1.ironcladapp.com/",
            Environment::Demo => "https://demo.ironcladapp.com/",
        }
    }
}

/// Read scopes.
pub const READ_SCOPES: [&str; 2] = ["scim.users.readUsers", "scim.groups.readGroups"];
/// Scopes added for provisioning.
pub const WRITE_SCOPES: [&str; 3] = [
    "scim.groups.updateGroups",
    "scim.users.createUsers",
    "scim.users.deleteUsers",
];

/// What the connector needs. `Debug` omits the secrets.
#[derive(Clone, Debug)]
pub struct IroncladConfig {
    /// OAuth client id (treated as sensitive).
    pub client_id: SecretString,
    /// OAuth client secret.
    pub client_secret: SecretString,
    /// The environment.
    pub environment: Environment,
    /// Email of the Ironclad administrator every SCIM call acts as (`x-as-user-email`).
    pub as_user_email: String,
    /// Request read scopes only and refuse provisioning.
    pub read_only: bool,
    /// Base URL: the environment's host, or the override.
    pub base_url: Url,
    /// Allow a plain `http://` base URL to a host that is not loopback
    /// (`--allow-insecure-http`, `BATON_ALLOW_INSECURE_HTTP`); off by default.
    pub allow_insecure_http: bool,
    /// Client-side pacing; default 10 requests/s (Ironclad allows 600/min for SCIM).
    pub rate_limit: Option<RateLimitConfig>,
}

impl IroncladConfig {
    /// Checks and builds a config; errors name the flag and its variable.
    pub fn new(
        client_id: SecretString,
        client_secret: SecretString,
        environment: &str,
        as_user_email: &str,
        read_only: bool,
        base_url: Option<&str>,
    ) -> Result<Self> {
        let client_id = required_secret(client_id, "ic-client-id")?;
        let client_secret = required_secret(client_secret, "ic-client-secret")?;
        let environment = Environment::parse(environment)?;
        let as_user_email = as_user_email.trim().to_string();
        if !looks_like_email(&as_user_email) {
            return Err(Error::invalid_argument(format!(
                "{}: {as_user_email:?} is not an email; give the email of an Ironclad administrator",
                flag_and_env("as-user-email")
            )));
        }
        Ok(IroncladConfig {
            client_id,
            client_secret,
            environment,
            as_user_email,
            read_only,
            base_url: endpoint(environment.base_url(), base_url)?,
            allow_insecure_http: false,
            rate_limit: Some(RateLimitConfig::per_second(10)),
        })
    }

    /// The scopes to request: read only, or read and write.
    pub fn scopes(&self) -> Vec<String> {
        let mut s: Vec<String> = READ_SCOPES.iter().map(|s| s.to_string()).collect();
        if !self.read_only {
            s.extend(WRITE_SCOPES.iter().map(|s| s.to_string()));
        }
        s
    }
}

/// The command-line fields, with upstream's variable names.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug)]
pub struct IroncladArgs {
    /// OAuth client id of the Ironclad API app.
    #[arg(long = "ic-client-id", value_parser = connector_sdk::cli::secret, hide_env_values = true, required = true)]
    pub client_id: Option<SecretString>,
    /// OAuth client secret of the Ironclad API app.
    #[arg(long = "ic-client-secret", value_parser = connector_sdk::cli::secret, hide_env_values = true, required = true)]
    pub client_secret: Option<SecretString>,
    /// Ironclad environment: na1, eu1 or demo.
    #[arg(long = "environment", default_value = "na1")]
    pub environment: String,
    /// Email of the Ironclad administrator the connector acts as (sent as x-as-user-email).
    #[arg(long = "as-user-email", required = true)]
    pub as_user_email: Option<String>,
    /// Request read scopes only; provisioning is disabled.
    #[arg(long = "read-only")]
    pub read_only: bool,
    /// `--base-url` (`BATON_BASE_URL`), for a proxy or the simulator, and
    /// `--allow-insecure-http` (`BATON_ALLOW_INSECURE_HTTP`).
    #[command(flatten)]
    pub base_url: connector_sdk::cli::BaseUrlArg,
}

#[cfg(feature = "cli")]
impl connector_sdk::cli::ConnectorConfig for IroncladArgs {
    fn build(
        self,
        _ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        use connector_sdk::cli::required;
        let mut config = IroncladConfig::new(
            required(self.client_id, "ic-client-id")?,
            required(self.client_secret, "ic-client-secret")?,
            &self.environment,
            &required(self.as_user_email, "as-user-email")?,
            self.read_only,
            self.base_url.base_url.as_deref(),
        )?;
        config.allow_insecure_http = self.base_url.allow_insecure_http;
        Ok(Box::new(crate::Ironclad::new(config)?))
    }

    fn build_for_capabilities(
        mut self,
        ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        use connector_sdk::cli::placeholder_secret;
        self.client_id = Some(placeholder_secret());
        self.client_secret = Some(placeholder_secret());
        self.as_user_email
            .get_or_insert_with(|| "admin@example.com".to_string());
        self.build(ctx)
    }

    /// The OAuth app, and the administrator it acts as (whose rights a 403 is about).
    fn credential_fields() -> Vec<connector_sdk::cli::CredentialField> {
        use connector_sdk::cli::CredentialField;
        vec![
            CredentialField::flag("ic-client-id"),
            CredentialField::flag("ic-client-secret"),
            CredentialField::flag("as-user-email"),
        ]
    }

    fn capability_flags() -> Vec<connector_sdk::cli::CapabilityFlag> {
        vec![connector_sdk::cli::CapabilityFlag::new(
            "read-only",
            "read scopes only: no grant, revoke or account creation",
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(env: &str, email: &str, read_only: bool) -> Result<IroncladConfig> {
        IroncladConfig::new(
            SecretString::from("id-SECRET"),
            SecretString::from("sec-SECRET"),
            env,
            email,
            read_only,
            None,
        )
    }

    #[test]
    fn environments_scopes_and_checks() {
        assert_eq!(
            cfg(" EU1 ", "a@b.co", false).unwrap().base_url.as_str(),
            "https://eu1.ironcladapp.com/"
        );
        let err = cfg("us2", "a@b.co", false).unwrap_err();
        assert!(
            err.to_string()
                .contains("--environment (BATON_ENVIRONMENT)")
                && err.to_string().contains("na1, eu1 or demo"),
            "{err}"
        );
        let err = cfg("na1", "admin", false).unwrap_err();
        assert!(
            err.to_string()
                .contains("--as-user-email (BATON_AS_USER_EMAIL)"),
            "{err}"
        );
        assert_eq!(
            cfg("demo", "a@b.co", true).unwrap().scopes(),
            ["scim.users.readUsers", "scim.groups.readGroups"]
        );
        assert_eq!(cfg("demo", "a@b.co", false).unwrap().scopes().len(), 5);
        assert!(!format!("{:?}", cfg("na1", "a@b.co", false).unwrap()).contains("SECRET"));
    }

    /// `--base-url http://…` to a remote host needs `--allow-insecure-http`.
    #[cfg(feature = "cli")]
    #[test]
    fn plain_http_to_a_remote_host_needs_the_operators_opt_in() {
        connector_sdk::testing::assert_plain_http_needs_opt_in(|base_url| IroncladArgs {
            client_id: Some(SecretString::from("id")),
            client_secret: Some(SecretString::from("secret")),
            environment: "na1".into(),
            as_user_email: Some("admin@example.com".into()),
            read_only: false,
            base_url,
        });
    }
}
