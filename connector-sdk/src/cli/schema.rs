//! What the runner says about its flags: clap's errors rewritten to name the variable
//! (never a value), and the `config` subcommand's JSON schema.

use clap::{ArgAction, Args as _};
use serde_json::json;

use super::AppInfo;
use super::args::{CommonArgs, flag_and_env};
use crate::error::Error;

/// Rewrites a clap error so it names the variable of the flag at fault, and never
/// echoes a value (which could be a secret).
pub(super) fn clap_error(cmd: &clap::Command, e: clap::Error) -> Error {
    use clap::error::{ContextKind, ContextValue, ErrorKind as K};
    let arg = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => Some(s.clone()),
        _ => None,
    };
    let flag = arg
        .as_deref()
        .and_then(|a| a.split_whitespace().next())
        .map(|f| f.trim_start_matches('-').to_string());
    let known = flag
        .as_deref()
        .and_then(|f| cmd.get_arguments().find(|a| a.get_long() == Some(f)));
    let secret = known.is_some_and(|a| a.is_hide_env_values_set());
    let detail = match e.kind() {
        K::ValueValidation | K::InvalidValue => {
            if secret {
                "invalid value".to_string()
            } else {
                e.to_string()
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .trim_start_matches("error: ")
                    .to_string()
            }
        }
        _ => e
            .to_string()
            .lines()
            .next()
            .unwrap_or_default()
            .trim_start_matches("error: ")
            .to_string(),
    };
    match flag.filter(|_| known.is_some()) {
        Some(f) => Error::invalid_argument(format!("{}: {detail}", flag_and_env(&f))),
        None => Error::invalid_argument(format!("{detail}; see --help")),
    }
}

/// The JSON schema of the binary's configuration.
pub(super) fn config_schema(cmd: &clap::Command, app: AppInfo) -> serde_json::Value {
    let common: Vec<String> = CommonArgs::augment_args(clap::Command::new("x"))
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .collect();
    let mut properties = serde_json::Map::new();
    let mut required = Vec::new();
    for a in cmd.get_arguments() {
        let Some(long) = a.get_long() else { continue };
        if long == "help" || long == "version" {
            continue;
        }
        let is_flag = matches!(a.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
        let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
        let is_required = help.ends_with("[required]");
        if is_required {
            required.push(long.to_string());
        }
        let defaults: Vec<String> = a
            .get_default_values()
            .iter()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let mut p = serde_json::Map::new();
        p.insert(
            "type".into(),
            if is_flag { "boolean" } else { "string" }.into(),
        );
        p.insert(
            "description".into(),
            help.trim_end_matches("[required]").trim().into(),
        );
        if let Some(env) = a.get_env() {
            p.insert("x-env".into(), env.to_string_lossy().into_owned().into());
        }
        if let Some(d) = defaults.first().filter(|_| !is_flag) {
            p.insert("default".into(), d.clone().into());
        }
        let values: Vec<String> = a
            .get_possible_values()
            .iter()
            .map(|v| v.get_name().to_string())
            .collect();
        if !values.is_empty() && !is_flag {
            p.insert("enum".into(), values.into());
        }
        p.insert("x-secret".into(), a.is_hide_env_values_set().into());
        p.insert(
            "x-connector-field".into(),
            (!common.contains(&a.get_id().to_string())).into(),
        );
        properties.insert(long.to_string(), p.into());
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": app.name,
        "description": app.about,
        "type": "object",
        "properties": properties,
        "required": required,
    })
}
