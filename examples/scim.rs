//! The generic SCIM connector binary: a provider file shipped with it
//! (`--service-provider slack`, `BATON_SERVICE_PROVIDER`) or your own
//! (`--scim-config PATH`, also spelled `--scim-config-file`), the credentials its
//! `authType` needs (`--api-key`, `--username`/`--password`, `--scim-client-id`/
//! `--scim-client-secret`/`--account-id`, `--token`), `--scim-rate-limit 20/s`, and every
//! standard flag of the runner.
//!
//! ```text
//! cargo run --features baton-scim --example baton-scim -- --service-provider slack --api-key xoxp-…
//! ```

use std::process::ExitCode;

use connector_scim::ScimArgs;
use connector_sdk::cli::{self, AppInfo};

fn main() -> ExitCode {
    cli::run::<ScimArgs>(AppInfo::new(
        "baton-scim",
        env!("CARGO_PKG_VERSION"),
        "Syncs users, groups and roles of any SCIM 2.0 application from a baton-scim provider file; grants and revokes group memberships and roles",
    ))
}
