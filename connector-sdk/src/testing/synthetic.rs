//! A stateless synthetic connector for benchmarks: users and groups computed from their
//! index, so a tenant of a million grants costs the connector no memory and any growth
//! measured belongs to the SDK.

use crate::syncer::EntitlementsRequest;
use crate::syncer::GrantsRequest;
use crate::syncer::ListRequest;
use std::sync::Arc;

use async_trait::async_trait;

use crate::connector::{Connector, ConnectorMetadata};
use crate::error::Result;
use crate::model::{Entitlement, Grant, GroupTrait, Resource, ResourceId, ResourceType, UserTrait};
use crate::page::{OffsetPager, Page, PageRequest};
use crate::syncer::ResourceSyncer;

use super::memory::types;

/// `users` users and `groups` groups of `members_per_group` members each (member `k` of
/// group `g` is user `(g * members_per_group + k) % users`).
///
/// ```
/// use connector_sdk::testing::SyntheticConnector;
/// # futures::executor::block_on(async {
/// let c = SyntheticConnector::new(10, 3, 4);
/// let report = connector_sdk::testing::assert_conformance(&c).await;
/// assert_eq!(report.grants, 12);
/// # });
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SyntheticConnector {
    /// Number of users.
    pub users: usize,
    /// Number of groups.
    pub groups: usize,
    /// Members of each group (at most `users`).
    pub members_per_group: usize,
    /// Items per page.
    pub page_size: u32,
}

impl SyntheticConnector {
    /// A tenant of `groups * members_per_group` grants, 500 items a page.
    pub fn new(users: usize, groups: usize, members_per_group: usize) -> Self {
        SyntheticConnector {
            users: users.max(1),
            groups,
            members_per_group: members_per_group.min(users.max(1)),
            page_size: 500,
        }
    }

    /// The number of grants a sync finds.
    pub fn grants(&self) -> usize {
        self.groups * self.members_per_group
    }
}

fn window(
    total: usize,
    page: &PageRequest,
    size: u32,
) -> Result<(std::ops::Range<usize>, Option<crate::page::PageToken>)> {
    let pager = OffsetPager::new(size);
    let offset = (pager.offset(page.token.as_ref())? as usize).min(total);
    let end = (offset + size as usize).min(total);
    Ok((
        offset..end,
        pager.next(offset as u64, end - offset, Some(total as u64)),
    ))
}

struct Users(SyntheticConnector);
struct Groups(SyntheticConnector);

#[async_trait]
impl ResourceSyncer for Users {
    fn resource_type(&self) -> ResourceType {
        types::user()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let (range, next) = window(self.0.users, &page, self.0.page_size)?;
        let rt = types::user();
        let items = range
            .map(|i| {
                Resource::new(&rt, format!("u{i}"), format!("User {i}")).with_user_trait(
                    UserTrait::default()
                        .with_email(format!("user{i}@example.com"), true)
                        .with_login(format!("user{i}")),
                )
            })
            .collect();
        Ok(Page::new(items, next))
    }
}

#[async_trait]
impl ResourceSyncer for Groups {
    fn resource_type(&self) -> ResourceType {
        types::group()
    }

    async fn list(&self, req: ListRequest) -> Result<Page<Resource>> {
        let page = req.page;
        let (range, next) = window(self.0.groups, &page, self.0.page_size)?;
        let rt = types::group();
        let items = range
            .map(|g| {
                Resource::new(&rt, format!("g{g}"), format!("Group {g}"))
                    .with_group_trait(GroupTrait::default())
            })
            .collect();
        Ok(Page::new(items, next))
    }

    async fn entitlements(&self, req: EntitlementsRequest) -> Result<Page<Entitlement>> {
        let resource = &req.resource;
        Ok(Page::last(vec![
            Entitlement::assignment(resource, "member").grantable_to(["user"]),
        ]))
    }

    async fn grants(&self, req: GrantsRequest) -> Result<Page<Grant>> {
        let (resource, page) = (&req.resource, req.page);
        let g: usize = resource
            .id
            .resource
            .trim_start_matches('g')
            .parse()
            .unwrap_or(0);
        let c = self.0;
        let (range, next) = window(c.members_per_group, &page, c.page_size)?;
        let member = Entitlement::assignment(resource, "member");
        let items = range
            .map(|k| {
                Grant::new(
                    &member,
                    ResourceId::new(
                        "user",
                        format!("u{}", (g * c.members_per_group + k) % c.users),
                    ),
                )
            })
            .collect();
        Ok(Page::new(items, next))
    }
}

#[async_trait]
impl Connector for SyntheticConnector {
    fn metadata(&self) -> ConnectorMetadata {
        ConnectorMetadata::new("synthetic", "Synthetic tenant")
    }

    async fn validate(&self) -> Result<()> {
        Ok(())
    }

    fn syncers(&self) -> Vec<Arc<dyn ResourceSyncer>> {
        vec![Arc::new(Users(*self)), Arc::new(Groups(*self))]
    }
}
