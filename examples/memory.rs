//! Syncs the SDK's in-memory example tenant into a `.c1z`, prints what it holds, makes a
//! grant through the connector, syncs again and shows the difference.
//!
//! ```text
//! cargo run --features testing --example memory -- [OUTPUT_DIR]     # default ./out
//! cargo run --example baton -- out/memory.c1z grants
//! ```

use connector_sdk::provision::GrantRequest;
use std::path::PathBuf;
use std::process::ExitCode;

use connector_sdk::connector::syncer_for;
use connector_sdk::model::{Entitlement, Resource, ResourceId};
use connector_sdk::provision::GrantOutcome;
use connector_sdk::store::C1zReader;
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::{MemoryConnector, assert_conformance};
use connector_sdk::{Error, Result};

async fn run() -> Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "out".into()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("memory.c1z");
    // Start from a fresh file so the diff below shows exactly this run's change.
    if path.exists() {
        std::fs::remove_file(&path)?;
    }

    let connector = MemoryConnector::seeded();
    assert_conformance(&connector).await;
    println!("conformance kit: passed");

    let report = sync_to_file(&connector, &path, &SyncOptions::default(), None).await?;
    println!(
        "sync {} written to {} in {:.0} ms ({} pages, {} grants expanded)",
        report.sync_id,
        path.display(),
        report.duration.as_secs_f64() * 1000.0,
        report.pages,
        report.expanded_grants
    );
    let stats = C1zReader::open(&path)?.stats()?;
    println!(
        "\n{:<12} {:>9} {:>12} {:>7}",
        "type", "resources", "entitlements", "grants"
    );
    for (t, n) in &stats.resources_by_resource_type {
        println!(
            "{t:<12} {n:>9} {:>12} {:>7}",
            stats.entitlements_by_resource_type.get(t).unwrap_or(&0),
            stats.grants_by_resource_type.get(t).unwrap_or(&0)
        );
    }

    // Provisioning round trip: add Ed (u5) to Finance (g2), re-sync, find the new grant.
    let group = Resource::with_id(ResourceId::new("group", "g2"), "Finance");
    let member = Entitlement::assignment(&group, "member");
    let ed = Resource::with_id(ResourceId::new("user", "u5"), "Ed Wood");
    let syncer = syncer_for(&connector, "group")?;
    let provisioner = syncer
        .provisioner()
        .ok_or_else(|| Error::internal("the group syncer cannot provision"))?;
    match provisioner.grant(GrantRequest::new(&ed, &member)).await? {
        GrantOutcome::Granted(_) => println!("\ngranted {} to {}", member.id(), ed.id),
        other => println!("\ngrant of {} to {}: {other:?}", member.id(), ed.id),
    }
    sync_to_file(&connector, &path, &SyncOptions::default(), None).await?;
    let diff = C1zReader::open(&path)?.diff_with_previous()?;
    println!(
        "re-synced; grants added since the previous sync: {:?}",
        diff.grants_added
    );
    if !diff
        .grants_added
        .iter()
        .any(|g| g == "group:g2:member:user:u5")
    {
        return Err(Error::internal("the new grant is missing from the re-sync"));
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    connector_sdk::printable::exit_code(run().await)
}
