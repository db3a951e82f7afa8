//! Every `authType` and token source of the provider format, against wiremock: what the
//! token request sends, and the `Authorization` each SCIM request then carries.

mod common;

use connector_scim::simulator::{ScimSimulator, SimState, shape_for};
use connector_scim::{Credentials, Provider, Scim, ScimApi, ScimConfig};
use connector_sdk::prelude::*;
use connector_sdk::testing::fast_retry;
use serde_json::json;
use wiremock::matchers::{body_string, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MAPPING: &str = r#"
user: {id: id, firstName: name.givenName, lastName: name.familyName, primaryEmail: "emails[0].value", active: active}
pagination: {totalResults: totalResults, itemsPerPage: itemsPerPage, startIndex: startIndex}
"#;

fn secret(s: &str) -> Option<secrecy::SecretString> {
    Some(s.to_string().into())
}

/// Validates (`GET /Users?count=1`) a connector for `auth` (YAML) with `creds` against a
/// server expecting `authorization` on SCIM requests.
async fn validate_with(server: &MockServer, auth: &str, creds: Credentials, authorization: &str) {
    Mock::given(method("GET"))
        .and(path("/scim/Users"))
        .and(header("authorization", authorization))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"totalResults": 0, "Resources": []})),
        )
        .expect(1..)
        .mount(server)
        .await;
    let text = format!("apiEndpoint: \"{}/scim\"\n{auth}{MAPPING}", server.uri());
    let p = Provider::parse("auth.yaml", &text).unwrap();
    let config = ScimConfig::with_env(p, creds, None, &|_| None).unwrap();
    let c = Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap());
    c.validate().await.unwrap();
}

#[tokio::test]
async fn api_key_with_and_without_a_prefix_basic_and_oauth2() {
    let server = MockServer::start().await;
    let key = Credentials {
        api_key: secret("k3y"),
        ..Credentials::default()
    };
    validate_with(
        &server,
        "auth: {authType: apiKey, apiKeyPrefix: Bearer}\n",
        key.clone(),
        "Bearer k3y",
    )
    .await;
    let server = MockServer::start().await;
    validate_with(&server, "auth: {authType: apiKey}\n", key, "k3y").await;
    let server = MockServer::start().await;
    let basic = Credentials {
        username: secret("ada"),
        password: secret("pw"),
        ..Credentials::default()
    };
    validate_with(
        &server,
        "auth: {authType: basic}\n",
        basic,
        "Basic YWRhOnB3",
    )
    .await;
    let server = MockServer::start().await;
    let token = Credentials {
        token: secret("t0k"),
        ..Credentials::default()
    };
    validate_with(&server, "auth: {authType: oauth2}\n", token, "Bearer t0k").await;
}

#[tokio::test]
async fn basic_token_source_gets_a_token_with_basic_client_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(query_param("grant_type", "client_credentials"))
        .and(header("authorization", "Basic Y2lkOmNzZWM="))
        .and(header("x-realm", "r1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "bts", "expires_in": "3600"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let auth = format!(
        "auth:\n  authType: basicTokenSource\n  authUrl: \"{}/token\"\n  tokenRequestDefaults:\n    headers: {{x-realm: r1}}\n    queryParams: {{grant_type: client_credentials}}\n",
        server.uri()
    );
    let creds = Credentials {
        client_id: secret("cid"),
        client_secret: secret("csec"),
        ..Credentials::default()
    };
    validate_with(&server, &auth, creds, "Bearer bts").await;
}

/// SAP SuccessFactors' form: form-encoded (whatever a JSON default would say), no client
/// credentials, the `${VAR}`s of the file read from the environment.
#[tokio::test]
async fn custom_token_source_posts_the_files_form() {
    let tokens = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(
            "assertion=REPLACE_WITH_SAML_ASSERTION&client_id=REPLACE_WITH_CLIENT_ID&company_id=REPLACE_WITH_COMPANY_ID&grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Asaml2-bearer",
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "saml-tok", "expires_in": 600})))
        .expect(1)
        .mount(&tokens)
        .await;
    let host = tokens.address().to_string();
    let mut provider = common::shipped("sap-success-factors");
    // The tenant takes only the token the form earns; groups on the user, as the file reads.
    let shape = shape_for(&provider).bearer("saml-tok");
    assert_eq!(
        (shape.base_path.as_str(), shape.groups_on_user),
        ("/rest/iam/scim/v2", true)
    );
    let sim = ScimSimulator::start(SimState::seeded(shape)).await;
    // The shipped file says https; the token server speaks plain http on loopback.
    provider.auth.auth_url = provider
        .auth
        .auth_url
        .map(|u| u.replace("https://", "http://"));
    let env = move |k: &str| (k == "SAP_SF_API_SERVER").then(|| host.clone());
    let config = ScimConfig::with_env(
        provider,
        Credentials::default(),
        Some(&sim.base_url()),
        &env,
    )
    .unwrap();
    let c = Scim::with_api(ScimApi::with_retry(&config, fast_retry()).unwrap());
    let report = connector_sdk::testing::assert_conformance(&c).await;
    // Groups on the user, with ids: Ada and Bob in Engineering; the file maps no roles.
    assert_eq!(report.grants, 2);
    assert_eq!(sim.state().count("unauthenticated"), 0);
}
