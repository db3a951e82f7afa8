//! The `user` resource type: SCIM users, and account creation.

use std::sync::Arc;

use async_trait::async_trait;
use connector_sdk::page::Keyed;
use connector_sdk::prelude::*;
use connector_sdk::scim::{Created, Name, User, display_name, looks_like_email};
use connector_sdk::time::parse_rfc3339;
use futures::TryStreamExt;
use tokio::sync::Mutex;

use crate::client::{EXTENSION, UserExtension, ValimailClient, extension};

/// The `user` resource type.
pub fn user_type() -> ResourceType {
    ResourceType::new("user", "User")
        .with_trait(TraitKind::User)
        .with_description("A Valimail user (SCIM account)")
}

/// Maps a SCIM user to a `user` resource (spec §3.2).
pub fn user_resource(u: &User) -> Resource {
    let given = u.given_name().unwrap_or_default().to_string();
    let family = u.family_name().unwrap_or_default().to_string();
    let display = display_name(Some(&given), Some(&family), &u.user_name, &u.id);
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
    put("first_name", u.given_name().map(String::from));
    put("last_name", u.family_name().map(String::from));
    put("external_id", u.external_id.clone());
    put("member_type", extension(u).and_then(|e| e.member_type));
    put(
        "created_at",
        u.meta.as_ref().and_then(|m| m.created.clone()),
    );
    put(
        "last_modified",
        u.meta.as_ref().and_then(|m| m.last_modified.clone()),
    );
    let mut user = UserTrait::default()
        .with_login(&u.user_name)
        .with_status(UserStatus::enabled_if(u.is_active()))
        .with_account_type(AccountType::Human)
        .with_profile(profile);
    if u.name.is_some() {
        user = user.with_name(given, family);
    }
    if looks_like_email(&u.user_name) {
        user = user.with_email(&u.user_name, true);
    }
    user.created_at = u
        .meta
        .as_ref()
        .and_then(|m| m.created.as_deref())
        .and_then(parse_rfc3339);
    Resource::new(&user_type(), &u.id, display).with_user_trait(user)
}

/// Every user of the account, enumerated once per sync and shared by the member-type
/// listings (spec §4.3). Kept in the sync's
/// `SyncContext` (`req.context.shared::<UserCache>()`),
/// so each sync starts with an empty one.
#[derive(Debug, Default)]
pub struct UserCache {
    users: Mutex<Option<Arc<Vec<User>>>>,
}

impl UserCache {
    /// The users, enumerating them on first use (concurrent callers wait for the one
    /// enumeration).
    pub async fn get(&self, client: &ValimailClient) -> Result<Arc<Vec<User>>> {
        let mut slot = self.users.lock().await;
        if let Some(u) = slot.clone() {
            return Ok(u);
        }
        let all: Vec<Keyed<User>> = stream_pages("Valimail users", |req: PageRequest| async move {
            let page = client.users_page(req.token.as_ref()).await?;
            Ok(page.map(|u| Keyed(u.id.clone(), u)))
        })
        .try_collect()
        .await?;
        let all = Arc::new(all.into_iter().map(|k| k.1).collect::<Vec<_>>());
        *slot = Some(all.clone());
        Ok(all)
    }
}

/// Lists users and creates accounts.
pub struct UserSyncer {
    client: ValimailClient,
}

impl UserSyncer {
    /// A syncer over `client`.
    pub fn new(client: ValimailClient) -> Self {
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
        let users = self.client.users_page(page.token.as_ref()).await?;
        Ok(users.map(|u| user_resource(&u)))
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
            .ok_or_else(|| Error::not_found(format!("Valimail has no user {}", id.resource)))
    }
}

#[async_trait]
impl AccountManager for UserSyncer {
    fn credential_options(&self) -> Vec<CredentialOption> {
        vec![CredentialOption::NoPassword]
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
            FieldSchema::new("member_type", FieldType::String)
                .with_description("owner, member (default) or marketer"),
            FieldSchema::new("external_id", FieldType::String)
                .with_description("External id, sent when not empty"),
        ]
    }

    async fn create_account(&self, req: AccountRequest) -> Result<AccountOutcome> {
        let info = &req.info;
        let email = info.email_or_login().ok_or_else(|| {
            Error::invalid_argument(
                "account creation needs an email (profile \"email\", the account email or login)",
            )
        })?;
        let member_type = info
            .profile_text("member_type")
            .unwrap_or_else(|| "member".into())
            .to_lowercase();
        let mut user = User::new(email.clone());
        user.external_id = info.profile_text("external_id");
        user.name = Some(Name::new(
            info.profile_text("first_name"),
            info.profile_text("last_name"),
        ));
        user.set_extension(
            EXTENSION,
            &UserExtension {
                member_type: Some(member_type),
            },
        )?;
        match self.client.create_user(&user).await? {
            Created::New(u) => Ok(AccountOutcome::Created {
                resource: user_resource(&u),
                credentials: Vec::new(),
            }),
            Created::Conflict(detail) => {
                let found = self.client.find_by_user_name(&email).await?;
                let mut matching: Vec<&User> = found
                    .iter()
                    .filter(|u| u.user_name.eq_ignore_ascii_case(&email))
                    .collect();
                match (matching.pop(), matching.is_empty()) {
                    (Some(u), true) => Ok(AccountOutcome::AlreadyExists {
                        resource: user_resource(u),
                    }),
                    _ => Err(Error::new(ErrorKind::AlreadyExists, detail)),
                }
            }
        }
    }
}
