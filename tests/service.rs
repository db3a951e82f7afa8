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
use connector_sdk::store::convert;
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
    let log = dir.join(format!("worker-{}.log", fastrand_suffix()));
    let out = std::fs::File::create(&log).unwrap();
    let child = memory(dir)
        .env("BATON_CLIENT_ID", &creds.client_id)
        .env("BATON_CLIENT_SECRET", creds.client_secret.expose_secret())
        .env("SSL_CERT_FILE", c1.ca_file())
        .env("BATON_HOST_ID", "test-worker")
        .args(extra)
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

fn ent_proto(r: &C1zReader, id: &str) -> proto::Entitlement {
    let e = r.entitlement(id).unwrap().unwrap();
    let res = r.resource(e.resource()).unwrap().unwrap();
    convert::entitlement_to_proto(&e, Some(&res), &BTreeMap::new())
}

fn resource_proto(r: &C1zReader, t: &str, id: &str) -> proto::Resource {
    convert::resource_to_proto(&r.resource(&ResourceId::new(t, id)).unwrap().unwrap())
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
    assert_eq!(
        remote.grants(&GrantFilter::default()).unwrap(),
        local.grants(&GrantFilter::default()).unwrap()
    );
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

    let (g, _) = convert::grant_to_proto(&local.grant("group:g1:member:user:u1").unwrap().unwrap());
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
    let _ = TaskType::None(Default::default());
}
