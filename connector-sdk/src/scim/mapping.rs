//! Helpers for mapping SCIM users onto SDK resources: display names and email checks.

/// A SCIM user's display name: `given family` trimmed, else `userName`, else `id`
/// (never byte-sliced, so any Unicode is safe).
///
/// ```
/// use connector_sdk::scim::display_name;
/// assert_eq!(display_name(Some("Zoë"), Some("李"), "z@x.com", "1"), "Zoë 李");
/// assert_eq!(display_name(None, Some(" "), "z@x.com", "1"), "z@x.com");
/// assert_eq!(display_name(None, None, "", "1"), "1");
/// ```
pub fn display_name(
    given: Option<&str>,
    family: Option<&str>,
    user_name: &str,
    id: &str,
) -> String {
    let full = format!(
        "{} {}",
        given.unwrap_or("").trim(),
        family.unwrap_or("").trim()
    );
    [full.trim(), user_name.trim(), id]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or_default()
        .to_string()
}

/// Whether `s` looks like an email address (`local@domain.tld`, no spaces): `userName`s
/// that do not are used as logins but not listed as emails.
///
/// ```
/// use connector_sdk::scim::looks_like_email;
/// assert!(looks_like_email("a.b+c@example.co.uk"));
/// assert!(!looks_like_email("not an email"));
/// assert!(!looks_like_email("a@localhost"));
/// ```
pub fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}
