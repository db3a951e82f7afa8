//! The 1Password connector binary: `BATON_ADDRESS`, `BATON_EMAIL`, `BATON_SECRET_KEY`,
//! `BATON_PASSWORD`, `BATON_AUTH_TYPE` (`user` or `service`, which reads
//! `OP_SERVICE_ACCOUNT_TOKEN`), `BATON_LIMIT_VAULT_PERMISSIONS` and `BATON_OP_PATH`, plus every
//! standard flag of the runner.
//!
//! ```text
//! cargo run --features baton-1password --example baton-1password -- --help
//! ```

use std::process::ExitCode;

use connector_onepassword::OnePasswordArgs;
use connector_sdk::cli::{self, AppInfo};

fn main() -> ExitCode {
    cli::run::<OnePasswordArgs>(AppInfo::new(
        "baton-1password",
        env!("CARGO_PKG_VERSION"),
        "Syncs 1Password users, groups and vaults through the op CLI; provisions group membership and vault permissions",
    ))
}
