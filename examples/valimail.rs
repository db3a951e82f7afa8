//! The Valimail connector binary: `BATON_VALIMAIL_CLIENT_ID`, `BATON_VALIMAIL_APP_ID`,
//! `BATON_VALIMAIL_SLUG` (and `BATON_BASE_URL` for a proxy or the simulator), plus every
//! standard flag of the runner.
//!
//! ```text
//! cargo run --features baton-valimail --example baton-valimail -- --help
//! ```

use std::process::ExitCode;

use connector_sdk::cli::{self, AppInfo};
use connector_valimail::ValimailArgs;

fn main() -> ExitCode {
    cli::run::<ValimailArgs>(AppInfo::new(
        "baton-valimail",
        env!("CARGO_PKG_VERSION"),
        "Syncs Valimail users and member types; provisions member types, accounts and enable/disable actions",
    ))
}
