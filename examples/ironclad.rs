//! The Ironclad connector binary: `BATON_IC_CLIENT_ID`, `BATON_IC_CLIENT_SECRET`,
//! `BATON_ENVIRONMENT` (`na1`, `eu1`, `demo`), `BATON_AS_USER_EMAIL`, `BATON_READ_ONLY`, and
//! `BATON_BASE_URL` for a proxy or the simulator, plus every standard flag of the runner.
//!
//! ```text
//! cargo run --features baton-ironclad --example baton-ironclad -- --help
//! ```

use std::process::ExitCode;

use connector_ironclad::IroncladArgs;
use connector_sdk::cli::{self, AppInfo};

fn main() -> ExitCode {
    cli::run::<IroncladArgs>(AppInfo::new(
        "baton-ironclad",
        env!("CARGO_PKG_VERSION"),
        "Syncs Ironclad users and groups; provisions group membership and accounts",
    ))
}
