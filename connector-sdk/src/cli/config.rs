//! What a connector binary declares: its name ([`AppInfo`]), its configuration
//! ([`ConnectorConfig`]), the flags that change its capabilities and those holding its
//! credentials.

use serde_json::json;

use super::args::env_name;
use super::credential_hint::{self, CredentialField};
use crate::connector::{Connector, capabilities};
use crate::error::Result;

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
/// flag of any bad one ([`required`](super::required), [`config_error`](super::config_error)).
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

    /// The fields holding the connector's credentials. When a sync, `validate` or a
    /// one-shot operation ends with an authentication or permission failure
    /// (`Unauthenticated`, `PermissionDenied`, HTTP 401 or 403), the runner's error ends
    /// with them: `…; check --sendgrid-api-key (BATON_SENDGRID_API_KEY)`.
    ///
    /// Default: the connector's flags whose values are hidden (`hide_env_values`).
    /// Override to name the fields that make up the sign-in (an account email, a
    /// tenant address) or a variable read without a flag ([`CredentialField::env`]). A
    /// declared flag the config does not have stops the binary at start (a connector bug).
    ///
    /// ```
    /// use connector_sdk::cli::{BuildContext, ConnectorConfig, CredentialField};
    /// # use connector_sdk::{Connector, Result};
    /// #[derive(clap::Args, Debug)]
    /// struct Config {
    ///     /// Account email.
    ///     #[arg(long = "myapp-email")]
    ///     email: Option<String>,
    ///     /// Password.
    ///     #[arg(long = "myapp-password", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    ///     password: Option<secrecy::SecretString>,
    /// }
    ///
    /// impl ConnectorConfig for Config {
    ///     # fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
    ///     #     Ok(Box::new(connector_sdk::testing::MemoryConnector::seeded()))
    ///     # }
    ///     fn credential_fields() -> Vec<CredentialField> {
    ///         vec![CredentialField::flag("myapp-email"), CredentialField::flag("myapp-password")]
    ///     }
    /// }
    /// ```
    fn credential_fields() -> Vec<CredentialField>
    where
        Self: Sized,
    {
        credential_hint::secret_flags::<Self>()
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
pub(super) fn capabilities_document<C: ConnectorConfig>(
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
