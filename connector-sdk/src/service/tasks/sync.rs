//! Sync tasks: the options a task asks for (full or targeted), the sync itself and the upload of its file.

use crate::error::{Error, ErrorKind};
use crate::retry::{Backoff, RetryPolicy};
use crate::sync::{StopSignal, SyncOptions, sync_to_file};
use std::time::Duration;

use super::*;

/// The sync engine's options for a `SyncFullTask`: the task's resource-type filter, skip
/// flags and targeted resources replace whatever the binary was started with.
pub(crate) fn sync_options_for(
    t: &SyncFullTask,
    base: &SyncOptions,
    stop: StopSignal,
) -> std::result::Result<SyncOptions, Error> {
    let mut options = base.clone();
    options.stop = stop;
    // A fresh temporary file every task: nothing to resume.
    options.resume = false;
    options.max_duration = None;
    options.expand_grants = !t.skip_expand_grants;
    options.skip_entitlements_and_grants = t.skip_entitlements_and_grants;
    options.skip_grants = t.skip_grants;
    // The task's types replace the binary's --sync-resource-types only when it names
    // some (upstream: local flags are the fallback).
    let task_types: Vec<String> = t
        .sync_resource_type_ids
        .iter()
        .filter(|id| !id.trim().is_empty())
        .cloned()
        .collect();
    if !task_types.is_empty() {
        options.resource_types = task_types;
    }
    options.targeted = t
        .targeted_sync_resources
        .iter()
        .map(targeted_resource)
        .collect::<std::result::Result<_, _>>()?;
    if !t.storage_engine.is_empty() {
        tracing::info!(storage_engine = %t.storage_engine, "the task asks for a storage engine; uploading the v1 (SQLite) c1z this SDK writes");
    }
    Ok(options)
}

/// A targeted resource of a task: its id and, when set, its parent's.
pub(super) fn targeted_resource(
    r: &Resource,
) -> std::result::Result<crate::bid::ResourceBid, Error> {
    let id = |p: &proto::ResourceId| {
        let id = crate::model::ResourceId::new(&p.resource_type, &p.resource);
        id.validate().map(|()| id).map_err(|e| {
            Error::invalid_argument(format!("targeted_sync_resources: {}", e.message()))
        })
    };
    let Some(rid) = &r.id else {
        return Err(Error::invalid_argument(
            "targeted_sync_resources: a resource has no id",
        ));
    };
    Ok(crate::bid::ResourceBid {
        id: id(rid)?,
        parent: r.parent_resource_id.as_ref().map(id).transpose()?,
    })
}

pub(super) async fn sync_full(
    ctx: &TaskContext,
    task_id: &str,
    t: SyncFullTask,
    cancel: &TaskCancel,
    debug: bool,
) -> TaskResult {
    let dir = {
        let mut b = tempfile::Builder::new();
        b.prefix("baton-sdk-sync-upload");
        match &ctx.temp_dir {
            Some(d) => b.tempdir_in(d),
            None => b.tempdir(),
        }
    };
    let dir = dir.map_err(|e| {
        Failure::retryable(
            Error::from(e).context("creating the sync's temporary directory (BATON_TMPDIR)"),
        )
    })?;
    let path = dir.path().join("sync.c1z");
    // `Task.debug`: the task's log goes to a file in the same private directory, uploaded
    // after the sync; it is deleted with the directory.
    let log_path = dir.path().join("debug.log");
    let log = if debug {
        match super::super::task_log::TaskLog::start(task_id, &log_path) {
            Ok(log) => Some(log),
            Err(e) => {
                tracing::warn!(task_id, error = %e, "the task asks for a debug log; it cannot be written and the sync goes on without it");
                None
            }
        }
    } else {
        None
    };
    let options = sync_options_for(&t, &ctx.sync, cancel.signal()).map_err(Failure::retryable)?;
    let started = std::time::Instant::now();
    let report = sync_to_file(&ctx.connector, &path, &options, None).await;
    let report = report.map_err(Failure::retryable)?;
    if !report.completed || cancel.is_cancelled() {
        return Err(cancel.failure());
    }
    tracing::info!(
        task_id,
        resources = report.stats.resources,
        entitlements = report.stats.entitlements,
        grants = report.stats.grants,
        ms = started.elapsed().as_millis() as u64,
        "sync finished; uploading"
    );
    upload(ctx, task_id, &path, "sync", cancel).await?;
    if let Some(log) = log {
        tracing::info!(task_id, "uploading the task's debug log");
        drop(log);
        // The sync has landed: a debug log that cannot be uploaded is a warning, not a
        // failed (and retried) sync.
        if let Err(f) = upload(ctx, task_id, &log_path, "debug log", cancel).await {
            tracing::warn!(task_id, error = %f.message, "the sync was uploaded but its debug log was not");
        }
    }
    Ok(Success::default())
}

/// Uploads `path` as an asset of `task_id`: up to 3 attempts, each on a new stream, 1 s
/// apart.
async fn upload(
    ctx: &TaskContext,
    task_id: &str,
    path: &std::path::Path,
    what: &str,
    cancel: &TaskCancel,
) -> std::result::Result<(), Failure> {
    let mut backoff = Backoff::new(RetryPolicy {
        max_attempts: 3,
        min_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(1),
        max_total_wait: Duration::from_secs(10),
    });
    loop {
        let attempt = backoff.start_attempt();
        let result = tokio::select! {
            r = ctx.client.upload_asset(task_id, path) => r,
            _ = cancel.cancelled() => return Err(cancel.failure()),
        };
        match result {
            Ok(bytes) => {
                tracing::info!(task_id, bytes, attempt, "{what} uploaded");
                return Ok(());
            }
            Err(e) => {
                tracing::warn!(task_id, attempt, error = %e, "{what} upload failed");
                let retryable = Error::new(ErrorKind::Unavailable, e.to_string());
                if let Err(last) = backoff.wait_or_give_up(retryable).await {
                    return Err(Failure::retryable(Error::new(
                        e.kind(),
                        format!("uploading the {what}: {}", last.message()),
                    )));
                }
            }
        }
    }
}
