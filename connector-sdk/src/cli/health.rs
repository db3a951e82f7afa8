//! Health checks, as upstream's manifests and probes expect them (spec §8.8), served by
//! axum: `GET /health` runs the connector's `validate` (200 or 503), `/ready` says whether
//! the binary is doing its job (connected to ConductorOne, or syncing on its interval),
//! `/live` whether it is not wedged, and `/healthz` the JSON status this project has always
//! served. On `--health-check-bind-address:--health-check-port` (127.0.0.1:8081 by
//! default, as upstream).

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use crate::connector::Connector as _;
use crate::error::{Error, Result};
use crate::handle::ConnectorHandle;
use crate::sync::StopSignal;

/// The health checks' port when only `--health-check` is given (upstream's default).
pub(crate) const DEFAULT_PORT: u16 = 8081;

/// How long `/health` waits for the connector's `validate`.
const VALIDATE_TIMEOUT: Duration = Duration::from_secs(15);

/// What `/healthz` reports.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Health {
    pub(crate) syncs_completed: u64,
    pub(crate) syncs_failed: u64,
    pub(crate) last_sync_id: Option<String>,
    pub(crate) last_success_unix: Option<u64>,
    #[serde(serialize_with = "crate::service::redacted_error")]
    pub(crate) last_error: Option<String>,
    pub(crate) running: bool,
    /// The ConductorOne task loop, in service mode with a client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) c1: Option<crate::service::StatusHandle>,
}

impl Health {
    /// Healthy unless the last sync failed (or the C1 loop lost contact).
    fn ok(&self) -> bool {
        if let Some(c1) = &self.c1 {
            return c1.get().healthy();
        }
        self.last_error.is_none()
    }

    /// Not wedged: the C1 loop still hears from ConductorOne (or is busy with every slot).
    fn live(&self) -> bool {
        self.c1.as_ref().is_none_or(|c1| c1.get().healthy())
    }

    /// Doing its job: ConductorOne accepted the Hello (or the local loop started).
    fn ready(&self) -> bool {
        match &self.c1 {
            Some(c1) => {
                let s = c1.get();
                s.connected && !s.stopping
            }
            None => true,
        }
    }

    pub(crate) fn succeeded(&mut self, sync_id: &str) {
        self.syncs_completed += 1;
        self.last_sync_id = Some(sync_id.to_string());
        self.last_success_unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs());
        self.last_error = None;
    }

    pub(crate) fn failed(&mut self, error: &Error) {
        self.syncs_failed += 1;
        self.last_error = Some(error.to_string());
    }
}

pub(crate) type SharedHealth = Arc<Mutex<Health>>;

#[derive(Clone)]
struct Checks {
    health: SharedHealth,
    connector: ConnectorHandle,
}

impl Checks {
    fn snapshot(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn answer(ok: bool, body: serde_json::Value) -> impl IntoResponse {
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, axum::Json(body))
}

async fn validate_check(State(c): State<Checks>) -> impl IntoResponse {
    let result = tokio::time::timeout(VALIDATE_TIMEOUT, c.connector.validate()).await;
    let error = match result {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(e.to_string()),
        Err(_) => Some(format!(
            "validate did not answer within {}s",
            VALIDATE_TIMEOUT.as_secs()
        )),
    };
    match error {
        None => answer(true, serde_json::json!({"status": "ok"})),
        // The text stays in the log: whoever reaches the port learns only the status.
        Some(e) => {
            tracing::warn!(error = %e, "health check: validate failed");
            answer(false, serde_json::json!({"status": "error"}))
        }
    }
}

async fn ready(State(c): State<Checks>) -> impl IntoResponse {
    let ok = c.snapshot().ready();
    answer(ok, serde_json::json!({"ready": ok}))
}

async fn live(State(c): State<Checks>) -> impl IntoResponse {
    let ok = c.snapshot().live();
    answer(ok, serde_json::json!({"live": ok}))
}

async fn healthz(State(c): State<Checks>) -> impl IntoResponse {
    let h = c.snapshot();
    let body = serde_json::to_value(&h).unwrap_or_default();
    answer(h.ok(), body)
}

/// The health checks' router.
fn router(health: SharedHealth, connector: ConnectorHandle) -> Router {
    Router::new()
        .route("/health", get(validate_check))
        .route("/ready", get(ready))
        .route("/live", get(live))
        .route("/healthz", get(healthz))
        .with_state(Checks { health, connector })
}

/// Where the flags say to serve health checks, if they are on.
pub(crate) fn address(enabled: bool, port: Option<u16>, bind: IpAddr) -> Option<SocketAddr> {
    (enabled || port.is_some()).then(|| SocketAddr::new(bind, port.unwrap_or(DEFAULT_PORT)))
}

/// Serves the health checks on `addr` until `stop`; returns the bound address (the port
/// may have been 0).
pub(crate) async fn serve(
    addr: SocketAddr,
    health: SharedHealth,
    connector: ConnectorHandle,
    stop: StopSignal,
) -> Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        Error::from(e).context(format!(
            "binding the health checks on {addr} (--health-check-port, BATON_HEALTH_CHECK_PORT; --health-check-bind-address, BATON_HEALTH_CHECK_BIND_ADDRESS)"
        ))
    })?;
    let bound = listener.local_addr()?;
    let app = router(health, connector);
    tokio::spawn(async move {
        let shutdown = async move { stop.triggered().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "the health checks stopped");
        }
    });
    tracing::info!(address = %bound, "health checks listening on /health, /ready, /live and /healthz");
    println!("health checks: http://{bound}/health (also /ready, /live, /healthz)");
    Ok(bound)
}
