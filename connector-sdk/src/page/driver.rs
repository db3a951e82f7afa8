//! The one listing driver: every paged listing of the SDK (the sync engine's, the
//! conformance kit's, [`stream_pages`]) is walked here.

use std::future::Future;
use std::pin::Pin;

use futures::stream::FuturesUnordered;
use futures::{Stream, StreamExt};

use super::guard::{Identified, PAGING_ERROR, PageGuard};
use super::{HandOut, Page, PageRequest, PageToken};
use crate::error::{Error, ErrorKind, Result};

/// How a [`ListingDriver`] walks a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverOptions {
    /// Pages of the listing fetched at once (at least 1). Only pages the connector handed
    /// out ([`Page::parallel`]) run side by side; the `next` chain is one page at a time.
    pub window: usize,
    /// How many times a page of only already-read items is asked for again before the
    /// listing fails (a declared [total](Page::total) is not reached) or ends with a
    /// warning (no total).
    pub refetch_repeated: u32,
}

impl Default for DriverOptions {
    fn default() -> Self {
        DriverOptions {
            window: 1,
            refetch_repeated: 2,
        }
    }
}

impl DriverOptions {
    /// Options fetching up to `window` handed-out pages at once.
    ///
    /// ```
    /// use connector_sdk::page::DriverOptions;
    /// assert_eq!(DriverOptions::with_window(0).window, 1);
    /// ```
    pub fn with_window(window: usize) -> Self {
        DriverOptions {
            window: window.max(1),
            ..DriverOptions::default()
        }
    }
}

/// One page as the driver hands it on: the new items, what was dropped, and what the
/// caller should record.
#[derive(Debug)]
#[non_exhaustive]
pub struct DrivenPage<T> {
    /// The items not read before in this listing.
    pub items: Vec<T>,
    /// Ids of items of this page that had been read before and were dropped.
    pub repeated: Vec<String>,
    /// Something the sync should keep as a warning (e.g. a listing ended on a repeated
    /// page without a declared total, so items after it may be missing).
    pub warning: Option<String>,
    /// Whether no handed-out page is pending or in flight: a resume may then restart the
    /// listing at [`resume_at`](Self::resume_at) without losing a page.
    pub settled: bool,
    /// The token of the next page of the `next` chain (`None`: the first page if nothing
    /// was read, else the chain is over).
    pub resume_at: Option<PageToken>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chain {
    /// The listing's `next` chain.
    Next,
    /// A page handed out by another page, and the pages its own `next` leads to.
    HandedOut,
}

struct Fetched<T> {
    chain: Chain,
    token: Option<PageToken>,
    attempt: u32,
    result: Result<Page<T>>,
}

type InFlight<'a, T> = Pin<Box<dyn Future<Output = Fetched<T>> + Send + 'a>>;

/// Walks one paged listing: follows `next` tokens, fetches handed-out pages a bounded
/// window at a time (taking their tokens lazily), runs every page through a
/// [`PageGuard`], asks again for a repeated page while a declared total is not reached,
/// and never ends a listing quietly when data may be missing.
///
/// ```
/// use connector_sdk::page::{DriverOptions, ListingDriver, Page, PageRequest, PageToken};
///
/// # futures::executor::block_on(async {
/// // A first page that says there are 5 items and hands out the other two pages.
/// let fetch = |req: PageRequest| async move {
///     Ok(match req.token.as_ref().map(PageToken::as_str) {
///         None => Page::last(vec!["a".to_string(), "b".to_string()])
///             .with_parallel(vec![PageToken::new("2"), PageToken::new("4")])
///             .with_total(Some(5)),
///         Some("2") => Page::last(vec!["c".to_string(), "d".to_string()]),
///         _ => Page::last(vec!["e".to_string()]),
///     })
/// };
/// let mut driver = ListingDriver::new("letters", fetch, DriverOptions::with_window(4));
/// let mut all = Vec::new();
/// while let Some(page) = driver.next_page().await {
///     all.extend(page.unwrap().items);
/// }
/// all.sort();
/// assert_eq!(all, ["a", "b", "c", "d", "e"]);
/// # });
/// ```
pub struct ListingDriver<'a, T, F> {
    fetch: F,
    guard: PageGuard,
    options: DriverOptions,
    /// The `next` chain's page to fetch: `Some(None)` is the first page.
    next_pending: Option<Option<PageToken>>,
    /// Where the `next` chain stands (the token to resume at).
    next_token: Option<PageToken>,
    next_in_flight: bool,
    /// `next` tokens of handed-out chains.
    chain_pending: Vec<PageToken>,
    hand_out: HandOut,
    /// Set when a handed-out page brought nothing new: no more are taken.
    exhausted: bool,
    handed_in_flight: usize,
    in_flight: FuturesUnordered<InFlight<'a, T>>,
    declared_total: Option<u64>,
    over: bool,
}

impl<'a, T, F, Fut> ListingDriver<'a, T, F>
where
    T: Identified + Send + 'a,
    F: FnMut(PageRequest) -> Fut + Send,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    /// A driver for the listing named `listing` (used in messages, e.g.
    /// `"grants of group:g1"`), calling `fetch` for each page.
    pub fn new(listing: impl Into<String>, fetch: F, options: DriverOptions) -> Self {
        Self::resuming(listing, fetch, options, None)
    }

    /// A driver that starts at `token` instead of the first page (a resumed listing).
    pub fn resuming(
        listing: impl Into<String>,
        fetch: F,
        options: DriverOptions,
        token: Option<PageToken>,
    ) -> Self {
        ListingDriver {
            fetch,
            guard: PageGuard::new(listing),
            options: DriverOptions {
                window: options.window.max(1),
                ..options
            },
            next_token: token.clone(),
            next_pending: Some(token),
            next_in_flight: false,
            chain_pending: Vec::new(),
            hand_out: HandOut::default(),
            exhausted: false,
            handed_in_flight: 0,
            in_flight: FuturesUnordered::new(),
            declared_total: None,
            over: false,
        }
    }

    /// Items read so far (each id once).
    pub fn distinct(&self) -> u64 {
        self.guard.distinct()
    }

    fn start(&mut self, chain: Chain, token: Option<PageToken>, attempt: u32) {
        let request = PageRequest {
            token: token.clone(),
        };
        let fut = (self.fetch)(request);
        match chain {
            Chain::Next => self.next_in_flight = true,
            Chain::HandedOut => self.handed_in_flight += 1,
        }
        self.in_flight.push(Box::pin(async move {
            Fetched {
                chain,
                token,
                attempt,
                result: fut.await,
            }
        }));
    }

    fn fill(&mut self) {
        while self.in_flight.len() < self.options.window {
            if let Some(token) = self.next_pending.take() {
                self.start(Chain::Next, token, 0);
            } else if let Some(token) = self.chain_pending.pop() {
                self.start(Chain::HandedOut, Some(token), 0);
            } else if let Some(token) = (!self.exhausted).then(|| self.hand_out.next()).flatten() {
                self.start(Chain::HandedOut, Some(token), 0);
            } else {
                break;
            }
        }
    }

    fn settled(&self) -> bool {
        self.handed_in_flight == 0
            && self.chain_pending.is_empty()
            && (self.exhausted || self.hand_out.is_empty())
    }

    /// The next page, `None` once the listing is over (or failed: the error is the last
    /// item). Dropping the driver cancels the pages in flight.
    pub async fn next_page(&mut self) -> Option<Result<DrivenPage<T>>> {
        if self.over {
            return None;
        }
        loop {
            self.fill();
            let Some(fetched) = self.in_flight.next().await else {
                self.over = true;
                return self.end_warning().map(|warning| {
                    Ok(DrivenPage {
                        items: Vec::new(),
                        repeated: Vec::new(),
                        warning: Some(warning),
                        settled: true,
                        resume_at: None,
                    })
                });
            };
            match fetched.chain {
                Chain::Next => self.next_in_flight = false,
                Chain::HandedOut => self.handed_in_flight -= 1,
            }
            match self.accept(fetched) {
                Ok(Some(page)) => return Some(Ok(page)),
                Ok(None) => continue,
                Err(e) => {
                    self.over = true;
                    self.in_flight.clear();
                    return Some(Err(e));
                }
            }
        }
    }

    fn accept(&mut self, fetched: Fetched<T>) -> Result<Option<DrivenPage<T>>> {
        let Fetched {
            chain,
            token,
            attempt,
            result,
        } = fetched;
        let mut page = result?;
        let handed = std::mem::take(&mut page.parallel);
        if !self.exhausted {
            self.hand_out.extend(handed);
        }
        if let Some(total) = page.total {
            self.declared_total = Some(self.declared_total.map_or(total, |t| t.max(total)));
        }
        let had_items = !page.items.is_empty();
        tracing::debug!(
            listing = %self.guard.listing(),
            items = page.items.len(),
            more = page.next.is_some(),
            "page read"
        );
        let guarded = self.guard.accept(token.as_ref(), page)?;
        let mut warning = None;
        if guarded.only_repeats {
            // Ask again first: a cache or a moving index may answer right the next time.
            if attempt < self.options.refetch_repeated {
                tracing::debug!(
                    listing = %self.guard.listing(),
                    token = ?token.as_ref().map(PageToken::as_str),
                    attempt = attempt + 1,
                    "page held only items already read; asking again"
                );
                self.start(chain, token, attempt + 1);
                return Ok(None);
            }
            match self.declared_total {
                Some(total) if self.guard.distinct() < total => {
                    return Err(self.gap_error(token.as_ref(), &guarded.repeated, total, attempt));
                }
                Some(_) => {}
                None => {
                    warning = Some(format!(
                        "listing {} ended at a page ({}) that held only items already read ({}), \
                         {} time(s) in a row: the API probably ignores the page parameter, so items \
                         after it may be missing from this sync",
                        self.guard.listing(),
                        describe_token(token.as_ref()),
                        sample(&guarded.repeated),
                        attempt + 1,
                    ));
                }
            }
            if chain == Chain::HandedOut {
                self.exhausted = true;
            }
        } else {
            if chain == Chain::HandedOut && !had_items {
                self.exhausted = true;
            }
            match chain {
                Chain::Next => {
                    self.next_token = guarded.next.clone();
                    self.next_pending = guarded.next.map(Some);
                }
                Chain::HandedOut => self.chain_pending.extend(guarded.next),
            }
        }
        if guarded.only_repeats && chain == Chain::Next {
            self.next_token = None;
        }
        if let Some(w) = &warning {
            tracing::warn!("{w}");
        }
        Ok(Some(DrivenPage {
            items: guarded.items,
            repeated: guarded.repeated,
            warning,
            settled: self.settled(),
            resume_at: self.next_token.clone(),
        }))
    }

    fn gap_error(
        &self,
        token: Option<&PageToken>,
        repeated: &[String],
        total: u64,
        attempt: u32,
    ) -> Error {
        let read = self.guard.distinct();
        Error::new(
            ErrorKind::Unavailable,
            format!(
                "listing {}: the page at {} held only items already read ({}), {} time(s) in a row, \
                 while the API declared {total} items and {read} have been read ({} missing). The API, \
                 or a proxy or cache in front of it, is repeating pages; the listing stops here rather \
                 than finish without them. Run the sync again; if it persists, report it to the API's vendor",
                self.guard.listing(),
                describe_token(token),
                sample(repeated),
                attempt + 1,
                total - read,
            ),
        )
        .with_context(PAGING_ERROR, "repeated page")
    }

    /// A warning when the listing ended short of the total it declared.
    fn end_warning(&self) -> Option<String> {
        let total = self.declared_total?;
        let read = self.guard.distinct();
        (read < total).then(|| {
            format!(
                "listing {} ended after {read} items although the API declared {total}: either \
                 the total was wrong or {} items are missing from this sync",
                self.guard.listing(),
                total - read
            )
        })
    }

    /// The listing as a stream of pages (ends after an error).
    pub fn into_stream(self) -> impl Stream<Item = Result<DrivenPage<T>>> + Send + 'a
    where
        F: 'a,
    {
        futures::stream::unfold(self, |mut d| async move {
            let page = d.next_page().await?;
            Some((page, d))
        })
    }
}

fn describe_token(token: Option<&PageToken>) -> String {
    match token {
        None => "the first page".to_string(),
        Some(t) => format!("token {:?}", t.as_str()),
    }
}

fn sample(ids: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut s = ids
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if ids.len() > SHOWN {
        s.push_str(&format!(" and {} more", ids.len() - SHOWN));
    }
    s
}

/// Drains a paged call as a stream of items, through a [`ListingDriver`] (one page at a
/// time; handed-out pages after the `next` chain).
///
/// `fetch` is called with the first [`PageRequest`], then with each next token, until a
/// page has no next token. Items repeated across pages are yielded once; a repeated page
/// is asked for again while a declared total is not reached and then fails the stream.
///
/// ```
/// use connector_sdk::page::{stream_pages, Page, PageRequest, PageToken};
/// use futures::TryStreamExt;
///
/// # futures::executor::block_on(async {
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
/// ```
pub fn stream_pages<'a, T, F, Fut>(
    listing: impl Into<String>,
    fetch: F,
) -> impl Stream<Item = Result<T>> + Send + 'a
where
    T: Identified + Send + 'a,
    F: FnMut(PageRequest) -> Fut + Send + 'a,
    Fut: Future<Output = Result<Page<T>>> + Send + 'a,
{
    ListingDriver::new(listing, fetch, DriverOptions::default())
        .into_stream()
        .map(|page| match page {
            Ok(p) => futures::stream::iter(p.items.into_iter().map(Ok)).left_stream(),
            Err(e) => futures::stream::once(async move { Err(e) }).right_stream(),
        })
        .flatten()
}
