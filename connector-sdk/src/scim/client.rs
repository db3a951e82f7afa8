//! A small SCIM 2.0 client over the SDK's [`HttpClient`]: list (with the SDK's
//! [`ScimPager`]), get, create and PATCH of [`ScimResource`]s. The HTTP client already
//! authenticates, paces, retries and maps errors; this layer knows SCIM's statuses:
//! 404 on a read is "absent", 409 on a create is a conflict, and a PATCH answered with
//! **200 and the resource or 204 No Content** is a success either way (RFC 7644 §3.5.2).

use ::http::HeaderName;
use ::http::header::CONTENT_TYPE;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ScimPager;
use super::{ListResponse, Patched, ScimError, ScimResource, filter_eq};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, JSON, Method, RequestBuilder, Response, SCIM_JSON, api_message};
use crate::page::{Page, PageToken};

/// The query of one list request. Parameters left unset are not sent.
///
/// ```
/// use connector_sdk::scim::ListQuery;
/// let q = ListQuery::page(101, 100).excluded_attributes("members");
/// assert_eq!(q.pairs(), [("startIndex", "101".to_string()), ("count", "100".to_string()), ("excludedAttributes", "members".to_string())]);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    start_index: Option<u64>,
    count: Option<u32>,
    filter: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

impl ListQuery {
    /// No parameters: the server's default page.
    pub fn new() -> Self {
        ListQuery::default()
    }

    /// `startIndex` and `count`.
    pub fn page(start_index: u64, count: u32) -> Self {
        ListQuery::new().start_at(start_index, count)
    }

    /// Sets `startIndex` and `count`.
    pub fn start_at(mut self, start_index: u64, count: u32) -> Self {
        self.start_index = Some(start_index);
        self.count = Some(count);
        self
    }

    /// Sets `filter` (build it with [`filter_eq`] so literals are escaped).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = Some(filter.into());
        self
    }

    /// Sets `attributes` (comma-separated).
    pub fn attributes(mut self, attributes: impl Into<String>) -> Self {
        self.attributes = Some(attributes.into());
        self
    }

    /// Sets `excludedAttributes` (comma-separated), e.g. `members` for group listings.
    pub fn excluded_attributes(mut self, attributes: impl Into<String>) -> Self {
        self.excluded_attributes = Some(attributes.into());
        self
    }

    /// The query parameters, in the order they are sent.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(s) = self.start_index {
            out.push(("startIndex", s.to_string()));
        }
        if let Some(c) = self.count {
            out.push(("count", c.to_string()));
        }
        for (k, v) in [
            ("filter", &self.filter),
            ("attributes", &self.attributes),
            ("excludedAttributes", &self.excluded_attributes),
        ] {
            if let Some(v) = v {
                out.push((k, v.clone()));
            }
        }
        out
    }
}

/// What a create (POST) did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created<T> {
    /// 200 or 201 with the new resource.
    New(T),
    /// 409: the resource exists (e.g. the `userName` is taken); the server's detail.
    Conflict(String),
}

/// A SCIM client for one service root (e.g. `…/scim/v2`).
///
/// ```no_run
/// use connector_sdk::http::HttpClient;
/// use connector_sdk::scim::{Patched, PatchOp, ScimClient, User};
/// use serde_json::json;
///
/// # async fn demo() -> connector_sdk::Result<()> {
/// let http = HttpClient::builder("https://api.example.com")?.build()?;
/// let scim = ScimClient::new(http, &["scim", "v2"]);
/// let page = scim.list::<User>(&connector_sdk::scim::ListQuery::page(1, 100)).await?;
/// // 200 with the user or 204: both are success.
/// match scim.patch::<User, _>("2819c223", &PatchOp::replace("active", json!(false))).await? {
///     Patched::Resource(user) => assert!(!user.is_active()),
///     Patched::NoContent => {}
/// }
/// // When the caller needs the resource, a 204 is followed by a GET.
/// let user: User = scim.patch_and_read("2819c223", &PatchOp::replace("active", json!(true))).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ScimClient {
    http: HttpClient,
    root: Vec<String>,
    content_type: &'static str,
    headers: Vec<(HeaderName, String)>,
    query: Vec<(String, String)>,
}

/// Header and query parameter names only: their values may be keys.
impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.http.base_url().as_str())
            .field("root", &self.root)
            .field("content_type", &self.content_type)
            .field(
                "headers",
                &self
                    .headers
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>(),
            )
            .field(
                "query",
                &self
                    .query
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl ScimClient {
    /// A client for the SCIM root at `root` (path segments under the HTTP client's base
    /// URL), sending bodies as `application/scim+json`.
    pub fn new(http: HttpClient, root: &[&str]) -> Self {
        ScimClient {
            http,
            root: root.iter().map(|s| s.to_string()).collect(),
            content_type: SCIM_JSON,
            headers: Vec::new(),
            query: Vec::new(),
        }
    }

    /// Adds `name: value` to every SCIM request (not to token requests), after the
    /// client's own `Accept` and `Content-Type`, so it may replace them; credentials come
    /// from the auth provider, which sets `Authorization` last. A name or value HTTP
    /// cannot carry is an error naming the header.
    pub fn with_header(mut self, name: &str, value: &str) -> Result<Self> {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            Error::invalid_argument(format!("{name:?} is not a valid HTTP header name"))
        })?;
        if ::http::HeaderValue::from_str(value).is_err() {
            return Err(Error::invalid_argument(format!(
                "the value of header {name} holds characters HTTP cannot carry"
            )));
        }
        self.headers.retain(|(n, _)| *n != header);
        self.headers.push((header, value.to_string()));
        Ok(self)
    }

    /// Adds the query parameter `name=value` to every SCIM request, listings included
    /// (next to `startIndex`, `count` and `filter`).
    pub fn with_query_param(mut self, name: &str, value: &str) -> Self {
        self.query.retain(|(n, _)| n != name);
        self.query.push((name.to_string(), value.to_string()));
        self
    }

    /// A request to `segments` under the root with the default headers and query.
    fn request(&self, method: Method, endpoint: &str, id: Option<&str>) -> RequestBuilder {
        let mut req = self
            .http
            .request(method, &self.segments(endpoint, id))
            .query(&self.query);
        for (name, value) in &self.headers {
            req = req.header(name.clone(), value);
        }
        req
    }

    /// Sends bodies as plain `application/json`, for services that document it.
    pub fn with_plain_json(mut self) -> Self {
        self.content_type = JSON;
        self
    }

    /// The underlying HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn segments<'a>(&'a self, endpoint: &'a str, id: Option<&'a str>) -> Vec<&'a str> {
        let mut p: Vec<&str> = self.root.iter().map(String::as_str).collect();
        p.push(endpoint);
        p.extend(id);
        p
    }

    fn encode<B: Serialize + ?Sized>(&self, body: &B) -> Result<Vec<u8>> {
        serde_json::to_vec(body)
            .map_err(|e| Error::internal(format!("could not encode the SCIM request body: {e}")))
    }

    /// Sends `bytes` as a body of the client's content type.
    fn with_body(&self, req: RequestBuilder, bytes: Vec<u8>) -> RequestBuilder {
        let req = req.raw_json(bytes);
        let req = if self.content_type == JSON {
            req
        } else {
            req.header(CONTENT_TYPE, self.content_type)
        };
        // A configured Content-Type replaces the client's.
        match self.headers.iter().find(|(n, _)| *n == CONTENT_TYPE) {
            Some((n, v)) => req.header(n.clone(), v),
            None => req,
        }
    }

    /// One list request.
    ///
    /// A page that says it starts elsewhere than asked (`startIndex` in the answer differs
    /// from the one sent: a cache keyed on the path, an off-by-one) is treated like a bad
    /// answer and asked for again, so it can never stand in for the page asked for.
    pub async fn list<T: ScimResource>(&self, query: &ListQuery) -> Result<ListResponse<T>> {
        let asked = query.start_index;
        let listing = format!("/{}", self.segments(T::ENDPOINT, None).join("/"));
        self.request(Method::GET, T::ENDPOINT, None)
            .query(&query.pairs())
            .send_json_validated(move |page: &ListResponse<T>| match (asked, page.start_index) {
                (Some(asked), Some(got)) if got != asked && !page.resources.is_empty() => {
                    Err(Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "{listing}: the SCIM server answered a request for startIndex {asked} with the \
                             page at startIndex {got}: a cache or proxy in front of it may be repeating pages"
                        ),
                    ))
                }
                _ => Ok(()),
            })
            .await
    }

    /// The page of a listing at `token`: the one SCIM paging path. The first page reads
    /// `startIndex` 1; when it carries `totalResults`, every remaining page is handed out
    /// at once ([`Page::parallel`](crate::page::Page::parallel)), to be read concurrently
    /// by the sync; without a total, pages follow one another (see [`ScimPager`]'s rules).
    /// `query` gives any other parameters (its own start and count are replaced).
    pub async fn page<T: ScimResource>(
        &self,
        pager: &ScimPager,
        token: Option<&PageToken>,
        query: ListQuery,
    ) -> Result<Page<T>> {
        let req = pager.request(token)?;
        let resp = self
            .list::<T>(&query.start_at(req.start_index, pager.count))
            .await?;
        Ok(pager.page(req, resp.resources, resp.total_results))
    }

    /// The resources whose `attribute` equals `value` (an escaped `eq` filter).
    pub async fn find_eq<T: ScimResource>(&self, attribute: &str, value: &str) -> Result<Vec<T>> {
        let query = ListQuery::new().filter(filter_eq(attribute, value));
        Ok(self.list::<T>(&query).await?.resources)
    }

    /// One resource by id; `None` on 404.
    pub async fn get<T: ScimResource>(&self, id: &str) -> Result<Option<T>> {
        self.get_in(T::ENDPOINT, id).await
    }

    /// One resource of `endpoint` (e.g. `"Users"`) by id as raw JSON, for connectors that
    /// map attributes by path; `None` on 404.
    pub async fn get_raw(&self, endpoint: &str, id: &str) -> Result<Option<Value>> {
        self.get_in(endpoint, id).await
    }

    async fn get_in<T: DeserializeOwned + Send>(
        &self,
        endpoint: &str,
        id: &str,
    ) -> Result<Option<T>> {
        match self
            .request(Method::GET, endpoint, Some(id))
            .send_json()
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One list request to `endpoint` answered as raw JSON (the whole ListResponse), for
    /// connectors that read `Resources` and the paging fields by path.
    pub async fn list_raw(&self, endpoint: &str, query: &ListQuery) -> Result<Value> {
        self.request(Method::GET, endpoint, None)
            .query(&query.pairs())
            .send_json()
            .await
    }

    /// Creates a resource (POST to the endpoint): 200/201 with it, or a 409 conflict.
    pub async fn create<T: ScimResource, B: Serialize + ?Sized>(
        &self,
        body: &B,
    ) -> Result<Created<T>> {
        self.create_in(T::ENDPOINT, body).await
    }

    /// Creates a resource of `endpoint` from a raw body; the answer as raw JSON.
    pub async fn create_raw<B: Serialize + ?Sized>(
        &self,
        endpoint: &str,
        body: &B,
    ) -> Result<Created<Value>> {
        self.create_in(endpoint, body).await
    }

    async fn create_in<T: DeserializeOwned, B: Serialize + ?Sized>(
        &self,
        endpoint: &str,
        body: &B,
    ) -> Result<Created<T>> {
        let bytes = self.encode(body)?;
        let req = self.request(Method::POST, endpoint, None);
        let resp = self.with_body(req, bytes).send_raw().await?;
        match resp.status() {
            200 | 201 => resp.json().map(Created::New).map_err(|e| {
                // Created, but the answer is unreadable: never report it as not done.
                crate::http::may_have_applied(e, "the server answered that it created it")
            }),
            409 => Ok(Created::Conflict(
                api_message(resp.body())
                    .unwrap_or_else(|| format!("the {endpoint} resource exists")),
            )),
            _ => Err(resp.to_error()),
        }
    }

    /// Deletes resource `id` of `endpoint` (`DELETE /Users/{id}`): `true` when the server
    /// deleted it (200 or 204), `false` when it answered that there is no such resource
    /// (a 404 the client maps to [`ErrorKind::NotFound`](crate::ErrorKind::NotFound); a
    /// proxy's HTML 404 is an error, see
    /// [`error_from_response`](crate::http::error_from_response)).
    pub async fn delete(&self, endpoint: &str, id: &str) -> Result<bool> {
        let resp = self
            .request(Method::DELETE, endpoint, Some(id))
            .send_raw()
            .await?;
        if resp.is_success() {
            return Ok(true);
        }
        match resp.to_error() {
            e if e.kind() == crate::ErrorKind::NotFound => Ok(false),
            e => Err(e),
        }
    }

    async fn send_patch(&self, endpoint: &str, id: &str, bytes: Vec<u8>) -> Result<Response> {
        // SCIM PATCH operations are idempotent (RFC 7644 §3.5.2: adding a value that is
        // present or removing one that is absent changes nothing), so a PATCH is retried
        // after a gateway failure like a GET.
        let req = self
            .request(Method::PATCH, endpoint, Some(id))
            .idempotent(true);
        self.with_body(req, bytes).send_raw().await
    }

    /// PATCHes resource `id` of `endpoint` with `body`, as
    /// [`patch_or_retry`](Self::patch_or_retry) does, the answer as raw JSON: a 200 with
    /// the resource or a 204 are both success.
    pub async fn patch_raw<B, R>(
        &self,
        endpoint: &str,
        id: &str,
        body: &B,
        retry: impl FnOnce(&ScimError) -> Option<R> + Send,
    ) -> Result<Patched<Value>>
    where
        B: Serialize + ?Sized,
        R: Serialize,
    {
        self.patch_in(endpoint, id, body, retry).await
    }

    /// PATCHes resource `id` with `body` (usually a [`PatchOp`](super::PatchOp)). A 200
    /// with the resource and a 204 are both success; any other status is the mapped error
    /// (its kind tells e.g. `NotFound` from `AlreadyExists`).
    pub async fn patch<T: ScimResource, B: Serialize + ?Sized>(
        &self,
        id: &str,
        body: &B,
    ) -> Result<Patched<T>> {
        self.patch_or_retry::<T, B, ()>(id, body, |_| None).await
    }

    /// PATCHes with `body`; when the server refuses it with a 400, `retry` sees the SCIM
    /// error and may return a second body, sent once (e.g. another path form for a
    /// strict server). Which refusals deserve a retry, and with what, is the caller's
    /// decision.
    ///
    /// ```no_run
    /// # use connector_sdk::scim::{Group, MemberId, PatchOp, ScimClient};
    /// # async fn demo(scim: ScimClient) -> connector_sdk::Result<()> {
    /// let member = MemberId::new("2819c223")?;
    /// scim.patch_or_retry::<Group, _, _>("g1", &PatchOp::remove_member(&member), |refusal| {
    ///     (refusal.is("invalidValue") || refusal.is("invalidPath"))
    ///         .then(|| PatchOp::remove_member_by_filter(&member))
    /// })
    /// .await?;
    /// # Ok(()) }
    /// ```
    pub async fn patch_or_retry<T, B, R>(
        &self,
        id: &str,
        body: &B,
        retry: impl FnOnce(&ScimError) -> Option<R> + Send,
    ) -> Result<Patched<T>>
    where
        T: ScimResource,
        B: Serialize + ?Sized,
        R: Serialize,
    {
        self.patch_in(T::ENDPOINT, id, body, retry).await
    }

    async fn patch_in<T, B, R>(
        &self,
        endpoint: &str,
        id: &str,
        body: &B,
        retry: impl FnOnce(&ScimError) -> Option<R> + Send,
    ) -> Result<Patched<T>>
    where
        T: DeserializeOwned,
        B: Serialize + ?Sized,
        R: Serialize,
    {
        let first = self.encode(body)?;
        let mut resp = self.send_patch(endpoint, id, first).await?;
        if resp.status() == 400 {
            let refusal = ScimError::from_body(resp.body());
            if let Some(second) = retry(&refusal) {
                tracing::debug!(
                    endpoint,
                    id,
                    scim_type = ?refusal.scim_type,
                    "the server refused the PATCH; retrying once with the other form"
                );
                let second = self.encode(&second)?;
                resp = self.send_patch(endpoint, id, second).await?;
            }
        }
        if !resp.is_success() {
            return Err(resp.to_error());
        }
        Ok(patched(&resp))
    }

    /// PATCHes resource `id` and returns it as it is now: from the 200 response, or, after
    /// a 204 (or a body that is not the resource), from a GET.
    pub async fn patch_and_read<T: ScimResource, B: Serialize + ?Sized>(
        &self,
        id: &str,
        body: &B,
    ) -> Result<T> {
        if let Patched::Resource(r) = self.patch::<T, B>(id, body).await?
            && !r.id().is_empty()
        {
            return Ok(r);
        }
        self.get::<T>(id).await?.ok_or_else(|| {
            Error::not_found(format!(
                "PATCH {}/{id} succeeded, but reading it back answered 404",
                T::ENDPOINT
            ))
            .with_http_status(404)
        })
    }
}

/// A successful PATCH response as [`Patched`]: 204 or an empty body is no content; a body
/// that is not the resource is logged and treated as no content, since the change was
/// applied either way.
fn patched<T: DeserializeOwned>(resp: &Response) -> Patched<T> {
    if resp.status() == 204 || resp.body().iter().all(u8::is_ascii_whitespace) {
        return Patched::NoContent;
    }
    match resp.json::<T>() {
        Ok(r) => Patched::Resource(r),
        Err(e) => {
            tracing::debug!(error = %e, status = resp.status(), "the PATCH succeeded with a body that is not the resource");
            Patched::NoContent
        }
    }
}

#[cfg(test)]
mod tests;
