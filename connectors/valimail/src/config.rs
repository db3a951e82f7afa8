//! Configuration: upstream's `BATON_VALIMAIL_*` variables plus the base-URL override.

use connector_sdk::config::{endpoint, required_secret};
use connector_sdk::flags::flag_and_env as flag;
use connector_sdk::{Error, Result};
use secrecy::SecretString;
use url::Url;

/// Valimail's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.valimail.com";

/// What the connector needs to talk to one Valimail account. `Debug` redacts the secrets.
#[derive(Clone, Debug)]
pub struct ValimailConfig {
    /// "Client ID" half of the API key (treated as a secret).
    pub client_id: SecretString,
    /// "App ID" half of the API key.
    pub app_id: SecretString,
    /// The account slug (the path segment after `/app/` in the web app's URL).
    pub slug: String,
    /// The API base URL (default [`DEFAULT_BASE_URL`]).
    pub base_url: Url,
    /// Allow a plain `http://` base URL to a host that is not loopback
    /// (`--allow-insecure-http`, `BATON_ALLOW_INSECURE_HTTP`); off by default.
    pub allow_insecure_http: bool,
}

impl ValimailConfig {
    /// Checks and builds a config: the three values non-empty after trimming, the base URL
    /// absolute http(s) when given. Errors name the flag and its variable.
    pub fn new(
        client_id: SecretString,
        app_id: SecretString,
        slug: &str,
        base_url: Option<&str>,
    ) -> Result<Self> {
        let client_id = required_secret(client_id, "valimail-client-id")?;
        let app_id = required_secret(app_id, "valimail-app-id")?;
        let slug = slug.trim();
        if slug.is_empty() {
            return Err(Error::invalid_argument(format!(
                "{} must not be empty: it is the part of the app URL after /app/",
                flag("valimail-slug")
            )));
        }
        Ok(ValimailConfig {
            client_id,
            app_id,
            slug: slug.to_string(),
            base_url: endpoint(DEFAULT_BASE_URL, base_url)?,
            allow_insecure_http: false,
        })
    }
}

/// The command-line fields, with upstream's variable names.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug)]
pub struct ValimailArgs {
    /// "Client ID" half of the Valimail API key (Configuration access).
    #[arg(long = "valimail-client-id", value_parser = connector_sdk::cli::secret, hide_env_values = true, required = true)]
    pub client_id: Option<SecretString>,
    /// "App ID" half of the Valimail API key.
    #[arg(long = "valimail-app-id", value_parser = connector_sdk::cli::secret, hide_env_values = true, required = true)]
    pub app_id: Option<SecretString>,
    /// Account slug: SLUG in the web app address app.valimail.com/app/SLUG/…
    #[arg(long = "valimail-slug", required = true)]
    pub slug: Option<String>,
    /// `--base-url` (`BATON_BASE_URL`), for a proxy or the simulator, and
    /// `--allow-insecure-http` (`BATON_ALLOW_INSECURE_HTTP`).
    #[command(flatten)]
    pub base_url: connector_sdk::cli::BaseUrlArg,
}

#[cfg(feature = "cli")]
impl connector_sdk::cli::ConnectorConfig for ValimailArgs {
    fn build(
        self,
        _ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        use connector_sdk::cli::required;
        let mut config = ValimailConfig::new(
            required(self.client_id, "valimail-client-id")?,
            required(self.app_id, "valimail-app-id")?,
            &required(self.slug, "valimail-slug")?,
            self.base_url.base_url.as_deref(),
        )?;
        config.allow_insecure_http = self.base_url.allow_insecure_http;
        Ok(Box::new(crate::Valimail::new(config)?))
    }

    fn build_for_capabilities(
        mut self,
        ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        use connector_sdk::cli::placeholder_secret;
        self.client_id = Some(placeholder_secret());
        self.app_id = Some(placeholder_secret());
        self.slug.get_or_insert_with(|| "example".to_string());
        self.build(ctx)
    }

    /// The two halves of the API key, and the slug: a key for another account is refused.
    fn credential_fields() -> Vec<connector_sdk::cli::CredentialField> {
        use connector_sdk::cli::CredentialField;
        vec![
            CredentialField::flag("valimail-client-id"),
            CredentialField::flag("valimail-app-id"),
            CredentialField::flag("valimail-slug"),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_both_key_halves_and_checks_name_the_flag() {
        let c = ValimailConfig::new(
            SecretString::from("cid-SECRET-1"),
            SecretString::from("app-SECRET-2"),
            " acme ",
            Some("http://127.0.0.1:9/prefix/"),
        )
        .unwrap();
        let d = format!("{c:?}");
        assert!(!d.contains("SECRET"), "{d}");
        assert_eq!(c.slug, "acme");
        assert_eq!(c.base_url.as_str(), "http://127.0.0.1:9/prefix/");
        let err = ValimailConfig::new(SecretString::from("a"), SecretString::from(" "), "s", None)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("--valimail-app-id (BATON_VALIMAIL_APP_ID)"),
            "{err}"
        );
        let err = ValimailConfig::new(
            SecretString::from("a"),
            SecretString::from("b"),
            "s",
            Some("ftp://x"),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("--base-url (BATON_BASE_URL)"),
            "{err}"
        );
        let c = ValimailConfig::new(SecretString::from("a"), SecretString::from("b"), "s", None)
            .unwrap();
        assert_eq!(c.base_url.as_str(), "https://api.valimail.com/");
    }

    /// `--base-url http://…` to a remote host needs `--allow-insecure-http`.
    #[cfg(feature = "cli")]
    #[test]
    fn plain_http_to_a_remote_host_needs_the_operators_opt_in() {
        connector_sdk::testing::assert_plain_http_needs_opt_in(|base_url| ValimailArgs {
            client_id: Some(SecretString::from("cid")),
            app_id: Some(SecretString::from("app")),
            slug: Some("acme".into()),
            base_url,
        });
    }
}
