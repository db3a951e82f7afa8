//! Local service mode (sync on an interval), the health endpoint of both service modes,
//! clean shutdown on SIGTERM.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::args::CommonArgs;
use super::credential_hint::CredentialHint;
use super::output;
use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::sync::{ProgressFn, StopSignal, SyncOptions, sync_to_file};

/// What the health endpoint reports.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Health {
    pub(crate) syncs_completed: u64,
    pub(crate) syncs_failed: u64,
    pub(crate) last_sync_id: Option<String>,
    pub(crate) last_success_unix: Option<u64>,
    pub(crate) last_error: Option<String>,
    pub(crate) running: bool,
    /// The ConductorOne task loop, in service mode with a client id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) c1: Option<crate::service::StatusHandle>,
}

impl Health {
    /// Healthy unless the last sync failed.
    fn ok(&self) -> bool {
        if let Some(c1) = &self.c1 {
            return c1.get().healthy();
        }
        self.last_error.is_none()
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

/// Serves `GET /healthz` (200 while healthy, 503 after a failed sync) until `stop`.
/// Returns the bound address (the port may have been 0).
pub(crate) async fn serve_health(
    addr: SocketAddr,
    health: SharedHealth,
    stop: StopSignal,
) -> Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await.map_err(|e| {
        Error::from(e).context(format!(
            "binding the health endpoint on {addr} (--health-check-port, BATON_HEALTH_CHECK_PORT)"
        ))
    })?;
    let bound = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.triggered() => return,
            };
            let Ok((mut sock, _)) = accepted else {
                continue;
            };
            let health = health.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut len = 0;
                // Read the request head (bounded in size and time).
                let read = tokio::time::timeout(Duration::from_secs(5), async {
                    while len < buf.len() {
                        match sock.read(&mut buf[len..]).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                len += n;
                                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                                    break;
                                }
                            }
                        }
                    }
                })
                .await;
                if read.is_err() {
                    return;
                }
                let head = String::from_utf8_lossy(&buf[..len]);
                let path = head.split_whitespace().nth(1).unwrap_or("");
                let (status, body) = if path == "/healthz" || path.starts_with("/healthz?") {
                    let h = health.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    let status = if h.ok() {
                        "200 OK"
                    } else {
                        "503 Service Unavailable"
                    };
                    (
                        status,
                        serde_json::to_string(&h).unwrap_or_else(|_| "{}".into()),
                    )
                } else {
                    (
                        "404 Not Found",
                        "{\"error\":\"not found; try /healthz\"}".to_string(),
                    )
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(response.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Ok(bound)
}

/// Triggers `stop` on SIGTERM or SIGINT.
pub(crate) fn stop_on_signals(stop: StopSignal) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let (Ok(mut term), Ok(mut int)) = (
                signal(SignalKind::terminate()),
                signal(SignalKind::interrupt()),
            ) else {
                tracing::warn!("could not listen for SIGTERM/SIGINT");
                return;
            };
            tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received: finishing up"),
                _ = int.recv() => tracing::info!("SIGINT received: finishing up"),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        stop.trigger();
    });
}

/// Local service mode: syncs into `--file` every `interval` until SIGTERM, serving
/// `/healthz`; a failed sync is logged (naming the credential flags when they were
/// refused) and the file keeps the last good sync.
pub(super) async fn service_loop(
    connector: &dyn Connector,
    common: &CommonArgs,
    options: &SyncOptions,
    interval: std::time::Duration,
    stop: StopSignal,
    progress: Option<ProgressFn>,
    hint: &CredentialHint,
) -> Result<()> {
    stop_on_signals(stop.clone());
    let health: SharedHealth = Arc::new(Mutex::new(Health::default()));
    if let Some(port) = common.health_check_port {
        let bound = serve_health(
            SocketAddr::new(common.health_check_address, port),
            health.clone(),
            stop.clone(),
        )
        .await?;
        tracing::info!(address = %bound, "health endpoint listening on /healthz");
        println!("health endpoint: http://{bound}/healthz");
    }
    tracing::info!(interval = %humantime::format_duration(interval), file = %common.file.display(), "service mode: syncing on an interval until SIGTERM");
    loop {
        health.lock().unwrap_or_else(|p| p.into_inner()).running = true;
        let result = sync_to_file(connector, &common.file, options, progress.as_ref()).await;
        {
            let mut h = health.lock().unwrap_or_else(|p| p.into_inner());
            h.running = false;
            match &result {
                Ok(r) if r.completed => h.succeeded(&r.sync_id),
                Ok(_) => {}
                Err(e) => h.failed(e),
            }
        }
        match result {
            Ok(report) => println!("{}", output::summary(&report, &common.file)),
            // Keep serving: the file still holds the last good sync.
            Err(e) => tracing::error!(
                "sync failed; the last good sync stays in {}: {}",
                common.file.display(),
                hint.describe(&e)
            ),
        }
        if stop.is_triggered() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.triggered() => break,
        }
    }
    println!("stopped; an interrupted sync resumes on the next start");
    Ok(())
}
