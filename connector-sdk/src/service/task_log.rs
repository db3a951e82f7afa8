//! A task's own log (`Task.debug`, spec §8.9): while a task the platform marked `debug`
//! runs, every log event inside its span is also written to a file, which the sync task
//! uploads after its `.c1z` as a second `UploadAsset` for the same task id.
//!
//! Events reach the file through [`task_log_layer`], a `tracing` layer the SDK's command
//! line installs next to its console output. A program that installs its own subscriber
//! adds the layer to keep debug logs:
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt as _;
//! let subscriber = tracing_subscriber::registry().with(connector_sdk::service::task_log_layer());
//! # drop(subscriber);
//! ```
//!
//! The file is bounded ([`MAX_TASK_LOG`]): past it, one line says the rest was dropped.
//! The log holds what the console would show — no secrets are logged anywhere in the SDK.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The name of the span every task runs in; its `task_id` field names the task.
pub(crate) const TASK_SPAN: &str = "baton_task";

/// The most a task's log holds: 64 MiB.
pub const MAX_TASK_LOG: u64 = 64 * 1024 * 1024;

/// One open task log.
struct Sink {
    file: std::fs::File,
    written: u64,
    truncated: bool,
}

impl Sink {
    fn write_line(&mut self, line: &str) {
        if self.truncated {
            return;
        }
        let len = line.len() as u64;
        if self.written + len > MAX_TASK_LOG {
            self.truncated = true;
            let _ = self.file.write_all(
                format!("... the log reached {MAX_TASK_LOG} bytes; later lines were dropped\n")
                    .as_bytes(),
            );
            return;
        }
        if self.file.write_all(line.as_bytes()).is_ok() {
            self.written += len;
        }
    }
}

/// The open logs by task id, and how many there are (events skip the lock when none are).
struct Sinks {
    open: AtomicUsize,
    by_task: Mutex<HashMap<String, Arc<Mutex<Sink>>>>,
}

fn sinks() -> &'static Sinks {
    static SINKS: OnceLock<Sinks> = OnceLock::new();
    SINKS.get_or_init(|| Sinks {
        open: AtomicUsize::new(0),
        by_task: Mutex::new(HashMap::new()),
    })
}

/// A task log being written; closed (no more lines) when dropped.
pub(crate) struct TaskLog {
    task_id: String,
}

impl TaskLog {
    /// Starts writing the log of `task_id` to `path` (created new; an existing file is an
    /// error, so a planted file is never appended to).
    pub(crate) fn start(task_id: &str, path: &Path) -> std::io::Result<TaskLog> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)?;
        let sink = Arc::new(Mutex::new(Sink {
            file,
            written: 0,
            truncated: false,
        }));
        let s = sinks();
        let mut map = s.by_task.lock().unwrap_or_else(|p| p.into_inner());
        if map.insert(task_id.to_string(), sink).is_none() {
            s.open.fetch_add(1, Ordering::SeqCst);
        }
        Ok(TaskLog {
            task_id: task_id.to_string(),
        })
    }
}

impl Drop for TaskLog {
    fn drop(&mut self) {
        let s = sinks();
        let mut map = s.by_task.lock().unwrap_or_else(|p| p.into_inner());
        if map.remove(&self.task_id).is_some() {
            s.open.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// The task id a task span was created with, kept in the span's extensions.
struct TaskIdOfSpan(String);

/// The layer writing events inside a debug task's span to its log; debug level and above,
/// the HTTP/2 and TLS libraries' chatter at info. Installed by the SDK's command line.
pub fn task_log_layer<S>() -> impl Layer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let targets = Targets::new()
        .with_default(LevelFilter::DEBUG)
        .with_target("h2", LevelFilter::INFO)
        .with_target("hyper", LevelFilter::INFO)
        .with_target("hyper_util", LevelFilter::INFO)
        .with_target("rustls", LevelFilter::INFO)
        .with_target("tower", LevelFilter::INFO)
        .with_target("reqwest", LevelFilter::INFO);
    TaskLogLayer.with_filter(targets)
}

struct TaskLogLayer;

impl<S> Layer<S> for TaskLogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != TASK_SPAN {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(task_id), Some(span)) = (fields.task_id, ctx.span(id)) {
            span.extensions_mut().insert(TaskIdOfSpan(task_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let s = sinks();
        if s.open.load(Ordering::SeqCst) == 0 {
            return;
        }
        let Some(scope) = ctx.event_scope(event) else {
            return;
        };
        let task_id = scope
            .from_root()
            .find_map(|span| span.extensions().get::<TaskIdOfSpan>().map(|t| t.0.clone()));
        let Some(task_id) = task_id else {
            return;
        };
        let sink = {
            let map = s.by_task.lock().unwrap_or_else(|p| p.into_inner());
            map.get(&task_id).cloned()
        };
        let Some(sink) = sink else {
            return;
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let meta = event.metadata();
        let line = format!(
            "{} {:>5} {}: {}{}\n",
            crate::time::format_rfc3339(std::time::SystemTime::now()),
            meta.level(),
            meta.target(),
            fields.message,
            fields.rest
        );
        sink.lock()
            .unwrap_or_else(|p| p.into_inner())
            .write_line(&line);
    }
}

/// An event's message and other fields as `key=value`; a span's `task_id`.
#[derive(Default)]
struct Fields {
    message: String,
    rest: String,
    task_id: Option<String>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message.push_str(value),
            "task_id" => self.task_id = Some(value.to_string()),
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        match field.name() {
            "message" => {
                let _ = write!(self.message, "{value:?}");
            }
            "task_id" => self.task_id = Some(format!("{value:?}")),
            name => {
                let _ = write!(self.rest, " {name}={value:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::layer::SubscriberExt as _;

    fn subscriber() -> impl Subscriber + Send + Sync {
        tracing_subscriber::registry().with(task_log_layer())
    }

    #[test]
    fn events_inside_a_debug_task_span_reach_its_file_and_no_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("debug.log");
        tracing::subscriber::with_default(subscriber(), || {
            let log = TaskLog::start("task-a", &path).unwrap();
            let span = tracing::info_span!(TASK_SPAN, task_id = "task-a");
            span.in_scope(|| {
                tracing::debug!(page = 3, "listing users");
                let inner = tracing::info_span!("inner");
                inner.in_scope(|| tracing::warn!("a nested event"));
            });
            tracing::info!("outside any task");
            tracing::info_span!(TASK_SPAN, task_id = "task-b")
                .in_scope(|| tracing::info!("another task's event"));
            drop(log);
            span.in_scope(|| tracing::info!("after the log closed"));
        });
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("DEBUG"), "{text}");
        assert!(text.contains("listing users page=3"), "{text}");
        assert!(text.contains("a nested event"), "{text}");
        assert!(!text.contains("outside any task"), "{text}");
        assert!(!text.contains("another task"), "{text}");
        assert!(!text.contains("after the log closed"), "{text}");
    }

    #[test]
    fn a_planted_file_is_not_appended_to() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("debug.log");
        std::fs::write(&path, "planted").unwrap();
        assert!(TaskLog::start("task-c", &path).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "planted");
    }

    #[test]
    fn the_log_stops_at_its_bound_with_one_line_saying_so() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("debug.log");
        let _log = TaskLog::start("task-d", &path).unwrap();
        let sink = sinks()
            .by_task
            .lock()
            .unwrap()
            .get("task-d")
            .cloned()
            .unwrap();
        let line = "x".repeat(1024 * 1024) + "\n";
        for _ in 0..70 {
            sink.lock().unwrap().write_line(&line);
        }
        let size = std::fs::metadata(&path).unwrap().len();
        assert!(size <= MAX_TASK_LOG + 200, "{size}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("later lines were dropped\n"));
        assert_eq!(text.matches("later lines were dropped").count(), 1);
    }
}
