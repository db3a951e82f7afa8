//! The [`AccountManager`] trait: creating accounts, with generated credentials.

use std::fmt;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::model::{Profile, Resource};
use crate::schema::FieldSchema;

/// Who to create: login, email and the connector-specific profile fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AccountInfo {
    /// The login, when the SaaS has one separate from the email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// The email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Connector-specific fields, validated against the connector's account-creation schema.
    #[serde(default)]
    pub profile: Profile,
}

impl AccountInfo {
    /// A profile field as trimmed text; `None` when missing, not a string, or blank.
    ///
    /// ```
    /// use connector_sdk::account::AccountInfo;
    /// let info = AccountInfo { profile: serde_json::json!({"first_name": " Ada ", "n": 1}).as_object().unwrap().clone(), ..Default::default() };
    /// assert_eq!(info.profile_text("first_name").as_deref(), Some("Ada"));
    /// assert_eq!(info.profile_text("n"), None);
    /// ```
    pub fn profile_text(&self, key: &str) -> Option<String> {
        self.profile
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(String::from)
    }

    /// The address to create the account for: profile `email`, else the account's email,
    /// else its login (each ignored when blank).
    pub fn email_or_login(&self) -> Option<String> {
        self.profile_text("email")
            .or_else(|| {
                self.email
                    .clone()
                    .map(|e| e.trim().to_string())
                    .filter(|e| !e.is_empty())
            })
            .or_else(|| {
                self.login
                    .clone()
                    .map(|e| e.trim().to_string())
                    .filter(|e| !e.is_empty())
            })
    }
}

/// How the new account gets its credentials (upstream `CredentialOptions`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum CredentialOption {
    /// No password: the user is invited, or signs in another way.
    NoPassword,
    /// The connector generates a random password of at least `length` characters.
    RandomPassword {
        /// Minimum length.
        length: u32,
    },
    /// The user signs in through single sign-on.
    Sso,
}

/// A credential generated for a new account. Its value is a secret: `Debug` redacts it.
#[derive(Clone)]
pub struct Credential {
    /// What the credential is, e.g. `"password"`.
    pub name: String,
    /// The secret value.
    pub secret: SecretString,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("name", &self.name)
            .field("secret", &"[REDACTED]")
            .finish()
    }
}

/// What an account creation did.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AccountOutcome {
    /// The account was created; `credentials` holds what was generated for it.
    Created {
        /// The new account as a resource.
        resource: Resource,
        /// Generated credentials (empty unless a password was generated).
        credentials: Vec<Credential>,
    },
    /// An account with that login or email exists already.
    AlreadyExists {
        /// The existing account.
        resource: Resource,
    },
    /// The SaaS needs someone to act before the account exists (e.g. accept an invitation).
    ActionRequired {
        /// What has to happen.
        message: String,
        /// The pending account, when the SaaS reports one.
        resource: Option<Resource>,
    },
}

/// Creates accounts of one user type.
#[async_trait]
pub trait AccountManager: Send + Sync {
    /// The credential options this connector supports; the first is the default.
    fn credential_options(&self) -> Vec<CredentialOption> {
        vec![CredentialOption::NoPassword]
    }

    /// The profile fields account creation takes (validated before `create_account` runs).
    fn account_schema(&self) -> Vec<FieldSchema> {
        Vec::new()
    }

    /// Creates the account [`AccountRequest::info`] describes, with the credentials
    /// [`AccountRequest::credential`] asks for; a random password is generated with
    /// [`AccountRequest::generate_password`] (it honours the platform's constraints).
    async fn create_account(&self, req: AccountRequest) -> Result<AccountOutcome>;
}

/// What [`AccountManager::create_account`] is asked for.
///
/// `#[non_exhaustive]` so the SDK can add fields without breaking connectors; build one
/// with [`AccountRequest::new`] (in tests, or to call a manager directly).
///
/// ```
/// use connector_sdk::account::{AccountInfo, AccountRequest, CredentialOption, PasswordPolicy};
/// use secrecy::ExposeSecret;
///
/// let info = AccountInfo { login: Some("kim".into()), ..AccountInfo::default() };
/// let req = AccountRequest::new(info, CredentialOption::RandomPassword { length: 12 })
///     .with_password_policy(PasswordPolicy::new(12).with_class("0123456789", 4));
/// let password = req.generate_password();
/// assert_eq!(password.expose_secret().len(), 12);
/// assert!(password.expose_secret().chars().filter(|c| c.is_ascii_digit()).count() >= 4);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccountRequest {
    /// Who the account is for.
    pub info: AccountInfo,
    /// How the account gets its credentials.
    pub credential: CredentialOption,
    /// What a generated password must hold: the platform's constraints when it sent some,
    /// else [`PasswordPolicy::strong`] of the requested length.
    pub password_policy: PasswordPolicy,
}

impl AccountRequest {
    /// A request for `info` with `credential`; the password policy is
    /// [`PasswordPolicy::strong`] of the requested length (16 without one).
    pub fn new(info: AccountInfo, credential: CredentialOption) -> Self {
        let length = match credential {
            CredentialOption::RandomPassword { length } => length as usize,
            _ => 16,
        };
        AccountRequest {
            info,
            credential,
            password_policy: PasswordPolicy::strong(length),
        }
    }

    /// Replaces the password policy (the platform's `PasswordConstraint`s).
    pub fn with_password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.password_policy = policy;
        self
    }

    /// A random password under [`AccountRequest::password_policy`].
    pub fn generate_password(&self) -> SecretString {
        generate_password(&self.password_policy)
    }
}

/// What a generated password must contain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Length (characters).
    pub length: usize,
    /// Character classes; the password holds at least `min` characters of each.
    pub classes: Vec<(String, usize)>,
}

impl PasswordPolicy {
    /// A policy of `length` characters and no classes yet: add them with
    /// [`PasswordPolicy::with_class`]. Without any class, a generated password draws from
    /// [`PasswordPolicy::strong`]'s.
    pub fn new(length: usize) -> Self {
        PasswordPolicy {
            length,
            classes: Vec::new(),
        }
    }

    /// Adds a character class the password holds at least `min` characters of (upstream's
    /// `PasswordConstraint{char_set, min_count}`). An empty set is ignored.
    pub fn with_class(mut self, chars: impl Into<String>, min: usize) -> Self {
        let chars = chars.into();
        if !chars.is_empty() {
            self.classes.push((chars, min));
        }
        self
    }

    /// Lower case, upper case, digits and punctuation, at least one of each.
    pub fn strong(length: usize) -> Self {
        PasswordPolicy {
            length,
            classes: vec![
                ("abcdefghijklmnopqrstuvwxyz".into(), 1),
                ("ABCDEFGHIJKLMNOPQRSTUVWXYZ".into(), 1),
                ("0123456789".into(), 1),
                ("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".into(), 1),
            ],
        }
    }
}

/// Generates a password from the operating system's CSPRNG (through `rand`'s thread RNG):
/// the required minimum of each class, the rest from all classes together, shuffled.
/// The length is raised to the sum of the minimums when shorter.
///
/// ```
/// use connector_sdk::account::{PasswordPolicy, generate_password};
/// use secrecy::ExposeSecret;
/// let p = generate_password(&PasswordPolicy::strong(16));
/// let p = p.expose_secret();
/// assert_eq!(p.chars().count(), 16);
/// assert!(p.chars().any(|c| c.is_ascii_uppercase()) && p.chars().any(|c| c.is_ascii_digit()));
/// ```
pub fn generate_password(policy: &PasswordPolicy) -> SecretString {
    use rand::Rng as _;
    use rand::seq::SliceRandom as _;
    if policy.classes.iter().all(|(s, _)| s.is_empty()) {
        return generate_password(&PasswordPolicy::strong(policy.length));
    }
    // A cryptographically secure generator (ChaCha, seeded from the OS).
    let mut rng = rand::thread_rng();
    let mut pick = |set: &[char]| -> char { set[rng.gen_range(0..set.len())] };
    let classes: Vec<Vec<char>> = policy
        .classes
        .iter()
        .map(|(s, _)| s.chars().collect())
        .filter(|c: &Vec<char>| !c.is_empty())
        .collect();
    let all: Vec<char> = classes.iter().flatten().copied().collect();
    let mut out: Vec<char> = Vec::new();
    for ((_, min), set) in policy.classes.iter().zip(&classes) {
        for _ in 0..*min {
            out.push(pick(set));
        }
    }
    while out.len() < policy.length && !all.is_empty() {
        out.push(pick(&all));
    }
    out.shuffle(&mut rand::thread_rng());
    SecretString::from(out.into_iter().collect::<String>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_policy_every_time() {
        use secrecy::ExposeSecret;
        let mut seen = std::collections::HashSet::new();
        for len in [1, 8, 16, 24, 64] {
            for _ in 0..200 {
                let p = generate_password(&PasswordPolicy::strong(len));
                let p = p.expose_secret();
                assert_eq!(p.chars().count(), len.max(4));
                assert!(p.chars().any(|c| c.is_ascii_lowercase()));
                assert!(p.chars().any(|c| c.is_ascii_uppercase()));
                assert!(p.chars().any(|c| c.is_ascii_digit()));
                assert!(p.chars().any(|c| c.is_ascii_punctuation()));
                seen.insert(p.to_string());
            }
        }
        assert!(seen.len() > 990, "passwords repeat: {}", seen.len());
    }

    #[test]
    fn credential_debug_hides_the_secret() {
        let c = Credential {
            name: "password".into(),
            secret: SecretString::from("hunter2-very-secret"),
        };
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("hunter2"), "{dbg}");
        assert!(dbg.contains("password"));
    }
}
