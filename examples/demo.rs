//! The main job: the five connectors against simulated tenants, on loopback only.
//!
//! ```text
//! cargo run --release --features testing --example demo -- [OUTPUT_DIR]     # default ./demo-out
//! ```
//!
//! Starts simulated Valimail, SendGrid and Ironclad tenants and a SCIM 2.0 application in
//! Slack's shape (the generic SCIM connector with its shipped `slack.yaml`; HTTP on
//! 127.0.0.1) and a fake 1Password `op`, syncs each connector into its own `.c1z`, prints what each holds, then
//! makes one grant per connector through its provisioner, syncs again, and shows the new
//! grant in the new file. Last, service mode: a fake ConductorOne on 127.0.0.1 (TLS, the
//! token endpoint and the task API) hands the SendGrid connector a sync, a grant and a revoke,
//! and the demo prints what ConductorOne received. Inspect the files afterwards with
//! `cargo run --example baton -- demo-out/sendgrid.c1z grants`.

use connector_sdk::provision::GrantRequest;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use connector_ironclad::Ironclad;
use connector_ironclad::simulator::IroncladSimulator;
use connector_onepassword::simulator::FakeOpRunner;
use connector_scim::simulator::{ScimSimulator, SimState as ScimState, shape_for};
use connector_scim::{Provider, Scim, Source};
use connector_sdk::connector::syncer_for;
use connector_sdk::handle::ConnectorHandle;
use connector_sdk::model::ResourceId;
use connector_sdk::provision::GrantOutcome;
use connector_sdk::store::{C1zReader, GrantFilter};
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::{Connector, Error, Result};
use connector_sendgrid::Sendgrid;
use connector_sendgrid::simulator::SendgridSimulator;
use connector_valimail::Valimail;
use connector_valimail::simulator::ValimailSimulator;

/// One grant to make: entitlement id, principal type and id, from the first sync.
struct RoundTrip {
    entitlement: &'static str,
    principal_type: &'static str,
    principal: &'static str,
}

async fn sync_and_show(name: &str, connector: &dyn Connector, path: &Path) -> Result<()> {
    let report = sync_to_file(connector, path, &SyncOptions::default(), None).await?;
    let stats = &report.stats;
    println!(
        "\n{name}: {} ({:.0} ms, {} pages{})",
        path.display(),
        report.duration.as_secs_f64() * 1000.0,
        report.pages,
        if report.warning_count > 0 {
            format!(", {} warnings", report.warning_count)
        } else {
            String::new()
        }
    );
    println!(
        "  {:<14} {:>9} {:>12} {:>7}",
        "resource type", "resources", "entitlements", "grants"
    );
    for (t, n) in &stats.resources_by_resource_type {
        println!(
            "  {t:<14} {n:>9} {:>12} {:>7}",
            stats.entitlements_by_resource_type.get(t).unwrap_or(&0),
            stats.grants_by_resource_type.get(t).unwrap_or(&0)
        );
    }
    println!(
        "  {:<14} {:>9} {:>12} {:>7}",
        "total", stats.resources, stats.entitlements, stats.grants
    );
    Ok(())
}

/// Grants through the connector's provisioner (ids resolved from the last sync, as the
/// CLI does), syncs again, and checks the grant is in the new file.
async fn round_trip(
    name: &str,
    connector: &dyn Connector,
    path: &Path,
    rt: &RoundTrip,
) -> Result<()> {
    let reader = C1zReader::open(path)?;
    let entitlement = reader.entitlement(rt.entitlement)?.ok_or_else(|| {
        Error::not_found(format!(
            "{name}: entitlement {} not in the first sync",
            rt.entitlement
        ))
    })?;
    let pid = ResourceId::new(rt.principal_type, rt.principal);
    let principal = reader.resource(&pid)?.ok_or_else(|| {
        Error::not_found(format!("{name}: principal {pid} not in the first sync"))
    })?;
    let before = reader
        .grants(&GrantFilter::default().with_entitlement(rt.entitlement))?
        .len();
    drop(reader);
    let syncer = syncer_for(connector, &entitlement.resource().resource_type)?;
    let provisioner = syncer
        .provisioner()
        .ok_or_else(|| Error::internal(format!("{name} cannot provision")))?;
    let outcome = provisioner
        .grant(GrantRequest::new(&principal, &entitlement))
        .await?;
    sync_to_file(connector, path, &SyncOptions::default(), None).await?;
    let reader = C1zReader::open(path)?;
    let grants = reader.grants(&GrantFilter::default().with_entitlement(rt.entitlement))?;
    let found = grants.iter().any(|g| g.principal() == &pid);
    if !found {
        return Err(Error::internal(format!(
            "{name}: the new grant is missing from the re-sync"
        )));
    }
    let what = match outcome {
        GrantOutcome::Granted(_) => "granted",
        GrantOutcome::AlreadyExists => "already held",
        _ => "done",
    };
    println!(
        "  round trip: {what} {} to {pid} ({}) → re-synced: {} holders before, {} now",
        rt.entitlement,
        principal.display_name,
        before,
        grants.len()
    );
    Ok(())
}

async fn run() -> Result<()> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "demo-out".into()));
    std::fs::create_dir_all(&out)?;
    let t0 = Instant::now();
    println!("Starting simulated tenants on 127.0.0.1 (no other network is used)…");
    let valimail_sim = ValimailSimulator::start().await;
    let sendgrid_sim = SendgridSimulator::start().await;
    let ironclad_sim = IroncladSimulator::start().await;
    let op = FakeOpRunner::seeded();
    let slack = Provider::load(&Source::Shipped("slack".into()))?;
    let scim_sim = ScimSimulator::start(ScimState::seeded(shape_for(&slack))).await;

    let valimail = Valimail::new(valimail_sim.config())?;
    let sendgrid = Sendgrid::new(sendgrid_sim.config())?;
    let ironclad = Ironclad::new(ironclad_sim.config(false))?;
    let onepassword = op.connector(vec![]);
    let scim = Scim::new(scim_sim.config(slack))?;

    let runs: [(&str, &dyn Connector, RoundTrip); 5] = [
        (
            "Valimail",
            &valimail,
            RoundTrip {
                entitlement: "member_type:owner:member",
                principal_type: "user",
                principal: "2906d4927bf178077519",
            },
        ),
        (
            "SendGrid",
            &sendgrid,
            RoundTrip {
                entitlement: "scope:whitelabel.read:assigned",
                principal_type: "teammate",
                principal: "kim@acme.example",
            },
        ),
        (
            "Ironclad",
            &ironclad,
            RoundTrip {
                entitlement: "group:g-empty:member",
                principal_type: "user",
                principal: "6660d37dec0eac3deffb6811",
            },
        ),
        (
            "1Password",
            &onepassword,
            RoundTrip {
                entitlement: "group:EMPTYGROUPEMPTYGROUPEMPTY:member",
                principal_type: "user",
                principal: "RAUUIDRAUUIDRAUUIDRAUUIDR",
            },
        ),
        (
            "SCIM",
            &scim,
            RoundTrip {
                entitlement: "group:G2:member",
                principal_type: "user",
                principal: "U3",
            },
        ),
    ];
    for (name, connector, rt) in &runs {
        let path = out.join(format!("{}.c1z", name.to_lowercase()));
        if path.exists() {
            std::fs::remove_file(&path)?;
        }
        connector.validate().await?;
        sync_and_show(name, *connector, &path).await?;
        round_trip(name, *connector, &path, rt).await?;
    }
    service_mode(&sendgrid_sim, &out).await?;
    println!(
        "\nDone in {:.1} s. Inspect a file: cargo run --example baton -- {}/sendgrid.c1z grants",
        t0.elapsed().as_secs_f64(),
        out.display()
    );
    println!(
        "Explore who has what, through which group, and what the round trip changed, in a browser:\n  cargo run --example baton -- serve {}/1password.c1z    # then open the link it prints",
        out.display()
    );
    Ok(())
}

/// Service mode: the SendGrid connector as a worker of a fake ConductorOne.
async fn service_mode(sim: &SendgridSimulator, out: &Path) -> Result<()> {
    use connector_sdk::service::fake::FakeC1;
    use connector_sdk::service::proto::{self, FinalState, names};
    use connector_sdk::service::{ServiceConfig, StatusHandle, run_service};
    use connector_sdk::sync::StopSignal;
    use std::collections::BTreeMap;
    use std::time::Duration;

    println!(
        "\nService mode: a fake ConductorOne on 127.0.0.1 hands SendGrid a sync, a grant and a revoke"
    );
    let c1 = FakeC1::start().await?;
    let creds = c1.credentials("demo-sendgrid");
    // Ids from the last local sync: grant kim a scope she lacks, revoke the demo's grant.
    let reader = C1zReader::open(&out.join("sendgrid.c1z"))?;
    let kim = ResourceId::new("teammate", "kim@acme.example");
    let principal = reader
        .resource(&kim)?
        .ok_or_else(|| Error::not_found("kim is not in the SendGrid sync"))?;
    let entitlement = reader
        .entitlements(None)?
        .into_iter()
        .filter(|e| e.resource().resource_type == "scope")
        .find(|e| {
            reader
                .grant(&format!("{}:teammate:{}", e.id(), kim.resource))
                .ok()
                .flatten()
                .is_none()
        })
        .ok_or_else(|| Error::not_found("no scope left to grant"))?;
    let scope = reader
        .resource(entitlement.resource())?
        .ok_or_else(|| Error::not_found("scope resource"))?;
    let held = reader
        .grant("scope:whitelabel.read:assigned:teammate:kim@acme.example")?
        .ok_or_else(|| Error::not_found("the round trip's grant"))?;
    drop(reader);
    let sync_task = c1.enqueue_sync_full();
    let grant_task = c1.enqueue_grant(
        proto::entitlement_to_proto(&entitlement, Some(&scope), &BTreeMap::new()),
        proto::resource_to_proto(&principal),
    );
    let revoke_task = c1.enqueue_revoke(proto::grant_to_proto(&held).0);

    let mut config = ServiceConfig::new(&creds.client_id, creds.client_secret.clone());
    config.extra_ca_pem = Some(c1.ca_pem().as_bytes().to_vec());
    config.provisioning = true;
    config.host_id = Some("demo-host".into());
    config.app_name = "baton-sendgrid".into();
    config.app_version = env!("CARGO_PKG_VERSION").into();
    let stop = StopSignal::new();
    let worker = tokio::spawn(run_service(
        ConnectorHandle::new(Sendgrid::new(sim.config())?)?,
        config,
        stop.clone(),
        StatusHandle::default(),
    ));
    let t = Instant::now();
    let wait = Duration::from_secs(30);
    let sync = c1.wait_for_finish(&sync_task, wait).await?;
    let grant = c1.wait_for_finish(&grant_task, wait).await?;
    let revoke = c1.wait_for_finish(&revoke_task, wait).await?;
    stop.trigger();
    worker
        .await
        .map_err(|e| Error::internal(format!("service task: {e}")))??;

    let ok = |f: &proto::FinishTaskRequest| match &f.final_state {
        Some(FinalState::Success(s)) => Ok(s.response.clone()),
        _ => Err(Error::internal(format!(
            "task {} failed: {:?}",
            f.task_id,
            f.status.as_ref().map(|s| s.message.clone())
        ))),
    };
    let hello = c1.hellos().into_iter().next().unwrap_or_default();
    let meta = hello.connector_metadata.unwrap_or_default();
    println!(
        "  C1 received: token requests {}, Hello from host {:?} ({}, {} resource types with capabilities)",
        c1.token_requests(),
        hello.host_id,
        meta.display_name,
        meta.capabilities
            .map(|c| c.resource_type_capabilities.len())
            .unwrap_or(0)
    );
    ok(&sync)?;
    let upload = c1
        .uploads()
        .into_iter()
        .find(|u| u.task_id == sync_task)
        .ok_or_else(|| Error::internal("no upload"))?;
    let path = out.join("c1-upload.c1z");
    upload.save(&path)?;
    let stats = C1zReader::open(&path)?.stats()?;
    println!(
        "  sync_full {sync_task}: {} heartbeat(s), upload of {} bytes in {} chunk(s) → {} resources, {} entitlements, {} grants ({})",
        c1.heartbeats(&sync_task).len(),
        upload.bytes.len(),
        upload.chunks,
        stats.resources,
        stats.entitlements,
        stats.grants,
        path.display()
    );
    let response = ok(&grant)?.ok_or_else(|| Error::internal("grant without response"))?;
    let granted: proto::GrantResponse = proto::from_any(names::GRANT_RESPONSE, &response)
        .ok_or_else(|| Error::internal("grant response"))?;
    let ids: Vec<&str> = granted.grants.iter().map(|g| g.id.as_str()).collect();
    println!(
        "  grant {grant_task}: GrantManagerServiceGrantResponse with {}",
        ids.join(", ")
    );
    let response = ok(&revoke)?.ok_or_else(|| Error::internal("revoke without response"))?;
    println!(
        "  revoke {revoke_task}: {} for {}",
        response.type_url.rsplit('/').next().unwrap_or_default(),
        held.id()
    );
    println!("  service mode done in {:.1} s", t.elapsed().as_secs_f64());
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    connector_sdk::printable::exit_code(run().await)
}
