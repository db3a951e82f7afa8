//! The task loop: startup Hello with retries, polling (`GetTask`, or `GetTasks` with a
//! fallback), up to `task_concurrency` tasks at once, heartbeats, `FinishTask` with retries,
//! and a graceful drain on SIGTERM/SIGINT.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tracing::Instrument as _;

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

/// The wait before the next poll: the server's `next_poll`, where zero means "now"
/// (upstream clamps it to [0, 5 min]); [`MIN_POLL`] only when it sent none (spec §8.7).
fn poll_wait(d: Option<&proto::Duration>) -> Duration {
    match d.map(proto::std_duration) {
        Some(d) => d.min(MAX_WAIT),
        None => MIN_POLL,
    }
}

/// How long a task of this type may run before it finishes itself `DeadlineExceeded`.
fn ceiling(kind: &TaskType, config: &Ceilings) -> Duration {
    match kind {
        TaskType::SyncFull(_) => config.sync,
        TaskType::Grant(_)
        | TaskType::Revoke(_)
        | TaskType::CreateAccount(_)
        | TaskType::DeleteResource(_) => config.provisioning,
        // An action answers within a second; the run itself has the action ceiling.
        _ => config.action,
    }
}

/// The ceilings of task types.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ceilings {
    pub(crate) sync: Duration,
    pub(crate) provisioning: Duration,
    pub(crate) action: Duration,
}

impl Ceilings {
    pub(crate) fn of(config: &ServiceConfig) -> Ceilings {
        Ceilings {
            sync: config
                .sync
                .max_duration
                .unwrap_or(super::DEFAULT_SYNC_TIMEOUT),
            provisioning: config.provisioning_timeout,
            action: config.action_timeout,
        }
    }
}

/// Aborts a spawned task when dropped: the heartbeats of a task stop with it, even when
/// the task's future unwinds.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs the task's handler under its ceiling; a panic that escapes the handle (in the sync
/// engine, say) is an `Internal` failure, as upstream's recovery interceptor makes it.
async fn run_contained(
    ctx: &TaskContext,
    id: &str,
    kind: TaskType,
    cancel: &TaskCancel,
    limit: Duration,
    debug: bool,
) -> Outcome {
    use futures::FutureExt as _;
    let name = kind.name();
    let work =
        std::panic::AssertUnwindSafe(tasks::run(ctx, id, kind, cancel, debug)).catch_unwind();
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(payload)) => {
            let e = crate::handle::panics::panicked(name, payload.as_ref());
            Outcome::Failure(Failure::from_error(&e, false))
        }
        Err(_) => {
            cancel.cancel(Failure::new(
                ErrorKind::DeadlineExceeded,
                "stopped at its ceiling",
                false,
            ));
            Outcome::Failure(Failure::new(
                ErrorKind::DeadlineExceeded,
                format!(
                    "the {name} task ran longer than its ceiling of {} and was stopped; it can be retried (raise it with --provisioning-timeout, --action-timeout or --max-sync-duration)",
                    humantime_secs(limit)
                ),
                false,
            ))
        }
    }
}

fn humantime_secs(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
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
    ceilings: Ceilings,
) {
    let id = task.id.clone();
    let Some(kind) = task.task_type else {
        let outcome = Outcome::Failure(Failure::unknown("unsupported task type"));
        finish(&ctx.client, &id, &outcome, Duration::from_secs(90)).await;
        return;
    };
    let name = kind.name();
    if matches!(kind, TaskType::None(_)) {
        return;
    }
    if matches!(kind, TaskType::Hello(_)) {
        tasks::run(&ctx, &id, kind, &cancel, false).await;
        return;
    }
    // Every event of the task is in this span: a `debug` task's log is what it holds.
    let span = tracing::info_span!(super::task_log::TASK_SPAN, task_id = %id, task = name);
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
    let limit = ceiling(&kind, &ceilings);
    let outcome = match early {
        Some(o) => o,
        None => {
            let beats = AbortOnDrop(tokio::spawn(
                heartbeat_loop(
                    ctx.client.clone(),
                    id.clone(),
                    interval,
                    cancel.clone(),
                    status.clone(),
                    min_heartbeat,
                )
                .instrument(span.clone()),
            ));
            let grace = if is_sync {
                Duration::from_secs(3)
            } else {
                Duration::ZERO
            };
            let outcome = tokio::select! {
                o = run_contained(&ctx, &id, kind, &cancel, limit, task.debug).instrument(span.clone()) => o,
                _ = async { cancel.cancelled().await; tokio::time::sleep(grace).await } => Outcome::Failure(cancel.failure()),
            };
            // Heartbeats go on until FinishTask returns, as upstream.
            let budget = if cancel.is_cancelled() {
                Duration::from_secs(10)
            } else {
                Duration::from_secs(90)
            };
            finish(&ctx.client, &id, &outcome, budget).await;
            drop(beats);
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

/// The tasks running now, by id, with their cancel handles (GetTasks names them as
/// "in flight" so the server does not hand them out again).
#[derive(Clone, Default)]
struct Registry(Arc<Mutex<HashMap<String, TaskCancel>>>);

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, TaskCancel>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ids(&self) -> HashSet<String> {
        self.lock().keys().cloned().collect()
    }

    fn cancels(&self) -> Vec<TaskCancel> {
        self.lock().values().cloned().collect()
    }
}

/// A running task's place: in the registry, counted in the status, holding a slot. Dropped
/// when the task ends, however it ends (a panic unwinding included), which frees all three.
struct Slot {
    registry: Registry,
    id: String,
    status: StatusHandle,
    _permit: OwnedSemaphorePermit,
}

impl Slot {
    fn take(
        registry: &Registry,
        id: &str,
        cancel: TaskCancel,
        status: &StatusHandle,
        permit: OwnedSemaphorePermit,
    ) -> Slot {
        registry.lock().insert(id.to_string(), cancel);
        status.update(|s| s.running_tasks += 1);
        Slot {
            registry: registry.clone(),
            id: id.to_string(),
            status: status.clone(),
            _permit: permit,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
        self.status
            .update(|s| s.running_tasks = s.running_tasks.saturating_sub(1));
    }
}

/// Where polling is: the GetTasks queue, the next poll time, the mode.
struct Poller {
    queue: VecDeque<Task>,
    use_get_tasks: bool,
    next_poll_at: Instant,
    slots: usize,
}

impl Poller {
    /// One poll: a task (or none) and the wait before the next poll.
    async fn poll(
        &mut self,
        client: &BatonClient,
        registry: &Registry,
    ) -> Result<(Option<Task>, Duration)> {
        if !self.use_get_tasks {
            let r = client.get_task().await?;
            return Ok((r.task.filter(is_work), poll_wait(r.next_poll.as_ref())));
        }
        let held = registry.ids();
        if self.queue.is_empty()
            && Instant::now() >= self.next_poll_at
            && self.queue.len() + held.len() < self.slots
        {
            let page = (2 * self.slots)
                .saturating_sub(self.queue.len() + held.len())
                .clamp(1, 100) as u32;
            let r = client
                .get_tasks(page, held.iter().cloned().collect())
                .await?;
            self.next_poll_at = Instant::now() + poll_wait(r.next_poll.as_ref());
            for t in r.tasks {
                if is_work(&t) && !held.contains(&t.id) && !self.queue.iter().any(|q| q.id == t.id)
                {
                    self.queue.push_back(t);
                }
            }
        }
        let task = self.queue.pop_front();
        let until = self.next_poll_at.saturating_duration_since(Instant::now());
        let wait = if task.is_some() && !self.queue.is_empty() {
            Duration::ZERO
        } else {
            until.max(Duration::from_millis(100))
        };
        Ok((task, wait))
    }
}

/// The wait after a failed poll, growing with each failure in a row.
fn poll_failed(backoff: &mut Option<Backoff>, status: &StatusHandle, e: &Error) -> Duration {
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
    let wait = b
        .next_wait(Error::new(ErrorKind::Unavailable, e.to_string()))
        .unwrap_or(Duration::from_secs(60));
    tracing::warn!(wait_ms = wait.as_millis() as u64, error = %e, "polling for tasks failed");
    wait
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
    let registry = Registry::default();
    let ceilings = Ceilings::of(config);
    let mut poller = Poller {
        queue: VecDeque::new(),
        use_get_tasks: config.get_tasks,
        next_poll_at: Instant::now(),
        slots,
    };
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
        match poller.poll(&ctx.client, &registry).await {
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
                    continue;
                };
                let cancel = TaskCancel::default();
                let slot = Slot::take(&registry, &task.id, cancel.clone(), &status, permit);
                let (ctx, status) = (ctx.clone(), status.clone());
                let min_heartbeat = config.min_heartbeat;
                running.spawn(async move {
                    let _slot = slot;
                    execute(ctx, task, cancel, status, min_heartbeat, ceilings).await;
                });
            }
            Err(e) if poller.use_get_tasks && e.kind() == ErrorKind::Unimplemented => {
                tracing::warn!(error = %e, "the server does not implement GetTasks; polling with GetTask");
                poller.use_get_tasks = false;
                wait = Duration::ZERO;
            }
            Err(e) => wait = poll_failed(&mut backoff, &status, &e),
        }
    }
    drain(running, &registry, config.shutdown_grace, &status).await;
}

/// The drain: no more polling; running tasks get the grace period, then are stopped and
/// finished with a retryable error.
async fn drain(
    mut running: JoinSet<()>,
    registry: &Registry,
    grace: Duration,
    status: &StatusHandle,
) {
    status.update(|s| s.stopping = true);
    let n = running.len();
    if n == 0 {
        return;
    }
    tracing::info!(
        tasks = n,
        grace_s = grace.as_secs_f64(),
        "stopping: letting running tasks finish"
    );
    let drained = tokio::time::timeout(grace, async {
        while running.join_next().await.is_some() {}
    })
    .await;
    if drained.is_ok() {
        return;
    }
    let left = registry.cancels();
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
