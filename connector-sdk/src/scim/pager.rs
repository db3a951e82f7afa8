//! SCIM paging (RFC 7644 §3.4.2.4) as numbers and tokens: where the next page starts, and
//! which pages a first page with a `totalResults` hands out to read at once.
//! [`ScimClient::page`](super::ScimClient::page) is the one listing that uses it.

use crate::error::{Error, Result};
use crate::page::pagers::parse_number_token;
use crate::page::{HandOut, Page, PageToken};

/// SCIM pagination (RFC 7644 §3.4.2.4): 1-based `startIndex`, `count`, and `totalResults`.
///
/// Safe against servers that ignore `startIndex` (the listing driver asks again for a
/// repeated page, then fails naming the gap), cap `count`, omit `totalResults`, or report
/// one that is too large (handed-out pages stop at the first one that brings nothing).
///
/// ```
/// use connector_sdk::page::PageToken;
/// use connector_sdk::scim::ScimPager;
/// let pager = ScimPager::new(100);
/// let start = pager.start_index(None).unwrap();
/// assert_eq!(start, 1);
/// // The server capped the page at 2 items: continue at 3, not 101.
/// assert_eq!(pager.next(start, 2, Some(5)), Some(PageToken::new("3")));
/// assert_eq!(pager.next(5, 1, Some(5)), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimPager {
    /// The `count` asked for.
    pub count: u32,
    /// Whether a short page ends a listing whose total is unknown (see
    /// [`until_empty_page`](Self::until_empty_page)).
    short_page_ends: bool,
}

impl ScimPager {
    /// A pager asking for `count` resources a page (at least 1).
    pub fn new(count: u32) -> Self {
        ScimPager {
            count: count.max(1),
            short_page_ends: true,
        }
    }

    /// The same pager for servers that cap `count` below what was asked and send no
    /// `totalResults`: without a total, a short page does not end the listing (it may be
    /// the server's own cap); the next page is read until one comes back empty, and the
    /// listing driver's guard ends pages that repeat. One request more per listing.
    ///
    /// ```
    /// use connector_sdk::page::PageToken;
    /// use connector_sdk::scim::ScimPager;
    /// let capped = ScimPager::new(100).until_empty_page();
    /// // 50 of the 100 asked, no total: ask again from 51.
    /// assert_eq!(capped.next(1, 50, None), Some(PageToken::new("51")));
    /// assert_eq!(capped.next(51, 0, None), None);
    /// // The default ends there.
    /// assert_eq!(ScimPager::new(100).next(1, 50, None), None);
    /// ```
    pub fn until_empty_page(mut self) -> Self {
        self.short_page_ends = false;
        self
    }

    /// The `startIndex` to request for `token` (1 for the first page).
    pub fn start_index(&self, token: Option<&PageToken>) -> Result<u64> {
        let start = parse_number_token(token, "startIndex", 1)?;
        if start == 0 {
            return Err(Error::invalid_argument(
                "malformed page token \"0\": SCIM startIndex starts at 1",
            ));
        }
        Ok(start)
    }

    /// The token after a page at `start_index` that returned `returned` resources, given
    /// `totalResults` when the server sent it. `None` ends the listing.
    ///
    /// Stops on an empty page; at `totalResults` when known; on a short page when not
    /// (unless [`until_empty_page`](Self::until_empty_page)).
    pub fn next(
        &self,
        start_index: u64,
        returned: usize,
        total_results: Option<u64>,
    ) -> Option<PageToken> {
        if returned == 0 {
            return None;
        }
        let consumed = start_index - 1 + returned as u64;
        match total_results {
            Some(total) if consumed >= total => None,
            None if self.short_page_ends && returned < self.count as usize => None,
            _ => Some(PageToken::new((start_index + returned as u64).to_string())),
        }
    }

    /// Where to read for `token`, in concurrent mode: the first page (no token), a page
    /// handed out by the first page (`p:<start>`, no next of its own), or a page of a
    /// listing followed one page at a time (a plain start index).
    pub fn request(&self, token: Option<&PageToken>) -> Result<ScimRequest> {
        match token.map(PageToken::as_str) {
            Some(t) if t.starts_with(HANDED_OUT) => {
                let start = self.start_index(Some(&PageToken::new(&t[HANDED_OUT.len()..])))?;
                Ok(ScimRequest {
                    start_index: start,
                    first: false,
                    single: true,
                })
            }
            Some(_) => Ok(ScimRequest {
                start_index: self.start_index(token)?,
                first: false,
                single: false,
            }),
            None => Ok(ScimRequest {
                start_index: 1,
                first: true,
                single: false,
            }),
        }
    }

    /// The `next` and `parallel` tokens after a page read for `req`: a first page whose
    /// total is known hands out every remaining page at once; a handed-out page ends there;
    /// anything else continues one page at a time (as [`ScimPager::next`]).
    ///
    /// ```
    /// use connector_sdk::page::PageToken;
    /// use connector_sdk::scim::ScimPager;
    /// let pager = ScimPager::new(100);
    /// let first = pager.request(None).unwrap();
    /// let (next, parallel) = pager.continue_after(first, 100, Some(250));
    /// assert_eq!(next, None);
    /// let parallel: Vec<PageToken> = parallel.collect();
    /// assert_eq!(parallel, [PageToken::new("p:101"), PageToken::new("p:201")]);
    /// let single = pager.request(Some(&parallel[0])).unwrap();
    /// assert_eq!(single.start_index, 101);
    /// assert_eq!(pager.continue_after(single, 100, Some(250)), (None, Default::default()));
    /// // No total: one page at a time.
    /// assert_eq!(pager.continue_after(first, 100, None), (Some(PageToken::new("101")), Default::default()));
    /// ```
    pub fn continue_after(
        &self,
        req: ScimRequest,
        returned: usize,
        total_results: Option<u64>,
    ) -> (Option<PageToken>, HandOut) {
        if req.single {
            return (None, HandOut::default());
        }
        if req.first && total_results.is_some() {
            return (
                None,
                self.remaining_as(HANDED_OUT, req.start_index, returned, total_results),
            );
        }
        (
            self.next(req.start_index, returned, total_results),
            HandOut::default(),
        )
    }

    /// The whole page for `req` in concurrent mode: `items`, the next or handed-out
    /// tokens from [`continue_after`](Self::continue_after), and `totalResults` as the
    /// listing's declared total (so a repeated page that leaves a gap is caught).
    ///
    /// ```
    /// use connector_sdk::scim::ScimPager;
    /// let pager = ScimPager::new(2);
    /// let first = pager.request(None).unwrap();
    /// let page = pager.page(first, vec!["a", "b"], Some(5));
    /// assert_eq!(page.total, Some(5));
    /// assert_eq!(page.parallel.len(), 2);
    /// ```
    pub fn page<T>(&self, req: ScimRequest, items: Vec<T>, total_results: Option<u64>) -> Page<T> {
        let (next, parallel) = self.continue_after(req, items.len(), total_results);
        Page::new(items, next)
            .with_parallel(parallel)
            .with_total(total_results)
    }

    /// After a first page at `start_index` that returned `returned` of `total_results`,
    /// the tokens of every remaining page (stepping by the page length the server used),
    /// to fetch concurrently. Empty when the total is unknown or reached. The tokens are
    /// made as they are taken: a lying total of a billion costs nothing up front.
    ///
    /// ```
    /// use connector_sdk::page::PageToken;
    /// use connector_sdk::scim::ScimPager;
    /// let rest: Vec<PageToken> = ScimPager::new(100).remaining(1, 100, Some(350)).collect();
    /// assert_eq!(rest, [PageToken::new("101"), PageToken::new("201"), PageToken::new("301")]);
    /// ```
    pub fn remaining(
        &self,
        start_index: u64,
        returned: usize,
        total_results: Option<u64>,
    ) -> HandOut {
        self.remaining_as("", start_index, returned, total_results)
    }

    fn remaining_as(
        &self,
        prefix: &str,
        start_index: u64,
        returned: usize,
        total_results: Option<u64>,
    ) -> HandOut {
        let (Some(total), true) = (total_results, returned > 0) else {
            return HandOut::default();
        };
        let step = returned as u64;
        let first = start_index.saturating_add(step);
        if first > total {
            return HandOut::default();
        }
        HandOut::range(prefix, first, step, total)
    }
}

/// The prefix of a SCIM page token handed out by the first page (it has no next).
const HANDED_OUT: &str = "p:";

/// Where a SCIM page is read, from [`ScimPager::request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScimRequest {
    /// The `startIndex` to send.
    pub start_index: u64,
    /// Whether this is the listing's first page.
    pub first: bool,
    /// Whether this page was handed out by the first page (it has no next).
    pub single: bool,
}
