//! The SDK's in-memory example tenant behind the standard connector command line: the
//! shortest complete connector binary, and what the runner's tests drive.
//!
//! ```text
//! export BATON_MEMORY_API_KEY=anything
//! cargo run --example baton_memory -- --memory-state tenant.json            # sync to sync.c1z
//! cargo run --example baton_memory -- --memory-state tenant.json --provisioning \
//!     --grant-entitlement group:g2:member --grant-principal u5 --grant-principal-type user
//! cargo run --example baton_memory -- --help
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use connector_sdk::cli::{self, AppInfo, BuildContext, ConnectorConfig};
use connector_sdk::testing::MemoryConnector;
use connector_sdk::{Connector, Result};
use secrecy::{ExposeSecret, SecretString};

/// The in-memory connector's fields.
#[derive(clap::Args, Debug)]
struct MemoryConfig {
    /// JSON file holding the simulated tenant, seeded on first use; changes are saved back.
    #[arg(long = "memory-state")]
    state: Option<PathBuf>,
    /// API key of the simulated tenant (any non-empty value; a secret, never printed).
    #[arg(long = "memory-api-key", value_parser = cli::secret, hide_env_values = true, required = true)]
    api_key: Option<SecretString>,
    /// Items per page of every listing.
    #[arg(long = "memory-page-size", default_value_t = 2)]
    page_size: u32,
    /// Generate a random password for each created account.
    #[arg(long = "memory-random-passwords")]
    random_passwords: bool,
}

impl ConnectorConfig for MemoryConfig {
    fn build(self, _ctx: &BuildContext) -> Result<Box<dyn Connector>> {
        let key = cli::required(self.api_key, "memory-api-key")?;
        if key.expose_secret().trim().is_empty() {
            return Err(cli::config_error("memory-api-key", "must not be empty"));
        }
        if self.page_size == 0 {
            return Err(cli::config_error("memory-page-size", "must be at least 1"));
        }
        let mut connector = match &self.state {
            Some(path) => MemoryConnector::persistent(path)?,
            None => MemoryConnector::seeded(),
        }
        .with_page_size(self.page_size);
        if self.random_passwords {
            connector = connector.with_random_passwords();
        }
        Ok(Box::new(connector))
    }
}

fn main() -> ExitCode {
    cli::run::<MemoryConfig>(AppInfo::new(
        "baton-memory",
        env!("CARGO_PKG_VERSION"),
        "Syncs the SDK's in-memory example tenant",
    ))
}
