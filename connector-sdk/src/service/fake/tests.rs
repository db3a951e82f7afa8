//! Tests of `service/fake.rs`.

use super::*;
use crate::handle::ConnectorHandle;
use crate::service::{ServiceConfig, StatusHandle, run_service};
use crate::sync::StopSignal;
use crate::testing::{LogCapture, MemoryConnector, assert_no_secret};

/// A worker in this process against `c1`, with provisioning, over the seeded memory tenant
/// (random passwords): its config, its stop signal and its task.
pub(crate) fn start_worker(
    c1: &FakeC1,
    creds: &TestCredentials,
) -> (
    ServiceConfig,
    StopSignal,
    tokio::task::JoinHandle<crate::Result<()>>,
) {
    let mut config = ServiceConfig::new(&creds.client_id, creds.client_secret.clone());
    config.extra_ca_pem = Some(c1.ca_pem().as_bytes().to_vec());
    config.provisioning = true;
    config.shutdown_grace = Duration::from_secs(2);
    let stop = StopSignal::new();
    let connector =
        ConnectorHandle::new(MemoryConnector::seeded().with_random_passwords()).unwrap();
    let run = tokio::spawn(run_service(
        connector,
        config.clone(),
        stop.clone(),
        StatusHandle::default(),
    ));
    (config, stop, run)
}

/// In process, on one thread, so `LogCapture` sees every TRACE event of the SDK, tonic,
/// hyper, h2 and rustls: no client secret, access token or generated password in them,
/// in any `Debug`, or in what C1 received other than the age ciphertext.
#[tokio::test]
async fn no_secret_reaches_trace_logs_debug_output_or_the_wire_in_clear() {
    let logs = LogCapture::start();
    let c1 = FakeC1::start().await.unwrap();
    c1.set_token_lifetime(1);
    let creds = c1.credentials("leak-check");
    let identity = age::x25519::Identity::generate();
    let sync = c1.enqueue_sync_full();
    let create = c1.enqueue_other(TaskType::CreateAccount(CreateAccountTask {
        account_info: Some(AccountInfo {
            emails: vec![AccountEmail {
                address: "new@example.com".into(),
                is_primary: true,
            }],
            ..Default::default()
        }),
        credential_options: None,
        encryption_configs: vec![EncryptionConfig {
            principal: None,
            provider: String::new(),
            key_id: String::new(),
            config: Some(EncryptionKind::AgeRecipientConfig(AgeRecipientConfig {
                recipient: identity.to_public().to_string(),
            })),
        }],
        resource_type_id: String::new(),
    }));
    let (config, stop, run) = start_worker(&c1, &creds);
    c1.wait_for_finish(&sync, Duration::from_secs(30))
        .await
        .unwrap();
    let f = c1
        .wait_for_finish(&create, Duration::from_secs(30))
        .await
        .unwrap();
    // Past the 1 s token lifetime: a refresh happens.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.trigger();
    run.await.unwrap().unwrap();
    let Some(FinalState::Success(ok)) = &f.final_state else {
        panic!("{f:?}");
    };
    let resp: CreateAccountResponse = from_any(
        super::super::proto::names::CREATE_ACCOUNT_RESPONSE,
        ok.response.as_ref().unwrap(),
    )
    .unwrap();
    let password = SecretString::from(
        String::from_utf8(
            age::decrypt(&identity, &resp.encrypted_data[0].encrypted_bytes).unwrap(),
        )
        .unwrap(),
    );
    let tokens = c1.issued_tokens();
    assert!(tokens.len() >= 2, "{} tokens", tokens.len());
    let mut secrets: Vec<&SecretString> = vec![&creds.client_secret, &password];
    secrets.extend(tokens.iter());
    let text = logs.text();
    assert!(text.contains("TRACE"), "trace events are captured");
    assert_no_secret(&text, &secrets);
    assert_no_secret(&format!("{config:?} {creds:?}"), &secrets);
    assert_no_secret(&format!("{:?}", c1.finishes()), &secrets);
    let hellos = format!("{:?}", c1.hellos());
    assert_no_secret(&hellos, &secrets);
    // The raw secret's key part is not in the logs either.
    let key_part = secrecy::ExposeSecret::expose_secret(&creds.client_secret)
        .rsplit(':')
        .next()
        .unwrap()
        .to_string();
    assert!(!text.contains(&key_part));
    assert!(c1.rejections().is_empty(), "{:?}", c1.rejections());
}
