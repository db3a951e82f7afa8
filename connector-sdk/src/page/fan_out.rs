//! One call per item of a page, a bounded number at a time.

use std::future::Future;

use futures::{StreamExt, TryStreamExt};

use crate::error::Result;

/// Calls `call` once per item of `items`, with at most `limit` calls in flight at once
/// (at least 1), and returns their results **in the order of the items**. The first
/// error ends the fan-out: calls not started are not made and calls in flight are
/// dropped.
///
/// Typical use: a page of teams, then each team's members or details in one call each.
/// The items are taken by value and the returned future is `Send`, so it works inside an
/// `#[async_trait]` method: give it owned items (`ids.into_iter()`, or clone what you
/// need) and let the closure capture what it uses (`&self`, a cloned client). The SDK's
/// [`HttpClient`](crate::http::HttpClient) still paces every request with its rate
/// limiter; `limit` only bounds how many of this fan-out's calls wait at once.
///
/// ```
/// use connector_sdk::page::fan_out;
/// # futures::executor::block_on(async {
/// let squares = fan_out(vec![1u64, 2, 3], 2, |n| async move { Ok(n * n) }).await.unwrap();
/// assert_eq!(squares, [1, 4, 9]);
/// # });
/// ```
///
/// In a syncer (the call captures `&self`; each item is owned):
///
/// ```
/// use connector_sdk::page::fan_out;
/// use connector_sdk::prelude::*;
///
/// struct Teams { names: Vec<(String, String)> }
///
/// impl Teams {
///     async fn details(&self, id: String) -> Result<String> {
///         let name = self.names.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone());
///         name.ok_or_else(|| Error::not_found(format!("no team {id}")))
///     }
/// }
///
/// #[async_trait]
/// impl ResourceSyncer for Teams {
///     fn resource_type(&self) -> ResourceType {
///         ResourceType::new("team", "Team").with_trait(TraitKind::Group)
///     }
///     async fn list(&self, _req: ListRequest) -> Result<Page<Resource>> {
///         let ids: Vec<String> = self.names.iter().map(|(id, _)| id.clone()).collect();
///         let names = fan_out(ids.clone(), 4, |id| self.details(id)).await?;
///         let rt = self.resource_type();
///         Ok(Page::last(ids.iter().zip(names).map(|(id, name)| {
///             Resource::new(&rt, id, name).with_group_trait(GroupTrait::default())
///         }).collect()))
///     }
/// }
/// # futures::executor::block_on(async {
/// let teams = Teams { names: vec![("t1".into(), "Core".into())] };
/// let page = teams.list(ListRequest::new(None, PageRequest::first())).await.unwrap();
/// assert_eq!(page.items[0].display_name, "Core");
/// # });
/// ```
pub fn fan_out<'a, I, F, Fut, R>(
    items: I,
    limit: usize,
    call: F,
) -> impl Future<Output = Result<Vec<R>>> + Send + 'a
where
    I: IntoIterator,
    I::IntoIter: Send + 'a,
    I::Item: Send + 'a,
    F: FnMut(I::Item) -> Fut + Send + 'a,
    Fut: Future<Output = Result<R>> + Send + 'a,
    R: Send + 'a,
{
    let calls = futures::stream::iter(items).map(call);
    async move { calls.buffered(limit.max(1)).try_collect().await }
}
