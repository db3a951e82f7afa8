//! Local interval syncing (`--service-interval`, without ConductorOne): a sync into
//! `--file` every interval until SIGTERM, with the health checks; and the clean shutdown on
//! SIGTERM that both service modes use.

use std::sync::{Arc, Mutex};

use super::args::CommonArgs;
use super::credential_hint::CredentialHint;
use super::health::{self, Health, SharedHealth};
use super::output;
use crate::error::Result;
use crate::handle::ConnectorHandle;
use crate::sync::{ProgressFn, StopSignal, SyncOptions, sync_to_file};

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

/// Local interval syncing: syncs into `--file` every `interval` until SIGTERM, serving the
/// health checks; a failed sync is logged (naming the credential flags when they were
/// refused) and the file keeps the last good sync.
pub(super) async fn sync_on_interval(
    connector: &ConnectorHandle,
    common: &CommonArgs,
    options: &SyncOptions,
    interval: std::time::Duration,
    stop: StopSignal,
    progress: Option<ProgressFn>,
    hint: &CredentialHint,
) -> Result<()> {
    stop_on_signals(stop.clone());
    let health: SharedHealth = Arc::new(Mutex::new(Health::default()));
    if let Some(addr) = health::address(
        common.health_check,
        common.health_check_port,
        common.health_check_bind_address,
    ) {
        health::serve(addr, health.clone(), connector.clone(), stop.clone()).await?;
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
            Ok(report) => println!(
                "{}",
                crate::printable::printable_lines(&output::summary(&report, &common.file))
            ),
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
