//! Service mode with ConductorOne: flags → [`ServiceConfig`], `/healthz`, signals, exit
//! codes (gRPC codes, as upstream).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::handle::ConnectorHandle;
use crate::service::{ServiceConfig, StatusHandle, grpc_code, run_service};
use crate::sync::{StopSignal, SyncOptions};

use super::args::{CommonArgs, flag_and_env};
use super::{AppInfo, EXIT_USAGE, Outcome, service};

/// Runs service mode until SIGTERM/SIGINT.
pub(crate) async fn run(
    app: AppInfo,
    connector: ConnectorHandle,
    common: &CommonArgs,
    sync: SyncOptions,
    stop: StopSignal,
) -> Result<Outcome> {
    let client_id = common.client_id.clone().ok_or_else(|| {
        Error::invalid_argument(format!(
            "service mode needs {} with {}",
            flag_and_env("client-id"),
            flag_and_env("client-secret")
        ))
    })?;
    let secret = common.client_secret.clone().ok_or_else(|| {
        Error::invalid_argument(format!(
            "service mode needs {} with {}",
            flag_and_env("client-secret"),
            flag_and_env("client-id")
        ))
    })?;
    let mut config = ServiceConfig::new(client_id, secret).with_env()?;
    config.host_id = common.host_id.clone();
    config.task_concurrency = common.task_concurrency;
    config.provisioning = common.provisioning;
    config.shutdown_grace = common.shutdown_grace_period;
    config.sync = SyncOptions {
        checkpoint_interval: common.checkpoint_interval,
        ..sync
    };
    config.app_name = app.name.to_string();
    config.app_version = app.version.to_string();
    // Bad credentials or flags fail here, before any network call.
    config.check()?;
    if common.service_interval.is_some() {
        tracing::info!(
            "--service-interval (BATON_SERVICE_INTERVAL) is ignored with --client-id: ConductorOne schedules the syncs"
        );
    }
    service::stop_on_signals(stop.clone());
    let status = StatusHandle::default();
    if let Some(port) = common.health_check_port {
        let health = Arc::new(Mutex::new(service::Health {
            c1: Some(status.clone()),
            ..service::Health::default()
        }));
        let bound = service::serve_health(
            SocketAddr::new(common.health_check_address, port),
            health,
            stop.clone(),
        )
        .await?;
        tracing::info!(address = %bound, "health endpoint listening on /healthz");
        println!("health endpoint: http://{bound}/healthz");
    }
    match run_service(connector, config, stop, status).await {
        Ok(()) => Ok(Outcome::Done),
        Err(e) => {
            eprintln!("error: {e}");
            let code = grpc_code(e.kind());
            // A malformed flag is a usage error (2), as upstream's plain errors.
            let code = if code == 3 { EXIT_USAGE } else { code as u8 };
            Ok(Outcome::Exit(code))
        }
    }
}
