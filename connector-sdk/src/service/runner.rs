//! The task loop: startup Hello with retries, polling (`GetTask`, or `GetTasks` with a
//! fallback), up to `task_concurrency` tasks at once, heartbeats, `FinishTask` with retries,
//! and a graceful drain on SIGTERM/SIGINT.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::client::BatonClient;
use super::proto::{self, HelloRequest, Task, TaskType};
use super::tasks::{self, Failure, Outcome, TaskCancel, TaskContext};
use super::{ServiceConfig, StatusHandle};
use crate::error::{Error, ErrorKind, Result};
use crate::retry::{Backoff, RetryPolicy};
use crate::sync::StopSignal;

/// Polls wait at least this long (ours: upstream busy-loops on a missing `next_poll`).
pub(crate) const MIN_POLL: Duration = Duration::from_secs(1);
/// Polls and heartbeats wait at most this long.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(300);
/// The heartbeat interval when the server gives none.
pub(crate) const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(30);
/// Consecutive failed heartbeats that stop a task (upstream's effective limit).
pub(crate) const HEARTBEAT_FAILURE_LIMIT: u32 = 9;

const FOREVER: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

fn clamp(d: Option<&proto::Duration>, default: Duration, min: Duration) -> Duration {
    match d.map(proto::std_duration) {
        Some(d) if !d.is_zero() => d.clamp(min, MAX_WAIT),
        _ => default.clamp(min, MAX_WAIT),
    }
}

/// Whether a polled task is work: a `none` task or an absent one is not; a task with an id
/// and no type is (it is finished as unsupported).
fn is_work(t: &Task) -> bool {
    match &t.task_type {
        Some(TaskType::None(_)) => false,
        None => !t.id.is_empty(),
        Some(_) => true,
    }
}

/// Codes that end the startup Hello at once (spec §3.1).
fn fatal_at_startup(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Unauthenticated
            | ErrorKind::PermissionDenied
            | ErrorKind::InvalidArgument
            | ErrorKind::Unimplemented
            | ErrorKind::FailedPrecondition
            | ErrorKind::NotFound
    )
}

/// Says Hello until it is accepted; `Ok(false)` when stopped first.
pub(crate) async fn startup_hello(
    client: &BatonClient,
    hello: &HelloRequest,
    stop: &StopSignal,
    status: &StatusHandle,
) -> Result<bool> {
    let mut backoff = Backoff::new(RetryPolicy {
        max_attempts: u32::MAX,
        min_delay: Duration::from_secs(1),
        max_delay: MAX_WAIT,
        max_total_wait: FOREVER,
    });
    loop {
        let attempt = backoff.start_attempt();
        let result = tokio::select! {
            r = client.hello(hello.clone()) => r,
            _ = stop.triggered() => return Ok(false),
        };
        match result {
            Ok(_) => {
                tracing::info!(
                    attempt,
                    host_id = client.host_id(),
                    "connected to ConductorOne: Hello accepted"
                );
                status.update(|s| {
                    s.connected = true;
                    s.last_ok = Some(Instant::now());
                });
                return Ok(true);
            }
            Err(e) if fatal_at_startup(e.kind()) => {
                return Err(Error::new(
                    e.kind(),
                    format!("startup Hello failed: {}", e.message()),
                ));
            }
            Err(e) => {
                status.update(|s| s.last_error = Some(e.to_string()));
                let wait = backoff.next_wait(Error::new(ErrorKind::Unavailable, e.to_string()))?;
                tracing::warn!(attempt, wait_ms = wait.as_millis() as u64, error = %e, "startup Hello failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.triggered() => return Ok(false),
                }
            }
        }
    }
}

/// Sends `FinishTask`, retrying transient failures for a bounded time.
async fn finish(client: &BatonClient, task_id: &str, outcome: &Outcome, budget: Duration) {
    let Some(req) = outcome.finish_request(task_id) else {
        return;
    };
    let policy = RetryPolicy {
        max_attempts: 8,
        min_delay: Duration::from_millis(250),
        max_delay: Duration::from_secs(8),
        max_total_wait: Duration::from_secs(60),
    };
    let attempt = crate::retry::retry(policy, |n| {
        let req = req.clone();
        async move {
            let r = client.finish_task(req).await;
            if let Err(e) = &r {
                tracing::warn!(task_id, attempt = n, error = %e, "FinishTask failed");
            }
            r
        }
    });
    match tokio::time::timeout(budget, attempt).await {
        Ok(Ok(())) => tracing::debug!(task_id, "FinishTask sent"),
        Ok(Err(e)) => {
            tracing::error!(task_id, error = %e, "FinishTask failed; ConductorOne will time the task out")
        }
        Err(_) => tracing::error!(
            task_id,
            "FinishTask did not go through in time; ConductorOne will time the task out"
        ),
    }
}

/// Heartbeats `task_id` every interval until `done`; cancels the task when the server asks
/// or after [`HEARTBEAT_FAILURE_LIMIT`] failures in a row.
async fn heartbeat_loop(
    client: BatonClient,
    task_id: String,
    mut interval: Duration,
    cancel: TaskCancel,
    status: StatusHandle,
    min: Duration,
) {
    let mut failures = 0u32;
    loop {
        tokio::time::sleep(interval).await;
        match client.heartbeat(&task_id).await {
            Ok(r) => {
                failures = 0;
                status.update(|s| s.heartbeats += 1);
                interval = clamp(r.next_heartbeat.as_ref(), DEFAULT_HEARTBEAT, min);
                if r.cancelled {
                    tracing::info!(task_id, "ConductorOne cancelled the task");
                    cancel.cancel(Failure::new(
                        ErrorKind::Cancelled,
                        "the task was cancelled by ConductorOne",
                        false,
                    ));
                    return;
                }
            }
            Err(e) => {
                failures += 1;
                tracing::warn!(task_id, failures, error = %e, "heartbeat failed");
                if failures >= HEARTBEAT_FAILURE_LIMIT {
                    cancel.cancel(Failure::new(
                        ErrorKind::Unavailable,
                        format!(
                            "{failures} heartbeats failed in a row (last: {e}); stopping the task"
                        ),
                        false,
                    ));
                    return;
                }
            }
        }
    }
}

/// Runs one task: heartbeats, the handler, `FinishTask`.
async fn execute(
    ctx: Arc<TaskContext>,
    task: Task,
    cancel: TaskCancel,
    status: StatusHandle,
    min_heartbeat: Duration,
) {
    let id = task.id.clone();
    let Some(kind) = task.task_type else {
        let outcome = Outcome::Failure(Failure::unknown("unsupported task type", false));
        finish(&ctx.client, &id, &outcome, Duration::from_secs(90)).await;
        return;
    };
    let name = kind.name();
    if matches!(kind, TaskType::None(_)) {
        return;
    }
    if matches!(kind, TaskType::Hello(_)) {
        tasks::run(&ctx, &id, kind, &cancel).await;
        return;
    }
    tracing::info!(task_id = %id, task = name, "task started");
    let started = Instant::now();
    let is_sync = matches!(kind, TaskType::SyncFull(_));
    let mut interval = DEFAULT_HEARTBEAT;
    let early = if is_sync {
        // The first heartbeat before the sync, as upstream; a failure finishes the task.
        match ctx.client.heartbeat(&id).await {
            Ok(r) if r.cancelled => Some(Outcome::Failure(Failure::new(
                ErrorKind::Cancelled,
                "the task was cancelled by ConductorOne",
                false,
            ))),
            Ok(r) => {
                status.update(|s| s.heartbeats += 1);
                interval = clamp(r.next_heartbeat.as_ref(), DEFAULT_HEARTBEAT, min_heartbeat);
                None
            }
            Err(e) => Some(Outcome::Failure(Failure::from_error(
                &Error::new(
                    e.kind(),
                    format!("the first heartbeat failed: {}", e.message()),
                ),
                false,
            ))),
        }
    } else {
        None
    };
    let outcome = match early {
        Some(o) => o,
        None => {
            let beats = tokio::spawn(heartbeat_loop(
                ctx.client.clone(),
                id.clone(),
                interval,
                cancel.clone(),
                status.clone(),
                min_heartbeat,
            ));
            let grace = if is_sync {
                Duration::from_secs(3)
            } else {
                Duration::ZERO
            };
            let outcome = tokio::select! {
                o = tasks::run(&ctx, &id, kind, &cancel) => o,
                _ = async { cancel.cancelled().await; tokio::time::sleep(grace).await } => Outcome::Failure(cancel.failure()),
            };
            // Heartbeats go on until FinishTask returns, as upstream.
            let budget = if cancel.is_cancelled() {
                Duration::from_secs(10)
            } else {
                Duration::from_secs(90)
            };
            finish(&ctx.client, &id, &outcome, budget).await;
            beats.abort();
            log_outcome(&id, name, &outcome, started, &status);
            return;
        }
    };
    finish(&ctx.client, &id, &outcome, Duration::from_secs(90)).await;
    log_outcome(&id, name, &outcome, started, &status);
}

fn log_outcome(id: &str, name: &str, outcome: &Outcome, started: Instant, status: &StatusHandle) {
    let ms = started.elapsed().as_millis() as u64;
    match outcome {
        Outcome::Failure(f) => {
            status.update(|s| s.tasks_failed += 1);
            tracing::warn!(task_id = id, task = name, ms, code = f.code, non_retryable = f.non_retryable, error = %f.message, "task failed");
        }
        _ => {
            status.update(|s| s.tasks_succeeded += 1);
            tracing::info!(task_id = id, task = name, ms, "task finished");
        }
    }
}

/// The poll loop, until `stop`; then the drain.
pub(crate) async fn poll_loop(
    ctx: Arc<TaskContext>,
    config: &ServiceConfig,
    stop: StopSignal,
    status: StatusHandle,
) {
    let slots = config.task_concurrency.clamp(1, 100);
    let sem = Arc::new(Semaphore::new(slots));
    let mut running: JoinSet<()> = JoinSet::new();
    let cancels: Arc<Mutex<HashMap<String, TaskCancel>>> = Arc::default();
    let inflight: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut queue: VecDeque<Task> = VecDeque::new();
    let mut use_get_tasks = config.get_tasks;
    let mut next_poll_at = Instant::now();
    let mut backoff: Option<Backoff> = None;
    let mut wait = Duration::ZERO;
    status.update(|s| s.slots = slots);
    loop {
        while running.try_join_next().is_some() {}
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.triggered() => break,
        }
        let permit = tokio::select! {
            p = sem.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            _ = stop.triggered() => break,
        };
        let fetched: Result<(Option<Task>, Duration)> = if use_get_tasks {
            let held = inflight.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let mut result = Ok(());
            if queue.is_empty()
                && Instant::now() >= next_poll_at
                && queue.len() + held.len() < slots
            {
                let page = (2 * slots)
                    .saturating_sub(queue.len() + held.len())
                    .clamp(1, 100) as u32;
                let known: Vec<String> = held.iter().cloned().collect();
                match ctx.client.get_tasks(page, known).await {
                    Ok(r) => {
                        next_poll_at =
                            Instant::now() + clamp(r.next_poll.as_ref(), MIN_POLL, MIN_POLL);
                        for t in r.tasks {
                            if is_work(&t)
                                && !held.contains(&t.id)
                                && !queue.iter().any(|q| q.id == t.id)
                            {
                                queue.push_back(t);
                            }
                        }
                    }
                    Err(e) => result = Err(e),
                }
            }
            match result {
                Ok(()) => {
                    let task = queue.pop_front();
                    let until = next_poll_at.saturating_duration_since(Instant::now());
                    let wait = if task.is_some() && !queue.is_empty() {
                        Duration::ZERO
                    } else {
                        until.max(Duration::from_millis(100))
                    };
                    Ok((task, wait))
                }
                Err(e) => Err(e),
            }
        } else {
            ctx.client.get_task().await.map(|r| {
                let task = r.task.filter(is_work);
                (task, clamp(r.next_poll.as_ref(), MIN_POLL, MIN_POLL))
            })
        };
        match fetched {
            Ok((task, next)) => {
                backoff = None;
                status.update(|s| {
                    s.polls += 1;
                    s.consecutive_poll_errors = 0;
                    s.last_ok = Some(Instant::now());
                    s.last_poll_unix = Some(super::unix_now());
                });
                wait = next;
                let Some(task) = task else {
                    drop(permit);
                    continue;
                };
                let id = task.id.clone();
                let cancel = TaskCancel::default();
                cancels
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.clone(), cancel.clone());
                inflight
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.clone());
                status.update(|s| s.running_tasks += 1);
                let (ctx, status, cancels, inflight) = (
                    ctx.clone(),
                    status.clone(),
                    cancels.clone(),
                    inflight.clone(),
                );
                let min_heartbeat = config.min_heartbeat;
                running.spawn(async move {
                    execute(ctx, task, cancel, status.clone(), min_heartbeat).await;
                    cancels
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    inflight
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(&id);
                    status.update(|s| s.running_tasks = s.running_tasks.saturating_sub(1));
                    drop(permit);
                });
            }
            Err(e) if use_get_tasks && e.kind() == ErrorKind::Unimplemented => {
                tracing::warn!(error = %e, "the server does not implement GetTasks; polling with GetTask");
                use_get_tasks = false;
                wait = Duration::ZERO;
                drop(permit);
            }
            Err(e) => {
                drop(permit);
                status.update(|s| {
                    s.poll_errors += 1;
                    s.consecutive_poll_errors += 1;
                    s.last_error = Some(e.to_string());
                });
                let b = backoff.get_or_insert_with(|| {
                    Backoff::new(RetryPolicy {
                        max_attempts: u32::MAX,
                        min_delay: Duration::from_secs(1),
                        max_delay: Duration::from_secs(60),
                        max_total_wait: FOREVER,
                    })
                });
                b.start_attempt();
                wait = b
                    .next_wait(Error::new(ErrorKind::Unavailable, e.to_string()))
                    .unwrap_or(Duration::from_secs(60));
                tracing::warn!(wait_ms = wait.as_millis() as u64, error = %e, "polling for tasks failed");
            }
        }
    }
    // Drain: no more polling; running tasks get the grace period, then are stopped and
    // finished with a retryable error.
    status.update(|s| s.stopping = true);
    let n = running.len();
    if n == 0 {
        return;
    }
    tracing::info!(
        tasks = n,
        grace_s = config.shutdown_grace.as_secs_f64(),
        "stopping: letting running tasks finish"
    );
    let drained = tokio::time::timeout(config.shutdown_grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_ok() {
        return;
    }
    let left: Vec<TaskCancel> = cancels
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .values()
        .cloned()
        .collect();
    tracing::warn!(
        tasks = left.len(),
        "grace period over: stopping the remaining tasks; ConductorOne will retry them"
    );
    for c in left {
        c.cancel(Failure::new(
            ErrorKind::Unavailable,
            "the connector is shutting down (SIGTERM); the task was stopped before it finished and can be retried",
            false,
        ));
    }
    let _ = tokio::time::timeout(Duration::from_secs(15), async {
        while running.join_next().await.is_some() {}
    })
    .await;
    running.abort_all();
}
