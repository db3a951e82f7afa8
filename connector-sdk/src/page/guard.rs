//! The guard that watches one listing: duplicate items, repeated tokens, endless empty pages.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use super::{Page, PageToken};
use crate::error::{Error, Result};
use crate::model::{Entitlement, Grant, Resource};

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
/// [`Identified`] (e.g. a connector draining an API collection with [`stream_pages`](super::stream_pages)).
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

/// The context key the guard and the listing driver put on the errors they raise for a
/// broken listing (a repeated token, endless empty pages, repeated pages that leave a gap),
/// so callers can tell them from a failed API call.
pub const PAGING_ERROR: &str = "paging";

/// Watches one listing page by page: de-duplicates items, notices a page of only repeated
/// items, and fails on a repeated token.
///
/// The guard only looks; what to do about a page of repeats (ask again, fail, or end the
/// listing with a warning) is the [listing driver](super::ListingDriver)'s call.
///
/// ```
/// use connector_sdk::page::{Page, PageGuard, PageToken};
///
/// let mut guard = PageGuard::new("users");
/// let first = guard.accept(None, Page::new(vec!["a".to_string(), "b".to_string()], Some(PageToken::new("2")))).unwrap();
/// assert_eq!(first.items.len(), 2);
/// // The server ignored the token and sent the same page again: nothing new, no next.
/// let again = guard.accept(Some(&PageToken::new("2")), Page::new(vec!["a".to_string(), "b".to_string()], Some(PageToken::new("3")))).unwrap();
/// assert!(again.items.is_empty() && again.only_repeats);
/// assert_eq!(again.repeated, ["a", "b"]);
/// assert!(again.next.is_none());
/// assert_eq!(guard.distinct(), 2);
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
#[non_exhaustive]
pub struct GuardedPage<T> {
    /// The items not seen before in this listing.
    pub items: Vec<T>,
    /// The token to fetch next, `None` when the listing is over (or the page held only
    /// repeats).
    pub next: Option<PageToken>,
    /// How many items of the page had been seen before and were dropped.
    pub duplicates: usize,
    /// The ids of the dropped items.
    pub repeated: Vec<String>,
    /// Whether the page had items and every one had been seen before: the server repeated
    /// a page (it ignores the page parameter, or a cache answered).
    pub only_repeats: bool,
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

    /// The listing's name.
    pub fn listing(&self) -> &str {
        &self.listing
    }

    /// Items dropped as duplicates so far.
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }

    /// Distinct items seen so far.
    pub fn distinct(&self) -> u64 {
        self.seen_ids.len() as u64
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
        let mut repeated = Vec::new();
        for item in page.items {
            let id = item.unique_id();
            if self.seen_ids.insert(hash_of(&id)) {
                items.push(item);
            } else {
                repeated.push(id);
            }
        }
        let duplicates = repeated.len();
        self.duplicates += duplicates as u64;
        if total > 0 && items.is_empty() {
            return Ok(GuardedPage {
                items,
                next: None,
                duplicates,
                repeated,
                only_repeats: true,
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
                ))
                .with_context(PAGING_ERROR, "repeated token"));
            }
            if total == 0 {
                self.empty_in_a_row += 1;
                if self.empty_in_a_row >= MAX_EMPTY_PAGES_IN_A_ROW {
                    return Err(Error::internal(format!(
                        "connector bug: listing {} returned {} empty pages in a row, each with a next token",
                        self.listing, self.empty_in_a_row
                    ))
                    .with_context(PAGING_ERROR, "endless empty pages"));
                }
            } else {
                self.empty_in_a_row = 0;
            }
        }
        Ok(GuardedPage {
            items,
            next,
            duplicates,
            repeated,
            only_repeats: false,
        })
    }
}
