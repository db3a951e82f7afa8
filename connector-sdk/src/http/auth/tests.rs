//! Tests of `http/auth.rs`.

use super::oauth::*;
use super::token::*;
use super::*;
use crate::error::ErrorKind;
use url::Url;

#[test]
fn absurd_lifetimes_are_capped_not_a_panic() {
    let t = parse_token_response(br#"{"access_token":"a","expires_in":1e20}"#).unwrap();
    assert_eq!(t.expires_in, Some(MAX_TOKEN_LIFETIME));
    let t = parse_token_response(br#"{"access_token":"a","expires_in":"9.3e18"}"#).unwrap();
    assert_eq!(t.expires_in, Some(MAX_TOKEN_LIFETIME));
}

#[tokio::test]
async fn a_cache_takes_a_token_of_any_lifetime() {
    let cache = TokenCache::default();
    let (token, _) = cache
        .get(|| async {
            Ok(Token {
                secret: SecretString::from("t"),
                expires_in: Some(Duration::MAX),
            })
        })
        .await
        .unwrap();
    assert_eq!(token.expose_secret(), "t");
}

#[test]
fn a_credential_http_cannot_carry_is_refused_not_dropped() {
    let mut req = AuthRequest::default();
    req.bearer(&SecretString::from("tok\n"));
    assert!(req.into_headers().is_ok(), "a trailing newline is trimmed");
    let mut req = AuthRequest::default();
    req.bearer(&SecretString::from("to\u{1}k-secret"));
    let err = req.into_headers().unwrap_err();
    assert!(err.to_string().contains("cannot carry"), "{err}");
    assert!(!err.to_string().contains("secret"), "{err}");
}

#[test]
fn token_response_forms() {
    let t = parse_token_response(br#"{"access_token":"abc","expires_in":"120"}"#).unwrap();
    assert_eq!(t.expires_in, Some(Duration::from_secs(120)));
    let t = parse_token_response(br#"{"access_token":"abc"}"#).unwrap();
    assert_eq!(t.expires_in, Some(Duration::from_secs(3600)));
    let err = parse_token_response(br#"{"access_token":""}"#).unwrap_err();
    assert!(err.to_string().contains("no access_token"));
    let err = parse_token_response(br#"["super-secret-token"]"#).unwrap_err();
    assert!(!err.to_string().contains("super-secret-token"));
}

#[test]
fn oauth_errors_are_classified_by_code() {
    let e = oauth_error(
        400,
        br#"{"error":"invalid_scope","error_description":"nope"}"#,
    );
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.to_string().contains("register the requested scopes"));
    let e = oauth_error(403, br#"{"error":"unauthorized_client"}"#);
    assert_eq!(e.kind(), ErrorKind::Unauthenticated);
    let e = oauth_error(503, b"<html>down</html>");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
}

#[test]
fn debug_output_hides_secrets() {
    let secret = SecretString::from("s3cr3t-value");
    let shown = [
        format!("{:?}", BearerToken::new(secret.clone())),
        format!("{:?}", BasicAuth::new("me", secret.clone())),
        format!(
            "{:?}",
            OAuth2ClientCredentials::new(
                Url::parse("https://x/oauth/token").unwrap(),
                "id",
                secret.clone(),
                vec![]
            )
        ),
        format!(
            "{:?}",
            Token {
                secret: secret.clone(),
                expires_in: None
            }
        ),
    ];
    for s in shown {
        assert!(!s.contains("s3cr3t-value"), "{s}");
    }
}

#[tokio::test]
async fn cache_refreshes_only_stale_generations() {
    let cache = TokenCache::new(Duration::ZERO);
    let mk = |s: &'static str| async move {
        Ok(Token {
            secret: SecretString::from(s),
            expires_in: None,
        })
    };
    let (t1, s1) = cache.get(|| mk("one")).await.unwrap();
    assert_eq!(t1.expose_secret(), "one");
    // A second 401 carrying an older stamp must not drop a newer token.
    cache.invalidate(s1).await;
    let (t2, s2) = cache.get(|| mk("two")).await.unwrap();
    assert_eq!(t2.expose_secret(), "two");
    cache.invalidate(s1).await;
    let (t3, s3) = cache.get(|| mk("three")).await.unwrap();
    assert_eq!(t3.expose_secret(), "two");
    assert_eq!(s2, s3);
}
