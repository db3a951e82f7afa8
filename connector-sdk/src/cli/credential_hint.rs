//! Naming the credential flags when the SaaS refuses the credentials: a sync or operation
//! that ends with an authentication or permission failure prints, at the end of its
//! error, which flags and variables hold the connector's credentials.

use std::error::Error as _;

use clap::{Args, Command};

use crate::error::{Error, ErrorKind, Result};
use crate::flags::env_name;

/// A configuration value holding (part of) a connector's credentials: a flag of its config
/// struct, or an environment variable it reads directly. Declared by
/// [`ConnectorConfig::credential_fields`](super::ConnectorConfig::credential_fields); the
/// runner names them when the SaaS refuses a sync or operation (`Unauthenticated`,
/// `PermissionDenied`, HTTP 401 or 403).
///
/// ```
/// use connector_sdk::cli::CredentialField;
/// let key = CredentialField::flag("sendgrid-api-key");
/// assert_eq!(key.to_string(), "--sendgrid-api-key (BATON_SENDGRID_API_KEY)");
/// assert_eq!(CredentialField::env("OP_SERVICE_ACCOUNT_TOKEN").to_string(), "OP_SERVICE_ACCOUNT_TOKEN");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialField {
    flag: Option<String>,
    env: Option<String>,
}

impl CredentialField {
    /// The flag `--name` (without dashes) of the connector's config, with its variable
    /// (`BATON_NAME`, or the one the field names with `env = "…"`).
    pub fn flag(name: impl Into<String>) -> Self {
        CredentialField {
            flag: Some(name.into().trim_start_matches('-').to_string()),
            env: None,
        }
    }

    /// An environment variable the connector reads itself, with no flag (e.g. 1Password's
    /// `OP_SERVICE_ACCOUNT_TOKEN`).
    pub fn env(variable: impl Into<String>) -> Self {
        CredentialField {
            flag: None,
            env: Some(variable.into()),
        }
    }

    /// The flag's name without dashes, if the field is a flag.
    pub fn flag_name(&self) -> Option<&str> {
        self.flag.as_deref()
    }

    /// This field with the variable its flag has in `cmd` (a field may name its own).
    fn resolved(&self, cmd: &Command) -> Self {
        let env = self.flag.as_deref().and_then(|f| {
            cmd.get_arguments()
                .find(|a| a.get_long() == Some(f))
                .and_then(|a| a.get_env())
                .map(|e| e.to_string_lossy().into_owned())
        });
        CredentialField {
            flag: self.flag.clone(),
            env: env.or_else(|| self.env.clone()),
        }
    }
}

impl std::fmt::Display for CredentialField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.flag, &self.env) {
            (Some(flag), Some(env)) => write!(f, "--{flag} ({env})"),
            (Some(flag), None) => write!(f, "--{flag} ({})", env_name(flag)),
            (None, Some(env)) => f.write_str(env),
            (None, None) => Ok(()),
        }
    }
}

/// The connector fields `Args` hides the values of (`hide_env_values`): the default
/// credential fields.
pub(super) fn secret_flags<C: Args>() -> Vec<CredentialField> {
    C::augment_args(Command::new("connector"))
        .get_arguments()
        .filter(|a| a.is_hide_env_values_set())
        .filter_map(|a| a.get_long().map(CredentialField::flag))
        .collect()
}

/// The declared credential fields, each flag checked against the connector's fields of
/// `cmd` (a flag that does not exist is a connector bug) and given its variable.
pub(super) fn resolve(cmd: &Command, fields: &[CredentialField]) -> Result<CredentialHint> {
    let mut resolved = Vec::with_capacity(fields.len());
    for field in fields {
        if let Some(flag) = field.flag_name()
            && !cmd.get_arguments().any(|a| a.get_long() == Some(flag))
        {
            return Err(Error::internal(format!(
                "connector bug: credential_fields names --{flag}, which is not a flag of this binary"
            )));
        }
        resolved.push(field.resolved(cmd));
    }
    Ok(CredentialHint { fields: resolved })
}

/// The credential fields of a binary, ready to be named in an error.
#[derive(Debug, Clone, Default)]
pub(super) struct CredentialHint {
    fields: Vec<CredentialField>,
}

impl CredentialHint {
    /// `error` as printed at the end of a run: when it is an authentication or permission
    /// failure, followed by `; check --flag (VAR), … and --other (VAR)`.
    pub(super) fn describe(&self, error: &Error) -> String {
        match self.suffix(error) {
            Some(suffix) => format!("{error}; {suffix}"),
            None => error.to_string(),
        }
    }

    fn suffix(&self, error: &Error) -> Option<String> {
        if self.fields.is_empty() || !is_credential_failure(error) {
            return None;
        }
        let names: Vec<String> = self.fields.iter().map(ToString::to_string).collect();
        let list = match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => return None,
        };
        Some(format!("check {list}"))
    }
}

/// Whether the SaaS refused the credentials or their rights: HTTP 401 or 403, or an
/// `Unauthenticated` / `PermissionDenied` error that a local file did not cause.
pub(super) fn is_credential_failure(error: &Error) -> bool {
    if matches!(error.http_status(), Some(401 | 403)) {
        return true;
    }
    matches!(
        error.kind(),
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied
    ) && !caused_by_io(error)
}

/// Whether an `std::io::Error` is in `error`'s source chain (a file that cannot be read
/// or written is not the SaaS refusing the credentials).
fn caused_by_io(error: &Error) -> bool {
    let mut source = error.source();
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(clap::Args, Debug)]
    struct Fields {
        /// Key.
        #[arg(long = "demo-api-key", value_parser = crate::cli::secret, hide_env_values = true)]
        key: Option<secrecy::SecretString>,
        /// Secret with its own variable.
        #[arg(long = "demo-secret", env = "DEMO_SECRET", value_parser = crate::cli::secret, hide_env_values = true)]
        secret: Option<secrecy::SecretString>,
        /// Not a credential.
        #[arg(long = "demo-region")]
        region: Option<String>,
    }

    fn cmd() -> Command {
        Fields::augment_args(Command::new("t"))
    }

    fn hint(fields: &[CredentialField]) -> CredentialHint {
        resolve(&cmd(), fields).unwrap()
    }

    #[test]
    fn an_authentication_failure_ends_with_the_credential_flags() {
        let h = hint(&[CredentialField::flag("demo-api-key")]);
        let err = Error::new(ErrorKind::Unauthenticated, "listing users")
            .with_http_status(401)
            .with_api_message("bad key");
        assert_eq!(
            h.describe(&err),
            "unauthenticated: listing users (HTTP 401; API said: bad key); check --demo-api-key (BATON_DEMO_API_KEY)"
        );
        // A 403 mapped to another kind by a connector's error mapper still counts.
        let err = Error::new(ErrorKind::InvalidArgument, "scopes").with_http_status(403);
        assert!(
            h.describe(&err)
                .ends_with("check --demo-api-key (BATON_DEMO_API_KEY)")
        );
        // So does a refusal without an HTTP status (a CLI tool's sign-in).
        let err = Error::new(ErrorKind::PermissionDenied, "op: not allowed");
        assert!(h.describe(&err).ends_with("(BATON_DEMO_API_KEY)"));
    }

    #[test]
    fn several_fields_are_listed_with_their_own_variables() {
        let h = hint(&[
            CredentialField::flag("demo-api-key"),
            CredentialField::flag("--demo-secret"),
            CredentialField::env("DEMO_TOKEN"),
        ]);
        let err = Error::new(ErrorKind::PermissionDenied, "no").with_http_status(403);
        assert!(
            h.describe(&err).ends_with(
                "; check --demo-api-key (BATON_DEMO_API_KEY), --demo-secret (DEMO_SECRET) and DEMO_TOKEN"
            ),
            "{}",
            h.describe(&err)
        );
    }

    #[test]
    fn other_failures_are_printed_as_they_are() {
        let h = hint(&[CredentialField::flag("demo-api-key")]);
        for err in [
            Error::new(ErrorKind::Unavailable, "503").with_http_status(503),
            Error::not_found("no such grant"),
            Error::new(ErrorKind::InvalidArgument, "bad").with_http_status(400),
            // A local file the process may not write: not the SaaS's answer.
            Error::from(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
            Error::new(ErrorKind::PermissionDenied, "reading sync.c1z").with_source(Error::from(
                std::io::Error::from(std::io::ErrorKind::PermissionDenied),
            )),
        ] {
            assert_eq!(h.describe(&err), err.to_string());
        }
        let none = hint(&[]);
        let err = Error::new(ErrorKind::Unauthenticated, "x").with_http_status(401);
        assert_eq!(none.describe(&err), err.to_string());
    }

    #[test]
    fn the_default_is_the_secret_flags_and_unknown_flags_are_a_connector_bug() {
        let fields = secret_flags::<Fields>();
        assert_eq!(
            fields,
            [
                CredentialField::flag("demo-api-key"),
                CredentialField::flag("demo-secret")
            ]
        );
        let err = resolve(&cmd(), &[CredentialField::flag("demo-key")]).unwrap_err();
        assert!(err.to_string().contains("--demo-key"), "{err}");
    }
}
