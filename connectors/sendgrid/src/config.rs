//! Configuration: upstream's `BATON_SENDGRID_*` variables plus the base-URL override.

use connector_sdk::config::{endpoint, required_secret};
use connector_sdk::flags::flag_and_env;
use connector_sdk::{Error, Result};
use secrecy::SecretString;
use url::Url;

/// SendGrid's data region, which picks the API host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// `https://api.sendgrid.com/`.
    Global,
    /// `https://api.eu.sendgrid.com/` (EU regional subusers).
    Eu,
}

impl Region {
    /// Parses `global` or `eu` (any case, spaces trimmed); anything else is a
    /// configuration error naming the flag, its variable and the allowed values.
    pub fn parse(raw: &str) -> Result<Region> {
        match raw.trim().to_lowercase().as_str() {
            "" | "global" => Ok(Region::Global),
            "eu" => Ok(Region::Eu),
            other => Err(Error::invalid_argument(format!(
                "{}: {other:?} is not a SendGrid region; use global or eu",
                flag_and_env("sendgrid-region")
            ))),
        }
    }

    /// The region's API base URL.
    pub fn base_url(self) -> &'static str {
        match self {
            Region::Global => "https://api.sendgrid.com/",
            Region::Eu => "https://api.eu.sendgrid.com/",
        }
    }
}

/// What the connector needs. `Debug` redacts the API key.
#[derive(Clone, Debug)]
pub struct SendgridConfig {
    /// The API key, sent as a bearer token.
    pub api_key: SecretString,
    /// The region.
    pub region: Region,
    /// Skip subusers (a paid feature) and teammates' subuser access.
    pub ignore_subusers: bool,
    /// The API base URL: the region's, or the override.
    pub base_url: Url,
    /// Allow a plain `http://` base URL to a host that is not loopback
    /// (`--allow-insecure-http`, `BATON_ALLOW_INSECURE_HTTP`); off by default.
    pub allow_insecure_http: bool,
}

impl SendgridConfig {
    /// Checks and builds a config; errors name the flag and its variable.
    pub fn new(
        api_key: SecretString,
        region: &str,
        ignore_subusers: bool,
        base_url: Option<&str>,
    ) -> Result<Self> {
        let api_key = required_secret(api_key, "sendgrid-api-key")?;
        let region = Region::parse(region)?;
        Ok(SendgridConfig {
            api_key,
            region,
            ignore_subusers,
            base_url: endpoint(region.base_url(), base_url)?,
            allow_insecure_http: false,
        })
    }
}

/// The command-line fields, with upstream's variable names.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug)]
pub struct SendgridArgs {
    /// SendGrid API key (needs teammates read/update and subusers read).
    #[arg(long = "sendgrid-api-key", value_parser = connector_sdk::cli::secret, hide_env_values = true, required = true)]
    pub api_key: Option<SecretString>,
    /// SendGrid region: global or eu.
    #[arg(long = "sendgrid-region", default_value = "global")]
    pub region: String,
    /// Skip subusers and teammates' subuser access (for plans without subusers).
    #[arg(long = "ignore-subusers")]
    pub ignore_subusers: bool,
    /// `--base-url` (`BATON_BASE_URL`), for a proxy or the simulator, and
    /// `--allow-insecure-http` (`BATON_ALLOW_INSECURE_HTTP`).
    #[command(flatten)]
    pub base_url: connector_sdk::cli::BaseUrlArg,
}

#[cfg(feature = "cli")]
impl connector_sdk::cli::ConnectorConfig for SendgridArgs {
    fn build(
        self,
        _ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        let mut config = SendgridConfig::new(
            connector_sdk::cli::required(self.api_key, "sendgrid-api-key")?,
            &self.region,
            self.ignore_subusers,
            self.base_url.base_url.as_deref(),
        )?;
        config.allow_insecure_http = self.base_url.allow_insecure_http;
        Ok(Box::new(crate::Sendgrid::new(config)?))
    }

    fn build_for_capabilities(
        mut self,
        ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        self.api_key = Some(connector_sdk::cli::placeholder_secret());
        self.build(ctx)
    }

    fn credential_fields() -> Vec<connector_sdk::cli::CredentialField> {
        vec![connector_sdk::cli::CredentialField::flag(
            "sendgrid-api-key",
        )]
    }

    fn capability_flags() -> Vec<connector_sdk::cli::CapabilityFlag> {
        vec![connector_sdk::cli::CapabilityFlag::new(
            "ignore-subusers",
            "subusers and teammates' subuser access are not synced (for plans without subusers)",
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_and_overrides() {
        let key = || SecretString::from("SG.SECRET");
        let c = SendgridConfig::new(key(), " EU ", false, None).unwrap();
        assert_eq!(c.base_url.as_str(), "https://api.eu.sendgrid.com/");
        let c = SendgridConfig::new(key(), "global", true, Some("http://127.0.0.1:1/sg")).unwrap();
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:1/sg/");
        let err = SendgridConfig::new(key(), "us", false, None).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("--sendgrid-region (BATON_SENDGRID_REGION)")
                && msg.contains("global or eu"),
            "{msg}"
        );
        assert!(!format!("{c:?}").contains("SECRET"));
        assert!(SendgridConfig::new(SecretString::from(" "), "global", false, None).is_err());
    }

    /// `--base-url http://…` to a remote host needs `--allow-insecure-http`.
    #[cfg(feature = "cli")]
    #[test]
    fn plain_http_to_a_remote_host_needs_the_operators_opt_in() {
        connector_sdk::testing::assert_plain_http_needs_opt_in(|base_url| SendgridArgs {
            api_key: Some(SecretString::from("SG.key")),
            region: "global".into(),
            ignore_subusers: false,
            base_url,
        });
    }
}
