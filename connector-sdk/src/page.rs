//! Pages, page tokens and the pagers for the shapes real APIs use.
//!
//! A connector's listing methods return one [`Page`] per call: the items and, when there
//! is more, a [`PageToken`] for the next call. The SDK drives the loop ([`stream_pages`],
//! the sync engine), so a connector only says how to get *one* page, and the SDK's
//! [`PageGuard`] catches the classic bugs:
//!
//! * a token that repeats is a connector bug and fails the listing loudly;
//! * a page of only already-seen ids (a server that ignores `startIndex`) ends the listing;
//! * an empty page with a next token is followed (octocrab's bug in reverse), but not forever.
//!
//! Ready pagers compute the next token for offset/limit ([`OffsetPager`]), SCIM
//! ([`ScimPager`]), opaque cursors ([`cursor_token`]) and RFC 8288 links ([`link_next`]).
//! Nested listings keep a stack of states in a [`TokenBag`].

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use futures::Stream;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::{Entitlement, Grant, Resource};

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

/// What a listing call is asked for: which page, and an optional size hint.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// `None` for the first page, else the token the previous page returned.
    pub token: Option<PageToken>,
    /// A preferred page size; connectors may ignore it.
    pub size: Option<u32>,
}

impl PageRequest {
    /// The request for the first page.
    pub fn first() -> Self {
        PageRequest::default()
    }

    /// The request for the page after `token`.
    pub fn after(token: PageToken) -> Self {
        PageRequest {
            token: Some(token),
            size: None,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page.
    pub items: Vec<T>,
    /// The token of the next page; `None` when this is the last page.
    pub next: Option<PageToken>,
    /// Tokens of further pages that can be fetched at the same time, in any order (e.g.
    /// every remaining offset once a listing's total is known). The sync engine fetches
    /// them concurrently; each is a listing of its own that may have a `next`.
    pub parallel: Vec<PageToken>,
}

impl<T> Page<T> {
    /// A page followed by the page at `next` (`None` ends the listing).
    pub fn new(items: Vec<T>, next: Option<PageToken>) -> Self {
        Page {
            items,
            next,
            parallel: Vec::new(),
        }
    }

    /// The last page.
    pub fn last(items: Vec<T>) -> Self {
        Page {
            items,
            next: None,
            parallel: Vec::new(),
        }
    }

    /// An empty last page.
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            next: None,
            parallel: Vec::new(),
        }
    }

    /// Adds pages that can be fetched concurrently (see [`Page::parallel`]).
    ///
    /// ```
    /// use connector_sdk::page::{Page, PageToken, ScimPager};
    /// let pager = ScimPager::new(100);
    /// // The first page of 100 said totalResults = 350: fetch the other three at once.
    /// let page: Page<String> = Page::last(vec![]).with_parallel(pager.remaining(1, 100, Some(350)));
    /// assert_eq!(page.parallel, [PageToken::new("101"), PageToken::new("201"), PageToken::new("301")]);
    /// ```
    pub fn with_parallel(mut self, tokens: Vec<PageToken>) -> Self {
        self.parallel = tokens;
        self
    }
}

/// Something with an id that is unique within its listing; the [`PageGuard`] uses it to
/// detect repeated pages.
pub trait Identified {
    /// The id, unique among the items of one listing.
    fn unique_id(&self) -> String;
}

impl Identified for Resource {
    fn unique_id(&self) -> String {
        self.id.to_string()
    }
}

impl Identified for Entitlement {
    fn unique_id(&self) -> String {
        self.id().to_string()
    }
}

impl Identified for Grant {
    fn unique_id(&self) -> String {
        self.id().to_string()
    }
}

/// An item paired with its id, for listings of API types that do not implement
/// [`Identified`] (e.g. a connector draining an API collection with [`stream_pages`]).
///
/// ```
/// use connector_sdk::page::{Identified, Keyed};
/// let k = Keyed("u-1".to_string(), ("Ada", 36));
/// assert_eq!(k.unique_id(), "u-1");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed<T>(pub String, pub T);

impl<T> Identified for Keyed<T> {
    fn unique_id(&self) -> String {
        self.0.clone()
    }
}

impl Identified for String {
    fn unique_id(&self) -> String {
        self.clone()
    }
}

/// How many empty pages in a row a listing may return before the guard calls it a bug.
pub const MAX_EMPTY_PAGES_IN_A_ROW: u32 = 100;

/// Watches one listing page by page: de-duplicates items, ends the listing on a page of
/// only repeated items, and fails on a repeated token.
///
/// ```
/// use connector_sdk::page::{Page, PageGuard, PageToken};
///
/// let mut guard = PageGuard::new("users");
/// let first = guard.accept(None, Page::new(vec!["a".to_string(), "b".to_string()], Some(PageToken::new("2")))).unwrap();
/// assert_eq!(first.items.len(), 2);
/// // The server ignored the token and sent the same page again: the listing ends.
/// let again = guard.accept(Some(&PageToken::new("2")), Page::new(vec!["a".to_string(), "b".to_string()], Some(PageToken::new("3")))).unwrap();
/// assert!(again.items.is_empty());
/// assert!(again.next.is_none());
/// ```
#[derive(Debug)]
pub struct PageGuard {
    listing: String,
    seen_ids: HashSet<u64>,
    seen_tokens: HashSet<u64>,
    empty_in_a_row: u32,
    duplicates: u64,
}

/// A page after the [`PageGuard`] looked at it.
#[derive(Debug)]
pub struct GuardedPage<T> {
    /// The items not seen before in this listing.
    pub items: Vec<T>,
    /// The token to fetch next, `None` when the listing is over.
    pub next: Option<PageToken>,
    /// How many items of the page had been seen before and were dropped.
    pub duplicates: usize,
}

fn hash_of(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

impl PageGuard {
    /// A guard for the listing named `listing` (used in messages, e.g. `"grants of group:g1"`).
    pub fn new(listing: impl Into<String>) -> Self {
        PageGuard {
            listing: listing.into(),
            seen_ids: HashSet::new(),
            seen_tokens: HashSet::new(),
            empty_in_a_row: 0,
            duplicates: 0,
        }
    }

    /// Items dropped as duplicates so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Checks `page`, fetched with `requested`, and returns its new items and the next token.
    ///
    /// Fails with [`ErrorKind::Internal`](crate::ErrorKind::Internal) when the page's next
    /// token equals one already used in this listing, or after
    /// [`MAX_EMPTY_PAGES_IN_A_ROW`] empty pages that each promise more.
    pub fn accept<T: Identified>(
        &mut self,
        requested: Option<&PageToken>,
        page: Page<T>,
    ) -> Result<GuardedPage<T>> {
        if let Some(t) = requested {
            self.seen_tokens.insert(hash_of(t.as_str()));
        }
        let total = page.items.len();
        let mut items = Vec::with_capacity(total);
        for item in page.items {
            if self.seen_ids.insert(hash_of(&item.unique_id())) {
                items.push(item);
            }
        }
        let duplicates = total - items.len();
        self.duplicates += duplicates as u64;
        if total > 0 && items.is_empty() {
            tracing::warn!(
                listing = %self.listing,
                repeated = total,
                "page held only items already seen; ending the listing (the server probably ignores the page parameter)"
            );
            return Ok(GuardedPage {
                items,
                next: None,
                duplicates,
            });
        }
        let next = page.next.filter(|t| !t.as_str().is_empty());
        if let Some(t) = &next {
            if self.seen_tokens.contains(&hash_of(t.as_str())) {
                return Err(Error::internal(format!(
                    "connector bug: listing {} returned page token {:?} that was already used; \
                     a token must move the listing forward",
                    self.listing,
                    t.as_str()
                )));
            }
            if total == 0 {
                self.empty_in_a_row += 1;
                if self.empty_in_a_row >= MAX_EMPTY_PAGES_IN_A_ROW {
                    return Err(Error::internal(format!(
                        "connector bug: listing {} returned {} empty pages in a row, each with a next token",
                        self.listing, self.empty_in_a_row
                    )));
                }
            } else {
                self.empty_in_a_row = 0;
            }
        }
        Ok(GuardedPage {
            items,
            next,
            duplicates,
        })
    }
}

/// Drains a paged call as a stream of items, with a [`PageGuard`] watching every page.
///
/// `fetch` is called with the first [`PageRequest`], then with each next token, until a
/// page has no next token (or the guard ends the listing). Items repeated across pages are
/// yielded once.
///
/// ```
/// use connector_sdk::page::{stream_pages, Page, PageRequest, PageToken};
/// use futures::TryStreamExt;
///
/// # tokio_test_block_on(async {
/// let numbers: Vec<String> = stream_pages("numbers", |req: PageRequest| async move {
///     let start: usize = req.token.map(|t| t.as_str().parse().unwrap()).unwrap_or(0);
///     let items: Vec<String> = (start..(start + 2).min(5)).map(|n| n.to_string()).collect();
///     let next = (start + 2 < 5).then(|| PageToken::new((start + 2).to_string()));
///     Ok(Page::new(items, next))
/// })
/// .try_collect()
/// .await
/// .unwrap();
/// assert_eq!(numbers, ["0", "1", "2", "3", "4"]);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output { futures::executor::block_on(f) }
/// ```
pub fn stream_pages<T, F, Fut>(
    listing: impl Into<String>,
    fetch: F,
) -> impl Stream<Item = Result<T>> + Send
where
    T: Identified + Send + 'static,
    F: FnMut(PageRequest) -> Fut + Send,
    Fut: std::future::Future<Output = Result<Page<T>>> + Send,
{
    use futures::StreamExt;
    use std::collections::VecDeque;
    struct State<F> {
        fetch: F,
        guard: PageGuard,
        next: Option<Option<PageToken>>,
        /// Parallel pages, drained one by one here.
        queued: VecDeque<PageToken>,
        from_queue: bool,
    }
    let state = State {
        fetch,
        guard: PageGuard::new(listing),
        next: Some(None),
        queued: VecDeque::new(),
        from_queue: false,
    };
    futures::stream::try_unfold(state, |mut st| async move {
        let token = match st.next.take() {
            Some(t) => {
                st.from_queue = false;
                t
            }
            None => match st.queued.pop_front() {
                Some(t) => {
                    st.from_queue = true;
                    Some(t)
                }
                None => return Ok(None),
            },
        };
        let request = PageRequest {
            token: token.clone(),
            size: None,
        };
        let page = (st.fetch)(request).await?;
        st.queued.extend(page.parallel.iter().cloned());
        let had_items = !page.items.is_empty();
        let guarded = st.guard.accept(token.as_ref(), page)?;
        // A handed-out page that brings nothing new means the total was wrong (or the
        // server ignores the start): the remaining handed-out pages are dropped.
        if st.from_queue && (!had_items || guarded.items.is_empty()) {
            st.queued.clear();
        }
        st.next = guarded.next.map(Some);
        Ok(Some((
            futures::stream::iter(guarded.items.into_iter().map(Ok)),
            st,
        )))
    })
    .map(|r: Result<_>| match r {
        Ok(s) => s.left_stream(),
        Err(e) => futures::stream::once(async move { Err(e) }).right_stream(),
    })
    .flatten()
}

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

    /// The offsets of every page still to fetch after the first page, when the total is
    /// known: these can be fetched concurrently.
    ///
    /// ```
    /// use connector_sdk::page::OffsetPager;
    /// assert_eq!(OffsetPager::new(100).remaining_offsets(100, 350), vec![100, 200, 300]);
    /// ```
    pub fn remaining_offsets(&self, first_returned: u64, total: u64) -> Vec<u64> {
        if first_returned == 0 {
            return Vec::new();
        }
        (first_returned..total)
            .step_by(first_returned as usize)
            .collect()
    }
}

/// SCIM pagination (RFC 7644 §3.4.2.4): 1-based `startIndex`, `count`, and `totalResults`.
///
/// Safe against servers that ignore `startIndex` (the [`PageGuard`] ends the listing on a
/// repeated page), cap `count`, omit `totalResults`, or report one that is too large.
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
            Some(t) if t.starts_with("p:") => {
                let start = self.start_index(Some(&PageToken::new(&t[2..])))?;
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
    /// assert_eq!(parallel, [PageToken::new("p:101"), PageToken::new("p:201")]);
    /// let single = pager.request(Some(&parallel[0])).unwrap();
    /// assert_eq!(single.start_index, 101);
    /// assert_eq!(pager.continue_after(single, 100, Some(250)), (None, vec![]));
    /// // No total: one page at a time.
    /// assert_eq!(pager.continue_after(first, 100, None), (Some(PageToken::new("101")), vec![]));
    /// ```
    pub fn continue_after(
        &self,
        req: ScimRequest,
        returned: usize,
        total_results: Option<u64>,
    ) -> (Option<PageToken>, Vec<PageToken>) {
        if req.single {
            return (None, Vec::new());
        }
        if req.first && total_results.is_some() {
            let parallel = self
                .remaining(req.start_index, returned, total_results)
                .into_iter()
                .map(|t| PageToken::new(format!("p:{}", t.as_str())))
                .collect();
            return (None, parallel);
        }
        (
            self.next(req.start_index, returned, total_results),
            Vec::new(),
        )
    }

    /// After a first page at `start_index` that returned `returned` of `total_results`,
    /// the tokens of every remaining page (stepping by the page length the server used),
    /// to fetch concurrently. Empty when the total is unknown or reached.
    pub fn remaining(
        &self,
        start_index: u64,
        returned: usize,
        total_results: Option<u64>,
    ) -> Vec<PageToken> {
        let (Some(total), true) = (total_results, returned > 0) else {
            return Vec::new();
        };
        let step = returned as u64;
        let mut out = Vec::new();
        let mut s = start_index + step;
        while s <= total {
            out.push(PageToken::new(s.to_string()));
            s += step;
        }
        out
    }
}

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

/// One level of a nested listing in a [`TokenBag`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageState {
    /// What this level lists (e.g. a resource type id, or `"members"`).
    pub resource_type_id: String,
    /// Which resource this level lists under, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// The API's own token for this level; `None` for its first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

/// A serialisable stack of listing states, for a listing that walks several API
/// collections in turn (e.g. a vault's grants: first its users, then its groups).
///
/// ```
/// use connector_sdk::page::{PageState, TokenBag};
///
/// // First call: nothing in the token; plan both sub-listings.
/// let mut bag = TokenBag::from_token(None).unwrap();
/// if bag.is_empty() {
///     bag.push(PageState { resource_type_id: "group".into(), resource_id: None, token: None });
///     bag.push(PageState { resource_type_id: "user".into(), resource_id: None, token: None });
/// }
/// assert_eq!(bag.current().unwrap().resource_type_id, "user");
/// // The users API said its next cursor is "c2".
/// bag.next_token(Some("c2".into()));
/// let token = bag.to_token().unwrap();
///
/// // Next call: resume where we were.
/// let mut bag = TokenBag::from_token(Some(&token)).unwrap();
/// assert_eq!(bag.current().unwrap().token.as_deref(), Some("c2"));
/// bag.next_token(None); // users done: move to groups
/// assert_eq!(bag.current().unwrap().resource_type_id, "group");
/// bag.next_token(None); // groups done
/// assert!(bag.to_token().is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenBag {
    states: Vec<PageState>,
}

impl TokenBag {
    /// The bag a page token holds; an empty bag for `None`.
    pub fn from_token(token: Option<&PageToken>) -> Result<Self> {
        match token {
            None => Ok(TokenBag::default()),
            Some(t) if t.as_str().is_empty() => Ok(TokenBag::default()),
            Some(t) => serde_json::from_str(t.as_str()).map_err(|e| {
                Error::invalid_argument(format!("malformed page token: not a token bag ({e})"))
            }),
        }
    }

    /// Whether no state is left.
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }

    /// Pushes a state; it becomes the current one.
    pub fn push(&mut self, state: PageState) {
        self.states.push(state);
    }

    /// Removes and returns the current state.
    pub fn pop(&mut self) -> Option<PageState> {
        self.states.pop()
    }

    /// The current state.
    pub fn current(&self) -> Option<&PageState> {
        self.states.last()
    }

    /// Records the API's next token for the current state, or pops it when `None`/empty.
    pub fn next_token(&mut self, token: Option<String>) {
        match token.filter(|t| !t.is_empty()) {
            Some(t) => {
                if let Some(cur) = self.states.last_mut() {
                    cur.token = Some(t);
                }
            }
            None => {
                self.states.pop();
            }
        }
    }

    /// The page token holding this bag; `None` when the bag is empty (the listing is done).
    pub fn to_token(&self) -> Option<PageToken> {
        if self.states.is_empty() {
            return None;
        }
        // A Vec of plain structs always serialises.
        serde_json::to_string(self).ok().map(PageToken::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(calls.load(Ordering::SeqCst), 2);
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
        assert_eq!(p.remaining_offsets(0, 100), Vec::<u64>::new());
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
