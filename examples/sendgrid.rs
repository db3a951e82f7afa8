//! The SendGrid connector binary: `BATON_SENDGRID_API_KEY`, `BATON_SENDGRID_REGION`
//! (`global` or `eu`), `BATON_IGNORE_SUBUSERS`, and `BATON_BASE_URL` for a proxy or the
//! simulator, plus every standard flag of the runner.
//!
//! ```text
//! cargo run --features baton-sendgrid --example baton-sendgrid -- --help
//! ```

use std::process::ExitCode;

use connector_sdk::cli::{self, AppInfo};
use connector_sendgrid::SendgridArgs;

fn main() -> ExitCode {
    cli::run::<SendgridArgs>(AppInfo::new(
        "baton-sendgrid",
        env!("CARGO_PKG_VERSION"),
        "Syncs SendGrid teammates, scopes and subusers; invites and deletes teammates and edits their scopes",
    ))
}
