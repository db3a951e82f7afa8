//! Lists the SDK's in-memory example tenant, prints what it holds, and runs the
//! conformance kit on it.
//!
//! ```text
//! cargo run --example memory
//! ```

use connector_sdk::connector::capabilities;
use connector_sdk::testing::{MemoryConnector, assert_conformance};

#[tokio::main]
async fn main() {
    let connector = MemoryConnector::seeded();
    let report = assert_conformance(&connector).await;
    println!("In-memory tenant: conformance kit passed");
    println!("{:<12} {:>9}", "type", "resources");
    for (ty, n) in &report.resources_by_type {
        println!("{ty:<12} {n:>9}");
    }
    println!(
        "{} entitlements, {} grants, {} pages fetched",
        report.entitlements, report.grants, report.pages
    );
    let caps = capabilities(&connector);
    match serde_json::to_string_pretty(&caps) {
        Ok(json) => println!("capabilities:\n{json}"),
        Err(e) => eprintln!("could not render capabilities: {e}"),
    }
}
