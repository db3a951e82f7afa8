//! The main job: the four connectors against simulated tenants, on loopback only.
//!
//! ```text
//! cargo run --release --example demo -- [OUTPUT_DIR]     # default ./demo-out
//! ```
//!
//! Starts simulated Valimail, SendGrid and Ironclad tenants (HTTP on 127.0.0.1) and a fake
//! 1Password `op`, syncs each connector into its own `.c1z`, prints what each holds, then
//! makes one grant per connector through its provisioner, syncs again, and shows the new
//! grant in the new file. Inspect the files afterwards with
//! `cargo run --example inspect -- demo-out/sendgrid.c1z grants`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use connector_ironclad::Ironclad;
use connector_ironclad::simulator::IroncladSimulator;
use connector_onepassword::simulator::FakeOpRunner;
use connector_sdk::connector::syncer_for;
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
        .grants(&GrantFilter {
            entitlement: Some(rt.entitlement.into()),
            ..Default::default()
        })?
        .len();
    drop(reader);
    let syncer = syncer_for(connector, &entitlement.resource().resource_type)?;
    let provisioner = syncer
        .provisioner()
        .ok_or_else(|| Error::internal(format!("{name} cannot provision")))?;
    let outcome = provisioner.grant(&principal, &entitlement).await?;
    sync_to_file(connector, path, &SyncOptions::default(), None).await?;
    let reader = C1zReader::open(path)?;
    let grants = reader.grants(&GrantFilter {
        entitlement: Some(rt.entitlement.into()),
        ..Default::default()
    })?;
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

    let valimail = Valimail::new(valimail_sim.config())?;
    let sendgrid = Sendgrid::new(sendgrid_sim.config())?;
    let ironclad = Ironclad::new(ironclad_sim.config(false))?;
    let onepassword = op.connector(vec![]);

    let runs: [(&str, &dyn Connector, RoundTrip); 4] = [
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
    println!(
        "\nDone in {:.1} s. Inspect a file: cargo run --example inspect -- {}/sendgrid.c1z grants",
        t0.elapsed().as_secs_f64(),
        out.display()
    );
    println!(
        "Explore who has what, through which group, and what the round trip changed, in a browser:\n  cargo run --example inspect -- serve {}/1password.c1z    # then open http://127.0.0.1:8080/",
        out.display()
    );
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
