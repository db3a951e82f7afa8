//! Account creation (with encrypted credentials) and resource deletion tasks.

use crate::account::{AccountInfo, AccountOutcome, CredentialOption, PasswordPolicy};
use crate::error::{Error, ErrorKind};
use crate::handle::CreateAccountRequest;
use crate::service::encryption::Encryptor;
use crate::store::convert;

use super::*;

/// The provider name of age-encrypted data.
pub const AGE_PROVIDER: &str = "baton/age/v1";

/// The account the task describes, as the model's.
fn account_info(info: proto::AccountInfo) -> AccountInfo {
    let email = info
        .emails
        .iter()
        .find(|e| e.is_primary)
        .or(info.emails.first())
        .map(|e| e.address.clone())
        .filter(|e| !e.trim().is_empty());
    AccountInfo {
        login: Some(info.login.clone()).filter(|l| !l.trim().is_empty()),
        email,
        profile: info
            .profile
            .as_ref()
            .map(convert::profile_from_struct)
            .unwrap_or_default(),
    }
}

/// The task's credential option and password constraints on `req`.
fn with_credentials(
    req: CreateAccountRequest,
    options: Option<CredentialOptionKind>,
) -> std::result::Result<CreateAccountRequest, Failure> {
    Ok(match options {
        None => req,
        Some(CredentialOptionKind::NoPassword(_)) => {
            req.with_credential(CredentialOption::NoPassword)
        }
        Some(CredentialOptionKind::Sso(_)) => req.with_credential(CredentialOption::Sso),
        Some(CredentialOptionKind::RandomPassword(r)) => {
            let length = r.length.clamp(8, 64) as u32;
            let mut req = req.with_credential(CredentialOption::RandomPassword { length });
            // A platform task is input: constraints that cannot fit the password are
            // refused before anything is created (and never allocated).
            let required: u64 = r.constraints.iter().map(|c| u64::from(c.min_count)).sum();
            if required > u64::from(length) {
                return Err(Failure::permanent(Error::invalid_argument(format!(
                    "the password constraints ask for {required} characters, more than the password's length {length}; no account was created"
                ))));
            }
            if !r.constraints.is_empty() {
                let policy = r
                    .constraints
                    .iter()
                    .fold(PasswordPolicy::new(length as usize), |p, c| {
                        p.with_class(c.char_set.clone(), c.min_count as usize)
                    });
                req = req.with_password_policy(policy);
            }
            req
        }
        Some(CredentialOptionKind::EncryptedPassword(_)) => {
            return Err(Failure::permanent(Error::unimplemented(
                "the encrypted_password credential option is not supported by this connector",
            )));
        }
    })
}

pub(super) async fn create_account(ctx: &TaskContext, t: CreateAccountTask) -> TaskResult {
    let Some(info) = t.account_info else {
        return Err(malformed("create account"));
    };
    let req = CreateAccountRequest::new(account_info(info)).of_type(t.resource_type_id);
    let req = with_credentials(req, t.credential_options.and_then(|o| o.options))?;
    // Where generated credentials go, checked before anything is created.
    let encryptor = Encryptor::from_configs(&t.encryption_configs).map_err(Failure::permanent)?;
    let outcome = ctx
        .connector
        .create_account(req)
        .await
        .map_err(Failure::permanent)?;
    let mut encrypted = Vec::new();
    let result = match outcome {
        AccountOutcome::Created {
            resource,
            credentials,
        } => {
            // The account exists now: whatever happens to its credentials, the task
            // succeeds (a failure would make the platform create it again).
            if !credentials.is_empty() && encryptor.is_empty() {
                tracing::warn!(account = %resource.id, "the account was created with generated credentials, but the task has no encryption config; they were discarded");
            }
            let description = format!("generated for {}", resource.id);
            for c in &credentials {
                match encryptor.encrypt(&c.name, &description, &c.secret) {
                    Ok(data) => encrypted.extend(data),
                    Err(e) => {
                        tracing::error!(account = %resource.id, credential = %c.name, error = %e, "the account was created but its credential could not be encrypted; it was discarded")
                    }
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
    Ok(Success::of(names::CREATE_ACCOUNT_RESPONSE, &resp))
}

pub(super) async fn delete_resource(ctx: &TaskContext, t: DeleteResourceTask) -> TaskResult {
    let Some(rid) = t
        .resource_id
        .filter(|r| !r.resource.is_empty() && !r.resource_type.is_empty())
    else {
        return Err(Failure::new(
            ErrorKind::InvalidArgument,
            "malformed delete resource task\ntask failed and is non-retryable",
            true,
        ));
    };
    // Deleted and already deleted are both a success on the wire.
    ctx.connector
        .delete(&resource_id(&rid))
        .await
        .map_err(Failure::permanent)?;
    Ok(Success::of(
        names::DELETE_RESOURCE_RESPONSE,
        &DeleteResourceResponse {
            annotations: Vec::new(),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random(length: i64, mins: &[u32]) -> Option<CredentialOptionKind> {
        Some(CredentialOptionKind::RandomPassword(RandomPassword {
            length,
            constraints: mins
                .iter()
                .map(|m| PasswordConstraint {
                    char_set: "0123456789".into(),
                    min_count: *m,
                })
                .collect(),
        }))
    }

    #[test]
    fn constraints_that_cannot_fit_are_refused_before_anything_is_created() {
        let req = || CreateAccountRequest::new(AccountInfo::default());
        let err = with_credentials(req(), random(20, &[u32::MAX, u32::MAX])).unwrap_err();
        assert!(err.non_retryable);
        assert!(
            err.message.contains("no account was created"),
            "{}",
            err.message
        );
        assert!(with_credentials(req(), random(20, &[21])).is_err());
        let ok = with_credentials(req(), random(20, &[10, 10])).unwrap();
        let policy = ok.password_policy.unwrap();
        assert_eq!(policy.length, 20);
        // A length outside 8..64 is clamped, as upstream's validation bounds it.
        let ok = with_credentials(req(), random(-5, &[])).unwrap();
        assert_eq!(
            ok.credential,
            Some(CredentialOption::RandomPassword { length: 8 })
        );
    }
}
