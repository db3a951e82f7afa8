//! Service mode with ConductorOne: flags → [`ServiceConfig`], `/healthz`, signals, exit
//! codes (gRPC codes, as upstream).

use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};
use crate::handle::ConnectorHandle;
use crate::service::{ServiceConfig, StatusHandle, grpc_code, run_service};
use crate::sync::{StopSignal, SyncOptions};

use super::args::{CommonArgs, flag_and_env};
use super::health::{self, Health};
use super::{AppInfo, EXIT_USAGE, Outcome, interval};

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
    config.provisioning_timeout = common.provisioning_timeout;
    config.action_timeout = common.action_timeout;
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
    interval::stop_on_signals(stop.clone());
    let status = StatusHandle::default();
    if let Some(addr) = health::address(
        common.health_check,
        common.health_check_port,
        common.health_check_bind_address,
    ) {
        let shared = Arc::new(Mutex::new(Health {
            c1: Some(status.clone()),
            ..Health::default()
        }));
        health::serve(addr, shared, connector.clone(), stop.clone()).await?;
    }
    match run_service(connector, config, stop, status).await {
        Ok(()) => Ok(Outcome::Done),
        Err(e) => {
            crate::printable::eprint_error(&e);
            let code = grpc_code(e.kind());
            // A malformed flag is a usage error (2), as upstream's plain errors.
            let code = if code == 3 { EXIT_USAGE } else { code as u8 };
            Ok(Outcome::Exit(code))
        }
    }
}
