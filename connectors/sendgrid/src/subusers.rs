//! The `subuser` resource type: SendGrid subusers (sub-accounts), skipped when ignored.

use async_trait::async_trait;
use connector_sdk::prelude::*;

use crate::client::{PAGE_SIZE, SendgridClient, Subuser};

/// The `subuser` resource type.
pub fn subuser_type() -> ResourceType {
    ResourceType::new("subuser", "Subuser")
        .with_trait(TraitKind::User)
        .with_description("A SendGrid subuser (sub-account)")
}

/// A subuser as a resource (id = numeric id).
pub fn subuser_resource(s: &Subuser) -> Resource {
    let profile = profile! {
        "id": s.id, "username": s.username, "email": s.email, "disabled": s.disabled,
    };
    let mut user = UserTrait::default()
        .with_status(UserStatus::enabled_if(!s.disabled))
        .with_profile(profile);
    if !s.email.is_empty() {
        user = user.with_email(&s.email, true);
    }
    Resource::new(&subuser_type(), s.id.to_string(), &s.username).with_user_trait(user)
}

/// Lists subusers.
pub struct SubuserSyncer {
    client: SendgridClient,
    ignore: bool,
}

impl SubuserSyncer {
    /// A syncer; `ignore` lists nothing and calls nothing.
    pub fn new(client: SendgridClient, ignore: bool) -> Self {
        SubuserSyncer { client, ignore }
    }
}

#[async_trait]
impl ResourceSyncer for SubuserSyncer {
    fn resource_type(&self) -> ResourceType {
        subuser_type()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        if self.ignore {
            return Ok(Page::empty());
        }
        let subusers = self.client.subusers_page(page).await?;
        Ok(subusers.map(|s| subuser_resource(&s)))
    }

    fn getter(&self) -> Option<&dyn ResourceGetter> {
        self.getter_enabled().then_some(self as &dyn ResourceGetter)
    }
}

impl SubuserSyncer {
    fn getter_enabled(&self) -> bool {
        !self.ignore
    }
}

/// One subuser by its numeric id. SendGrid filters subusers by name
/// (`GET /v3/subusers?username=`) but a resource id is the number, so the subuser is
/// looked up in the listing, a page at a time (one call on most accounts).
#[async_trait]
impl ResourceGetter for SubuserSyncer {
    async fn get(&self, req: GetRequest) -> Result<Resource> {
        let id = &req.id;
        let missing = || Error::not_found(format!("SendGrid has no subuser {}", id.resource));
        let Ok(wanted) = id.resource.parse::<u64>() else {
            return Err(missing());
        };
        let pager = OffsetPager::new(PAGE_SIZE);
        let mut offset = 0;
        loop {
            let subusers = self.client.list_subusers(offset, PAGE_SIZE).await?;
            if let Some(s) = subusers.iter().find(|s| s.id == wanted) {
                return Ok(subuser_resource(s));
            }
            match pager.next(offset, subusers.len(), None) {
                Some(next) => offset = pager.offset(Some(&next))?,
                None => return Err(missing()),
            }
        }
    }
}
