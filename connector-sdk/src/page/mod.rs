//! Pages, page tokens, the pagers for the shapes real APIs use, and the one driver that
//! walks them.
//!
//! A connector's listing methods return one [`Page`] per call: the items and, when there
//! is more, a [`PageToken`] for the next call. The SDK drives the loop — one
//! [`ListingDriver`] behind [`stream_pages`], every listing of the sync engine and the
//! conformance kit — so a connector only says how to get *one* page, and the driver's
//! [`PageGuard`] catches the classic bugs:
//!
//! * a token that repeats is a connector bug and fails the listing loudly;
//! * a page of only already-seen ids (a server that ignores `startIndex`, a caching proxy)
//!   never ends a listing quietly: when the listing declared a [total](Page::total) that is
//!   not reached, the page is asked for again (a few times) and then the listing fails,
//!   naming the page, the ids and the gap; without a total the listing ends with a
//!   [warning](DrivenPage::warning) that the sync keeps;
//! * an empty page with a next token is followed (octocrab's bug in reverse), but not forever;
//! * pages handed out to fetch at once ([`Page::parallel`]) are made lazily and fetched in a
//!   bounded window, so a total that lies costs neither memory nor requests.
//!
//! Ready pagers compute the next token for offset/limit ([`OffsetPager`]), SCIM
//! ([`scim::ScimPager`](crate::scim::ScimPager)), opaque cursors ([`cursor_token`]) and RFC 8288 links ([`link_next`]).
//! Nested listings keep a stack of states in a [`TokenBag`].
//!
//! Most REST listings need none of these by hand: an [`http::Listing`](crate::http::Listing) declares the shape
//! (`Listing::get("/users").items_at("/data").cursor_in_body("/next_cursor", "cursor")`)
//! and reads one page per call over the SDK's HTTP client. [`fan_out`] makes one call per
//! item of a page, a bounded number at a time.

mod driver;
mod fan_out;
mod guard;
mod hand_out;
pub(crate) mod pagers;
mod token_bag;

pub use driver::{DrivenPage, DriverOptions, ListingDriver, stream_pages};
pub use fan_out::fan_out;
pub use guard::{
    GuardedPage, Identified, Keyed, MAX_EMPTY_PAGES_IN_A_ROW, PAGING_ERROR, PageGuard,
};
pub use hand_out::HandOut;
// Moved to `http` (a listing is HTTP requests); kept here for code written against 0.1.
#[doc(hidden)]
pub use crate::http::Listing;
pub use pagers::{OffsetPager, cursor_token, link_next};
// Moved to `scim`; kept here for code written against 0.1.
#[doc(hidden)]
pub use crate::scim::{ScimPager, ScimRequest};
pub use token_bag::{PageState, TokenBag};

use serde::{Deserialize, Serialize};

/// An opaque token for the next page, as returned in [`Page::next`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PageToken(String);

impl PageToken {
    /// A token. An empty string is not a token: use `None` for "no more pages".
    pub fn new(token: impl Into<String>) -> Self {
        PageToken(token.into())
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for PageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a listing call is asked for: which page. `#[non_exhaustive]`: build one with
/// [`PageRequest::first`] or [`PageRequest::after`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageRequest {
    /// `None` for the first page, else the token the previous page returned.
    pub token: Option<PageToken>,
}

impl PageRequest {
    /// The request for the first page.
    pub fn first() -> Self {
        PageRequest::default()
    }

    /// The request for the page after `token`.
    pub fn after(token: PageToken) -> Self {
        PageRequest { token: Some(token) }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The token of the next page; `None` when this is the last page.
    pub next: Option<PageToken>,
    /// Tokens of further pages that can be fetched at the same time, in any order (e.g.
    /// every remaining offset once a listing's total is known). The driver fetches them a
    /// bounded window at a time; each is a listing of its own that may have a `next`.
    pub parallel: HandOut,
    /// How many items the whole listing holds, when the API says (SCIM `totalResults`,
    /// a `total` field). The driver uses it to tell a repeated page that hides data from
    /// the end of a listing; it never makes the listing longer.
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// A page followed by the page at `next` (`None` ends the listing).
    pub fn new(items: Vec<T>, next: Option<PageToken>) -> Self {
        Page {
            items,
            next,
            parallel: HandOut::default(),
            total: None,
        }
    }

    /// The last page.
    pub fn last(items: Vec<T>) -> Self {
        Page::new(items, None)
    }

    /// An empty last page.
    pub fn empty() -> Self {
        Page::new(Vec::new(), None)
    }

    /// Adds pages that can be fetched concurrently (see [`Page::parallel`]): a
    /// `Vec<PageToken>` or a lazy [`HandOut`] from a pager.
    ///
    /// ```
    /// use connector_sdk::page::{Page, PageToken};
    /// use connector_sdk::scim::ScimPager;
    /// let pager = ScimPager::new(100);
    /// // The first page of 100 said totalResults = 350: fetch the other three at once.
    /// let page: Page<String> = Page::last(vec![]).with_parallel(pager.remaining(1, 100, Some(350)));
    /// let tokens: Vec<PageToken> = page.parallel.collect();
    /// assert_eq!(tokens, [PageToken::new("101"), PageToken::new("201"), PageToken::new("301")]);
    /// ```
    pub fn with_parallel(mut self, tokens: impl Into<HandOut>) -> Self {
        self.parallel = tokens.into();
        self
    }

    /// The same page with each item mapped by `f` (tokens, handed-out pages and total kept).
    ///
    /// ```
    /// use connector_sdk::page::{Page, PageToken};
    /// let page = Page::new(vec![1, 2], Some(PageToken::new("3"))).with_total(Some(9));
    /// let page = page.map(|n| n.to_string());
    /// assert_eq!((page.items, page.total), (vec!["1".to_string(), "2".to_string()], Some(9)));
    /// ```
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next: self.next,
            parallel: self.parallel,
            total: self.total,
        }
    }

    /// Says how many items the whole listing holds (see [`Page::total`]).
    ///
    /// ```
    /// use connector_sdk::page::{Page, PageToken};
    /// let page = Page::new(vec!["a"], Some(PageToken::new("2"))).with_total(Some(40));
    /// assert_eq!(page.total, Some(40));
    /// ```
    pub fn with_total(mut self, total: Option<u64>) -> Self {
        self.total = total;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use futures::TryStreamExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[tokio::test]
    async fn repeated_token_fails_loudly() {
        let err = stream_pages("grants of group:g1", |_req: PageRequest| async move {
            Ok(Page::new(s(&["a"]), Some(PageToken::new("same"))))
        })
        .try_collect::<Vec<String>>()
        .await;
        // first page "a" with token "same"; second page: all seen -> ends. Use new ids to
        // reach the repeated-token check.
        assert!(err.is_ok());

        let n = AtomicUsize::new(0);
        let err = stream_pages("grants of group:g1", |_req: PageRequest| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            async move { Ok(Page::new(vec![i.to_string()], Some(PageToken::new("same")))) }
        })
        .try_collect::<Vec<String>>()
        .await
        .unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("grants of group:g1"), "{msg}");
        assert!(msg.contains("\"same\""), "{msg}");
    }

    #[tokio::test]
    async fn empty_page_with_next_is_followed() {
        let out: Vec<String> = stream_pages("x", |req: PageRequest| async move {
            Ok(match req.token.as_ref().map(|t| t.as_str()) {
                None => Page::new(s(&["a"]), Some(PageToken::new("1"))),
                Some("1") => Page::new(vec![], Some(PageToken::new("2"))),
                _ => Page::last(s(&["b"])),
            })
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(out, s(&["a", "b"]));
    }

    #[tokio::test]
    async fn endless_empty_pages_are_an_error() {
        let n = AtomicUsize::new(0);
        let err = stream_pages("x", |_req: PageRequest| {
            let i = n.fetch_add(1, Ordering::SeqCst);
            async move {
                Ok(Page::<String>::new(
                    vec![],
                    Some(PageToken::new(i.to_string())),
                ))
            }
        })
        .try_collect::<Vec<String>>()
        .await
        .unwrap_err();
        assert!(err.to_string().contains("empty pages"), "{err}");
    }

    #[tokio::test]
    async fn overlapping_pages_are_deduplicated() {
        let out: Vec<String> = stream_pages("x", |req: PageRequest| async move {
            Ok(match req.token.as_ref().map(|t| t.as_str()) {
                None => Page::new(s(&["a", "b"]), Some(PageToken::new("1"))),
                Some("1") => Page::new(s(&["b", "c"]), Some(PageToken::new("2"))),
                _ => Page::last(s(&["c", "d"])),
            })
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(out, s(&["a", "b", "c", "d"]));
    }

    #[tokio::test]
    async fn fetch_error_is_passed_through() {
        let err = stream_pages("x", |_req: PageRequest| async move {
            Err::<Page<String>, _>(Error::not_found("gone"))
        })
        .try_collect::<Vec<String>>()
        .await
        .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::NotFound);
    }

    /// A SCIM server that ignores startIndex and claims a huge totalResults still ends.
    #[tokio::test]
    async fn lying_total_results_cannot_loop_forever() {
        let pager = ScimPager::new(2);
        let calls = AtomicUsize::new(0);
        let out: Vec<String> = stream_pages("users", |req: PageRequest| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let start = pager.start_index(req.token.as_ref())?;
                let items = s(&["u1", "u2"]); // same page every time
                Ok(Page::new(items, pager.next(start, 2, Some(1_000_000))))
            }
        })
        .try_collect()
        .await
        .unwrap();
        assert_eq!(out, s(&["u1", "u2"]));
        // The page did not declare its total: the repeat is asked for twice more, then the
        // listing ends (with a warning).
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn scim_pager_rules() {
        let p = ScimPager::new(100);
        // no total, full page: go on
        assert_eq!(p.next(1, 100, None), Some(PageToken::new("101")));
        // no total, short page: stop
        assert_eq!(p.next(1, 99, None), None);
        // total smaller than reality: stop at it
        assert_eq!(p.next(1, 100, Some(50)), None);
        // total larger: go on, capped page
        assert_eq!(p.next(1, 2, Some(10)), Some(PageToken::new("3")));
        assert_eq!(p.next(1, 0, Some(10)), None);
        assert!(p.start_index(Some(&PageToken::new("abc"))).is_err());
        assert!(p.start_index(Some(&PageToken::new("0"))).is_err());
        assert_eq!(p.start_index(Some(&PageToken::new(""))).unwrap(), 1);
    }

    #[test]
    fn offset_pager_advances_by_returned_items() {
        let p = OffsetPager::new(500);
        // server capped at 100 but reports a total: continue at 100, not 500
        assert_eq!(p.next(0, 100, Some(1000)), Some(PageToken::new("100")));
        assert_eq!(p.next(900, 100, Some(1000)), None);
        assert!(p.offset(Some(&PageToken::new("-1"))).is_err());
        assert!(p.remaining(0, 100).is_empty());
    }

    #[test]
    fn link_header_forms() {
        assert_eq!(
            link_next("<https://a/2>; rel=next").as_deref(),
            Some("https://a/2")
        );
        assert_eq!(
            link_next(r#"<https://a/1>; rel="prev", <https://a/3>; title="x"; REL="Next last""#)
                .as_deref(),
            Some("https://a/3")
        );
        assert_eq!(link_next(""), None);
        assert_eq!(link_next("garbage <unclosed"), None);
    }

    #[test]
    fn token_bag_rejects_garbage() {
        let err = TokenBag::from_token(Some(&PageToken::new("{nope"))).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidArgument);
    }
}
