//! Listings declared, not hand-written: the [`Listing`] builder over the SDK's HTTP client.

mod fetch;
mod parse;

use crate::error::{Error, Result};
use crate::page::OffsetPager;
use parse::normalize_pointer;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Paging {
    Single,
    Offset {
        offset: String,
        limit: String,
        pager: OffsetPager,
    },
    PageNumber {
        param: String,
        first: u64,
    },
    CursorInBody {
        pointer: String,
        param: String,
    },
    CursorInHeader {
        header: String,
        param: String,
    },
    NextUrlInBody {
        pointer: String,
    },
    Link,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Count {
    Body(String),
    Header(String),
}

/// A paged `GET` listing, declared rather than hand-written: the REST paging shapes real
/// APIs use, as a few lines over the SDK's [`HttpClient`](crate::http::HttpClient), each
/// call returning one [`Page`](crate::page::Page) whose token carries what the next request
/// needs.
///
/// ```
/// use connector_sdk::http::{HttpClient, Listing};
/// use connector_sdk::page::PageRequest;
/// use serde::Deserialize;
/// use serde_json::json;
/// use wiremock::matchers::{path, query_param, query_param_is_missing};
/// use wiremock::{Mock, MockServer, ResponseTemplate};
///
/// #[derive(Deserialize)]
/// struct User { id: String }
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let server = MockServer::start().await;
/// Mock::given(path("/api/users")).and(query_param_is_missing("cursor"))
///     .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "u1"}], "next_cursor": "c2"})))
///     .mount(&server).await;
/// Mock::given(path("/api/users")).and(query_param("cursor", "c2"))
///     .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [{"id": "u2"}], "next_cursor": null})))
///     .mount(&server).await;
/// let client = HttpClient::builder(&server.uri()).unwrap().build().unwrap();
///
/// let users = Listing::get("/api/users").items_at("/data").cursor_in_body("/next_cursor", "cursor");
/// let first = users.page::<User>(&client, PageRequest::first()).await.unwrap();
/// assert_eq!(first.items[0].id, "u1");
/// let next = first.next.expect("a second page");
/// let second = users.page::<User>(&client, PageRequest::after(next)).await.unwrap();
/// assert_eq!((second.items[0].id.as_str(), second.next), ("u2", None));
/// # });
/// ```
///
/// In a [`ResourceSyncer`](crate::ResourceSyncer), `list` returns
/// `listing.page::<ApiUser>(&self.http, page).await?.map(to_resource)`: the SDK's
/// [`ListingDriver`](crate::page::ListingDriver) follows the tokens and its guards catch a token
/// that repeats, pages of only repeated items and endless empty pages.
///
/// | shape | declare | the token holds |
/// |---|---|---|
/// | one page | nothing | (no token) |
/// | `?offset=&limit=` | [`offset`](Listing::offset) | the next offset |
/// | `?page=N` | [`page_number`](Listing::page_number) | the next page number |
/// | a cursor in the body | [`cursor_in_body`](Listing::cursor_in_body) | the cursor |
/// | a cursor in a header | [`cursor_in_header`](Listing::cursor_in_header) | the cursor |
/// | a next-page URL in the body | [`next_url_in_body`](Listing::next_url_in_body) | the URL's path and query |
/// | RFC 8288 `Link: rel="next"` | [`link_header`](Listing::link_header) | the URL's path and query |
///
/// A malformed answer (items that are not an array, a cursor that is not a string, a
/// `Link` header that is not links, a next URL on another host) is an
/// [`ErrorKind::Internal`](crate::ErrorKind::Internal) error naming the listing's path.
///
/// The path is segments separated by `/`; a segment `{name}` is filled by
/// [`bind`](Listing::bind) (a parent's id, for a child listing such as a team's members)
/// and percent-encoded as one segment, whatever it holds. The last paging shape declared
/// wins; without one the listing has a single page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    segments: Vec<Segment>,
    bound: Vec<(String, String)>,
    query: Vec<(String, String)>,
    items_at: String,
    total: Option<Count>,
    total_pages_at: Option<String>,
    page_size: Option<(String, u32)>,
    paging: Paging,
}

impl Listing {
    /// A `GET` listing of `path` under the client's base URL (e.g. `"/api/users"` or
    /// `"/teams/{team}/members"`), whose answer is a top-level JSON array, on one page.
    /// A query in `path` is kept as [`query`](Self::query) parameters.
    ///
    /// ```
    /// use connector_sdk::http::Listing;
    /// let active = Listing::get("/users?state=active&sort=id");
    /// assert_eq!(active, Listing::get("/users").query("state", "active").query("sort", "id"));
    /// assert_eq!(active.path(), "/users");
    /// ```
    pub fn get(path: &str) -> Self {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        let query = url::form_urlencoded::parse(query.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(
                |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(name) if !name.is_empty() => Segment::Param(name.to_string()),
                    _ => Segment::Literal(s.to_string()),
                },
            )
            .collect();
        Listing {
            segments,
            bound: Vec::new(),
            query,
            items_at: String::new(),
            total: None,
            total_pages_at: None,
            page_size: None,
            paging: Paging::Single,
        }
    }

    /// Fills the path segment `{name}` with `value` (e.g. the parent's id of a child
    /// listing). The value is one segment: a `/` in it is percent-encoded.
    ///
    /// ```
    /// use connector_sdk::http::Listing;
    /// let members = Listing::get("/teams/{team}/members").bind("team", "core/ops");
    /// assert_eq!(members.path(), "/teams/core/ops/members");
    /// assert_eq!(members.segments().unwrap(), ["teams", "core/ops", "members"]);
    /// ```
    pub fn bind(mut self, name: &str, value: impl Into<String>) -> Self {
        self.bound.retain(|(n, _)| n != name);
        self.bound.push((name.to_string(), value.into()));
        self
    }

    /// Adds a query parameter sent with the first request (and every request but those
    /// that follow a next-page URL, which carries its own query).
    pub fn query(mut self, name: &str, value: impl Into<String>) -> Self {
        self.query.push((name.to_string(), value.into()));
        self
    }

    /// Where the items are in the answer, as a JSON pointer (`"/data"`, `"/result/users"`;
    /// `""` for a top-level array, the default; a missing leading `/` is added). `null`
    /// there is an empty page; a missing key or anything but an array is an error.
    pub fn items_at(mut self, pointer: &str) -> Self {
        self.items_at = normalize_pointer(pointer);
        self
    }

    /// Where the whole listing's item count is in the answer (a number or a numeric
    /// string), passed on as [`Page::total`](crate::page::Page::total) so the page guards can tell a repeated page
    /// that hides data; offset and page-number listings also stop at it.
    pub fn total_at(mut self, pointer: &str) -> Self {
        self.total = Some(Count::Body(normalize_pointer(pointer)));
        self
    }

    /// Like [`total_at`](Self::total_at), from a response header (e.g. `X-Total-Count`).
    pub fn total_in_header(mut self, header: &str) -> Self {
        self.total = Some(Count::Header(header.to_string()));
        self
    }

    /// Asks for `size` items a page with query parameter `param` (cursor, page-number and
    /// link listings; offset and SCIM listings name their size themselves). A page-number
    /// listing without a total ends at a page shorter than `size`: do not ask for more
    /// than the API gives.
    pub fn page_size(mut self, param: &str, size: u32) -> Self {
        self.page_size = Some((param.to_string(), size.max(1)));
        self
    }

    /// Offset/limit paging: `?<offset_param>=0&<limit_param>=<limit>`, then the offset of
    /// the first item not read. It advances by the items the page *returned* (a server
    /// that caps pages loses nothing) and ends at [`total_at`](Self::total_at) when
    /// declared, else at a short or empty page ([`OffsetPager`]).
    pub fn offset(mut self, offset_param: &str, limit_param: &str, limit: u32) -> Self {
        self.paging = Paging::Offset {
            offset: offset_param.to_string(),
            limit: limit_param.to_string(),
            pager: OffsetPager::new(limit),
        };
        self
    }

    /// Page numbers: `?<param>=<first>`, then the next number. Ends at an empty page, at
    /// the count of pages ([`total_pages_at`](Self::total_pages_at)) or items
    /// ([`total_at`](Self::total_at)) when declared, else at a page shorter than
    /// [`page_size`](Self::page_size) when one is asked for.
    pub fn page_number(mut self, param: &str, first: u64) -> Self {
        self.paging = Paging::PageNumber {
            param: param.to_string(),
            first,
        };
        self
    }

    /// Where a page-number listing's count of pages is in the answer.
    pub fn total_pages_at(mut self, pointer: &str) -> Self {
        self.total_pages_at = Some(normalize_pointer(pointer));
        self
    }

    /// An opaque cursor in the answer at `pointer` (a string; a whole number is taken as
    /// its text), sent back as query parameter `param`. Absent, `null` or `""` ends the
    /// listing.
    pub fn cursor_in_body(mut self, pointer: &str, param: &str) -> Self {
        self.paging = Paging::CursorInBody {
            pointer: normalize_pointer(pointer),
            param: param.to_string(),
        };
        self
    }

    /// An opaque cursor in response header `header`, sent back as query parameter
    /// `param`. An absent or empty header ends the listing.
    pub fn cursor_in_header(mut self, header: &str, param: &str) -> Self {
        self.paging = Paging::CursorInHeader {
            header: header.to_string(),
            param: param.to_string(),
        };
        self
    }

    /// The next page's URL in the answer at `pointer` (e.g. `"/@odata.nextLink"`,
    /// `"/links/next"`), absolute or relative to the request; followed only on the
    /// client's host. Absent, `null` or `""` ends the listing.
    pub fn next_url_in_body(mut self, pointer: &str) -> Self {
        self.paging = Paging::NextUrlInBody {
            pointer: normalize_pointer(pointer),
        };
        self
    }

    /// RFC 8288 `Link` headers: the target of `rel="next"` (absolute or relative to the
    /// request, one of several links or several headers), followed only on the client's
    /// host. No `next` link ends the listing; a header that is not links is an error.
    pub fn link_header(mut self) -> Self {
        self.paging = Paging::Link;
        self
    }

    /// The path with bound segments filled (unbound ones as `{name}`), for messages.
    pub fn path(&self) -> String {
        let mut out = String::new();
        for s in &self.segments {
            out.push('/');
            match s {
                Segment::Literal(l) => out.push_str(l),
                Segment::Param(name) => match self.value_of(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
        if out.is_empty() {
            out.push('/');
        }
        out
    }

    fn value_of(&self, name: &str) -> Option<&str> {
        self.bound
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The path segments to request; an error names a `{segment}` left unbound.
    pub fn segments(&self) -> Result<Vec<&str>> {
        self.segments
            .iter()
            .map(|s| match s {
                Segment::Literal(l) => Ok(l.as_str()),
                Segment::Param(name) => self.value_of(name).ok_or_else(|| {
                    Error::internal(format!(
                        "listing {}: no value for the path segment {{{name}}}; call .bind({name:?}, …) first",
                        self.path()
                    ))
                }),
            })
            .collect()
    }
}
