//! The platform's bearer token on every gRPC call, as a tower layer under the generated
//! `BatonService` client: the token is fetched (or taken from the cache) and attached; a
//! call the server refuses with `Unauthenticated` gets one fresh token and is sent once
//! more. Only a call whose body is small and complete (every unary RPC) is replayed; a
//! streamed upload is not: its refusal is the call's error, and the next call fetches a
//! new token.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::BodyExt as _;
use secrecy::ExposeSecret as _;
use tonic::body::Body;

use super::client::grpc_code;
use super::token::TokenSource;
use crate::error::Error;

/// The error a call ends with before it reaches the server (a token that cannot be
/// fetched): a `tonic::Status`, which the generated client passes on as the call's status.
type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The largest request body kept for a replay: a unary message (gRPC's default limit).
const MAX_REPLAYED_BODY: usize = 4 * 1024 * 1024;

/// The client-streaming RPCs: sent as they are read, never buffered or replayed.
const STREAMED: &[&str] = &["/c1.connectorapi.baton.v1.BatonService/UploadAsset"];

/// [`TokenSource`]'s token on every request to `inner`, with one replay after a refusal.
#[derive(Clone)]
pub(crate) struct BearerAuth<S> {
    inner: S,
    tokens: Arc<TokenSource>,
}

impl<S> BearerAuth<S> {
    pub(crate) fn new(inner: S, tokens: Arc<TokenSource>) -> BearerAuth<S> {
        BearerAuth { inner, tokens }
    }
}

/// A token error as the status the call ends with, of the matching code.
fn status_of(e: &Error) -> tonic::Status {
    tonic::Status::new(tonic::Code::from(grpc_code(e.kind())), e.to_string())
}

fn with_token(
    parts: &http::request::Parts,
    body: Body,
    token: &secrecy::SecretString,
) -> Result<http::Request<Body>, BoxError> {
    let mut req = http::Request::new(body);
    *req.method_mut() = parts.method.clone();
    *req.uri_mut() = parts.uri.clone();
    *req.version_mut() = parts.version;
    *req.headers_mut() = parts.headers.clone();
    *req.extensions_mut() = parts.extensions.clone();
    let mut value = http::HeaderValue::try_from(token.expose_secret()).map_err(|_| {
        Box::new(tonic::Status::internal(
            "the access token is not a header value",
        ))
    })?;
    value.set_sensitive(true);
    req.headers_mut().insert(http::header::AUTHORIZATION, value);
    Ok(req)
}

/// Whether the token was refused: `grpc-status: 16` in the answer's headers (a
/// trailers-only answer, as servers send an error without a message), or HTTP 401 (a
/// proxy or an ingress in front of the server). A refusal in trailers after a message is
/// seen by the client instead, which then drops the token ([`TokenSource::clear`]).
fn refused<B>(resp: &http::Response<B>) -> bool {
    resp.status() == http::StatusCode::UNAUTHORIZED
        || resp
            .headers()
            .get("grpc-status")
            .is_some_and(|v| v.as_bytes() == b"16")
}

/// A body over the replay limit as the status the call ends with (not retried: the same
/// message would be as large next time); any other body error as it is.
fn body_error(e: BoxError) -> BoxError {
    if e.is::<http_body_util::LengthLimitError>() {
        Box::new(tonic::Status::resource_exhausted(format!(
            "the request message is over {MAX_REPLAYED_BODY} bytes"
        )))
    } else {
        e
    }
}

impl<S, B> tower_service::Service<http::Request<Body>> for BearerAuth<S>
where
    S: tower_service::Service<http::Request<Body>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    type Response = http::Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<http::Response<B>, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        // The service made ready by `poll_ready` serves this call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tokens = self.tokens.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let (token, stamp) = tokens.authorization().await.map_err(|e| status_of(&e))?;
            if STREAMED.contains(&parts.uri.path()) {
                let req = with_token(&parts, body, &token)?;
                let resp = inner.call(req).await.map_err(Into::into)?;
                if refused(&resp) {
                    // Not replayed; the next call fetches a fresh token.
                    tokens.invalidate(stamp).await;
                }
                return Ok(resp);
            }
            let bytes: Bytes = http_body_util::Limited::new(body, MAX_REPLAYED_BODY)
                .collect()
                .await
                .map_err(body_error)?
                .to_bytes();
            let first = with_token(&parts, full(bytes.clone()), &token)?;
            let resp = inner.call(first).await.map_err(Into::into)?;
            if !refused(&resp) {
                return Ok(resp);
            }
            tracing::debug!(
                rpc = parts.uri.path(),
                "the server refused the token; fetching a new one"
            );
            tokens.invalidate(stamp).await;
            let (token, stamp) = tokens.authorization().await.map_err(|e| status_of(&e))?;
            futures::future::poll_fn(|cx| inner.poll_ready(cx))
                .await
                .map_err(Into::into)?;
            let again = with_token(&parts, full(bytes), &token)?;
            let resp = inner.call(again).await.map_err(Into::into)?;
            if refused(&resp) {
                // Refused twice: the call fails, and the next one fetches a fresh token.
                tokens.invalidate(stamp).await;
            }
            Ok(resp)
        })
    }
}

fn full(bytes: Bytes) -> Body {
    Body::new(http_body_util::Full::new(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_a_grpc_16_in_the_headers_or_an_http_401() {
        let answer = |status: u16, grpc: Option<&str>| {
            let mut r = http::Response::builder().status(status);
            if let Some(g) = grpc {
                r = r.header("grpc-status", g);
            }
            r.body(()).unwrap()
        };
        assert!(refused(&answer(200, Some("16"))));
        assert!(refused(&answer(401, None)));
        assert!(!refused(&answer(200, Some("14"))));
        assert!(!refused(&answer(200, None)));
        assert!(!refused(&answer(403, None)));
    }

    #[tokio::test]
    async fn an_oversized_message_is_resource_exhausted_not_retried() {
        let over =
            http_body_util::Limited::new(http_body_util::Full::new(Bytes::from(vec![0u8; 10])), 4)
                .collect()
                .await
                .unwrap_err();
        let e = body_error(over);
        let status = e.downcast_ref::<tonic::Status>().expect("a status");
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        let other = body_error("reset".into());
        assert!(other.downcast_ref::<tonic::Status>().is_none());
    }
}
