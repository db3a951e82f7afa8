//! Configuration: upstream's `BATON_ADDRESS`, `BATON_EMAIL`, `BATON_SECRET_KEY`,
//! `BATON_PASSWORD`, `BATON_AUTH_TYPE`, `BATON_LIMIT_VAULT_PERMISSIONS`, the service token
//! from `OP_SERVICE_ACCOUNT_TOKEN`, and `BATON_OP_PATH`.

use std::fmt;
use std::path::PathBuf;

use connector_sdk::flags::flag_and_env;
use connector_sdk::{Error, Result};
use secrecy::SecretString;

use crate::permissions::LIMITABLE;

/// How the connector authenticates `op`.
#[derive(Clone)]
pub enum Auth {
    /// A person's account: sign in with the Secret Key and password.
    User {
        /// Sign-in address, e.g. `acme.1password.com`.
        address: String,
        /// Account email.
        email: String,
        /// Secret Key (given to `op account add` in its environment only).
        secret_key: SecretString,
        /// Password (written to stdin only).
        password: SecretString,
    },
    /// A service account token (given to each `op` child in its environment).
    Service {
        /// `OP_SERVICE_ACCOUNT_TOKEN`.
        token: SecretString,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::User { address, email, .. } => f
                .debug_struct("User")
                .field("address", address)
                .field("email", email)
                .field("secret_key", &"[REDACTED]")
                .field("password", &"[REDACTED]")
                .finish(),
            Auth::Service { .. } => f
                .debug_struct("Service")
                .field("token", &"[REDACTED]")
                .finish(),
        }
    }
}

/// What the connector needs.
#[derive(Debug, Clone)]
pub struct OnePasswordConfig {
    /// Authentication.
    pub auth: Auth,
    /// Only these vault permissions (and `member`) are synced; empty means all.
    pub limit_vault_permissions: Vec<String>,
    /// The `op` executable.
    pub op_path: PathBuf,
}

/// Splits a permission list on commas and whitespace.
pub fn split_list(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

impl OnePasswordConfig {
    /// Checks the configuration in upstream's order (permissions, then auth type and its
    /// fields); errors name flags and variables.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        auth_type: &str,
        address: &str,
        email: Option<&str>,
        secret_key: Option<SecretString>,
        password: Option<SecretString>,
        service_token: Option<SecretString>,
        limit_vault_permissions: Vec<String>,
        op_path: PathBuf,
    ) -> Result<Self> {
        for p in &limit_vault_permissions {
            if !LIMITABLE.contains(&p.as_str()) {
                return Err(Error::invalid_argument(format!(
                    "{}: invalid vault permission: {p}; use any of {}",
                    flag_and_env("limit-vault-permissions"),
                    LIMITABLE.join(", ")
                )));
            }
        }
        let nonblank = connector_sdk::config::optional_secret;
        let auth = match auth_type.trim().to_lowercase().as_str() {
            "" | "user" => {
                let missing = |flag: &str| {
                    Error::invalid_argument(format!("missing {} for --auth-type user (BATON_AUTH_TYPE)", flag_and_env(flag)))
                };
                let address = address.trim();
                if address.is_empty() {
                    return Err(missing("address"));
                }
                let email = email.map(str::trim).filter(|e| !e.is_empty()).ok_or_else(|| missing("email"))?;
                Auth::User {
                    address: address.to_string(),
                    email: email.to_string(),
                    secret_key: nonblank(secret_key).ok_or_else(|| missing("secret-key"))?,
                    password: nonblank(password).ok_or_else(|| missing("password"))?,
                }
            }
            "service" => Auth::Service {
                token: nonblank(service_token).ok_or_else(|| {
                    Error::invalid_argument("missing environment variable OP_SERVICE_ACCOUNT_TOKEN required for --auth-type service (BATON_AUTH_TYPE)")
                })?,
            },
            other => {
                return Err(Error::invalid_argument(format!(
                    "{}: unsupported auth-type: {other}; use user or service",
                    flag_and_env("auth-type")
                )));
            }
        };
        Ok(OnePasswordConfig {
            auth,
            limit_vault_permissions,
            op_path,
        })
    }
}

/// The command-line fields, with upstream's variable names.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug)]
pub struct OnePasswordArgs {
    /// 1Password sign-in address (auth-type user).
    #[arg(long = "address", default_value = "my.1password.com")]
    pub address: String,
    /// Account email (auth-type user).
    #[arg(long = "email")]
    pub email: Option<String>,
    /// Account Secret Key (auth-type user).
    #[arg(long = "secret-key", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub secret_key: Option<SecretString>,
    /// Account password (auth-type user).
    #[arg(long = "password", value_parser = connector_sdk::cli::secret, hide_env_values = true)]
    pub password: Option<SecretString>,
    /// user (sign in with the fields above) or service (token from OP_SERVICE_ACCOUNT_TOKEN).
    #[arg(long = "auth-type", default_value = "user")]
    pub auth_type: String,
    /// Only sync these vault permissions (comma or space separated), e.g. "member,allow_viewing".
    #[arg(long = "limit-vault-permissions")]
    pub limit_vault_permissions: Option<String>,
    /// The op executable: a path, or a name looked up on PATH.
    #[arg(long = "op-path", default_value = "op")]
    pub op_path: PathBuf,
}

#[cfg(feature = "cli")]
impl connector_sdk::cli::ConnectorConfig for OnePasswordArgs {
    fn build(
        self,
        _ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        let service_token = std::env::var("OP_SERVICE_ACCOUNT_TOKEN")
            .ok()
            .map(SecretString::from);
        let config = OnePasswordConfig::new(
            &self.auth_type,
            &self.address,
            self.email.as_deref(),
            self.secret_key,
            self.password,
            service_token,
            self.limit_vault_permissions
                .as_deref()
                .map(split_list)
                .unwrap_or_default(),
            self.op_path,
        )?;
        Ok(Box::new(crate::OnePassword::new(config)))
    }

    /// Describes the connector without signing in: `op` is never run.
    fn build_for_capabilities(
        self,
        _ctx: &connector_sdk::cli::BuildContext,
    ) -> Result<Box<dyn connector_sdk::Connector>> {
        let config = OnePasswordConfig::new(
            "service",
            &self.address,
            None,
            None,
            None,
            Some(connector_sdk::cli::placeholder_secret()),
            self.limit_vault_permissions
                .as_deref()
                .map(split_list)
                .unwrap_or_default(),
            self.op_path,
        )?;
        Ok(Box::new(crate::OnePassword::new(config)))
    }

    /// The sign-in of `--auth-type user`, and the token of `--auth-type service`.
    fn credential_fields() -> Vec<connector_sdk::cli::CredentialField> {
        use connector_sdk::cli::CredentialField;
        vec![
            CredentialField::flag("address"),
            CredentialField::flag("email"),
            CredentialField::flag("secret-key"),
            CredentialField::flag("password"),
            CredentialField::env("OP_SERVICE_ACCOUNT_TOKEN"),
        ]
    }

    fn capability_flags() -> Vec<connector_sdk::cli::CapabilityFlag> {
        vec![connector_sdk::cli::CapabilityFlag::new(
            "limit-vault-permissions",
            "only the listed vault permissions are synced and provisioned",
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Option<SecretString> {
        Some(SecretString::from(v.to_string()))
    }

    #[test]
    fn validation_order_and_messages() {
        let err = OnePasswordConfig::new(
            "user",
            "a.1password.com",
            Some("e@x.com"),
            s("k"),
            s("p"),
            None,
            vec!["move_items".into()],
            "op".into(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid vault permission: move_items"),
            "{err}"
        );
        let err = OnePasswordConfig::new(
            "user",
            "a.1password.com",
            Some("e@x.com"),
            s("k"),
            None,
            None,
            vec![],
            "op".into(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("--password (BATON_PASSWORD)"),
            "{err}"
        );
        let err =
            OnePasswordConfig::new("service", "", None, None, None, None, vec![], "op".into())
                .unwrap_err();
        assert!(
            err.to_string().contains("OP_SERVICE_ACCOUNT_TOKEN"),
            "{err}"
        );
        let err = OnePasswordConfig::new("sso", "", None, None, None, None, vec![], "op".into())
            .unwrap_err();
        assert!(
            err.to_string().contains("unsupported auth-type: sso"),
            "{err}"
        );
        let c = OnePasswordConfig::new(
            "user",
            "a.1password.com",
            Some("e@x.com"),
            s("key-SECRET"),
            s("pw-SECRET"),
            None,
            split_list("member, allow_viewing view_items"),
            "op".into(),
        )
        .unwrap();
        assert_eq!(
            c.limit_vault_permissions,
            ["member", "allow_viewing", "view_items"]
        );
        assert!(!format!("{c:?}").contains("SECRET"));
    }
}
