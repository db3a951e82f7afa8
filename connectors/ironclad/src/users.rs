//! The `user` resource type: SCIM users, and account creation with a generated password.

use async_trait::async_trait;
use connector_sdk::account::generate_password;
use connector_sdk::prelude::*;
use connector_sdk::scim::{
    Created, ENTERPRISE_USER, EnterpriseUser, Name, Password, User, display_name, looks_like_email,
};
use connector_sdk::time::parse_rfc3339;

use crate::client::{IRONCLAD_EXT, IroncladClient, UserExtension};

/// Shortest password Ironclad accepts.
pub const MIN_PASSWORD: usize = 16;
/// Longest password the connector generates.
pub const MAX_PASSWORD: usize = 64;
/// Length when none is asked for.
pub const DEFAULT_PASSWORD: usize = 24;

/// The `user` resource type.
pub fn user_type() -> ResourceType {
    ResourceType::new("user", "User")
        .with_trait(TraitKind::User)
        .with_description("An Ironclad user (SCIM account)")
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Maps a SCIM user to a `user` resource (spec §3.1).
pub fn user_resource(u: &User) -> Resource {
    let given = u.given_name().map(String::from);
    let family = u.family_name().map(String::from);
    let enterprise: EnterpriseUser = u.extension_lossy(ENTERPRISE_USER).unwrap_or_default();
    let ironclad: UserExtension = u.extension_lossy(IRONCLAD_EXT).unwrap_or_default();
    let created = non_empty(u.meta.as_ref().and_then(|m| m.created.clone()));
    let display = display_name(given.as_deref(), family.as_deref(), &u.user_name, &u.id);
    let mut profile = Profile::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            profile.insert(k.into(), v.into());
        }
    };
    put(
        "user_name",
        Some(u.user_name.clone()).filter(|s| !s.is_empty()),
    );
    put("first_name", given.clone());
    put("last_name", family.clone());
    put("title", u.title.clone().filter(|s| !s.is_empty()));
    put("department", non_empty(enterprise.department));
    put("department_head", non_empty(ironclad.department_head));
    put("provider", non_empty(ironclad.provider));
    put("created_at", created.clone());
    put(
        "last_modified",
        non_empty(u.meta.as_ref().and_then(|m| m.last_modified.clone())),
    );
    let mut user = UserTrait::default()
        .with_login(&u.user_name)
        .with_status(UserStatus::enabled_if(u.is_active()))
        .with_account_type(AccountType::Human)
        .with_profile(profile);
    if given.is_some() || family.is_some() {
        user = user.with_name(given.unwrap_or_default(), family.unwrap_or_default());
    }
    // Every email; primary as marked, else the one equal to userName; userName added when missing.
    let emails: Vec<_> = u
        .emails
        .iter()
        .filter(|e| !e.value.trim().is_empty())
        .collect();
    let any_primary = emails.iter().any(|e| e.primary);
    for e in &emails {
        let primary = if any_primary {
            e.primary
        } else {
            e.value.eq_ignore_ascii_case(&u.user_name)
        };
        user = user.with_email(&e.value, primary);
    }
    if looks_like_email(&u.user_name)
        && !emails
            .iter()
            .any(|e| e.value.eq_ignore_ascii_case(&u.user_name))
    {
        user = user.with_email(&u.user_name, !any_primary);
    }
    user.created_at = created.as_deref().and_then(parse_rfc3339);
    Resource::new(&user_type(), &u.id, display).with_user_trait(user)
}

/// Lists users and creates accounts (the connector wraps it in
/// [`ReadOnly`](connector_sdk::read_only::ReadOnly) when read-only).
pub struct UserSyncer {
    client: IroncladClient,
}

impl UserSyncer {
    /// A syncer over `client`.
    pub fn new(client: IroncladClient) -> Self {
        UserSyncer { client }
    }
}

#[async_trait]
impl ResourceSyncer for UserSyncer {
    fn resource_type(&self) -> ResourceType {
        user_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let page = self.client.users_page(page.token.as_ref()).await?;
        Ok(page.map(|r| user_resource(&r)))
    }

    fn account_manager(&self) -> Option<&dyn AccountManager> {
        Some(self)
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        Some(self)
    }
}

/// One user by id: SCIM `GET /Users/{id}` (a targeted sync).
#[async_trait]
impl ResourceGetter for UserSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
        self.client
            .get_user(&id.resource)
            .await?
            .map(|u| user_resource(&u))
            .ok_or_else(|| Error::not_found(format!("Ironclad has no user {}", id.resource)))
    }
}

/// The length of a generated password: the request raised to 16, capped at 64.
pub fn password_length(requested: u32) -> usize {
    let asked = if requested == 0 {
        DEFAULT_PASSWORD
    } else {
        requested as usize
    };
    asked.clamp(MIN_PASSWORD, MAX_PASSWORD)
}

#[async_trait]
impl AccountManager for UserSyncer {
    fn credential_options(&self) -> Vec<CredentialOption> {
        vec![CredentialOption::RandomPassword {
            length: DEFAULT_PASSWORD as u32,
        }]
    }

    fn account_schema(&self) -> Vec<FieldSchema> {
        vec![
            FieldSchema::new("email", FieldType::String)
                .with_description("Becomes userName; defaults to the account's email or login"),
            FieldSchema::new("first_name", FieldType::String)
                .required()
                .with_description("Given name"),
            FieldSchema::new("last_name", FieldType::String)
                .required()
                .with_description("Family name"),
            FieldSchema::new("title", FieldType::String)
                .with_description("Job title, sent when not empty"),
        ]
    }

    async fn create_account(&self, req: AccountRequest) -> Result<AccountOutcome> {
        let info = &req.info;
        let email = info.email_or_login().ok_or_else(|| {
            Error::invalid_argument(
                "account creation needs an email (profile \"email\", the account email or login)",
            )
        })?;
        // The platform's character classes, at the length Ironclad accepts.
        let mut policy = req.password_policy.clone();
        policy.length = match req.credential {
            CredentialOption::RandomPassword { length } => password_length(length),
            _ => DEFAULT_PASSWORD,
        };
        let password = generate_password(&policy);
        let mut user = User::new(email.clone());
        user.name = Some(Name::new(
            info.profile_text("first_name"),
            info.profile_text("last_name"),
        ));
        user.title = info.profile_text("title");
        user.active = Some(true);
        user.password = Some(Password::new(password.clone()));
        match self.client.create_user(&user).await? {
            Created::New(u) => Ok(AccountOutcome::Created {
                resource: user_resource(&u),
                credentials: vec![Credential {
                    name: "password".into(),
                    secret: password,
                }],
            }),
            Created::Conflict(detail) => {
                let found = self.client.find_by_user_name(&email).await?;
                match found
                    .iter()
                    .find(|u| u.user_name.eq_ignore_ascii_case(&email))
                {
                    // The real password is unknown: none is returned.
                    Some(u) => Ok(AccountOutcome::AlreadyExists {
                        resource: user_resource(u),
                    }),
                    None => Err(Error::new(ErrorKind::AlreadyExists, detail)),
                }
            }
        }
    }
}
