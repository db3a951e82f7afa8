//! A simulated tenant as a process, to try a connector binary against by hand: prints the
//! `BATON_*` variables that point the connector at it, then serves until Ctrl-C.
//!
//! ```text
//! cargo run --features testing --example sim -- sendgrid > sim.env &
//! set -a; . ./sim.env; set +a
//! cargo run --features baton-sendgrid --example baton-sendgrid
//! ```
//!
//! Tenants: `valimail`, `sendgrid`, `ironclad` (1Password's is the `fake-op` binary).

use std::process::ExitCode;

use connector_ironclad::simulator::IroncladSimulator;
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
                    st.client_id.clone(),
                    st.client_secret.clone(),
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
        other => {
            eprintln!(
                "error: no simulated tenant {other:?}; use valimail, sendgrid or ironclad (1Password: the fake-op binary)"
            );
            return ExitCode::from(2);
        }
    };
    eprintln!("serving the simulated {which} tenant on 127.0.0.1; Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    drop(keep);
    ExitCode::SUCCESS
}
