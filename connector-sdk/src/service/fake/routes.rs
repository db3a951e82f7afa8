//! The fake's HTTP side: routing between the token endpoint and gRPC, and `/auth/v1/token`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::super::credentials::{ClientId, strip_port};
use super::super::token::Claims;
use super::grpc::Svc;
use super::*;
use crate::service::grpc::BatonServiceServer;

type HttpResponse = axum::response::Response;

fn plain(status: u16, body: String) -> HttpResponse {
    use axum::response::IntoResponse as _;
    let status = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    (
        status,
        [(http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// The fake's routes: the generated `BatonService` server as tonic routes (an unknown
/// method answers `Unimplemented`), `/auth/v1/token` beside it, and every request's
/// `User-Agent` recorded.
pub(super) fn router(shared: Arc<Shared>) -> axum::Router {
    let grpc = tonic::service::Routes::new(BatonServiceServer::new(Svc(shared.clone())));
    let token_shared = shared.clone();
    grpc.into_axum_router()
        .route(
            "/auth/v1/token",
            axum::routing::any(move |req: axum::extract::Request| token(token_shared.clone(), req)),
        )
        .layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                record_user_agent(&shared, &req);
                next.run(req)
            },
        ))
}

fn record_user_agent(shared: &Shared, req: &axum::extract::Request) {
    if let Some(ua) = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
    {
        lock(&shared.state).user_agents.insert(ua.to_string());
    }
}

async fn token(shared: Arc<Shared>, req: axum::extract::Request) -> HttpResponse {
    lock(&shared.state).token_requests += 1;
    let refuse = |shared: &Shared, why: String| {
        lock(&shared.state).rejections.push(format!("token: {why}"));
        plain(
            401,
            format!(
                "{{\"error\":\"invalid_client\",\"error_description\":{}}}",
                serde_json::Value::from(why)
            ),
        )
    };
    if req.method() != http::Method::POST {
        return refuse(&shared, "not a POST".into());
    }
    let ct = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !ct.starts_with("application/x-www-form-urlencoded") {
        return refuse(&shared, format!("content-type {ct:?}"));
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), 64 * 1024).await else {
        return plain(400, "{}".into());
    };
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    if get("grant_type") != "client_credentials" {
        return refuse(&shared, "grant_type is not client_credentials".into());
    }
    if get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
        return refuse(&shared, "wrong client_assertion_type".into());
    }
    let client_id = get("client_id");
    let Some(key) = lock(&shared.state).keys.get(&client_id).copied() else {
        return refuse(&shared, format!("unknown client {client_id:?}"));
    };
    let assertion = get("client_assertion");
    // The header: alg EdDSA and a 32-hex nonce, nothing else.
    let header_ok = assertion
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .is_some_and(|h| {
            h["alg"] == "EdDSA"
                && h["nonce"]
                    .as_str()
                    .is_some_and(|n| n.len() == 32 && n.chars().all(|c| c.is_ascii_hexdigit()))
                && h.as_object().is_some_and(|o| o.len() == 2)
        });
    if !header_ok {
        return refuse(&shared, "the JWT header is not {alg: EdDSA, nonce}".into());
    }
    let decoding = match jsonwebtoken::DecodingKey::from_ed_components(
        &URL_SAFE_NO_PAD.encode(key.as_bytes()),
    ) {
        Ok(k) => k,
        Err(e) => return refuse(&shared, format!("key: {e}")),
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.leeway = 120;
    validation.set_audience(&[&shared.audience]);
    validation.set_issuer(&[&client_id]);
    validation.sub = Some(client_id.clone());
    validation.validate_nbf = true;
    validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "sub", "aud"]);
    let claims = match jsonwebtoken::decode::<Claims>(&assertion, &decoding, &validation) {
        Ok(d) => d.claims,
        Err(e) => return refuse(&shared, format!("assertion: {e}")),
    };
    if claims.exp - claims.iat > 300 {
        return refuse(&shared, "assertion lives too long".into());
    }
    if ClientId::parse(&client_id)
        .map(|c| strip_port(c.token_host()) != shared.audience)
        .unwrap_or(true)
    {
        return refuse(&shared, "client id host".into());
    }
    let lifetime = lock(&shared.behaviour).token_lifetime_s;
    let token = format!(
        "fake-token-{}",
        URL_SAFE_NO_PAD.encode(rand::random::<[u8; 18]>())
    );
    lock(&shared.state).tokens.insert(
        token.clone(),
        Instant::now() + Duration::from_secs(lifetime.max(0) as u64),
    );
    plain(
        200,
        serde_json::json!({"access_token": token, "token_type": "bearer", "expires_in": lifetime})
            .to_string(),
    )
}
