//! An OAuth 2.0 client-credentials token endpoint for simulated tenants (RFC 6749 §4.4):
//! the form parsed, the client authenticated in the body or with HTTP Basic (§2.3.1), and
//! the token or error answer shaped as the RFC says — so a simulator checks what a real
//! authorization server checks, in a few lines.
//!
//! [`TokenIssuer`] is the whole server for one client: its [`gate`](TokenIssuer::gate) is
//! the first line of a handler, answering the token endpoint and refusing requests without
//! a token it issued.
//!
//! ```
//! use connector_sdk::testing::{SimHandler, oauth::TokenIssuer};
//! use wiremock::{Request, ResponseTemplate};
//!
//! struct Tenant { oauth: TokenIssuer }
//!
//! impl SimHandler for Tenant {
//!     fn handle(&mut self, req: &Request) -> ResponseTemplate {
//!         if let Some(answer) = self.oauth.gate(req, "/oauth/token") {
//!             return answer; // a token, an RFC 6749 error, or 401 for a missing token
//!         }
//!         ResponseTemplate::new(200) // the API, for a caller holding a token
//!     }
//! }
//!
//! let tenant = Tenant { oauth: TokenIssuer::new("id", "secret") };
//! ```
//!
//! Its parts, for a tenant with its own rules: [`ClientCredentials::read`] parses a token
//! request, [`token`] and [`error`] shape the answers, [`bearer`] reads a request's token.

use std::collections::BTreeMap;
use std::fmt;

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

/// How a token request's client compares with a [`TokenIssuer`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientMatch {
    /// The issuer's client id with its secret.
    Known,
    /// The issuer's client id with another secret (or none).
    WrongSecret,
    /// Another client id.
    Unknown,
}

/// A simulated authorization server for one client: issues bearer tokens to a
/// client-credentials request with the right id and secret, and tells which requests carry
/// a token it issued (with the scopes granted to it).
///
/// Tokens are `<prefix><n>` (`token-1`, `token-2`…), valid for the lifetime the answer
/// states (3600 s unless set); the issuer does not expire them itself. `Debug` shows the
/// client id and the number of tokens, never the secret.
#[derive(Clone)]
pub struct TokenIssuer {
    client_id: String,
    client_secret: String,
    prefix: String,
    lifetime: u64,
    issued: BTreeMap<String, Vec<String>>,
    count: usize,
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("client_id", &self.client_id)
            .field("issued", &self.count)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    /// An issuer for the client `client_id` with `client_secret`.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        TokenIssuer {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            prefix: "token-".into(),
            lifetime: 3600,
            issued: BTreeMap::new(),
            count: 0,
        }
    }

    /// Names tokens `<prefix><n>` (default `token-`).
    pub fn with_token_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The `expires_in` of each answer, in seconds (default 3600).
    pub fn with_lifetime(mut self, seconds: u64) -> Self {
        self.lifetime = seconds;
        self
    }

    /// Accepts another client from now on (a tenant whose credentials were changed);
    /// tokens already issued stay valid.
    pub fn set_client(&mut self, client_id: &str, client_secret: &str) {
        self.client_id = client_id.into();
        self.client_secret = client_secret.into();
    }

    /// The client id this issuer accepts.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret this issuer accepts.
    pub fn client_secret(&self) -> &str {
        &self.client_secret
    }

    /// Answers a token request: the RFC's error for a malformed request
    /// ([`ClientCredentials::read`]), `invalid_client` (401) for another client id or a
    /// wrong secret, else a new token with the scopes asked for.
    pub fn issue(&mut self, req: &Request) -> ResponseTemplate {
        self.issue_checked(req, |_, _| None)
    }

    /// [`issue`](Self::issue) with the tenant's own rules: `check` sees the request once it
    /// is read and how its client compares with this issuer's ([`ClientMatch`]); the
    /// answer it gives, if any, is returned as is (a scope the tenant does not know, a
    /// vendor's own status for a wrong secret). Without one, an unknown client or a wrong
    /// secret is `invalid_client` (401) and the client gets a token.
    ///
    /// ```
    /// use connector_sdk::testing::oauth::{self, ClientMatch, TokenIssuer};
    /// use wiremock::{Request, ResponseTemplate};
    ///
    /// /// A vendor that answers a wrong secret with 403 and knows two scopes.
    /// fn token(issuer: &mut TokenIssuer, req: &Request) -> ResponseTemplate {
    ///     issuer.issue_checked(req, |grant, client| match client {
    ///         ClientMatch::WrongSecret => Some(oauth::error(403, "unauthorized_client", "no")),
    ///         ClientMatch::Known if grant.scopes.iter().any(|s| s != "read" && s != "write") => {
    ///             Some(oauth::error(400, "invalid_scope", "unknown scope"))
    ///         }
    ///         _ => None,
    ///     })
    /// }
    /// ```
    pub fn issue_checked(
        &mut self,
        req: &Request,
        check: impl FnOnce(&ClientCredentials, ClientMatch) -> Option<ResponseTemplate>,
    ) -> ResponseTemplate {
        let grant = match ClientCredentials::read(req) {
            Ok(g) => g,
            Err(answer) => return answer,
        };
        let client = if grant.client_id != self.client_id {
            ClientMatch::Unknown
        } else if grant.client_secret.as_deref() != Some(self.client_secret.as_str()) {
            ClientMatch::WrongSecret
        } else {
            ClientMatch::Known
        };
        if let Some(answer) = check(&grant, client) {
            return answer;
        }
        if client != ClientMatch::Known {
            return error(401, "invalid_client", "unknown client or wrong secret");
        }
        self.count += 1;
        let access = format!("{}{}", self.prefix, self.count);
        self.issued.insert(access.clone(), grant.scopes.clone());
        token(&access, self.lifetime, &grant.scopes)
    }

    /// The scopes granted to `req`'s bearer token; `None` when it carries no token this
    /// issuer issued.
    pub fn scopes_of(&self, req: &Request) -> Option<&[String]> {
        bearer(req)
            .and_then(|t| self.issued.get(t))
            .map(Vec::as_slice)
    }

    /// Whether `req` carries a token this issuer issued.
    pub fn authorized(&self, req: &Request) -> bool {
        self.scopes_of(req).is_some()
    }

    /// How many tokens were issued, revoked ones included.
    pub fn issued(&self) -> usize {
        self.count
    }

    /// Revokes every token issued: a request with one is refused (as after a revocation
    /// or a restart), and the client must fetch a new one. New tokens get new names.
    pub fn revoke_all(&mut self) {
        self.issued.clear();
    }

    /// The token endpoint and the bearer check in one, for the first line of a handler: a
    /// request to `token_path` is answered as [`issue`](Self::issue) does; any other request
    /// without a token this issuer issued is refused with 401 as RFC 6750 §3.1 says
    /// (`WWW-Authenticate: Bearer` when it sent none, with `error="invalid_token"` when
    /// its token is unknown or revoked); `None` lets the handler answer the request.
    pub fn gate(&mut self, req: &Request, token_path: &str) -> Option<ResponseTemplate> {
        if req.url.path() == token_path {
            return Some(self.issue(req));
        }
        if self.authorized(req) {
            return None;
        }
        let refused = ResponseTemplate::new(401);
        Some(match bearer(req) {
            None => refused.insert_header("www-authenticate", "Bearer"),
            Some(_) => refused
                .insert_header("www-authenticate", "Bearer error=\"invalid_token\"")
                .set_body_json(json!({"error": "invalid_token"})),
        })
    }
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

    async fn post<S: SimHandler>(
        sim: &SimServer<S>,
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

    /// A handler behind the issuer's gate: 200 with the scopes of the caller's token.
    struct Gated {
        oauth: TokenIssuer,
    }

    impl SimHandler for Gated {
        fn handle(&mut self, req: &Request) -> ResponseTemplate {
            if let Some(answer) = self.oauth.gate(req, "/oauth/token") {
                return answer;
            }
            ResponseTemplate::new(200).set_body_json(json!({"scopes": self.oauth.scopes_of(req)}))
        }
    }

    async fn get(sim: &SimServer<Gated>, token: Option<&str>) -> (u16, String, serde_json::Value) {
        let mut r = reqwest::Client::new().get(format!("{}/api/things", sim.uri()));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let challenge = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (status, challenge, res.json().await.unwrap_or_default())
    }

    #[tokio::test]
    async fn the_gate_issues_tokens_to_its_client_and_refuses_everyone_else() {
        crate::http::ensure_tls_provider();
        let oauth = TokenIssuer::new("toy", "toy-secret").with_token_prefix("toy-");
        assert!(!format!("{oauth:?}").contains("toy-secret"), "{oauth:?}");
        let sim = SimServer::start(Gated { oauth }).await;
        // No token: 401 with the bare challenge; an unknown token: with its error code
        // (RFC 6750 §3.1).
        for (token, want) in [
            (None, "Bearer"),
            (Some("forged"), "Bearer error=\"invalid_token\""),
        ] {
            let (status, challenge, _) = get(&sim, token).await;
            assert_eq!((status, challenge.as_str()), (401, want));
        }
        // A wrong secret gets no token.
        let (status, body) = post(
            &sim,
            FORM,
            None,
            "grant_type=client_credentials&client_id=toy&client_secret=guess",
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        // The client gets one, with its scopes, and the API lets it in.
        let (status, body) = post(
            &sim,
            FORM,
            None,
            "grant_type=client_credentials&client_id=toy&client_secret=toy-secret&scope=read",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let first = body["access_token"].as_str().unwrap().to_string();
        assert_eq!(first, "toy-1");
        assert_eq!(body["expires_in"], 3600);
        let (status, _, body) = get(&sim, Some(&first)).await;
        assert_eq!((status, body["scopes"][0].as_str()), (200, Some("read")));
        // Revoked: the old token is refused, and the next one has another name.
        sim.state().oauth.revoke_all();
        assert_eq!(get(&sim, Some(&first)).await.0, 401);
        let (_, body) = post(
            &sim,
            FORM,
            None,
            "grant_type=client_credentials&client_id=toy&client_secret=toy-secret",
        )
        .await;
        assert_eq!(body["access_token"], "toy-2");
        assert_eq!(sim.state().oauth.issued(), 2);
    }

    #[tokio::test]
    async fn a_tenants_own_rules_see_how_the_client_compares() {
        crate::http::ensure_tls_provider();
        struct Scoped(TokenIssuer);
        impl SimHandler for Scoped {
            fn handle(&mut self, req: &Request) -> ResponseTemplate {
                self.0.issue_checked(req, |g, client| match client {
                    ClientMatch::WrongSecret => Some(error(403, "unauthorized_client", "no")),
                    ClientMatch::Known if g.scopes.iter().any(|s| s != "read") => {
                        Some(error(400, "invalid_scope", "unknown scope"))
                    }
                    _ => None,
                })
            }
        }
        let sim = SimServer::start(Scoped(TokenIssuer::new("id", "s").with_lifetime(60))).await;
        let send = |body: &'static str| {
            let url = format!("{}/token", sim.uri());
            async move {
                let res = reqwest::Client::new()
                    .post(url)
                    .header("content-type", FORM)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = res.status().as_u16();
                (status, res.json::<serde_json::Value>().await.unwrap())
            }
        };
        let (status, body) =
            send("grant_type=client_credentials&client_id=id&client_secret=s&scope=write").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope"))
        );
        // The tenant's rule for a wrong secret; an unknown client is never told about scopes.
        let (status, body) =
            send("grant_type=client_credentials&client_id=id&client_secret=x&scope=read").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (403, Some("unauthorized_client"))
        );
        let (status, body) =
            send("grant_type=client_credentials&client_id=other&client_secret=s&scope=write").await;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("invalid_client"))
        );
        let (status, body) =
            send("grant_type=client_credentials&client_id=id&client_secret=s").await;
        assert_eq!((status, body["expires_in"].as_u64()), (200, Some(60)));
    }
}
