//! Configuration, once for every connector: how flags and their `BATON_*` variables are
//! named ([`flags`]), a credential that is trimmed and not blank, an API endpoint with a
//! `--base-url` override ([`endpoint`], [`parse_base_url`]). Errors name the flag and its
//! `BATON_*` variable, so the operator knows what to fix.
//!
//! ```
//! use connector_sdk::config::{endpoint, required_secret};
//! use secrecy::{ExposeSecret, SecretString};
//!
//! let key = required_secret(SecretString::from(" SG.key\n"), "sendgrid-api-key").unwrap();
//! assert_eq!(key.expose_secret(), "SG.key");
//! let err = required_secret(SecretString::from("  "), "sendgrid-api-key").unwrap_err();
//! assert!(err.to_string().contains("--sendgrid-api-key (BATON_SENDGRID_API_KEY) must not be empty"));
//!
//! let url = endpoint("https://api.sendgrid.com/", Some("")).unwrap();
//! assert_eq!(url.as_str(), "https://api.sendgrid.com/");
//! let url = endpoint("https://api.sendgrid.com/", Some("http://127.0.0.1:9/sg")).unwrap();
//! assert_eq!(url.as_str(), "http://127.0.0.1:9/sg/");
//! ```

mod base_url;
pub mod flags;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::error::{Error, Result};
pub use base_url::parse_base_url;
use flags::flag_and_env;

/// The credential given with `--<flag>`, trimmed (a key pasted with a newline works); blank
/// is a configuration error naming the flag and its variable. The value never appears in
/// the error.
pub fn required_secret(value: SecretString, flag: &str) -> Result<SecretString> {
    let trimmed = value.expose_secret().trim();
    if trimmed.is_empty() {
        return Err(Error::invalid_argument(format!(
            "{} must not be empty",
            flag_and_env(flag)
        )));
    }
    Ok(SecretString::from(trimmed.to_string()))
}

/// An optional credential: `None` when absent or blank, else trimmed.
pub fn optional_secret(value: Option<SecretString>) -> Option<SecretString> {
    value
        .map(|v| v.expose_secret().trim().to_string())
        .filter(|v| !v.is_empty())
        .map(SecretString::from)
}

/// The API's base URL: `override_url` (the `--base-url` flag, `BATON_BASE_URL`) when given
/// and not blank, else `default`. Either must be an absolute http(s) URL without query or
/// fragment; the path gets a trailing `/` so relative paths join under it.
pub fn endpoint(default: &str, override_url: Option<&str>) -> Result<Url> {
    let raw = override_url
        .filter(|b| !b.trim().is_empty())
        .unwrap_or(default);
    parse_base_url(raw, &flag_and_env("base-url"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_trimmed_and_never_quoted() {
        let err = required_secret(SecretString::from("\t\n"), "x-token").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("--x-token (BATON_X_TOKEN)"));
        assert!(optional_secret(Some(SecretString::from("  "))).is_none());
        assert_eq!(
            optional_secret(Some(SecretString::from(" k "))).map(|s| s.expose_secret().to_string()),
            Some("k".to_string())
        );
    }

    #[test]
    fn a_bad_override_names_the_base_url_flag() {
        let err = endpoint("https://api.example.com/", Some("ftp://x")).unwrap_err();
        assert!(
            err.to_string().contains("--base-url (BATON_BASE_URL)"),
            "{err}"
        );
        assert_eq!(
            endpoint("https://api.example.com/v2", None)
                .unwrap()
                .as_str(),
            "https://api.example.com/v2/"
        );
    }
}
