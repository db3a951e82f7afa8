//! Who may read the explorer: whoever holds its per-run token. The `Host` check
//! ([`super::host`]) keeps web pages out; the token keeps out everyone else who can reach
//! the port: another user of the same machine (a jump host, a shared workstation), or
//! anyone on the network when it listens beyond loopback.
//!
//! A token is made at random each time the explorer binds and printed in its link
//! (`http://127.0.0.1:8080/?token=…`). Opening the link sets a cookie for this explorer
//! (`HttpOnly`, `SameSite=Strict`, named after the port: cookies are not kept apart by
//! port) and redirects to the same page without the token, so it stays out of the
//! address bar, the history and `Referer`s. Scripts send `Authorization: Bearer <token>`.
//! Anything else gets 401 saying to open the printed link. Tokens are compared in
//! constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use subtle::ConstantTimeEq as _;

/// The query parameter of the printed link.
const QUERY: &str = "token";

/// The random bytes of a token (printed as hex: 32 characters).
const TOKEN_BYTES: usize = 16;

/// One explorer's token and the cookie that carries it.
#[derive(Clone)]
pub(crate) struct AccessToken {
    token: Arc<str>,
    cookie: Arc<str>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("cookie", &self.cookie)
            .finish_non_exhaustive()
    }
}

impl AccessToken {
    /// A new random token for the explorer on `port`.
    pub(crate) fn generate(port: u16) -> AccessToken {
        let bytes: [u8; TOKEN_BYTES] = rand::thread_rng().r#gen();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        AccessToken {
            token: token.into(),
            cookie: format!("baton_explorer_{port}").into(),
        }
    }

    /// The token.
    pub(crate) fn as_str(&self) -> &str {
        &self.token
    }

    /// The query string that opens the explorer (`token=…`).
    pub(crate) fn query(&self) -> String {
        format!("{QUERY}={}", self.token)
    }

    fn matches(&self, candidate: &str) -> bool {
        bool::from(self.token.as_bytes().ct_eq(candidate.as_bytes()))
    }

    /// The token in `req`'s cookie or `Authorization: Bearer` header, if it is this one.
    fn presented(&self, req: &Request) -> bool {
        let headers = req.headers();
        let bearer = headers
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.strip_prefix("Bearer "));
        let cookies = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == &*self.cookie)
            .map(|(_, value)| value);
        let presented = bearer.chain(cookies);
        // Every candidate is compared (no early exit on the first that differs).
        presented.fold(false, |found, t| self.matches(t.trim()) | found)
    }
}

/// The query of `req` with the token taken out, and whether the token it held was this
/// explorer's.
fn split_query(req: &Request, access: &AccessToken) -> Option<(bool, String)> {
    let query = req.uri().query()?;
    let mut had = None;
    let rest: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, v)| {
            if k == QUERY {
                had = Some(had.unwrap_or(false) | access.matches(v));
                return false;
            }
            true
        })
        .collect();
    let had = had?;
    let rest = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(rest)
        .finish();
    Some((had, rest))
}

/// Lets a request through when it carries the token (cookie or bearer); turns the printed
/// link into the cookie; refuses the rest with 401.
pub(crate) async fn check(State(access): State<AccessToken>, req: Request, next: Next) -> Response {
    if let Some((true, rest)) = split_query(&req, &access) {
        let path = req.uri().path();
        let location = if rest.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{rest}")
        };
        let cookie = format!(
            "{}={}; Path=/; HttpOnly; SameSite=Strict",
            access.cookie, access.token
        );
        let mut res = StatusCode::SEE_OTHER.into_response();
        let headers = res.headers_mut();
        // The location and the cookie hold only URL-safe and hex characters.
        if let (Ok(location), Ok(cookie)) = (
            HeaderValue::from_str(&location),
            HeaderValue::from_str(&cookie),
        ) {
            headers.insert(header::LOCATION, location);
            headers.insert(header::SET_COOKIE, cookie);
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return res;
        }
    }
    if access.presented(&req) {
        return next.run(req).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(serde_json::json!({
            "error": "this explorer opens only with the link it printed when it started (http://…/?token=…): open that link; scripts send the token as Authorization: Bearer TOKEN"
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_compared_whole() {
        let a = AccessToken::generate(8080);
        let b = AccessToken::generate(8080);
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.as_str().len(), 2 * TOKEN_BYTES);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(&a.as_str()[..31]));
        assert!(!a.matches(""));
        assert!(!a.matches(b.as_str()));
        assert!(!format!("{a:?}").contains(a.as_str()), "{a:?}");
    }
}
