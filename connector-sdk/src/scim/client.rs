//! A small SCIM 2.0 client over the SDK's [`HttpClient`]: list (with the SDK's
//! [`ScimPager`]), get, create and PATCH of [`ScimResource`]s. The HTTP client already
//! authenticates, paces, retries and maps errors; this layer knows SCIM's statuses:
//! 404 on a read is "absent", 409 on a create is a conflict, and a PATCH answered with
//! **200 and the resource or 204 No Content** is a success either way (RFC 7644 §3.5.2).

use ::http::header::CONTENT_TYPE;
use serde::Serialize;

use super::{ListResponse, Patched, ScimError, ScimResource, filter_eq};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, JSON, Response, SCIM_JSON, api_message};
use crate::page::{Page, PageToken, ScimPager};

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
#[derive(Debug, Clone)]
pub struct ScimClient {
    http: HttpClient,
    root: Vec<String>,
    content_type: &'static str,
}

impl ScimClient {
    /// A client for the SCIM root at `root` (path segments under the HTTP client's base
    /// URL), sending bodies as `application/scim+json`.
    pub fn new(http: HttpClient, root: &[&str]) -> Self {
        ScimClient {
            http,
            root: root.iter().map(|s| s.to_string()).collect(),
            content_type: SCIM_JSON,
        }
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
    fn with_body(
        &self,
        req: crate::http::RequestBuilder,
        bytes: Vec<u8>,
    ) -> crate::http::RequestBuilder {
        let req = req.raw_json(bytes);
        if self.content_type == JSON {
            req
        } else {
            req.header(CONTENT_TYPE, self.content_type)
        }
    }

    /// One list request.
    ///
    /// A page that says it starts elsewhere than asked (`startIndex` in the answer differs
    /// from the one sent: a cache keyed on the path, an off-by-one) is treated like a bad
    /// answer and asked for again, so it can never stand in for the page asked for.
    pub async fn list<T: ScimResource>(&self, query: &ListQuery) -> Result<ListResponse<T>> {
        let asked = query.start_index;
        self.http
            .get(&self.segments(T::ENDPOINT, None))
            .query(&query.pairs())
            .send_json_validated(move |page: &ListResponse<T>| match (asked, page.start_index) {
                (Some(asked), Some(got)) if got != asked && !page.resources.is_empty() => {
                    Err(Error::new(
                        ErrorKind::Unavailable,
                        format!(
                            "the SCIM server answered a request for startIndex {asked} with the page at \
                             startIndex {got}: a cache or proxy in front of it may be repeating pages"
                        ),
                    ))
                }
                _ => Ok(()),
            })
            .await
    }

    /// The page of a sequential listing at `token`: `startIndex` from `pager`, the next
    /// token from what the server returned (see [`ScimPager::next`]). `query` gives any
    /// other parameters (its own start and count are replaced).
    pub async fn page<T: ScimResource>(
        &self,
        pager: &ScimPager,
        token: Option<&PageToken>,
        query: ListQuery,
    ) -> Result<Page<T>> {
        let start = pager.start_index(token)?;
        let resp = self.list::<T>(&query.start_at(start, pager.count)).await?;
        let next = pager.next(start, resp.resources.len(), resp.total_results);
        Ok(Page::new(resp.resources, next).with_total(resp.total_results))
    }

    /// The resources whose `attribute` equals `value` (an escaped `eq` filter).
    pub async fn find_eq<T: ScimResource>(&self, attribute: &str, value: &str) -> Result<Vec<T>> {
        let query = ListQuery::new().filter(filter_eq(attribute, value));
        Ok(self.list::<T>(&query).await?.resources)
    }

    /// One resource by id; `None` on 404.
    pub async fn get<T: ScimResource>(&self, id: &str) -> Result<Option<T>> {
        match self
            .http
            .get(&self.segments(T::ENDPOINT, Some(id)))
            .send_json()
            .await
        {
            Ok(r) => Ok(Some(r)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a resource (POST to the endpoint): 200/201 with it, or a 409 conflict.
    pub async fn create<T: ScimResource, B: Serialize + ?Sized>(
        &self,
        body: &B,
    ) -> Result<Created<T>> {
        let bytes = self.encode(body)?;
        let req = self.http.post(&self.segments(T::ENDPOINT, None));
        let resp = self.with_body(req, bytes).send_raw().await?;
        match resp.status() {
            200 | 201 => resp.json().map(Created::New).map_err(|e| {
                // Created, but the answer is unreadable: never report it as not done.
                crate::http::may_have_applied(e, "the server answered that it created it")
            }),
            409 => Ok(Created::Conflict(api_message(resp.body()).unwrap_or_else(
                || format!("the {} resource exists", T::ENDPOINT),
            ))),
            _ => Err(resp.to_error()),
        }
    }

    async fn send_patch(&self, endpoint: &str, id: &str, bytes: Vec<u8>) -> Result<Response> {
        // SCIM PATCH operations are idempotent (RFC 7644 §3.5.2: adding a value that is
        // present or removing one that is absent changes nothing), so a PATCH is retried
        // after a gateway failure like a GET.
        let req = self
            .http
            .patch(&self.segments(endpoint, Some(id)))
            .idempotent(true);
        self.with_body(req, bytes).send_raw().await
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
        let first = self.encode(body)?;
        let mut resp = self.send_patch(T::ENDPOINT, id, first).await?;
        if resp.status() == 400 {
            let refusal = ScimError::from_body(resp.body());
            if let Some(second) = retry(&refusal) {
                tracing::debug!(
                    endpoint = T::ENDPOINT,
                    id,
                    scim_type = ?refusal.scim_type,
                    "the server refused the PATCH; retrying once with the other form"
                );
                let second = self.encode(&second)?;
                resp = self.send_patch(T::ENDPOINT, id, second).await?;
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
fn patched<T: ScimResource>(resp: &Response) -> Patched<T> {
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
mod tests {
    use super::*;
    use crate::http::RetryPolicy;
    use crate::scim::{Group, MemberId, PatchOp, User};
    use serde_json::json;
    use wiremock::matchers::{body_string, header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    async fn client(server: &MockServer) -> ScimClient {
        let http = HttpClient::builder(&server.uri())
            .unwrap()
            .retry(RetryPolicy::none())
            .build()
            .unwrap();
        ScimClient::new(http, &["scim", "v2"])
    }

    fn user(id: &str, active: bool) -> serde_json::Value {
        json!({"id": id, "userName": format!("{id}@x.com"), "active": active})
    }

    #[tokio::test]
    async fn a_patch_answered_200_returns_the_resource_without_a_get() {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Users/u1"))
            .and(header("content-type", "application/scim+json"))
            .respond_with(ResponseTemplate::new(200).set_body_json(user("u1", false)))
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(500))
            .expect(0)
            .mount(&server)
            .await;
        let c = client(&server).await;
        let body = PatchOp::replace("active", json!(false));
        let out = c.patch::<User, _>("u1", &body).await.unwrap();
        assert!(!out.resource().unwrap().is_active());
        let read: User = c.patch_and_read("u1", &body).await.unwrap();
        assert!(!read.is_active());
    }

    #[tokio::test]
    async fn a_patch_answered_204_is_success_and_re_read_only_on_request() {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Users/u1"))
            .respond_with(ResponseTemplate::new(204))
            .expect(2)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/scim/v2/Users/u1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(user("u1", false)))
            .expect(1)
            .mount(&server)
            .await;
        let c = client(&server).await;
        let body = PatchOp::replace("active", json!(false));
        assert_eq!(
            c.patch::<User, _>("u1", &body).await.unwrap(),
            Patched::NoContent
        );
        let read: User = c.patch_and_read("u1", &body).await.unwrap();
        assert_eq!(read.id, "u1");
        assert!(!read.is_active());
    }

    #[tokio::test]
    async fn a_200_with_an_empty_or_foreign_body_is_no_content_not_an_error() {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Groups/empty"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Groups/text"))
            .respond_with(ResponseTemplate::new(200).set_body_string("OK"))
            .mount(&server)
            .await;
        let c = client(&server).await;
        let m = MemberId::new("u1").unwrap();
        for id in ["empty", "text"] {
            assert_eq!(
                c.patch::<Group, _>(id, &PatchOp::add_member(&m))
                    .await
                    .unwrap(),
                Patched::NoContent,
                "{id}"
            );
        }
        // The caller who wants the resource gets a GET; a 404 there names what happened.
        let err = c
            .patch_and_read::<Group, _>("empty", &PatchOp::add_member(&m))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound);
        assert!(err.to_string().contains("reading it back"), "{err}");
    }

    #[tokio::test]
    async fn a_refused_patch_is_retried_once_only_when_the_caller_says_so() {
        let server = MockServer::start().await;
        let value_form = r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"remove","path":"members","value":[{"value":"u1"}]}]}"#;
        Mock::given(method("PATCH"))
            .and(body_string(value_form))
            .respond_with(ResponseTemplate::new(400).set_body_json(
                json!({"status": "400", "scimType": "invalidValue", "detail": "no value on remove"}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(wiremock::matchers::body_string_contains(
                r#"members[value eq \"u1\"]"#,
            ))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let c = client(&server).await;
        let m = MemberId::new("u1").unwrap();
        let mut seen = None;
        let out = c
            .patch_or_retry::<Group, _, _>("g1", &PatchOp::remove_member(&m), |refusal| {
                seen = Some(refusal.clone());
                refusal
                    .is("invalidValue")
                    .then(|| PatchOp::remove_member_by_filter(&m))
            })
            .await
            .unwrap();
        assert_eq!(out, Patched::NoContent);
        let seen = seen.unwrap();
        assert_eq!(seen.detail.as_deref(), Some("no value on remove"));
        // Declined: the 400 is the error, with the server's detail.
        let err = c
            .patch_or_retry::<Group, _, PatchOp>("g1", &PatchOp::remove_member(&m), |_| None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidArgument);
        assert!(err.to_string().contains("no value on remove"), "{err}");
    }

    #[tokio::test]
    async fn patch_errors_keep_their_kind() {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Groups/gone"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({"status": "404"})))
            .mount(&server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/scim/v2/Groups/dup"))
            .respond_with(ResponseTemplate::new(409).set_body_json(json!({"status": "409"})))
            .mount(&server)
            .await;
        let c = client(&server).await;
        let m = MemberId::new("u1").unwrap();
        let kind = |id: &'static str| {
            let c = c.clone();
            let m = m.clone();
            async move {
                c.patch::<Group, _>(id, &PatchOp::add_member(&m))
                    .await
                    .unwrap_err()
                    .kind()
            }
        };
        assert_eq!(kind("gone").await, ErrorKind::NotFound);
        assert_eq!(kind("dup").await, ErrorKind::AlreadyExists);
    }

    #[tokio::test]
    async fn list_get_find_and_create() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/scim/v2/Groups"))
            .and(query_param("startIndex", "3"))
            .and(query_param("count", "2"))
            .and(query_param("excludedAttributes", "members"))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                json!({"totalResults": 4, "Resources": [{"id": "g3"}, {"id": "g4"}]}),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/scim/v2/Users"))
            .and(query_param("filter", r#"userName eq "a\"b@x.com""#))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"Resources": [user("u9", true)]})),
            )
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/scim/v2/Users/nobody"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/scim/v2/Users"))
            .and(body_string(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"new@x.com"}"#))
            .respond_with(ResponseTemplate::new(201).set_body_json(user("n1", true)))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/scim/v2/Users"))
            .respond_with(
                ResponseTemplate::new(409).set_body_json(json!({"detail": "userName taken"})),
            )
            .mount(&server)
            .await;
        let c = client(&server).await;
        let page = c
            .page::<Group>(
                &ScimPager::new(2),
                Some(&PageToken::new("3")),
                ListQuery::new().excluded_attributes("members"),
            )
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next, None, "totalResults reached");
        let found = c.find_eq::<User>("userName", r#"a"b@x.com"#).await.unwrap();
        assert_eq!(found[0].id, "u9");
        assert_eq!(c.get::<User>("nobody").await.unwrap(), None);
        match c.create::<User, _>(&User::new("new@x.com")).await.unwrap() {
            Created::New(u) => assert_eq!(u.id, "n1"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c.create::<User, _>(&User::new("old@x.com")).await.unwrap(),
            Created::Conflict("userName taken".into())
        );
    }

    #[tokio::test]
    async fn plain_json_services_get_application_json() {
        let server = MockServer::start().await;
        Mock::given(method("PATCH"))
            .and(header("content-type", "application/json"))
            .respond_with(ResponseTemplate::new(204))
            .expect(1)
            .mount(&server)
            .await;
        let c = client(&server).await.with_plain_json();
        c.patch::<Group, _>("g1", &PatchOp::add_member(&MemberId::new("u").unwrap()))
            .await
            .unwrap();
    }
}
