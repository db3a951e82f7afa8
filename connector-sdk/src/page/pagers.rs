//! Ready pagers for the shapes real APIs use: offset/limit, opaque cursors, RFC 8288 links
//! (SCIM's `startIndex` is [`scim::ScimPager`](crate::scim::ScimPager)).

use super::{HandOut, PageToken};
use crate::error::{Error, Result};

pub(crate) fn parse_number_token(
    token: Option<&PageToken>,
    what: &str,
    default: u64,
) -> Result<u64> {
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
