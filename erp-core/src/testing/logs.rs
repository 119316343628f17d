//! [`LogCapture`]: everything `tracing` emits, as text, for tests that assert what is (and is not) logged.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use tracing::subscriber::DefaultGuard;

/// Captured `tracing` output (TRACE level, no colours). Cheap to clone: clones share the buffer.
///
/// ```
/// use erp_hub_core::testing::LogCapture;
///
/// let (logs, _guard) = LogCapture::start();
/// tracing::info!(user = "ana", "signed in");
/// assert!(logs.text().contains("signed in"));
/// ```
#[derive(Clone, Default, Debug)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

struct Writer(Arc<Mutex<Vec<u8>>>);

impl Write for Writer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogCapture {
    fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync + 'static {
        let buf = Arc::clone(&self.0);
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Writer(Arc::clone(&buf)))
            .finish()
    }

    /// Captures the events of the current thread while the guard lives (a `current_thread` runtime sees
    /// every event of its tasks). Keep such a test alone in its test binary: `tracing`'s callsite interest is
    /// process-wide, so tests running at the same time can hide events.
    pub fn start() -> (Self, DefaultGuard) {
        let capture = Self::default();
        let guard = tracing::subscriber::set_default(capture.subscriber());
        (capture, guard)
    }

    /// Captures the events of every thread for the rest of the process (for multi-threaded runtimes).
    /// `None` when another global subscriber is already installed.
    pub fn global() -> Option<Self> {
        let capture = Self::default();
        tracing::subscriber::set_global_default(capture.subscriber())
            .ok()
            .map(|()| capture)
    }

    /// Everything captured so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}
