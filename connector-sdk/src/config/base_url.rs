//! A base URL an operator gives (`--base-url`, a tenant's address): parsed once, with
//! errors that name the flag and never show a password typed into the URL.

use url::Url;

use crate::error::{Error, Result};

/// `raw` with anything between `scheme://` and an `@` in the authority replaced by `***`,
/// so a password typed into a URL never reaches a message.
fn redact_userinfo(raw: &str) -> String {
    let Some(start) = raw.find("://").map(|i| i + 3) else {
        return raw.to_string();
    };
    let rest = &raw[start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &raw[..start], &rest[at..]),
        None => raw.to_string(),
    }
}

/// Parses a base URL given by a user: absolute `http` or `https`, no query or fragment,
/// no user name or password. `flag` names where it came from in the error (e.g.
/// `"--base-url (BATON_BASE_URL)"`); a password in the URL never appears in it.
///
/// ```
/// use connector_sdk::http::parse_base_url;
/// assert_eq!(parse_base_url("http://127.0.0.1:8080/prefix", "--base-url").unwrap().as_str(), "http://127.0.0.1:8080/prefix/");
/// assert!(parse_base_url("ftp://x", "--base-url").unwrap_err().to_string().contains("--base-url"));
/// let err = parse_base_url("https://me:hunter2@api.example.com/", "--base-url").unwrap_err();
/// assert!(err.to_string().contains("user name or password") && !err.to_string().contains("hunter2"));
/// ```
pub fn parse_base_url(raw: &str, flag: &str) -> Result<Url> {
    let shown = redact_userinfo(raw.trim());
    let mut url = Url::parse(raw.trim()).map_err(|e| {
        Error::invalid_argument(format!(
            "{flag}: {shown:?} is not a valid URL ({e}); give an absolute http or https URL"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid_argument(format!(
            "{flag}: {shown:?} must be an absolute http or https URL"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid_argument(format!(
            "{flag}: {shown:?} has a user name or password in it (user:password@host), which would be sent to the server and end up in logs; remove it from the URL and give the credentials with the connector's credential flags"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid_argument(format!(
            "{flag}: {shown:?} must not have a query or fragment"
        )));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}
