//! How configuration flags and their `BATON_*` variables are named in messages.
//!
//! Every flag `--foo-bar` reads the variable `BATON_FOO_BAR`, as upstream's SDK does. Errors
//! about a value name both, so an operator using either knows what to fix.

/// The environment variable of a flag: `--foo-bar` reads `BATON_FOO_BAR`.
///
/// ```
/// assert_eq!(connector_sdk::flags::env_name("valimail-client-id"), "BATON_VALIMAIL_CLIENT_ID");
/// ```
pub fn env_name(flag: &str) -> String {
    format!(
        "BATON_{}",
        flag.trim_start_matches('-')
            .replace('-', "_")
            .to_uppercase()
    )
}

/// How to name a flag in a message: `--foo-bar (BATON_FOO_BAR)`.
pub fn flag_and_env(flag: &str) -> String {
    let flag = flag.trim_start_matches('-');
    format!("--{flag} ({})", env_name(flag))
}
