//! Logging, the progress display, and the end-of-sync summary.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer as _};

use crate::error::Result;
use crate::sync::{Progress, ProgressFn, SyncReport};

use super::args::{LogFormat, flag_and_env};

/// Writes log lines to stderr, around the progress display when one is shown.
#[derive(Clone)]
pub(crate) struct LogWriter {
    bar: Option<ProgressBar>,
}

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &self.bar {
            Some(bar) if !bar.is_finished() && !bar.is_hidden() => {
                let text = String::from_utf8_lossy(buf).trim_end().to_string();
                bar.println(text);
                Ok(buf.len())
            }
            _ => std::io::stderr().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

/// Installs the global `tracing` subscriber (once per process; later calls keep the
/// first). Returns the progress bar when one should be shown.
pub(crate) fn init(level: &str, format: LogFormat, progress: bool) -> Result<Option<ProgressBar>> {
    let filter = EnvFilter::try_new(level).map_err(|e| {
        crate::Error::invalid_argument(format!(
            "{}: {level:?} is not a log level or filter ({e}); use error, warn, info, debug or trace",
            flag_and_env("log-level")
        ))
    })?;
    let bar =
        (progress && format == LogFormat::Console && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
    let writer = LogWriter { bar: bar.clone() };
    let console = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(writer)
            .boxed(),
        LogFormat::Console => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(writer)
            .boxed(),
    };
    // The console shows the operator's level; a service-mode task the platform marked
    // `debug` also keeps its own log at debug level (`service::task_log_layer`).
    let _ = tracing_subscriber::registry()
        .with(console.with_filter(filter))
        .with(crate::service::task_log_layer())
        .try_init();
    Ok(bar)
}

/// A progress callback updating `bar`.
pub(crate) fn progress_fn(bar: &ProgressBar) -> ProgressFn {
    let bar = bar.clone();
    Arc::new(move |p: &Progress| {
        let resources: u64 = p.resources_by_type.values().sum();
        let phase = p.phase.map(|ph| ph.to_string()).unwrap_or_default();
        bar.set_message(format!(
            "{phase}: {resources} resources, {} entitlements, {} grants ({} pages{})",
            p.entitlements,
            p.grants,
            p.pages,
            if p.warnings > 0 {
                format!(", {} warnings", p.warnings)
            } else {
                String::new()
            }
        ));
    })
}

/// The paragraph printed at the end of a sync.
pub(crate) fn summary(report: &SyncReport, file: &std::path::Path) -> String {
    let secs = report.duration.as_secs_f64();
    if !report.completed {
        return format!(
            "Sync {} stopped after {secs:.1}s with a checkpoint in {}; run again to resume.",
            report.sync_id,
            file.display()
        );
    }
    let s = &report.stats;
    let per_type: Vec<String> = s
        .resources_by_resource_type
        .iter()
        .map(|(t, n)| format!("{t} {n}"))
        .collect();
    let mut text = format!(
        "Synced {} resources ({}), {} entitlements and {} grants in {secs:.1}s into {} (sync {}{}).",
        s.resources,
        per_type.join(", "),
        s.entitlements,
        s.grants,
        file.display(),
        report.sync_id,
        if report.resumed { ", resumed" } else { "" }
    );
    if !report.scope.targeted.is_empty() {
        text.push_str(&format!(
            " This was a {}, stored next to the file's last full sync, which stays its default view.",
            report.scope.describe()
        ));
    } else if !report.scope.is_full() {
        text.push_str(&format!(" Scope: {}.", report.scope.describe()));
    }
    if report.expanded_grants > 0 {
        text.push_str(&format!(
            " {} grants came from group expansion.",
            report.expanded_grants
        ));
    }
    if report.warning_count > 0 {
        text.push_str(&format!(" {} warning(s):", report.warning_count));
        for w in report.warnings.iter().take(5) {
            text.push_str(&format!("\n  - {w}"));
        }
    } else {
        text.push_str(" No warnings.");
    }
    text
}
