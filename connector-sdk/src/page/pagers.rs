//! Ready pagers for the shapes real APIs use: offset/limit, SCIM, opaque cursors, RFC 8288 links.

use super::{HandOut, Page, PageToken};
use crate::error::{Error, Result};

fn parse_number_token(token: Option<&PageToken>, what: &str, default: u64) -> Result<u64> {
    match token {
        None => Ok(default),
        Some(t) if t.as_str().is_empty() => Ok(default),
        Some(t) => t.as_str().parse::<u64>().map_err(|_| {
            Error::invalid_argument(format!(
                "malformed page token {:?}: expected a decimal {what}",
                t.as_str()
            ))
        }),
    }
}

/// Offset/limit pagination (`?offset=0&limit=100`).
///
/// The offset advances by the number of items the page *returned*, not by the limit asked
/// for, so a server that caps pages loses nothing and a full team is fetched in a number of
/// requests linear in its size.
///
/// ```
/// use connector_sdk::page::{OffsetPager, PageToken};
/// let pager = OffsetPager::new(100);
/// let offset = pager.offset(None).unwrap();
/// assert_eq!(offset, 0);
/// // A full page with no total: ask for more from where it ended.
/// assert_eq!(pager.next(offset, 100, None), Some(PageToken::new("100")));
/// // A short page ends the listing when no total is known.
/// assert_eq!(pager.next(100, 40, None), None);
/// // With a total, stop exactly there.
/// assert_eq!(pager.next(0, 100, Some(100)), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetPager {
    /// The page size asked for.
    pub limit: u32,
}

impl OffsetPager {
    /// A pager asking for `limit` items a page (at least 1).
    pub fn new(limit: u32) -> Self {
        OffsetPager {
            limit: limit.max(1),
        }
    }

    /// The offset to request for `token` (0 for the first page).
    pub fn offset(&self, token: Option<&PageToken>) -> Result<u64> {
        parse_number_token(token, "offset", 0)
    }

    /// The token after a page at `offset` that returned `returned` items, given the
    /// server's `total` when it reports one. `None` ends the listing.
    pub fn next(&self, offset: u64, returned: usize, total: Option<u64>) -> Option<PageToken> {
        let end = offset + returned as u64;
        if returned == 0 {
            return None;
        }
        match total {
            Some(total) if end >= total => None,
            None if returned < self.limit as usize => None,
            _ => Some(PageToken::new(end.to_string())),
        }
    }

    /// The offsets of every page still to fetch after a first page that returned
    /// `first_returned` items of `total`, as tokens to hand out ([`Page::with_parallel`]):
    /// these can be fetched concurrently. The tokens are made as they are taken, so a
    /// total that lies (a billion) costs nothing until pages are fetched.
    ///
    /// ```
    /// use connector_sdk::page::{OffsetPager, PageToken};
    /// let offsets: Vec<PageToken> = OffsetPager::new(100).remaining(100, 350).collect();
    /// assert_eq!(offsets, [PageToken::new("100"), PageToken::new("200"), PageToken::new("300")]);
    /// assert_eq!(OffsetPager::new(100).remaining(100, 1_000_000_000).len(), 9_999_999);
    /// ```
    ///
    /// [`Page::with_parallel`]: super::Page::with_parallel
    pub fn remaining(&self, first_returned: u64, total: u64) -> HandOut {
        if first_returned == 0 || first_returned >= total {
            return HandOut::default();
        }
        HandOut::range("", first_returned, first_returned, total - 1)
    }
}

/// SCIM pagination (RFC 7644 §3.4.2.4): 1-based `startIndex`, `count`, and `totalResults`.
///
/// Safe against servers that ignore `startIndex` (the listing driver asks again for a
/// repeated page, then fails naming the gap), cap `count`, omit `totalResults`, or report
/// one that is too large (handed-out pages stop at the first one that brings nothing).
///
/// ```
/// use connector_sdk::page::{ScimPager, PageToken};
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
}

impl ScimPager {
    /// A pager asking for `count` resources a page (at least 1).
    pub fn new(count: u32) -> Self {
        ScimPager {
            count: count.max(1),
        }
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
    /// Stops on an empty page; at `totalResults` when known; on a short page when not.
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
            None if returned < self.count as usize => None,
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
    /// use connector_sdk::page::{PageToken, ScimPager};
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
    /// use connector_sdk::page::ScimPager;
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
    /// use connector_sdk::page::{PageToken, ScimPager};
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

/// The token for an opaque server cursor: `None` when the cursor is absent or empty.
///
/// ```
/// use connector_sdk::page::{cursor_token, PageToken};
/// assert_eq!(cursor_token(Some("abc".to_string())), Some(PageToken::new("abc")));
/// assert_eq!(cursor_token(Some(String::new())), None);
/// assert_eq!(cursor_token(None), None);
/// ```
pub fn cursor_token(cursor: Option<String>) -> Option<PageToken> {
    cursor.filter(|c| !c.is_empty()).map(PageToken::new)
}

/// The `rel="next"` target of an RFC 8288 `Link` header value, if any.
///
/// Accepts several links in one value, quoted or bare `rel`, several relation types in one
/// `rel`, any case, and extra parameters.
///
/// ```
/// use connector_sdk::page::link_next;
/// let header = r#"<https://api.example.com/users?page=3>; rel="next", <https://api.example.com/users?page=9>; rel="last""#;
/// assert_eq!(link_next(header).as_deref(), Some("https://api.example.com/users?page=3"));
/// assert_eq!(link_next(r#"<https://x/1>; rel="prev""#), None);
/// ```
pub fn link_next(header: &str) -> Option<String> {
    let mut rest = header;
    loop {
        let open = rest.find('<')?;
        let close = open + rest[open..].find('>')?;
        let target = &rest[open + 1..close];
        let after = &rest[close + 1..];
        let params_end = after.find('<').unwrap_or(after.len());
        let params = &after[..params_end];
        for param in params.split(';') {
            let param = param.trim().trim_end_matches(',').trim();
            let Some((name, value)) = param.split_once('=') else {
                continue;
            };
            if !name.trim().eq_ignore_ascii_case("rel") {
                continue;
            }
            let value = value.trim().trim_matches('"');
            if value
                .split_ascii_whitespace()
                .any(|r| r.eq_ignore_ascii_case("next"))
            {
                return Some(target.trim().to_string());
            }
        }
        rest = &after[params_end..];
    }
}
