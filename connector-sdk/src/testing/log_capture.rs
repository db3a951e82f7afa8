//! [`LogCapture`]: everything `tracing` logs on the current thread, for assertions such as
//! "no secret reaches the logs" or "revoking this grant warns".

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::subscriber::DefaultGuard;

/// Collects every event logged at TRACE and above on the current thread while it lives.
///
/// It installs a thread-local default subscriber, so it sees what a `#[tokio::test]`
/// (a current-thread runtime) logs, and tests running in parallel do not mix.
///
/// ```
/// use connector_sdk::testing::LogCapture;
///
/// let logs = LogCapture::start();
/// tracing::warn!(group = "admins", "revoking the as-user's own membership");
/// assert!(logs.text().contains("WARN"));
/// assert!(logs.text().contains("own membership"));
/// ```
pub struct LogCapture {
    buffer: Buffer,
    _guard: DefaultGuard,
}

impl LogCapture {
    /// Starts capturing on the current thread; stops when the value is dropped.
    pub fn start() -> Self {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        LogCapture {
            _guard: tracing::subscriber::set_default(subscriber),
            buffer,
        }
    }

    /// Everything logged so far, one line per event.
    pub fn text(&self) -> String {
        let bytes = self.buffer.0.lock().unwrap_or_else(PoisonError::into_inner);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture").finish_non_exhaustive()
    }
}

/// The shared sink the subscriber writes into.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
