//! Reading one page of a [`Listing`]: the request its shape asks for, then the items, the
//! total and the next token from the answer.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::parse::{self, malformed};
use super::{Count, Listing, Paging};
use crate::error::{Error, Result};
use crate::http::{HttpClient, Method, RequestBuilder, Response};
use crate::page::{Page, PageRequest, PageToken};

impl Listing {
    /// Reads the page `page` asks for (the first when it has no token), its items
    /// deserialized to `T`, with the token of the next page and the declared total.
    /// (`page.size` is not used: the listing asks for the size it declares.)
    pub async fn page<T: DeserializeOwned + Send>(
        &self,
        client: &HttpClient,
        page: PageRequest,
    ) -> Result<Page<T>> {
        let listing = self.path();
        let token = page.token.filter(|t| !t.as_str().is_empty());
        let segments = self.segments()?;
        let bad_token = |e: Error| e.context(format_args!("listing {listing}"));
        let first_request = || {
            client.get(&segments).query(&self.query).query(
                &self
                    .page_size
                    .iter()
                    .map(|(p, n)| (p, n.to_string()))
                    .collect::<Vec<_>>(),
            )
        };
        // Where this page is, for the paging shapes that count.
        let mut position = 0u64;
        let req: RequestBuilder = match (&self.paging, &token) {
            (Paging::Single, Some(t)) => {
                return Err(Error::invalid_argument(format!(
                    "listing {listing} has a single page; page token {:?} was not made by it",
                    t.as_str()
                )));
            }
            (Paging::Single, None) => first_request(),
            (
                Paging::Offset {
                    offset,
                    limit,
                    pager,
                },
                t,
            ) => {
                position = pager.offset(t.as_ref()).map_err(bad_token)?;
                client.get(&segments).query(&self.query).query(&[
                    (offset.as_str(), position.to_string()),
                    (limit.as_str(), pager.limit.to_string()),
                ])
            }
            (Paging::PageNumber { param, first }, t) => {
                position = match t {
                    None => *first,
                    Some(t) => t.as_str().parse().map_err(|_| {
                        Error::invalid_argument(format!(
                            "listing {listing}: malformed page token {:?}: expected a page number",
                            t.as_str()
                        ))
                    })?,
                };
                first_request().query(&[(param.as_str(), position.to_string())])
            }
            (Paging::CursorInBody { param, .. } | Paging::CursorInHeader { param, .. }, t) => {
                let req = first_request();
                match t {
                    Some(t) => req.query(&[(param.as_str(), t.as_str())]),
                    None => req,
                }
            }
            (Paging::NextUrlInBody { .. } | Paging::Link, Some(t)) => client
                .request_url(Method::GET, t.as_str())
                .map_err(bad_token)?,
            (Paging::NextUrlInBody { .. } | Paging::Link, None) => first_request(),
        };
        let (body, resp): (Value, Response) = req.send_json_with_response().await?;
        let total = match &self.total {
            None => None,
            Some(Count::Body(p)) => parse::count_at(&listing, &body, p)?,
            Some(Count::Header(h)) => parse::count_in_header(&listing, &resp, h)?,
        };
        let total_pages = match &self.total_pages_at {
            Some(p) => parse::count_at(&listing, &body, p)?,
            None => None,
        };
        let linked = self.linked_token(&listing, client, &body, &resp)?;
        let items: Vec<T> = parse::items(&listing, body, &self.items_at)?;
        let next = match &self.paging {
            Paging::Offset { pager, .. } => pager.next(position, items.len(), total),
            Paging::PageNumber { first, .. } => {
                self.next_page_number(*first, position, items.len(), total, total_pages)
            }
            _ => linked,
        };
        Ok(Page::new(items, next).with_total(total))
    }

    /// The next page's token a cursor, next-URL or `Link` listing found in this answer.
    fn linked_token(
        &self,
        listing: &str,
        client: &HttpClient,
        body: &Value,
        resp: &Response,
    ) -> Result<Option<PageToken>> {
        Ok(match &self.paging {
            Paging::CursorInBody { pointer, .. } => {
                parse::text_at(listing, body, pointer, "cursor")?.map(PageToken::new)
            }
            Paging::CursorInHeader { header, .. } => {
                parse::header_text(listing, resp, header)?.map(PageToken::new)
            }
            Paging::NextUrlInBody { pointer } => {
                match parse::text_at(listing, body, pointer, "next-page URL")? {
                    Some(url) => Some(next_url_token(listing, client, resp, &url)?),
                    None => None,
                }
            }
            Paging::Link => match parse::next_link(listing, resp)? {
                Some(url) => Some(next_url_token(listing, client, resp, &url)?),
                None => None,
            },
            _ => None,
        })
    }

    fn next_page_number(
        &self,
        first: u64,
        page: u64,
        returned: usize,
        total: Option<u64>,
        total_pages: Option<u64>,
    ) -> Option<PageToken> {
        let returned = returned as u64;
        if returned == 0 {
            return None;
        }
        if let Some(pages) = total_pages
            && page.saturating_add(1) >= first.saturating_add(pages)
        {
            return None;
        }
        // Every page before this one was full, so at least this many items were read.
        let read = page
            .saturating_sub(first)
            .saturating_add(1)
            .saturating_mul(returned);
        if let Some(total) = total
            && read >= total
        {
            return None;
        }
        if let (None, None, Some((_, size))) = (total, total_pages, &self.page_size)
            && returned < u64::from(*size)
        {
            return None;
        }
        Some(PageToken::new(page.saturating_add(1).to_string()))
    }
}

/// The token of a next-page URL: its path and query, once resolved against the request's
/// URL and checked to be on the client's host (so a token stays valid when a resumed sync
/// reaches the API through another base URL of the same path).
fn next_url_token(
    listing: &str,
    client: &HttpClient,
    resp: &Response,
    target: &str,
) -> Result<PageToken> {
    let url = resp.url().join(target).map_err(|e| {
        malformed(
            listing,
            format!("the next-page URL could not be read ({e})"),
        )
    })?;
    if url.origin() != client.base_url().origin() {
        return Err(Error::internal(format!(
            "listing {listing}: the next page is on {}, not the configured host {}; it is not \
             followed, so credentials go to the configured host only",
            url.origin().ascii_serialization(),
            client.base_url().origin().ascii_serialization()
        )));
    }
    let mut token = url.path().to_string();
    if let Some(q) = url.query() {
        token.push('?');
        token.push_str(q);
    }
    Ok(PageToken::new(token))
}
