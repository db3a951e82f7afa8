//! The environment a child starts with: a cleared environment, the allow-listed variables
//! of the parent, then what the command sets on purpose.
//!
//! A connector's own environment holds its credentials (`BATON_PASSWORD`,
//! `BATON_SECRET_KEY`, client secrets…). A child that inherited all of it could read them,
//! and so could anyone able to read `/proc/<pid>/environ` of that child. So nothing is
//! inherited unless its name is on an [`EnvAllowList`].

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

use secrecy::ExposeSecret;

use super::Command;

/// The variables every child inherits from the parent by default: what a CLI needs to find
/// programs, its home and config directory, the locale and time zone, a temporary
/// directory, proxies and CA certificates. A name ending in `*` is a prefix (`LC_*`).
pub const DEFAULT_ENV_ALLOW: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_*",
    "TZ",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "XDG_CONFIG_HOME",
    "XDG_RUNTIME_DIR",
];

/// Which of the parent's environment variables a child inherits.
///
/// ```
/// use connector_sdk::command::{Command, EnvAllowList};
/// use secrecy::SecretString;
///
/// let allow = EnvAllowList::standard().allow("OP_CONFIG_DIR");
/// let parent = [
///     ("PATH", "/usr/bin"),
///     ("LC_ALL", "C.UTF-8"),
///     ("OP_CONFIG_DIR", "/srv/op"),
///     ("BATON_PASSWORD", "hunter2"),
/// ];
/// let cmd = Command::new(["whoami"]).env("OP_ACCOUNT", SecretString::from("acme"));
/// let env = allow.child_env(parent, &cmd);
/// let names: Vec<&str> = env.keys().filter_map(|k| k.to_str()).collect();
/// assert_eq!(names, ["LC_ALL", "OP_ACCOUNT", "OP_CONFIG_DIR", "PATH"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvAllowList {
    names: Vec<String>,
}

impl Default for EnvAllowList {
    fn default() -> Self {
        Self::standard()
    }
}

impl EnvAllowList {
    /// The [`DEFAULT_ENV_ALLOW`] list.
    pub fn standard() -> Self {
        EnvAllowList {
            names: DEFAULT_ENV_ALLOW.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Nothing inherited at all (the child gets only what the command sets).
    pub fn empty() -> Self {
        EnvAllowList { names: Vec::new() }
    }

    /// Also inherits `name` (exact, case-sensitive; a trailing `*` makes it a prefix).
    /// Allow only what the tool needs and never a credential the tool does not use: pass
    /// a secret the tool needs with [`Command::env`] instead, to the one child that needs it.
    pub fn allow(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        if !name.is_empty() && !self.names.contains(&name) {
            self.names.push(name);
        }
        self
    }

    /// The allowed names and prefixes.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Whether a variable called `name` is inherited.
    pub fn allows(&self, name: &str) -> bool {
        self.names.iter().any(|n| match n.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => n == name,
        })
    }

    /// The complete environment of a child running `cmd` under a parent whose environment
    /// is `parent`: the allowed parent variables, minus the command's
    /// [`env_remove`](Command::env_remove) names, plus the command's own
    /// [`env`](Command::env) variables (which win). Names that are not valid UTF-8 are not
    /// inherited.
    pub fn child_env<I, K, V>(&self, parent: I, cmd: &Command) -> BTreeMap<OsString, OsString>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        let mut env: BTreeMap<OsString, OsString> = parent
            .into_iter()
            .filter(|(k, _)| {
                k.as_ref()
                    .to_str()
                    .is_some_and(|k| self.allows(k) && !cmd.env_remove.iter().any(|r| r == k))
            })
            .map(|(k, v)| (k.as_ref().to_os_string(), v.as_ref().to_os_string()))
            .collect();
        for (k, v) in &cmd.env {
            env.insert(OsString::from(k), OsString::from(v.expose_secret()));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn names(env: &BTreeMap<OsString, OsString>) -> Vec<String> {
        env.keys()
            .map(|k| k.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn only_allowed_names_are_inherited_and_the_command_wins() {
        let parent = [
            ("PATH", "/bin"),
            ("HOME", "/home/c"),
            ("LC_TIME", "de_DE"),
            ("LCX", "not a locale"),
            ("https_proxy", "http://proxy:3128"),
            ("NO_PROXY", "localhost"),
            ("BATON_PASSWORD", "hunter2"),
            ("BATON_SECRET_KEY", "A3-XXXX"),
            ("OP_SERVICE_ACCOUNT_TOKEN", "ops_stray"),
            ("AWS_SECRET_ACCESS_KEY", "aws"),
            ("TZ", "UTC"),
        ];
        let cmd = Command::new(["x"])
            .env("OP_ACCOUNT", SecretString::from("acme"))
            .env("TZ", SecretString::from("Europe/Berlin"))
            .env_remove("HOME");
        let env = EnvAllowList::standard().child_env(parent, &cmd);
        assert_eq!(
            names(&env),
            [
                "LC_TIME",
                "NO_PROXY",
                "OP_ACCOUNT",
                "PATH",
                "TZ",
                "https_proxy"
            ]
        );
        assert_eq!(env[OsStr::new("TZ")], "Europe/Berlin");
        assert!(!names(&env).iter().any(|n| n.starts_with("BATON_")));
    }

    #[test]
    fn connectors_can_allow_more_and_empty_allows_nothing() {
        let parent = [("OP_CONFIG_DIR", "/srv/op"), ("OP_CACHE", "false")];
        let cmd = Command::new(["x"]);
        let more = EnvAllowList::standard().allow("OP_CONFIG_DIR").allow("");
        assert_eq!(names(&more.child_env(parent, &cmd)), ["OP_CONFIG_DIR"]);
        let prefix = EnvAllowList::empty().allow("OP_*");
        assert_eq!(prefix.child_env(parent, &cmd).len(), 2);
        assert!(EnvAllowList::empty().child_env(parent, &cmd).is_empty());
        assert!(EnvAllowList::standard().allows("LC_ALL"));
        assert!(!EnvAllowList::standard().allows("BATON_PASSWORD"));
    }
}
