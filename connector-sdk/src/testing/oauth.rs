//! An OAuth 2.0 client-credentials token endpoint for simulated tenants (RFC 6749 §4.4):
//! the form parsed, the client authenticated in the body or with HTTP Basic (§2.3.1), and
//! the token or error answer shaped as the RFC says — so a simulator checks what a real
//! authorization server checks, in a few lines.
//!
//! ```
//! use connector_sdk::testing::oauth::{self, ClientCredentials};
//! use wiremock::{Request, ResponseTemplate};
//!
//! struct Tenant { tokens: Vec<String> }
//!
//! impl Tenant {
//!     fn token(&mut self, req: &Request) -> ResponseTemplate {
//!         let grant = match ClientCredentials::read(req) {
//!             Ok(g) => g,
//!             Err(answer) => return answer,
//!         };
//!         if grant.client_id != "id" || grant.client_secret.as_deref() != Some("secret") {
//!             return oauth::error(401, "invalid_client", "unknown client or wrong secret");
//!         }
//!         let token = format!("token-{}", self.tokens.len());
//!         self.tokens.push(token.clone());
//!         oauth::token(&token, 3600, &grant.scopes)
//!     }
//!
//!     fn authorized(&self, req: &Request) -> bool {
//!         oauth::bearer(req).is_some_and(|t| self.tokens.iter().any(|x| x == t))
//!     }
//! }
//! ```

use std::collections::BTreeMap;

use base64::Engine as _;
use serde_json::json;
use wiremock::{Request, ResponseTemplate};

/// A client-credentials token request, as read from the form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientCredentials {
    /// `client_id`, from the form or the Basic credentials.
    pub client_id: String,
    /// `client_secret`, from the form or the Basic credentials (`None`: not sent).
    pub client_secret: Option<String>,
    /// `scope`, split on spaces (empty when not sent).
    pub scopes: Vec<String>,
    /// Every form field (`audience`, `resource`…).
    pub form: BTreeMap<String, String>,
}

impl ClientCredentials {
    /// Reads a token request: a `POST` with an `application/x-www-form-urlencoded` body
    /// whose `grant_type` is `client_credentials`. Anything else is answered with the
    /// RFC's error (`invalid_request` 400, `unsupported_grant_type` 400, `invalid_client`
    /// 401 when no client id is sent) — return it as is.
    // The error is the answer a handler returns as is; boxing it would only add a deref
    // at every call site of a test helper.
    #[allow(clippy::result_large_err)]
    pub fn read(req: &Request) -> Result<ClientCredentials, ResponseTemplate> {
        if req.method.as_str() != "POST" {
            return Err(error(
                405,
                "invalid_request",
                "the token endpoint takes POST",
            ));
        }
        let content_type = req
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !content_type
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
        {
            return Err(error(
                400,
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let form: BTreeMap<String, String> = url::form_urlencoded::parse(&req.body)
            .into_owned()
            .collect();
        match form.get("grant_type").map(String::as_str) {
            Some("client_credentials") => {}
            Some(_) => {
                return Err(error(
                    400,
                    "unsupported_grant_type",
                    "only client_credentials is supported",
                ));
            }
            None => return Err(error(400, "invalid_request", "grant_type is missing")),
        }
        let (basic_id, basic_secret) = basic(req).unzip();
        let client_id = form.get("client_id").cloned().or(basic_id);
        let Some(client_id) = client_id else {
            return Err(error(401, "invalid_client", "no client_id"));
        };
        let client_secret = form.get("client_secret").cloned().or(basic_secret);
        let scopes = form
            .get("scope")
            .map(|s| {
                s.split(' ')
                    .filter(|x| !x.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Ok(ClientCredentials {
            client_id,
            client_secret,
            scopes,
            form,
        })
    }
}

/// The HTTP Basic credentials of `req` (form-urlencoded id and secret, RFC 6749 §2.3.1).
fn basic(req: &Request) -> Option<(String, String)> {
    let value = req.headers.get("authorization")?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// A token answer (RFC 6749 §5.1): `Bearer`, `expires_in` seconds, the granted scopes.
pub fn token(access_token: &str, expires_in: u64, scopes: &[String]) -> ResponseTemplate {
    let mut body = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": expires_in,
    });
    if !scopes.is_empty() {
        body["scope"] = json!(scopes.join(" "));
    }
    ResponseTemplate::new(200)
        .insert_header("cache-control", "no-store")
        .set_body_json(body)
}

/// An error answer (RFC 6749 §5.2): `{"error", "error_description"}` with `status`.
pub fn error(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .insert_header("cache-control", "no-store")
        .set_body_json(json!({"error": error, "error_description": description}))
}

/// The bearer token of `req`'s `Authorization` header.
pub fn bearer(req: &Request) -> Option<&str> {
    let value = req.headers.get("authorization")?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{SimHandler, SimServer};

    /// Records what each request read as, and answers with the helper's answer.
    #[derive(Default)]
    struct Endpoint {
        seen: Vec<ClientCredentials>,
    }

    impl SimHandler for Endpoint {
        fn handle(&mut self, req: &Request) -> ResponseTemplate {
            match ClientCredentials::read(req) {
                Ok(g) => {
                    self.seen.push(g.clone());
                    token("t", 60, &g.scopes)
                }
                Err(answer) => answer,
            }
        }
    }

    async fn post(
        sim: &SimServer<Endpoint>,
        content_type: &str,
        auth: Option<&str>,
        body: &str,
    ) -> (u16, serde_json::Value) {
        crate::http::ensure_tls_provider();
        let mut r = reqwest::Client::new()
            .post(format!("{}/oauth/token", sim.uri()))
            .header("content-type", content_type)
            .body(body.to_string());
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        (status, res.json().await.unwrap())
    }

    const FORM: &str = "application/x-www-form-urlencoded";

    #[tokio::test]
    async fn the_client_comes_from_the_form_or_basic_credentials() {
        let sim = SimServer::start(Endpoint::default()).await;
        let (status, body) = post(
            &sim,
            FORM,
            None,
            "grant_type=client_credentials&client_id=a%20b&client_secret=s%26t&scope=read+write",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["scope"], "read write");
        let basic = base64::engine::general_purpose::STANDARD.encode("id%3A1:se%2Bcret");
        let (status, _) = post(
            &sim,
            FORM,
            Some(&format!("Basic {basic}")),
            "grant_type=client_credentials",
        )
        .await;
        assert_eq!(status, 200);
        let seen = sim.state().seen.clone();
        assert_eq!(seen[0].client_id, "a b");
        assert_eq!(seen[0].client_secret.as_deref(), Some("s&t"));
        assert_eq!(seen[0].scopes, ["read", "write"]);
        assert_eq!(
            (seen[1].client_id.as_str(), seen[1].client_secret.as_deref()),
            ("id:1", Some("se+cret"))
        );
        assert_eq!(sim.requests("POST", "/oauth/token"), 2);
    }

    #[tokio::test]
    async fn malformed_requests_get_the_rfcs_errors() {
        let sim = SimServer::start(Endpoint::default()).await;
        for (content_type, body, status, error) in [
            (
                FORM,
                "grant_type=password&client_id=a",
                400,
                "unsupported_grant_type",
            ),
            (FORM, "client_id=a", 400, "invalid_request"),
            ("application/json", "{}", 400, "invalid_request"),
            (FORM, "grant_type=client_credentials", 401, "invalid_client"),
        ] {
            let (s, b) = post(&sim, content_type, None, body).await;
            assert_eq!((s, b["error"].as_str()), (status, Some(error)), "{body}");
        }
        assert!(sim.state().seen.is_empty());
    }
}
