//! Service mode end to end: the `baton_memory` binary against the fake ConductorOne
//! (`connector_sdk::service::fake`, TLS on 127.0.0.1, trusted through `SSL_CERT_FILE`).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::command;
use connector_sdk::model::ResourceId;
use connector_sdk::service::fake::{FakeC1, TestCredentials};
use connector_sdk::service::proto::{self, FinalState, FinishTaskRequest, TaskType, names};
use connector_sdk::store::{C1zReader, GrantFilter};
use secrecy::ExposeSecret;

const KEY: &str = "memory-key-sekrit-123";

/// A running connector binary and where its output goes.
struct Worker {
    child: Child,
    log: PathBuf,
}

impl Worker {
    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn sigterm(&self) {
        let ok = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
    }

    /// Waits for the exit (killing the child after `timeout`).
    fn wait(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn memory(dir: &Path) -> std::process::Command {
    let mut c = command("baton_memory");
    c.current_dir(dir)
        .env("BATON_MEMORY_API_KEY", KEY)
        .env("BATON_MEMORY_STATE", dir.join("tenant.json"))
        .env("BATON_LOG_LEVEL", "trace")
        .env("BATON_NO_PROGRESS", "true");
    c
}

/// Starts `baton_memory` in service mode against `c1` with `extra` flags.
fn start(c1: &FakeC1, creds: &TestCredentials, dir: &Path, extra: &[&str]) -> Worker {
    start_env(c1, creds, dir, extra, &[])
}

/// [`start`] with extra environment variables.
fn start_env(
    c1: &FakeC1,
    creds: &TestCredentials,
    dir: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> Worker {
    let log = dir.join(format!("worker-{}.log", fastrand_suffix()));
    let out = std::fs::File::create(&log).unwrap();
    let child = memory(dir)
        .env("BATON_CLIENT_ID", &creds.client_id)
        .env("BATON_CLIENT_SECRET", creds.client_secret.expose_secret())
        .env("SSL_CERT_FILE", c1.ca_file())
        .env("BATON_HOST_ID", "test-worker")
        .args(extra)
        .envs(env.iter().copied())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .stdin(Stdio::null())
        .spawn()
        .unwrap();
    Worker { child, log }
}

fn fastrand_suffix() -> String {
    format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

/// A local one-shot sync of the same tenant, for ids and for comparison.
fn local_sync(dir: &Path) -> C1zReader {
    let path = dir.join("local.c1z");
    let o = memory(dir).args(["--file"]).arg(&path).output().unwrap();
    assert!(o.status.success(), "{}", common::stderr(&o));
    C1zReader::open(&path).unwrap()
}

fn success(f: &FinishTaskRequest) -> (Option<proto::Any>, Vec<proto::Any>) {
    match &f.final_state {
        Some(FinalState::Success(s)) => (s.response.clone(), s.annotations.clone()),
        other => panic!("expected success, got {other:?} status {:?}", f.status),
    }
}

fn failure(f: &FinishTaskRequest) -> (i32, String, bool) {
    match &f.final_state {
        Some(FinalState::Error(e)) => {
            let s = f.status.clone().unwrap_or_default();
            (s.code, s.message, e.non_retryable)
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

const WAIT: Duration = Duration::from_secs(30);

/// The health checks' address a worker printed.
fn health_address(logs: &str) -> String {
    logs.split("health checks: http://")
        .nth(1)
        .and_then(|r| r.split("/health").next())
        .expect("health checks address printed")
        .to_string()
}

/// `GET path` on `addr`: the status and the body.
fn http_get(addr: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        sock,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    sock.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}

fn ent_proto(r: &C1zReader, id: &str) -> proto::Entitlement {
    let e = r.entitlement(id).unwrap().unwrap();
    let res = r.resource(e.resource()).unwrap().unwrap();
    proto::entitlement_to_proto(&e, Some(&res), &BTreeMap::new())
}

fn resource_proto(r: &C1zReader, t: &str, id: &str) -> proto::Resource {
    proto::resource_to_proto(&r.resource(&ResourceId::new(t, id)).unwrap().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_sync_upload_grant_and_revoke_through_the_fake_c1() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_sync(dir.path());
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("memory-test");
    let sync_id = c1.enqueue_sync_full();
    let mut w = start(&c1, &creds, dir.path(), &["--provisioning"]);

    // Hello with the connector's metadata.
    assert!(
        c1.wait_until(WAIT, |c| !c.hellos().is_empty()).await,
        "{}",
        w.logs()
    );
    let hello = c1.hellos().remove(0);
    assert_eq!(hello.host_id, "test-worker");
    assert!(hello.task_id.is_empty());
    let meta = hello.connector_metadata.unwrap();
    assert!(!meta.display_name.is_empty());
    let caps = meta.capabilities.unwrap();
    let group = caps
        .resource_type_capabilities
        .iter()
        .find(|c| c.resource_type.as_ref().unwrap().id == "group")
        .unwrap();
    assert!(group.capabilities.contains(&proto::capability::PROVISION));
    assert!(
        caps.connector_capabilities
            .contains(&proto::capability::SYNC)
    );
    assert!(hello.build_info.unwrap().package == "baton-memory");
    assert!(!hello.os_info.unwrap().os.is_empty());

    // The sync: uploaded in chunks, decoding to what a local sync holds.
    let f = c1.wait_for_finish(&sync_id, WAIT).await.unwrap();
    let (response, _) = success(&f);
    assert!(response.is_none());
    assert_eq!(f.host_id, "test-worker");
    let uploads = c1.uploads();
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].task_id, sync_id);
    assert!(uploads[0].largest_chunk <= 512 * 1024);
    let up = dir.path().join("uploaded.c1z");
    uploads[0].save(&up).unwrap();
    let remote = C1zReader::open(&up).unwrap();
    assert_eq!(
        remote.resources(None).unwrap(),
        local.resources(None).unwrap()
    );
    assert_eq!(
        remote.entitlements(None).unwrap(),
        local.entitlements(None).unwrap()
    );
    // The same grants; the order they were written in depends on which listing finished
    // first (the engine lists concurrently).
    let sorted = |r: &C1zReader| {
        let mut g = r.grants(&GrantFilter::default()).unwrap();
        g.sort_by(|a, b| a.id().cmp(b.id()));
        g
    };
    assert_eq!(sorted(&remote), sorted(&local));
    assert!(
        !c1.heartbeats(&sync_id).is_empty(),
        "the sync heartbeats first"
    );

    // A grant and a revoke, with upstream's response messages.
    let grant_id = c1.enqueue_grant(
        ent_proto(&local, "group:g2:member"),
        resource_proto(&local, "user", "u5"),
    );
    let f = c1.wait_for_finish(&grant_id, WAIT).await.unwrap();
    let (response, _) = success(&f);
    let resp: proto::GrantResponse =
        proto::from_any(names::GRANT_RESPONSE, response.as_ref().unwrap()).unwrap();
    assert_eq!(resp.grants.len(), 1);
    assert_eq!(resp.grants[0].id, "group:g2:member:user:u5");

    let (g, _) = proto::grant_to_proto(&local.grant("group:g1:member:user:u1").unwrap().unwrap());
    let revoke_id = c1.enqueue_revoke(g);
    let f = c1.wait_for_finish(&revoke_id, WAIT).await.unwrap();
    let (response, _) = success(&f);
    assert!(
        proto::from_any::<proto::RevokeResponse>(
            names::REVOKE_RESPONSE,
            response.as_ref().unwrap()
        )
        .is_some()
    );
    assert!(c1.rejections().is_empty(), "{:?}", c1.rejections());

    // SIGTERM with nothing running: exit 0.
    w.sigterm();
    assert_eq!(w.wait(Duration::from_secs(10)), Some(0), "{}", w.logs());
    let logs = w.logs();
    assert!(!logs.contains(creds.client_secret.expose_secret()));
    assert!(!logs.contains("fake-token-"), "{logs}");
    assert!(!logs.contains(KEY));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn heartbeats_follow_the_server_interval_and_a_cancelled_task_finishes_with_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    c1.set_heartbeat_interval(Duration::from_millis(1000));
    let creds = c1.credentials("hb");
    let id = c1.enqueue_sync_full();
    let w = start(&c1, &creds, dir.path(), &["--memory-latency", "2s"]);
    // Let three interval heartbeats arrive after the first one, then cancel.
    assert!(
        c1.wait_until(WAIT, |c| c.heartbeats(&id).len() >= 4).await,
        "{}",
        w.logs()
    );
    let beats = c1.heartbeats(&id);
    let gaps: Vec<f64> = beats
        .windows(2)
        .map(|p| (p[1] - p[0]).as_secs_f64())
        .collect();
    for g in &gaps[..3] {
        assert!((0.8..1.7).contains(g), "heartbeat gaps {gaps:?}");
    }
    c1.cancel(&id);
    let f = c1.wait_for_finish(&id, WAIT).await.unwrap();
    let (code, message, non_retryable) = failure(&f);
    assert_eq!(code, 1, "{message}");
    assert!(message.contains("cancelled by ConductorOne"), "{message}");
    assert!(!non_retryable);
    assert!(c1.uploads().is_empty());
    println!("heartbeat gaps (s): {gaps:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_provisioning_write_tasks_fail_non_retryable_and_unknown_types_are_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_sync(dir.path());
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("ro");
    let grant = c1.enqueue_grant(
        ent_proto(&local, "group:g2:member"),
        resource_proto(&local, "user", "u5"),
    );
    let feed = c1.enqueue_other(TaskType::EventFeed(proto::Empty {}));
    let untyped = c1.enqueue_task(None);
    let schemas = c1.enqueue_other(TaskType::ActionListSchemas(Default::default()));
    // GetTasks asked for but not implemented by the server: GetTask takes over.
    c1.set_get_tasks_unimplemented(true);
    let w = start_env(&c1, &creds, dir.path(), &[], &[("BATON_GET_TASKS", "1")]);
    let f = c1.wait_for_finish(&grant, WAIT).await.unwrap();
    let (code, message, non_retryable) = failure(&f);
    assert_eq!(code, 9, "{message}");
    assert!(non_retryable);
    assert!(message.contains("BATON_PROVISIONING"), "{message}");
    for id in [&feed, &untyped] {
        let f = c1.wait_for_finish(id, WAIT).await.unwrap();
        let (code, message, non_retryable) = failure(&f);
        assert_eq!(code, 2);
        assert!(message.contains("unsupported task type"), "{message}");
        assert!(!non_retryable);
    }
    // Reading schemas is not a write.
    let f = c1.wait_for_finish(&schemas, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    let list: proto::ListActionSchemasResponse =
        proto::from_any(names::LIST_ACTION_SCHEMAS_RESPONSE, resp.as_ref().unwrap()).unwrap();
    let names_: Vec<&str> = list.schemas.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names_, ["enable_user", "disable_user"]);
    assert!(list.schemas[1].arguments[0].is_required);
    assert!(c1.rejections().is_empty(), "{:?}", c1.rejections());
    drop(w);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_account_is_encrypted_to_the_age_recipient_and_delete_and_actions_answer() {
    use age::secrecy::ExposeSecret as _;
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("prov");
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let create = c1.enqueue_other(TaskType::CreateAccount(proto::CreateAccountTask {
        account_info: Some(proto::AccountInfo {
            emails: vec![proto::AccountEmail {
                address: "grace@example.com".into(),
                is_primary: true,
            }],
            login: "grace".into(),
            login_aliases: vec![],
            profile: None,
        }),
        credential_options: Some(proto::CredentialOptions {
            force_change_at_next_login: false,
            options: Some(proto::CredentialOptionKind::RandomPassword(
                proto::RandomPassword {
                    length: 20,
                    constraints: vec![
                        proto::PasswordConstraint {
                            char_set: "0123456789".into(),
                            min_count: 5,
                        },
                        proto::PasswordConstraint {
                            char_set: "abcdefghijklmnopqrstuvwxyz".into(),
                            min_count: 5,
                        },
                    ],
                },
            )),
        }),
        encryption_configs: vec![proto::EncryptionConfig {
            principal: None,
            provider: String::new(),
            key_id: "k1".into(),
            config: Some(proto::EncryptionKind::AgeRecipientConfig(
                proto::AgeRecipientConfig {
                    recipient: recipient.clone(),
                },
            )),
        }],
        resource_type_id: "user".into(),
    }));
    let delete = c1.enqueue_other(TaskType::DeleteResource(proto::DeleteResourceTask {
        resource_id: Some(proto::ResourceId {
            resource_type: "user".into(),
            resource: "u4".into(),
            baton_resource: false,
        }),
        parent_resource_id: None,
    }));
    let bad_delete = c1.enqueue_other(TaskType::DeleteResource(Default::default()));
    let get_schema = c1.enqueue_other(TaskType::ActionGetSchema(proto::ActionGetSchemaTask {
        name: "disable_user".into(),
        annotations: vec![],
    }));
    let args = serde_json::json!({"user_id": "u2"});
    let invoke = c1.enqueue_other(TaskType::ActionInvoke(proto::ActionInvokeTask {
        name: "disable_user".into(),
        args: Some(proto::struct_from_profile(args.as_object().unwrap())),
        annotations: vec![],
        resource_type_id: String::new(),
    }));
    let w = start(
        &c1,
        &creds,
        dir.path(),
        &["--provisioning", "--memory-random-passwords"],
    );
    let f = c1.wait_for_finish(&create, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    let created: proto::CreateAccountResponse =
        proto::from_any(names::CREATE_ACCOUNT_RESPONSE, resp.as_ref().unwrap()).unwrap();
    let Some(proto::CreateAccountResult::Success(ok)) = &created.result else {
        panic!("{created:?}");
    };
    assert!(ok.is_create_account_result);
    assert_eq!(created.encrypted_data.len(), 1);
    let data = &created.encrypted_data[0];
    assert_eq!(data.provider, "baton/age/v1");
    assert_eq!(data.key_ids.len(), 1);
    assert_eq!(data.key_ids[0].len(), 64);
    let plain = age::decrypt(&identity, &data.encrypted_bytes).unwrap();
    let password = String::from_utf8(plain).unwrap();
    assert_eq!(password.chars().count(), 20, "{}", password.len());
    // The platform's constraints: at least 5 digits and 5 lower-case letters.
    assert!(password.chars().filter(|c| c.is_ascii_digit()).count() >= 5);
    assert!(password.chars().filter(|c| c.is_ascii_lowercase()).count() >= 5);

    let f = c1.wait_for_finish(&delete, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    assert!(
        proto::from_any::<proto::DeleteResourceResponse>(
            names::DELETE_RESOURCE_RESPONSE,
            resp.as_ref().unwrap()
        )
        .is_some()
    );
    let f = c1.wait_for_finish(&bad_delete, WAIT).await.unwrap();
    let (_, message, non_retryable) = failure(&f);
    assert!(
        non_retryable && message.contains("malformed delete resource task"),
        "{message}"
    );

    let f = c1.wait_for_finish(&get_schema, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    let schema: proto::GetActionSchemaResponse =
        proto::from_any(names::GET_ACTION_SCHEMA_RESPONSE, resp.as_ref().unwrap()).unwrap();
    assert_eq!(
        schema.schema.unwrap().action_type,
        [proto::action_type::ACCOUNT_DISABLE]
    );

    let f = c1.wait_for_finish(&invoke, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    let out: proto::InvokeActionResponse =
        proto::from_any(names::INVOKE_ACTION_RESPONSE, resp.as_ref().unwrap()).unwrap();
    assert_eq!(out.status, proto::action_status::COMPLETE);
    let result = proto::profile_from_struct(out.response.as_ref().unwrap());
    assert_eq!(result["enabled"], false);
    let status = c1.enqueue_other(TaskType::ActionStatus(proto::ActionStatusTask {
        name: String::new(),
        id: out.id.clone(),
        annotations: vec![],
    }));
    let f = c1.wait_for_finish(&status, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    let st: proto::GetActionStatusResponse =
        proto::from_any(names::GET_ACTION_STATUS_RESPONSE, resp.as_ref().unwrap()).unwrap();
    assert_eq!(
        (st.id.as_str(), st.status),
        (out.id.as_str(), proto::action_status::COMPLETE)
    );

    // The password is nowhere in clear: not in the logs (TRACE), not in the tenant's files
    // other than the tenant itself, not in the FinishTask.
    let logs = w.logs();
    assert!(!logs.contains(&password), "password in logs");
    let finish_bytes = format!("{:?}", c1.finishes());
    assert!(!finish_bytes.contains(&password));
    let _ = identity.to_string().expose_secret().len();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_refresh_finish_task_is_retried_and_a_missing_next_poll_is_not_a_busy_loop() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_sync(dir.path());
    let c1 = FakeC1::start().await.unwrap();
    c1.set_token_lifetime(2);
    c1.set_next_poll(None);
    c1.fail_next_finishes(1);
    let creds = c1.credentials("refresh");
    let w = start(
        &c1,
        &creds,
        dir.path(),
        &[
            "--provisioning",
            "--health-check-port",
            "0",
            "--health-check-address",
            "127.0.0.1",
        ],
    );
    assert!(
        c1.wait_until(WAIT, |c| !c.hellos().is_empty()).await,
        "{}",
        w.logs()
    );
    let grant = c1.enqueue_grant(
        ent_proto(&local, "group:g2:member"),
        resource_proto(&local, "user", "u5"),
    );
    let f = c1.wait_for_finish(&grant, WAIT).await.unwrap();
    success(&f);
    // Watch the loop for 4 s: tokens (2 s) are refreshed before they expire.
    let before = c1.polls().len();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let polls = c1.polls().len() - before;
    assert!(polls <= 6, "{polls} polls in 4 s without next_poll");
    assert!(polls >= 2, "{polls} polls in 4 s");
    assert!(
        c1.token_requests() >= 3,
        "{} token requests",
        c1.token_requests()
    );
    assert!(
        c1.rejections().is_empty(),
        "refused calls: {:?}",
        c1.rejections()
    );
    assert!(w.logs().contains("FinishTask failed"), "{}", w.logs());
    // /healthz reports the loop; /ready and /live say it is connected and not wedged.
    let url = health_address(&w.logs());
    let (status, body) = http_get(&url, "/healthz");
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    for path in ["/ready", "/live", "/health"] {
        assert_eq!(http_get(&url, path).0, 200, "{path}");
    }
    assert_eq!(json["c1"]["connected"], true, "{json}");
    assert_eq!(json["c1"]["healthy"], true, "{json}");
    assert!(json["c1"]["last_poll_unix"].as_u64().is_some(), "{json}");
    assert!(json["c1"]["polls"].as_u64().unwrap() >= 2, "{json}");
    assert_eq!(c1.finishes().len(), 1);
    println!(
        "polls in 4 s without next_poll: {polls}; token requests: {}",
        c1.token_requests()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_c1_down_at_startup_is_retried_until_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    c1.set_available(false);
    let creds = c1.credentials("down");
    let w = start(&c1, &creds, dir.path(), &[]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(c1.hellos().is_empty());
    c1.set_available(true);
    let started = Instant::now();
    assert!(
        c1.wait_until(WAIT, |c| !c.hellos().is_empty()).await,
        "{}",
        w.logs()
    );
    assert!(
        w.logs().contains("startup Hello failed; retrying"),
        "{}",
        w.logs()
    );
    println!("connected {:?} after C1 came back", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_sync_finishes_it_as_retryable_and_exits_0_within_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("term");
    let id = c1.enqueue_sync_full();
    let mut w = start(
        &c1,
        &creds,
        dir.path(),
        &["--memory-latency", "1s", "--shutdown-grace-period", "1s"],
    );
    assert!(
        c1.wait_until(WAIT, |c| !c.heartbeats(&id).is_empty()).await,
        "{}",
        w.logs()
    );
    let t = Instant::now();
    w.sigterm();
    let code = w.wait(Duration::from_secs(15));
    let took = t.elapsed();
    assert_eq!(code, Some(0), "{}", w.logs());
    let f = c1
        .finishes()
        .into_iter()
        .find(|f| f.task_id == id)
        .expect("finished");
    let (code, message, non_retryable) = failure(&f);
    assert!(!non_retryable, "{message}");
    assert_eq!(code, 14, "{message}");
    assert!(message.contains("shutting down"), "{message}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    println!("SIGTERM to exit: {took:?} (grace 1 s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_secret_fails_before_any_call_without_printing_it() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let good = c1.credentials("bad");
    let tail = "eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwiZCI6Im5vcGUifQ";
    let bad = TestCredentials {
        client_id: good.client_id.clone(),
        client_secret: format!("secret-token:conductorone.com:v1:{tail}").into(),
    };
    let mut w = start(&c1, &bad, dir.path(), &[]);
    assert_eq!(w.wait(Duration::from_secs(10)), Some(2));
    let logs = w.logs();
    assert!(
        logs.contains("--client-secret (BATON_CLIENT_SECRET)"),
        "{logs}"
    );
    assert!(!logs.contains(tail), "{logs}");
    assert_eq!(c1.token_requests(), 0);
    // A malformed client id names its flag too.
    let bad_id = TestCredentials {
        client_id: "no-at-sign".into(),
        client_secret: good.client_secret.clone(),
    };
    let mut w = start(&c1, &bad_id, dir.path(), &[]);
    assert_eq!(w.wait(Duration::from_secs(10)), Some(2));
    assert!(
        w.logs().contains("--client-id (BATON_CLIENT_ID)"),
        "{}",
        w.logs()
    );
    assert!(!w.logs().contains(good.client_secret.expose_secret()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_tasks_with_concurrency_3_runs_three_slow_tasks_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("batch");
    let ids: Vec<String> = (0..3).map(|_| c1.enqueue_sync_full()).collect();
    let w = start_env(
        &c1,
        &creds,
        dir.path(),
        &["--task-concurrency", "3", "--memory-latency", "300ms"],
        &[("BATON_GET_TASKS", "true")],
    );
    for id in &ids {
        c1.wait_for_finish(id, WAIT).await.unwrap();
    }
    let times: Vec<(Instant, Instant)> = ids.iter().map(|i| c1.task_times(i).unwrap()).collect();
    let last_start = times.iter().map(|t| t.0).max().unwrap();
    let first_end = times.iter().map(|t| t.1).min().unwrap();
    assert!(last_start < first_end, "the three tasks did not overlap");
    let overlap = first_end - last_start;
    assert!(!c1.get_tasks_requests().is_empty(), "{}", w.logs());
    println!("three syncs overlapped for {overlap:?}");
}

/// A grant task of `u5` to `group:g2:member`, from a local sync.
fn grant_task(c1: &FakeC1, local: &C1zReader) -> String {
    c1.enqueue_grant(
        ent_proto(local, "group:g2:member"),
        resource_proto(local, "user", "u5"),
    )
}

fn invoke_task(name: &str, args: serde_json::Value) -> TaskType {
    TaskType::ActionInvoke(proto::ActionInvokeTask {
        name: name.into(),
        args: Some(proto::struct_from_profile(args.as_object().unwrap())),
        annotations: vec![],
        resource_type_id: String::new(),
    })
}

/// A panicking grant and a panicking action finish `Internal` with the panic's message,
/// and with one task slot, the sync queued after them still runs: with GetTask and with
/// GetTasks (where a wedged slot used to stop polling for good).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_grant_or_action_finishes_internal_and_the_next_task_runs() {
    for get_tasks in ["false", "true"] {
        let dir = tempfile::tempdir().unwrap();
        let local = local_sync(dir.path());
        let c1 = FakeC1::start().await.unwrap();
        let creds = c1.credentials("panics");
        let grant = grant_task(&c1, &local);
        let action = c1.enqueue_other(invoke_task(
            "disable_user",
            serde_json::json!({"user_id": "u2"}),
        ));
        let sync = c1.enqueue_sync_full();
        let w = start_env(
            &c1,
            &creds,
            dir.path(),
            &[
                "--provisioning",
                "--task-concurrency",
                "1",
                "--memory-bugs",
                "panic-grant,panic-action",
            ],
            &[("BATON_GET_TASKS", get_tasks)],
        );
        for (id, what) in [(&grant, "grant"), (&action, "action")] {
            let f = c1.wait_for_finish(id, WAIT).await.unwrap();
            let (code, message, _) = failure(&f);
            assert_eq!(code, 13, "{what} (GetTasks {get_tasks}): {message}");
            assert!(message.contains("simulated connector bug"), "{message}");
        }
        let f = c1.wait_for_finish(&sync, WAIT).await;
        assert!(
            f.is_ok(),
            "the sync after the panics did not run: {}",
            w.logs()
        );
        success(&f.unwrap());
        // The panicking tasks stopped heartbeating once finished.
        let beats = c1.heartbeats(&grant).len();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(c1.heartbeats(&grant).len(), beats);
    }
}

/// A grant that never answers finishes `DeadlineExceeded` (retryable) at its ceiling,
/// and the worker goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_grant_finishes_deadline_exceeded_at_its_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let local = local_sync(dir.path());
    let c1 = FakeC1::start().await.unwrap();
    c1.set_heartbeat_interval(Duration::from_secs(1));
    let creds = c1.credentials("hang");
    let grant = grant_task(&c1, &local);
    let sync = c1.enqueue_sync_full();
    let w = start(
        &c1,
        &creds,
        dir.path(),
        &[
            "--provisioning",
            "--task-concurrency",
            "1",
            "--memory-bugs",
            "hang-grant",
            "--provisioning-timeout",
            "2s",
        ],
    );
    let f = c1.wait_for_finish(&grant, WAIT).await.unwrap();
    let (code, message, non_retryable) = failure(&f);
    assert_eq!(code, 4, "{message}");
    assert!(!non_retryable);
    assert!(message.contains("--provisioning-timeout"), "{message}");
    let (started, ended) = c1.task_times(&grant).unwrap();
    let took = ended - started;
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "{took:?}"
    );
    let f = c1.wait_for_finish(&sync, WAIT).await;
    assert!(f.is_ok(), "{}", w.logs());
}

/// An action served without --provisioning that takes longer than a second answers
/// `RUNNING` with an id, and `action_status` on that id later answers `COMPLETE` with the
/// result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_action_without_provisioning_answers_running_then_complete() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("actions");
    let invoke = c1.enqueue_other(invoke_task(
        "disable_user",
        serde_json::json!({"user_id": "u2"}),
    ));
    let _w = start(&c1, &creds, dir.path(), &["--memory-bugs", "slow-action"]);
    let f = c1.wait_for_finish(&invoke, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    let r: proto::InvokeActionResponse =
        proto::from_any(names::INVOKE_ACTION_RESPONSE, resp.as_ref().unwrap()).unwrap();
    assert_eq!(r.status, proto::action_status::RUNNING);
    assert_eq!(r.id.len(), 32);
    let (started, ended) = c1.task_times(&invoke).unwrap();
    assert!(
        ended - started < Duration::from_millis(1900),
        "{:?}",
        ended - started
    );
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let status = c1.enqueue_other(TaskType::ActionStatus(proto::ActionStatusTask {
        name: String::new(),
        id: r.id.clone(),
        annotations: vec![],
    }));
    let f = c1.wait_for_finish(&status, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    let s: proto::GetActionStatusResponse =
        proto::from_any(names::GET_ACTION_STATUS_RESPONSE, resp.as_ref().unwrap()).unwrap();
    assert_eq!(s.status, proto::action_status::COMPLETE);
    let out = proto::profile_from_struct(s.response.as_ref().unwrap());
    assert_eq!(out["enabled"], false);
}

/// Event feeds are an empty list; create_resource, rotate_credentials and
/// issue_credential are Unimplemented and not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_feeds_are_empty_and_unserved_task_types_are_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("unserved");
    let feeds = c1.enqueue_other(TaskType::ListEventFeeds(Default::default()));
    let unserved = [
        c1.enqueue_other(TaskType::CreateResource(Default::default())),
        c1.enqueue_other(TaskType::RotateCredentials(Default::default())),
        c1.enqueue_other(TaskType::IssueCredential(Default::default())),
    ];
    let _w = start(&c1, &creds, dir.path(), &["--provisioning"]);
    let f = c1.wait_for_finish(&feeds, WAIT).await.unwrap();
    let (resp, _) = success(&f);
    let any = resp.unwrap();
    assert_eq!(
        any.type_url,
        "type.googleapis.com/c1.connector.v2.ListEventFeedsResponse"
    );
    assert!(any.value.is_empty(), "an empty list");
    for id in &unserved {
        let f = c1.wait_for_finish(id, WAIT).await.unwrap();
        let (code, message, non_retryable) = failure(&f);
        assert_eq!(code, 12, "{message}");
        assert!(non_retryable, "{message}");
    }
}

/// A resources-only sync task uploads a file whose sync run says `resources_only`; the
/// task's resource types replace the binary's flag only when it names some.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resources_only_sync_task_is_recorded_as_resources_only() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("resources-only");
    let sync = c1.enqueue_other(TaskType::SyncFull(proto::SyncFullTask {
        skip_entitlements_and_grants: true,
        ..Default::default()
    }));
    let w = start(&c1, &creds, dir.path(), &["--sync-resource-types", "user"]);
    let f = c1.wait_for_finish(&sync, WAIT).await.unwrap();
    success(&f);
    let up = dir.path().join("uploaded.c1z");
    c1.uploads()[0].save(&up).unwrap();
    let r = C1zReader::open(&up).unwrap();
    assert_eq!(r.sync().sync_type, "resources_only", "{}", w.logs());
    let stats = r.stats().unwrap();
    assert_eq!((stats.entitlements, stats.grants), (0, 0));
    // The task named no types: the binary's --sync-resource-types user applies.
    let types: std::collections::BTreeSet<String> = r
        .resources(None)
        .unwrap()
        .into_iter()
        .map(|x| x.id.resource_type)
        .collect();
    assert_eq!(types.into_iter().collect::<Vec<_>>(), ["user"]);
}

/// A sync task marked `debug` uploads its `.c1z` then its own log (debug level, though
/// the binary logs at info) as a second asset of the same task; a task without the flag
/// uploads only the file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_debug_sync_task_uploads_its_log_after_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("debug-log");
    let plain = c1.enqueue_sync_full();
    let debug = c1.enqueue_debug(TaskType::SyncFull(proto::SyncFullTask::default()));
    let w = start(&c1, &creds, dir.path(), &["--log-level", "info"]);
    success(&c1.wait_for_finish(&plain, WAIT).await.unwrap());
    success(&c1.wait_for_finish(&debug, WAIT).await.unwrap());
    let uploads = c1.uploads();
    let of = |id: &str| -> Vec<_> { uploads.iter().filter(|u| u.task_id == id).collect() };
    assert_eq!(of(&plain).len(), 1, "{}", w.logs());
    let mine = of(&debug);
    assert_eq!(mine.len(), 2, "{}", w.logs());
    let file = dir.path().join("debug-upload.c1z");
    mine[0].save(&file).unwrap();
    assert!(C1zReader::open(&file).is_ok(), "the .c1z comes first");
    let log = String::from_utf8(mine[1].bytes.clone()).unwrap();
    assert!(log.contains("DEBUG"), "debug-level lines are kept: {log}");
    assert!(log.contains("sync finished; uploading"), "{log}");
    assert!(!log.contains(&plain), "only this task's lines: {log}");
    assert!(
        !w.logs().contains(" DEBUG "),
        "the console stays at info: {}",
        w.logs()
    );
}

/// Hello advertises targeted sync (11) per type with a getter and service-mode targeted
/// sync (13) connector-wide, types sorted, exactly as the capabilities document says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_advertises_targeted_sync_as_the_capabilities_document_does() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("hello-caps");
    let w = start(&c1, &creds, dir.path(), &[]);
    assert!(
        c1.wait_until(WAIT, |c| !c.hellos().is_empty()).await,
        "{}",
        w.logs()
    );
    let caps = c1.hellos()[0]
        .connector_metadata
        .clone()
        .unwrap()
        .capabilities
        .unwrap();
    let o = memory(dir.path()).arg("capabilities").output().unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes = |names: &serde_json::Value| -> Vec<i32> {
        names
            .as_array()
            .unwrap()
            .iter()
            .map(|n| match n.as_str().unwrap() {
                "CAPABILITY_PROVISION" => 1,
                "CAPABILITY_SYNC" => 2,
                "CAPABILITY_ACCOUNT_PROVISIONING" => 5,
                "CAPABILITY_RESOURCE_DELETE" => 8,
                "CAPABILITY_ACTIONS" => 10,
                "CAPABILITY_TARGETED_SYNC" => 11,
                "CAPABILITY_SERVICE_MODE_TARGETED_SYNC" => 13,
                other => panic!("{other}"),
            })
            .collect()
    };
    assert_eq!(
        caps.connector_capabilities,
        codes(&doc["connector_capabilities"])
    );
    assert!(caps.connector_capabilities.contains(&11));
    assert!(caps.connector_capabilities.contains(&13));
    let hello_types: Vec<(String, Vec<i32>)> = caps
        .resource_type_capabilities
        .iter()
        .map(|t| (t.resource_type.clone().unwrap().id, t.capabilities.clone()))
        .collect();
    let doc_types: Vec<(String, Vec<i32>)> = doc["resource_types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["resource_type"].as_str().unwrap().to_string(),
                codes(&t["capabilities"]),
            )
        })
        .collect();
    assert_eq!(hello_types, doc_types);
    let ids: Vec<&String> = hello_types.iter().map(|(id, _)| id).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(ids, sorted);
    assert!(hello_types.iter().any(|(_, c)| c.contains(&11)));
}

/// `--health-check` alone serves upstream's probe paths on 127.0.0.1:8081.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_checks_answer_on_127_0_0_1_8081_by_default() {
    let dir = tempfile::tempdir().unwrap();
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("health");
    let w = start(&c1, &creds, dir.path(), &["--health-check"]);
    assert!(
        c1.wait_until(WAIT, |c| !c.hellos().is_empty()).await,
        "{}",
        w.logs()
    );
    assert_eq!(health_address(&w.logs()), "127.0.0.1:8081");
    // Ready once the worker has the Hello's answer (a moment after the fake records it).
    let deadline = Instant::now() + Duration::from_secs(10);
    while http_get("127.0.0.1:8081", "/ready").0 != 200 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in ["/health", "/ready", "/live", "/healthz"] {
        let (status, body) = http_get("127.0.0.1:8081", path);
        assert_eq!(status, 200, "{path}: {body}");
    }
}

/// One operation, as the CLI runs it (flags) and as service mode runs it (a task).
struct Op {
    what: &'static str,
    cli: Vec<String>,
    task: TaskType,
}

/// Every operation through the CLI and through service mode, on two copies of the same
/// tenant: the same successes, the same refusals (the CLI's `error:` text is the task's
/// status message), and the same tenant afterwards. Both go through `ConnectorHandle`;
/// this shows neither adapter adds or loses anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_has_the_same_outcome_through_the_cli_and_service_mode() {
    let (cli_dir, svc_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let local = local_sync(cli_dir.path());
    local_sync(svc_dir.path());
    let grant = |ent: &str, t: &str, id: &str| Op {
        what: "grant",
        cli: [
            "--grant-entitlement",
            ent,
            "--grant-principal",
            id,
            "--grant-principal-type",
            t,
        ]
        .map(String::from)
        .to_vec(),
        task: TaskType::Grant(proto::GrantTask {
            entitlement: Some(ent_proto(&local, ent)),
            principal: Some(resource_proto(&local, t, id)),
            annotations: Vec::new(),
            duration: None,
        }),
    };
    let revoke_of = |grant_id: &str| Op {
        what: "revoke",
        cli: vec!["--revoke-grant".into(), grant_id.into()],
        task: TaskType::Revoke(proto::RevokeTask {
            grant: Some(proto::grant_to_proto(&local.grant(grant_id).unwrap().unwrap()).0),
            annotations: Vec::new(),
        }),
    };
    let action = |user: &str| Op {
        what: "action",
        cli: vec![
            "--invoke-action".into(),
            "disable_user".into(),
            "--invoke-action-args".into(),
            serde_json::json!({ "user_id": user }).to_string(),
        ],
        task: invoke_task("disable_user", serde_json::json!({ "user_id": user })),
    };
    let ops = [
        grant("group:g2:member", "user", "u5"),
        // Already held: a success that changes nothing, both ways.
        grant("group:g2:member", "user", "u5"),
        // A group is not among the entitlement's grantable_to: refused before the connector.
        grant("group:g2:member", "group", "g1"),
        revoke_of("group:g1:member:user:u1"),
        action("u2"),
        action("no-such-user"),
        Op {
            what: "delete",
            cli: ["--delete-resource", "u4", "--delete-resource-type", "user"]
                .map(String::from)
                .to_vec(),
            task: TaskType::DeleteResource(proto::DeleteResourceTask {
                resource_id: Some(proto::ResourceId {
                    resource_type: "user".into(),
                    resource: "u4".into(),
                    baton_resource: false,
                }),
                parent_resource_id: None,
            }),
        },
    ];

    // The CLI, one process per operation, against its copy.
    let mut cli_outcomes = Vec::new();
    for op in &ops {
        let o = memory(cli_dir.path())
            .arg("--provisioning")
            .arg("--file")
            .arg(cli_dir.path().join("local.c1z"))
            .args(&op.cli)
            .output()
            .unwrap();
        let err = common::stderr(&o);
        let message = err
            .lines()
            .find_map(|l| l.strip_prefix("error: "))
            .map(String::from);
        cli_outcomes.push((op.what, o.status.success(), message));
    }

    // Service mode, one task per operation, in order, against the other copy.
    let c1 = FakeC1::start().await.unwrap();
    let creds = c1.credentials("side-by-side");
    let w = start(
        &c1,
        &creds,
        svc_dir.path(),
        &["--provisioning", "--task-concurrency", "1"],
    );
    let mut svc_outcomes = Vec::new();
    for op in &ops {
        let id = c1.enqueue_other(op.task.clone());
        let f = c1.wait_for_finish(&id, WAIT).await.unwrap();
        let outcome = match &f.final_state {
            Some(proto::FinalState::Success(_)) => (op.what, true, None),
            _ => {
                let (_, message, _) = failure(&f);
                (op.what, false, Some(message))
            }
        };
        svc_outcomes.push(outcome);
    }
    drop(w);

    for (cli, svc) in cli_outcomes.iter().zip(&svc_outcomes) {
        assert_eq!((cli.0, cli.1), (svc.0, svc.1), "{cli:?} / {svc:?}");
        if let (Some(c), Some(s)) = (&cli.2, &svc.2) {
            // The task's message may add "task failed and is non-retryable".
            assert!(s.starts_with(c.as_str()), "CLI: {c}\nservice: {s}");
        }
    }
    assert!(!cli_outcomes[2].1 && !cli_outcomes[5].1, "{cli_outcomes:?}");
    let tenant = |d: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join("tenant.json")).unwrap()).unwrap()
    };
    assert_eq!(tenant(cli_dir.path()), tenant(svc_dir.path()));
}
