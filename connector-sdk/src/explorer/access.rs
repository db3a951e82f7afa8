//! Who may read the explorer: whoever holds its per-run token. The `Host` check
//! ([`super::host`]) keeps web pages out; the token keeps out everyone else who can reach
//! the port: another user of the same machine (a jump host, a shared workstation), or
//! anyone on the network when it listens beyond loopback.
//!
//! A token is made at random each time the explorer binds and printed in its link, in the
//! fragment: `http://127.0.0.1:8080/#token=…`. A fragment never appears in a request, so
//! the token is in no request line, access log or `Referer`. The page (`/` and its two
//! assets, which hold nothing of the file) is served to anyone; its script moves the token
//! from the address into the browser's storage for this origin (scheme, host *and port*:
//! while the explorer holds its port no other local server can read it, unlike a cookie,
//! which every port of a host receives), replaces the address, and sends
//! `Authorization: Bearer <token>` with every API call. Scripts do
//! the same. An API call without the token, or with another, gets 401 saying to open the
//! printed link. Tokens are compared in constant time.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::Rng as _;
use subtle::ConstantTimeEq as _;

/// The random bytes of a token (printed as hex: 32 characters).
const TOKEN_BYTES: usize = 16;

/// One explorer's token.
#[derive(Clone)]
pub(crate) struct AccessToken(Arc<str>);

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AccessToken(..)")
    }
}

impl AccessToken {
    /// A new random token.
    pub(crate) fn generate() -> AccessToken {
        let bytes: [u8; TOKEN_BYTES] = rand::thread_rng().r#gen();
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        AccessToken(token.into())
    }

    /// The token.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    fn matches(&self, candidate: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(candidate.as_bytes()))
    }

    /// Whether `req` carries this token as `Authorization: Bearer` (the scheme in any
    /// case, RFC 7235 §2.1). Every header is compared, without stopping at the first.
    fn presented(&self, req: &Request) -> bool {
        req.headers()
            .get_all(header::AUTHORIZATION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(|v| v.trim().split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .fold(false, |found, (_, token)| {
                self.matches(token.trim()) | found
            })
    }
}

/// Lets an API request through when it carries the token; refuses the rest with 401.
pub(crate) async fn check(State(access): State<AccessToken>, req: Request, next: Next) -> Response {
    if access.presented(&req) {
        return next.run(req).await;
    }
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        axum::Json(serde_json::json!({
            "error": "this explorer opens only with the link it printed when it started (http://…/#token=…): open that link (a new run prints a new one); scripts send the token as Authorization: Bearer TOKEN"
        })),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_hex_and_compared_whole() {
        let a = AccessToken::generate();
        let b = AccessToken::generate();
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(a.as_str().len(), 2 * TOKEN_BYTES);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert!(a.matches(a.as_str()));
        assert!(!a.matches(&a.as_str()[..31]));
        assert!(!a.matches(&format!("{}0", a.as_str())));
        assert!(!a.matches(""));
        assert!(!a.matches(b.as_str()));
        assert!(!format!("{a:?}").contains(a.as_str()), "{a:?}");
    }
}
