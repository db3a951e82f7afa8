//! The bearer token: an EdDSA JWT client assertion exchanged at `/auth/v1/token`
//! (spec §1.4–1.6), cached and refreshed before it expires, one fetch at a time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::credentials::{ClientId, ClientSecret};
use crate::error::{Error, ErrorKind, Result};
use crate::http::auth::{AuthStamp, Token, TokenCache};
use crate::http::{HttpClient, HttpClientBuilder, Response, RetryPolicy};

/// The assertion's header: `alg` then `nonce` (no `kid`, no `typ`), as go-jose writes it.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    nonce: String,
}

/// The assertion's claims, in go-jose's order; times in Unix seconds; `aud` a string.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    pub(crate) iss: String,
    pub(crate) sub: String,
    pub(crate) aud: String,
    pub(crate) exp: i64,
    pub(crate) nbf: i64,
    pub(crate) iat: i64,
}

/// Signs a fresh client assertion: `{"alg":"EdDSA","nonce":<32 hex>}` over
/// `{iss, sub, aud, exp: now+120, nbf: now-120, iat: now}`.
pub(crate) fn sign_assertion(id: &ClientId, secret: &ClientSecret) -> SecretString {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let nonce: [u8; 16] = rand::random();
    let header = Header {
        alg: "EdDSA",
        nonce: nonce.iter().map(|b| format!("{b:02x}")).collect(),
    };
    let claims = Claims {
        iss: id.as_str().to_string(),
        sub: id.as_str().to_string(),
        aud: id.audience(),
        exp: now + 120,
        nbf: now - 120,
        iat: now,
    };
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap_or_default());
    let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let signing_input = format!("{h}.{p}");
    let sig = secret.signing_key().sign(signing_input.as_bytes());
    SecretString::from(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    ))
}

/// The largest token response read: a token is a few kilobytes, and a server sending
/// more (an endless body) fails the fetch instead of filling memory.
const MAX_TOKEN_RESPONSE: u64 = 1024 * 1024;

/// What a refused redirect of the token request tells the operator.
const TOKEN_REDIRECT_HINT: &str = "ConductorOne's token endpoint does not redirect: check the host in --client-id (BATON_CLIENT_ID) and any proxy in between";

/// Fetches, caches and refreshes the bearer token: the SDK's [`HttpClient`] posts the
/// client assertion (no redirect followed, no `Referer`, the body capped), and its
/// [`TokenCache`] keeps the token, one fetch at a time for all callers.
pub(crate) struct TokenSource {
    id: ClientId,
    secret: ClientSecret,
    http: HttpClient,
    cache: TokenCache,
    fetches: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_id", &self.id)
            .field("url", &self.url())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    #[serde(default)]
    access_token: String,
    #[serde(default)]
    token_type: String,
    /// An integer, as Go decodes it into an `int`.
    #[serde(default)]
    expires_in: i64,
}

impl TokenSource {
    /// A source posting to `https://<host>/auth/v1/token` with `tls`.
    pub(crate) fn new(
        id: ClientId,
        secret: ClientSecret,
        host: &str,
        tls: rustls::ClientConfig,
        version: &str,
    ) -> Result<TokenSource> {
        let builder = HttpClient::builder(&format!("https://{host}/"))?.tls_config(tls);
        Self::with_client(id, secret, builder, version)
    }

    /// A source posting to `/auth/v1/token` under the base URL of `builder`, with the
    /// settings of service mode's token client.
    fn with_client(
        id: ClientId,
        secret: ClientSecret,
        builder: HttpClientBuilder,
        version: &str,
    ) -> Result<TokenSource> {
        let http = builder
            .exact_user_agent(format!(
                "baton-c1-credential-provider connector-sdk-rust/{version}"
            ))
            .timeout(Duration::from_secs(60))
            // The poll loop retries a failed fetch on its own schedule.
            .retry(RetryPolicy::none())
            .max_response_body(MAX_TOKEN_RESPONSE)
            .redirect_hint(TOKEN_REDIRECT_HINT)
            .build()?;
        Ok(TokenSource {
            id,
            secret,
            http,
            // Refreshed 10 s ahead, as golang.org/x/oauth2 does (a tenth of a short lifetime).
            cache: TokenCache::new(Duration::from_secs(10)),
            fetches: std::sync::atomic::AtomicU64::new(0),
        })
    }

    fn url(&self) -> String {
        format!("{}auth/v1/token", self.http.base_url())
    }

    /// Tokens fetched so far.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The `authorization` header value (`Bearer <token>`) and its stamp, fetching a token
    /// when none is cached or the cached one is about to expire.
    pub(crate) async fn authorization(&self) -> Result<(SecretString, AuthStamp)> {
        self.cache.get(|| self.fetch()).await
    }

    /// Forgets the cached token, whichever it is (a refusal read from a call's final
    /// status, after the bearer layer's own checks).
    pub(crate) async fn clear(&self) {
        self.cache.clear().await;
    }

    /// Forgets the token of `stamp` (the server refused it), unless a newer one replaced it.
    pub(crate) async fn invalidate(&self, stamp: AuthStamp) {
        self.cache.invalidate(stamp).await;
    }

    async fn fetch(&self) -> Result<Token> {
        self.fetches
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let assertion = sign_assertion(&self.id, &self.secret);
        // Keys in sorted order, as Go's url.Values.Encode writes them.
        let form = [
            ("client_assertion", assertion.expose_secret()),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_id", self.id.as_str()),
            ("grant_type", "client_credentials"),
        ];
        let response = self
            .http
            .post(&["auth", "v1", "token"])
            .form(&form)
            .send_raw()
            .await
            .map_err(|e| e.context("getting a ConductorOne token"))?;
        self.check_status(&response)?;
        let parsed: TokenResponse = serde_json::from_slice(response.body()).map_err(|e| {
            Error::new(
                ErrorKind::Unauthenticated,
                format!(
                    "failed to get token: the response of {} is not the expected JSON ({e})",
                    self.url()
                ),
            )
        })?;
        if parsed.access_token.is_empty() {
            return Err(Error::new(
                ErrorKind::Unauthenticated,
                "failed to get token: empty access token",
            ));
        }
        let kind = match parsed.token_type.to_ascii_lowercase().as_str() {
            "" | "bearer" => "Bearer".to_string(),
            "mac" => "MAC".to_string(),
            "basic" => "Basic".to_string(),
            _ => parsed.token_type.clone(),
        };
        tracing::debug!(
            expires_in_s = parsed.expires_in,
            "fetched a ConductorOne access token"
        );
        Ok(Token {
            secret: SecretString::from(format!("{kind} {}", parsed.access_token)),
            expires_in: Some(lifetime(parsed.expires_in)),
        })
    }

    /// A status other than 200 as an error: 4xx means the credentials are refused (fatal
    /// at startup), 5xx and 429 are retried.
    fn check_status(&self, response: &Response) -> Result<()> {
        let status = response.status();
        if status != 200 {
            let kind = if status >= 500 || status == 429 {
                ErrorKind::Unavailable
            } else {
                ErrorKind::Unauthenticated
            };
            return Err(Error::new(
                kind,
                format!(
                    "failed to get token: HTTP {status} from {}{}",
                    self.url(),
                    if kind == ErrorKind::Unauthenticated {
                        "; check --client-id (BATON_CLIENT_ID) and --client-secret (BATON_CLIENT_SECRET)"
                    } else {
                        ""
                    }
                ),
            )
            .with_http_status(status));
        }
        Ok(())
    }
}

/// How long a token with `expires_in` seconds is used (spec §1.6, §8.7). No (or a
/// non-positive) `expires_in` expires at once, as upstream builds the expiry as
/// `now + expires_in`: the token serves the call it was fetched for and the next call
/// fetches another. A lifetime past a year is capped, so the arithmetic never overflows.
fn lifetime(expires_in: i64) -> Duration {
    if expires_in <= 0 {
        return Duration::ZERO;
    }
    Duration::from_secs(expires_in as u64).min(crate::http::auth::MAX_TOKEN_LIFETIME)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::credentials::encode_client_secret;

    #[test]
    fn assertions_have_upstreams_header_and_claims_and_verify() {
        let id = ClientId::parse("otter@tenant.example.com:8443/ccc").unwrap();
        let secret = ClientSecret::parse(&encode_client_secret(&[3u8; 32])).unwrap();
        let jws = sign_assertion(&id, &secret);
        let parts: Vec<&str> = jws.expose_secret().split('.').collect();
        assert_eq!(parts.len(), 3);
        let header = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert!(
            header.starts_with(r#"{"alg":"EdDSA","nonce":""#),
            "{header}"
        );
        let v: serde_json::Value = serde_json::from_str(&header).unwrap();
        let nonce = v["nonce"].as_str().unwrap();
        assert_eq!(nonce.len(), 32);
        assert!(
            nonce
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(v.as_object().unwrap().len(), 2);
        let payload = String::from_utf8(URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
        assert!(payload.starts_with(r#"{"iss":"otter@tenant.example.com:8443/ccc","sub":"otter@tenant.example.com:8443/ccc","aud":"tenant.example.com","exp":"#), "{payload}");
        let c: Claims = serde_json::from_str(&payload).unwrap();
        assert_eq!(c.exp - c.iat, 120);
        assert_eq!(c.iat - c.nbf, 120);
        let sig: [u8; 64] = URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap()
            .try_into()
            .unwrap();
        let vk = secret.signing_key().verifying_key();
        vk.verify_strict(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &ed25519_dalek::Signature::from_bytes(&sig),
        )
        .unwrap();
        // A fresh nonce every time.
        let again = sign_assertion(&id, &secret);
        assert_ne!(again.expose_secret(), jws.expose_secret());
    }

    #[test]
    fn no_zero_or_negative_expires_in_expires_at_once() {
        let absent: TokenResponse =
            serde_json::from_str(r#"{"access_token":"a","token_type":"bearer"}"#).unwrap();
        assert_eq!(absent.expires_in, 0);
        for expires_in in [absent.expires_in, 0, -5] {
            assert_eq!(lifetime(expires_in), Duration::ZERO, "{expires_in}");
        }
        assert_eq!(lifetime(3600), Duration::from_secs(3600));
        assert_eq!(lifetime(i64::MAX), crate::http::auth::MAX_TOKEN_LIFETIME);
    }

    /// A source posting to `<base>/auth/v1/token` over plain HTTP (the servers below are
    /// hostile loopback ones, without TLS), with the client settings of [`TokenSource::new`].
    fn plain_source(base: String) -> TokenSource {
        let id = ClientId::parse("otter@tenant.example.com:8443/ccc").unwrap();
        let secret = ClientSecret::parse(&encode_client_secret(&[3u8; 32])).unwrap();
        let builder = HttpClient::builder(&base).unwrap();
        TokenSource::with_client(id, secret, builder, "test").unwrap()
    }

    #[tokio::test]
    async fn a_redirect_of_the_token_request_takes_the_assertion_nowhere() {
        use wiremock::{Mock, MockServer, ResponseTemplate, matchers};
        let c1 = MockServer::start().await;
        let elsewhere = MockServer::start().await;
        let other = format!("http://localhost:{}", elsewhere.address().port());
        Mock::given(matchers::path("/auth/v1/token"))
            .respond_with(
                ResponseTemplate::new(307)
                    .insert_header("location", format!("{other}/auth/v1/token?x=1")),
            )
            .mount(&c1)
            .await;
        Mock::given(matchers::any())
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"access_token": "a", "token_type": "bearer", "expires_in": 60}),
            ))
            .mount(&elsewhere)
            .await;
        let tokens = plain_source(c1.uri());
        let err = tokens.authorization().await.unwrap_err();
        assert!(
            elsewhere.received_requests().await.unwrap().is_empty(),
            "the client assertion was posted to the other host"
        );
        let text = err.to_string();
        assert!(
            text.contains("POST /auth/v1/token answered HTTP 307")
                && text.contains(&other)
                && text.contains("--client-id (BATON_CLIENT_ID)"),
            "{text}"
        );
        assert!(!text.contains("x=1"), "{text}");
        for r in c1.received_requests().await.unwrap() {
            assert!(!r.headers.contains_key("referer"));
        }
    }

    #[tokio::test]
    async fn an_endless_token_response_fails_at_its_cap() {
        let server = crate::http::security_tests::EndlessServer::start(false).await;
        let tokens = plain_source(server.uri.clone());
        let err = tokens.authorization().await.unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("POST /auth/v1/token") && text.contains("limit of 1 MiB"),
            "{text}"
        );
        assert!(server.settled().await < 64 << 20);
        // Declared up front: refused before the body is read.
        let server = crate::http::security_tests::EndlessServer::start(true).await;
        let tokens = plain_source(server.uri.clone());
        let err = tokens.authorization().await.unwrap_err();
        assert!(err.to_string().contains("Content-Length is"), "{err}");
    }

    /// Through the fake C1's token endpoint: with `expires_in: 0` every call fetches a
    /// token; with an hour the first one is reused.
    #[cfg(feature = "fake-c1")]
    #[tokio::test]
    async fn a_token_without_lifetime_is_fetched_again_on_the_next_call() {
        let c1 = crate::service::fake::FakeC1::start().await.unwrap();
        let creds = c1.credentials("expiry");
        let source = || {
            let tls = crate::service::tls::client_config(
                Some(c1.ca_pem().as_bytes()),
                &[b"h2", b"http/1.1"],
            )
            .unwrap();
            TokenSource::new(
                ClientId::parse(&creds.client_id).unwrap(),
                ClientSecret::parse(&creds.client_secret).unwrap(),
                &c1.host(),
                tls,
                "test",
            )
            .unwrap()
        };
        c1.set_token_lifetime(0);
        let tokens = source();
        let (a, _) = tokens.authorization().await.unwrap();
        let (b, _) = tokens.authorization().await.unwrap();
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(tokens.fetches(), 2);
        assert_eq!(c1.token_requests(), 2);

        c1.set_token_lifetime(3600);
        let tokens = source();
        let (a, _) = tokens.authorization().await.unwrap();
        let (b, _) = tokens.authorization().await.unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_eq!(tokens.fetches(), 1);
        assert_eq!(c1.token_requests(), 3);
    }
}
