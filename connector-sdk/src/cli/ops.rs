//! One-shot operations: grant, revoke, create account, delete, actions.

use crate::account::{AccountInfo, AccountOutcome, CredentialOption};
use crate::delete::DeleteOutcome;
use crate::error::{Error, Result};
use crate::handle::{ConnectorHandle, CreateAccountRequest};
use crate::model::{Profile, ResourceId};
use crate::provision::GrantRequest;
use crate::provision::RevokeRequest;
use crate::provision::{GrantOutcome, RevokeOutcome};
use crate::store::C1zReader;

use super::args::{CommonArgs, flag_and_env};
use super::credentials::Delivery;

/// The one-shot operation the flags ask for, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Operation {
    Grant,
    Revoke,
    CreateAccount,
    Delete,
    InvokeAction,
    ListActionSchemas,
}

impl Operation {
    /// Whether the operation needs `--provisioning`. Actions do not: upstream serves them
    /// whether or not provisioning is enabled (spec §8.4).
    pub(crate) fn writes(&self) -> bool {
        !matches!(self, Operation::ListActionSchemas | Operation::InvokeAction)
    }
}

/// Which operation the flags select; several at once is an error.
pub(crate) fn selected(a: &CommonArgs) -> Result<Option<Operation>> {
    let mut ops = Vec::new();
    if a.grant_entitlement.is_some()
        || a.grant_principal.is_some()
        || a.grant_principal_type.is_some()
    {
        ops.push((Operation::Grant, "--grant-entitlement"));
    }
    if a.revoke_grant.is_some() {
        ops.push((Operation::Revoke, "--revoke-grant"));
    }
    if a.create_account_login.is_some()
        || a.create_account_email.is_some()
        || a.create_account_profile.is_some()
    {
        ops.push((Operation::CreateAccount, "--create-account-*"));
    }
    if a.delete_resource.is_some() || a.delete_resource_type.is_some() {
        ops.push((Operation::Delete, "--delete-resource"));
    }
    if a.invoke_action.is_some() || a.invoke_action_args.is_some() {
        ops.push((Operation::InvokeAction, "--invoke-action"));
    }
    if a.list_action_schemas {
        ops.push((Operation::ListActionSchemas, "--list-action-schemas"));
    }
    match ops.len() {
        0 => Ok(None),
        1 => Ok(ops.pop().map(|(o, _)| o)),
        _ => {
            let names: Vec<&str> = ops.iter().map(|(_, n)| *n).collect();
            Err(Error::invalid_argument(format!(
                "choose one operation at a time; got {}",
                names.join(", ")
            )))
        }
    }
}

fn need(value: &Option<String>, flag: &str, op: &str) -> Result<String> {
    value
        .clone()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| Error::invalid_argument(format!("{op} needs {}", flag_and_env(flag))))
}

fn json_object(raw: &Option<String>, flag: &str) -> Result<Profile> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(Profile::new()),
        Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(map)) => Ok(map),
            Ok(_) => Err(Error::invalid_argument(format!(
                "{}: expected a JSON object like {{\"key\": \"value\"}}",
                flag_and_env(flag)
            ))),
            Err(e) => Err(Error::invalid_argument(format!(
                "{}: not valid JSON ({e})",
                flag_and_env(flag)
            ))),
        },
    }
}

fn last_sync(a: &CommonArgs, why: &str) -> Result<C1zReader> {
    C1zReader::open_with(&a.file, &a.store_limits.limits()).map_err(|e| {
        let message = format!(
            "{why} needs ids from a previous sync in {} ({}): {}; run a sync first, or point --file at one",
            a.file.display(),
            flag_and_env("file"),
            e.message()
        );
        // Keeps the cause: a file the process may not read is not the SaaS refusing the
        // credentials (the runner then names no credential flag).
        Error::new(e.kind(), message).with_source(e)
    })
}

/// Runs `op` against `connector`; returns what to print.
pub(crate) async fn run(
    op: Operation,
    connector: &ConnectorHandle,
    a: &CommonArgs,
) -> Result<String> {
    match op {
        Operation::ListActionSchemas => {
            Ok(serde_json::to_string_pretty(&connector.action_schemas())?)
        }
        Operation::Grant => {
            let ent_id = need(&a.grant_entitlement, "grant-entitlement", "a grant")?;
            let principal_id = need(&a.grant_principal, "grant-principal", "a grant")?;
            let principal_type = need(&a.grant_principal_type, "grant-principal-type", "a grant")?;
            let reader = last_sync(a, "--grant-entitlement")?;
            let sync = reader.sync().sync_id.clone();
            let entitlement = reader.entitlement(&ent_id)?.ok_or_else(|| {
                Error::not_found(format!(
                    "entitlement {ent_id:?} is not in sync {sync} of {}; run a sync, then use an id from `baton FILE entitlements`",
                    a.file.display()
                ))
            })?;
            let pid = ResourceId::new(&principal_type, &principal_id);
            let principal = reader.resource(&pid)?.ok_or_else(|| {
                Error::not_found(format!(
                    "principal {pid} is not in sync {sync} of {}",
                    a.file.display()
                ))
            })?;
            Ok(
                match connector
                    .grant(GrantRequest::new(&principal, &entitlement))
                    .await?
                {
                    GrantOutcome::Granted(gs) => {
                        let ids: Vec<&str> = gs.iter().map(|g| g.id()).collect();
                        format!("granted {} to {pid}: {}", entitlement.id(), ids.join(", "))
                    }
                    GrantOutcome::AlreadyExists => {
                        format!("{pid} already holds {}; nothing changed", entitlement.id())
                    }
                },
            )
        }
        Operation::Revoke => {
            let grant_id = need(&a.revoke_grant, "revoke-grant", "a revoke")?;
            let reader = last_sync(a, "--revoke-grant")?;
            let grant = reader.grant(&grant_id)?.ok_or_else(|| {
                Error::not_found(format!(
                    "grant {grant_id:?} is not in sync {} of {}; run a sync, then use an id from `baton FILE grants`",
                    reader.sync().sync_id,
                    a.file.display()
                ))
            })?;
            if !grant.sources.is_empty() && grant.immutable {
                return Err(Error::failed_precondition(format!(
                    "grant {grant_id} is inherited through {}; revoke that grant instead",
                    grant.sources.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            // Grant-only entitlements are refused here, before the connector is called.
            Ok(match connector.revoke(RevokeRequest::new(&grant)).await? {
                RevokeOutcome::Revoked => format!("revoked {grant_id}"),
                RevokeOutcome::AlreadyRevoked => {
                    format!("{grant_id} was already revoked; nothing changed")
                }
            })
        }
        Operation::CreateAccount => create_account(connector, a).await,
        Operation::Delete => {
            let id = need(&a.delete_resource, "delete-resource", "a delete")?;
            let rt = need(&a.delete_resource_type, "delete-resource-type", "a delete")?;
            let rid = ResourceId::new(&rt, &id);
            Ok(match connector.delete(&rid).await? {
                DeleteOutcome::Deleted => format!("deleted {rid}"),
                DeleteOutcome::AlreadyDeleted => format!("{rid} did not exist; nothing changed"),
            })
        }
        Operation::InvokeAction => {
            let name = need(&a.invoke_action, "invoke-action", "an action")?;
            let args = json_object(&a.invoke_action_args, "invoke-action-args")?;
            let out = connector
                .invoke_and_wait(&name, args, a.action_timeout)
                .await?;
            Ok(serde_json::to_string_pretty(&out)?)
        }
    }
}

/// `--create-account-*`: the account through the handle, a generated password delivered
/// where the flags say (decided before anything is created).
async fn create_account(connector: &ConnectorHandle, a: &CommonArgs) -> Result<String> {
    let profile = json_object(&a.create_account_profile, "create-account-profile")?;
    let info = AccountInfo {
        login: a
            .create_account_login
            .clone()
            .filter(|s| !s.trim().is_empty()),
        email: a
            .create_account_email
            .clone()
            .filter(|s| !s.trim().is_empty()),
        profile,
    };
    if info.login.is_none() && info.email.is_none() {
        return Err(Error::invalid_argument(format!(
            "account creation needs {} or {}",
            flag_and_env("create-account-login"),
            flag_and_env("create-account-email")
        )));
    }
    let account = info
        .email
        .clone()
        .or(info.login.clone())
        .unwrap_or_default();
    let req = CreateAccountRequest::new(info);
    let option = connector.credential_option(&req)?;
    // Decide where a password would go before anything is created.
    let delivery = match option {
        CredentialOption::RandomPassword { .. } => Some(Delivery::from_args(a, &account)?),
        _ => None,
    };
    Ok(match connector.create_account(req).await? {
        AccountOutcome::Created {
            resource,
            credentials,
        } => {
            let mut msg = format!(
                "created account {} ({})",
                resource.id, resource.display_name
            );
            if !credentials.is_empty() {
                let d = match delivery {
                    Some(d) => d,
                    None => Delivery::from_args(a, &account)?,
                };
                msg.push_str(&format!(
                    "; {}",
                    d.deliver(&resource.id.to_string(), &credentials)?
                ));
            }
            msg
        }
        AccountOutcome::AlreadyExists { resource } => {
            format!(
                "account {} ({}) already exists; nothing changed",
                resource.id, resource.display_name
            )
        }
        AccountOutcome::ActionRequired { message, resource } => match resource {
            Some(r) => format!("account {} pending: {message}", r.id),
            None => format!("account pending: {message}"),
        },
    })
}
