//! A simulated tenant as a process, to try a connector binary against by hand: prints the
//! `BATON_*` variables that point the connector at it, then serves until Ctrl-C.
//!
//! ```text
//! cargo run --features testing --example sim -- sendgrid > sim.env &
//! set -a; . ./sim.env; set +a
//! cargo run --features baton-sendgrid --example baton-sendgrid
//! ```
//!
//! Tenants: `valimail`, `sendgrid`, `ironclad`, `scim` (a SCIM application in Slack's shape,
//! for `baton-scim`; 1Password's is the `fake-op` binary).

use std::process::ExitCode;

use connector_ironclad::simulator::IroncladSimulator;
use connector_scim::simulator::{API_KEY, ScimSimulator, SimState as ScimState, shape_for};
use connector_scim::{Provider, Source};
use connector_sendgrid::simulator::SendgridSimulator;
use connector_valimail::simulator::ValimailSimulator;

/// `KEY=value` lines a shell can source; the values are the simulator's test
/// credentials, not secrets of any real tenant.
fn print_env(vars: &[(&str, String)]) {
    for (k, v) in vars {
        println!("{k}={v}");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let which = std::env::args().nth(1).unwrap_or_default();
    // Each arm keeps its simulator alive until Ctrl-C.
    let keep: Box<dyn std::any::Any> = match which.as_str() {
        "sendgrid" => {
            let sim = SendgridSimulator::start().await;
            let key = sim.state().api_key.clone();
            print_env(&[
                ("BATON_SENDGRID_API_KEY", key),
                ("BATON_BASE_URL", sim.uri()),
            ]);
            Box::new(sim)
        }
        "valimail" => {
            let sim = ValimailSimulator::start().await;
            let (id, app, slug) = {
                let st = sim.state();
                (st.client_id.clone(), st.app_id.clone(), st.slug.clone())
            };
            print_env(&[
                ("BATON_VALIMAIL_CLIENT_ID", id),
                ("BATON_VALIMAIL_APP_ID", app),
                ("BATON_VALIMAIL_SLUG", slug),
                ("BATON_BASE_URL", sim.uri()),
            ]);
            Box::new(sim)
        }
        "ironclad" => {
            let sim = IroncladSimulator::start().await;
            let (id, secret, admin) = {
                let st = sim.state();
                (
                    st.oauth.client_id().to_owned(),
                    st.oauth.client_secret().to_owned(),
                    st.admins[0].clone(),
                )
            };
            print_env(&[
                ("BATON_IC_CLIENT_ID", id),
                ("BATON_IC_CLIENT_SECRET", secret),
                ("BATON_AS_USER_EMAIL", admin),
                ("BATON_BASE_URL", sim.uri()),
            ]);
            Box::new(sim)
        }
        "scim" => {
            // A SCIM 2.0 application in Slack's shape, for baton-scim with the shipped file.
            let slack = Provider::load(&Source::Shipped("slack".into())).expect("shipped file");
            let sim = ScimSimulator::start(ScimState::seeded(shape_for(&slack))).await;
            print_env(&[
                ("BATON_SERVICE_PROVIDER", "slack".into()),
                ("BATON_API_KEY", API_KEY.into()),
                ("BATON_BASE_URL", sim.base_url()),
            ]);
            Box::new(sim)
        }
        other => {
            eprintln!(
                "error: no simulated tenant {other:?}; use valimail, sendgrid, ironclad or scim (1Password: the fake-op binary)"
            );
            return ExitCode::from(2);
        }
    };
    eprintln!("serving the simulated {which} tenant on 127.0.0.1; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    drop(keep);
    ExitCode::SUCCESS
}
