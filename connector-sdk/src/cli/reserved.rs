//! The names the runner reserves (its own flags, their `BATON_*` variables, their clap
//! ids), checked against a connector's fields before the command is built, so a clash is
//! a clear error instead of clap's "Command clash" panic in a debug build, or a silent
//! mix-up of two flags in a release build.

use clap::{Arg, Args, Command};

use super::{AppInfo, CommonArgs};
use crate::error::{Error, Result};
use crate::flags::env_name;

/// One flag's names, as the runner's command will have them.
struct Names {
    id: String,
    long: Option<String>,
    short: Option<char>,
    env: Option<String>,
    /// Whether the variable is named on the field (`env = "…"`), not derived from `long`.
    explicit_env: bool,
}

impl Names {
    fn of(arg: &Arg) -> Self {
        let long = arg.get_long().map(str::to_string);
        // The runner gives every flag `--foo-bar` the variable BATON_FOO_BAR unless it
        // names its own.
        let env = arg
            .get_env()
            .map(|e| e.to_string_lossy().into_owned())
            .or_else(|| long.as_deref().map(env_name));
        Names {
            id: arg.get_id().to_string(),
            long,
            short: arg.get_short(),
            env,
            explicit_env: arg.get_env().is_some(),
        }
    }

    fn describe(&self) -> String {
        match (&self.long, &self.env) {
            (Some(l), Some(e)) => format!("--{l} ({e})"),
            (Some(l), None) => format!("--{l}"),
            (None, Some(e)) => e.clone(),
            (None, None) => format!("`{}`", self.id),
        }
    }
}

fn args_of(cmd: &Command) -> Vec<Names> {
    cmd.get_arguments().map(Names::of).collect()
}

/// The runner's own flags, with clap's `--help`/`-h` and `--version`/`-V`.
fn reserved() -> Vec<Names> {
    let mut names = args_of(&CommonArgs::augment_args(Command::new("sdk")));
    for (long, short) in [("help", 'h'), ("version", 'V')] {
        names.push(Names {
            id: long.to_string(),
            long: Some(long.to_string()),
            short: Some(short),
            env: None,
            explicit_env: false,
        });
    }
    names
}

/// Checks the flags of connector config `C` against the names the runner reserves:
/// long names, `BATON_*` variables, short names and clap ids. The error names the
/// connector's field, the SDK's flag, and how to fix it.
pub(super) fn check<C: Args>(app: &AppInfo) -> Result<()> {
    let reserved = reserved();
    let prefix = app
        .name
        .strip_prefix("baton-")
        .unwrap_or(app.name)
        .to_string();
    let mut clashes = Vec::new();
    for field in args_of(&C::augment_args(Command::new("connector"))) {
        let Some((sdk, what)) = reserved.iter().find_map(|sdk| {
            if field.long.is_some() && field.long == sdk.long {
                Some((sdk, "flag"))
            } else if field.env.is_some() && field.env == sdk.env {
                Some((sdk, "environment variable"))
            } else if field.short.is_some() && field.short == sdk.short {
                Some((sdk, "short flag"))
            } else if field.id == sdk.id {
                Some((sdk, "clap id"))
            } else {
                None
            }
        }) else {
            continue;
        };
        let fix = match what {
            "short flag" => format!(
                "drop `short` from the field or pick another letter (-{} is the SDK's)",
                sdk.short.unwrap_or('?')
            ),
            "clap id" => {
                let id = prefixed(&prefix, &field.id, '_');
                format!("rename the field (e.g. `{id}`) or give it #[arg(id = \"{id}\")]")
            }
            "environment variable" if field.explicit_env => format!(
                "drop the field's `env = \"{}\"` (the runner then reads {}) or name another variable",
                field.env.as_deref().unwrap_or_default(),
                field.long.as_deref().map(env_name).unwrap_or_default()
            ),
            _ => {
                let long = prefixed(&prefix, field.long.as_deref().unwrap_or(&field.id), '-');
                format!(
                    "rename the field's flag, e.g. #[arg(long = \"{long}\")] for --{long} ({})",
                    env_name(&long)
                )
            }
        };
        clashes.push(format!(
            "the connector field `{}` ({}) has the {what} of the SDK's flag {}: {fix}",
            field.id,
            field.describe(),
            sdk.describe()
        ));
    }
    if clashes.is_empty() {
        return Ok(());
    }
    Err(Error::internal(format!(
        "{}: the connector's configuration reuses names the SDK's runner reserves; {}",
        app.name,
        clashes.join("; ")
    )))
}

/// `name` with the connector's prefix (`myapp-name`), unless it has it already.
fn prefixed(prefix: &str, name: &str, sep: char) -> String {
    let name = name.replace(['-', '_'], &sep.to_string());
    if name.starts_with(&format!("{prefix}{sep}")) {
        name
    } else {
        format!("{prefix}{sep}{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{BaseUrlArg, BuildContext, ConnectorConfig, EXIT_FAILURE, run_with};
    use crate::connector::Connector;
    use crate::testing::MemoryConnector;
    use std::process::ExitCode;

    const APP: AppInfo = AppInfo {
        name: "baton-myapp",
        version: "0.1.0",
        about: "test",
    };

    /// A field named like the SDK's `--client-id`: clap would panic with "Command clash"
    /// in a debug build.
    #[derive(clap::Args, Debug)]
    struct ClientIdClash {
        /// The app's OAuth client id.
        #[arg(long)]
        client_id: Option<String>,
    }

    impl ConnectorConfig for ClientIdClash {
        fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
            Ok(Box::new(MemoryConnector::seeded()))
        }
    }

    #[derive(clap::Args, Debug)]
    struct EnvShortAndIdClashes {
        /// Reads the SDK's variable.
        #[arg(long = "myapp-path", env = "BATON_FILE")]
        path: Option<String>,
        /// Takes -p.
        #[arg(long = "myapp-project", short = 'p')]
        project: Option<String>,
        /// Named like the SDK's `workers` field.
        #[arg(long = "myapp-workers")]
        workers: Option<u32>,
    }

    impl ConnectorConfig for EnvShortAndIdClashes {
        fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
            Ok(Box::new(MemoryConnector::seeded()))
        }
    }

    #[derive(clap::Args, Debug)]
    struct Clean {
        /// The app's OAuth client id.
        #[arg(long = "myapp-client-id")]
        client_id: Option<String>,
        #[command(flatten)]
        base_url: BaseUrlArg,
    }

    impl ConnectorConfig for Clean {
        fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
            Ok(Box::new(MemoryConnector::seeded()))
        }
    }

    #[test]
    fn a_field_named_like_a_reserved_flag_is_an_error_naming_both_and_the_fix() {
        let err = crate::cli::command::<ClientIdClash>(APP).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains(
                "the connector field `client_id` (--client-id (BATON_CLIENT_ID)) has the flag of \
                 the SDK's flag --client-id (BATON_CLIENT_ID)"
            ),
            "{msg}"
        );
        assert!(
            msg.contains(
                "#[arg(long = \"myapp-client-id\")] for --myapp-client-id (BATON_MYAPP_CLIENT_ID)"
            ),
            "{msg}"
        );
    }

    #[test]
    fn variables_short_flags_and_ids_are_checked_too() {
        let msg = crate::cli::command::<EnvShortAndIdClashes>(APP)
            .unwrap_err()
            .to_string();
        for needle in [
            "field `path` (--myapp-path (BATON_FILE)) has the environment variable of the SDK's flag --file (BATON_FILE)",
            "field `project` (--myapp-project (BATON_MYAPP_PROJECT)) has the short flag of the SDK's flag --provisioning",
            "field `workers` (--myapp-workers (BATON_MYAPP_WORKERS)) has the clap id of the SDK's flag --workers (BATON_WORKERS)",
            "rename the field (e.g. `myapp_workers`) or give it #[arg(id = \"myapp_workers\")]",
            "drop the field's `env = \"BATON_FILE\"` (the runner then reads BATON_MYAPP_PATH)",
        ] {
            assert!(msg.contains(needle), "{needle}\n{msg}");
        }
        assert!(crate::cli::command::<Clean>(APP).is_ok());
    }

    #[tokio::test]
    async fn the_runner_fails_cleanly_instead_of_panicking() {
        // In a debug build clap panics on the clash when it parses; the runner never
        // gets there.
        let code =
            run_with::<ClientIdClash>(APP, vec!["baton-myapp".into(), "--help".into()]).await;
        assert_eq!(code, ExitCode::from(EXIT_FAILURE));
    }
}
