//! Account creation (with encrypted credentials) and resource deletion tasks.

use crate::account::{AccountOutcome, CredentialOption};
use crate::delete::DeleteOutcome;
use crate::error::{Error, ErrorKind};
use crate::schema::validate_fields;
use crate::store::convert;
use secrecy::ExposeSecret;
use sha2::Digest as _;
use std::str::FromStr;

use super::*;

/// The provider name of age-encrypted data.
pub const AGE_PROVIDER: &str = "baton/age/v1";

pub(super) async fn create_account(ctx: &TaskContext, t: CreateAccountTask) -> Outcome {
    let Some(info) = t.account_info else {
        return malformed("create account");
    };
    let email = info
        .emails
        .iter()
        .find(|e| e.is_primary)
        .or(info.emails.first())
        .map(|e| e.address.clone())
        .filter(|e| !e.trim().is_empty());
    let account = crate::account::AccountInfo {
        login: Some(info.login.clone()).filter(|l| !l.trim().is_empty()),
        email,
        profile: info
            .profile
            .as_ref()
            .map(convert::profile_from_struct)
            .unwrap_or_default(),
    };
    let non_retryable = |e: Error| Outcome::Failure(Failure::from_error(&e, true));
    let syncer = if t.resource_type_id.is_empty() {
        ctx.connector.account_syncer().cloned()
    } else {
        match ctx.connector.syncer(&t.resource_type_id).cloned() {
            Ok(s) => Some(s),
            Err(e) => return non_retryable(e),
        }
    };
    let Some(manager) = syncer.as_ref().and_then(|s| s.account_manager()) else {
        return non_retryable(Error::unimplemented("the connector cannot create accounts"));
    };
    if let Err(e) = validate_fields(
        "account profile",
        &manager.account_schema(),
        &account.profile,
    ) {
        return non_retryable(e);
    }
    let option = match t.credential_options.and_then(|o| o.options) {
        None => manager
            .credential_options()
            .into_iter()
            .next()
            .unwrap_or(CredentialOption::NoPassword),
        Some(CredentialOptionKind::NoPassword(_)) => CredentialOption::NoPassword,
        Some(CredentialOptionKind::Sso(_)) => CredentialOption::Sso,
        Some(CredentialOptionKind::RandomPassword(r)) => CredentialOption::RandomPassword {
            length: r.length.clamp(8, 64) as u32,
        },
        Some(CredentialOptionKind::EncryptedPassword(_)) => {
            return non_retryable(Error::unimplemented(
                "the encrypted_password credential option is not supported by this connector",
            ));
        }
    };
    // Where generated credentials go, checked before anything is created.
    let mut recipients = Vec::new();
    for c in &t.encryption_configs {
        match &c.config {
            Some(EncryptionKind::AgeRecipientConfig(a)) => {
                match age::x25519::Recipient::from_str(a.recipient.trim()) {
                    Ok(r) => recipients.push((a.recipient.trim().to_string(), r)),
                    Err(e) => {
                        return non_retryable(Error::invalid_argument(format!(
                            "encryption config {:?}: not an age X25519 recipient ({e})",
                            c.key_id
                        )));
                    }
                }
            }
            Some(EncryptionKind::JwkPublicKeyConfig(_)) => {
                tracing::warn!(key_id = %c.key_id, "JWK encryption configs are not supported yet; skipping it");
            }
            None => {}
        }
    }
    if matches!(option, CredentialOption::RandomPassword { .. }) && recipients.is_empty() {
        return non_retryable(Error::failed_precondition(
            "a random password needs an age recipient among the task's encryption configs (JWK encryption is not supported yet); no account was created",
        ));
    }
    let outcome = match manager.create_account(&account, option).await {
        Ok(o) => o,
        Err(e) => return connector_failure(&e),
    };
    let mut encrypted = Vec::new();
    let result = match outcome {
        AccountOutcome::Created {
            resource,
            credentials,
        } => {
            if !credentials.is_empty() && recipients.is_empty() {
                return non_retryable(Error::internal(format!(
                    "account {} was created with generated credentials but the task has no age recipient to encrypt them to; they were discarded",
                    resource.id
                )));
            }
            for c in &credentials {
                for (text, r) in &recipients {
                    let bytes = match age::encrypt(r, c.secret.expose_secret().as_bytes()) {
                        Ok(b) => b,
                        Err(e) => {
                            return non_retryable(Error::internal(format!(
                                "could not encrypt the generated {}: {e}",
                                c.name
                            )));
                        }
                    };
                    let key_id: String = sha2::Sha256::digest(text.as_bytes())
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    encrypted.push(EncryptedData {
                        provider: AGE_PROVIDER.to_string(),
                        key_id: String::new(),
                        name: c.name.clone(),
                        description: format!("generated for {}", resource.id),
                        schema: String::new(),
                        encrypted_bytes: bytes,
                        key_ids: vec![key_id],
                    });
                }
            }
            CreateAccountResult::Success(AccountResult {
                resource: Some(convert::resource_to_proto(&resource)),
                is_create_account_result: true,
            })
        }
        AccountOutcome::AlreadyExists { resource } => {
            CreateAccountResult::AlreadyExists(AccountResult {
                resource: Some(convert::resource_to_proto(&resource)),
                is_create_account_result: true,
            })
        }
        AccountOutcome::ActionRequired { message, resource } => {
            CreateAccountResult::ActionRequired(AccountActionRequired {
                resource: resource.as_ref().map(convert::resource_to_proto),
                message,
                is_create_account_result: true,
            })
        }
    };
    let resp = CreateAccountResponse {
        encrypted_data: encrypted,
        annotations: Vec::new(),
        result: Some(result),
    };
    Outcome::success(names::CREATE_ACCOUNT_RESPONSE, &resp, Vec::new())
}

pub(super) async fn delete_resource(ctx: &TaskContext, t: DeleteResourceTask) -> Outcome {
    let Some(rid) = t
        .resource_id
        .filter(|r| !r.resource.is_empty() && !r.resource_type.is_empty())
    else {
        return Outcome::Failure(Failure::new(
            ErrorKind::InvalidArgument,
            "malformed delete resource task\ntask failed and is non-retryable",
            true,
        ));
    };
    let rid = resource_id(&rid);
    let result = async {
        let syncer = ctx.connector.syncer(&rid.resource_type).cloned()?;
        let deleter = syncer.deleter().ok_or_else(|| {
            Error::unimplemented(format!(
                "the connector cannot delete {} resources",
                rid.resource_type
            ))
        })?;
        deleter.delete(&rid).await
    }
    .await;
    match result {
        Ok(DeleteOutcome::Deleted | DeleteOutcome::AlreadyDeleted) => Outcome::success(
            names::DELETE_RESOURCE_RESPONSE,
            &DeleteResourceResponse {
                annotations: Vec::new(),
            },
            Vec::new(),
        ),
        Err(e) => connector_failure(&e),
    }
}
