//! The store runs on its own thread (SQLite work is blocking); async code sends it jobs.

use std::path::PathBuf;
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::store::{StoreLimits, SyncStore};

type Job = Box<dyn FnOnce(&mut SyncStore) + Send>;

/// A handle to a [`SyncStore`] living on a dedicated thread. Dropping it stops the thread
/// and waits for it, so the store's working folder is removed before the handle is gone
/// (a process returning from `main` right after a sync leaves nothing behind).
pub(crate) struct StoreHandle {
    tx: Option<mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for StoreHandle {
    fn drop(&mut self) {
        // Closing the channel ends the thread's loop; it then drops the store.
        drop(self.tx.take());
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::warn!("the store thread panicked");
        }
    }
}

impl StoreHandle {
    /// Opens the store for `path` on a new thread, within `limits`.
    pub(crate) async fn open(path: PathBuf, limits: StoreLimits) -> Result<StoreHandle> {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<Result<()>>();
        let thread = std::thread::Builder::new()
            .name("c1z-store".into())
            .spawn(move || {
                let mut store = match SyncStore::open_with(&path, &limits) {
                    Ok(s) => {
                        let _ = ready_tx.send(Ok(()));
                        s
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = rx.recv() {
                    job(&mut store);
                }
            })
            .map_err(|e| Error::internal(format!("could not start the store thread: {e}")))?;
        ready_rx
            .await
            .map_err(|_| Error::internal("the store thread stopped while opening the file"))??;
        Ok(StoreHandle {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Runs `f` on the store thread and returns its result.
    pub(crate) async fn call<R, F>(&self, f: F) -> Result<R>
    where
        R: Send + 'static,
        F: FnOnce(&mut SyncStore) -> Result<R> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .as_ref()
            .ok_or_else(|| Error::internal("the store thread has stopped"))?
            .send(Box::new(move |s| {
                let _ = tx.send(f(s));
            }))
            .map_err(|_| Error::internal("the store thread has stopped"))?;
        rx.await
            .map_err(|_| Error::internal("the store thread stopped during a write"))?
    }
}
