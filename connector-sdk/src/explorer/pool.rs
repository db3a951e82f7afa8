//! The readers requests run on: several connections to one decompressed copy, so a slow
//! request does not hold up the others, and a deadline per request, past which its query
//! is interrupted and the request answers 503.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::Result;
use crate::store::C1zReader;

use super::error::ApiError;

/// Connections to the file, so this many requests run at once.
pub(crate) const READERS: usize = 4;

/// How long one request may read before it is stopped.
pub(crate) const REQUEST_DEADLINE: Duration = Duration::from_secs(10);

/// The idle readers, and permits for the ones in use.
pub(crate) struct Pool {
    idle: Mutex<Vec<C1zReader>>,
    permits: Arc<Semaphore>,
    deadline: Duration,
}

impl Pool {
    /// [`READERS`] readers of `reader`'s copy at its sync.
    pub(crate) fn new(reader: C1zReader) -> Result<Pool> {
        let mut idle = Vec::with_capacity(READERS);
        for _ in 1..READERS {
            idle.push(reader.another_reader()?);
        }
        idle.push(reader);
        Ok(Pool {
            permits: Arc::new(Semaphore::new(idle.len())),
            idle: Mutex::new(idle),
            deadline: REQUEST_DEADLINE,
        })
    }

    /// With another request deadline (tests).
    #[cfg(test)]
    pub(crate) fn with_deadline(mut self, deadline: Duration) -> Pool {
        self.deadline = deadline;
        self
    }

    fn put_back(&self, reader: C1zReader) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(reader);
    }

    /// Runs `f` on a free reader on a blocking thread, within the deadline. Past it, the
    /// query is interrupted and the answer is a 503 saying so; the reader goes back to the
    /// pool when `f` returns, however it returns (a panic is a 500).
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> std::result::Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&C1zReader) -> std::result::Result<T, ApiError> + Send + 'static,
    {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| ApiError::from(crate::Error::internal("the explorer is stopping")))?;
        let reader = self
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .ok_or_else(|| ApiError::from(crate::Error::internal("no free reader")))?;
        let interrupt = reader.interrupt_handle();
        // Set (under its lock) when `f` has returned: an interrupt after that would stop
        // the next request's query on the same connection.
        let finished = Arc::new(Mutex::new(false));
        let (pool, done) = (self.clone(), finished.clone());
        let job = tokio::task::spawn_blocking(move || {
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(&reader)));
            *done.lock().unwrap_or_else(|p| p.into_inner()) = true;
            pool.put_back(reader);
            drop(permit);
            out
        });
        match tokio::time::timeout(self.deadline, job).await {
            Ok(Ok(Ok(out))) => out,
            Ok(Ok(Err(_))) | Ok(Err(_)) => Err(ApiError::from(crate::Error::internal(
                "the request failed unexpectedly; the explorer goes on serving",
            ))),
            Err(_) => {
                let finished = finished.lock().unwrap_or_else(|p| p.into_inner());
                if !*finished {
                    interrupt.interrupt();
                }
                Err(ApiError::unavailable(format!(
                    "the request took longer than {} s and was stopped; ask for less (a smaller limit)",
                    self.deadline.as_secs_f32()
                )))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceId, ResourceType};
    use crate::store::SyncStore;

    fn file(dir: &std::path::Path) -> C1zReader {
        let path = dir.join("t.c1z");
        let mut store = SyncStore::open(&path).unwrap();
        store.start_sync().unwrap();
        store
            .put_resource_types(&[ResourceType::new("user", "User")])
            .unwrap();
        store
            .put_resources(&[crate::model::Resource::with_id(
                ResourceId::new("user", "u1"),
                "Ada",
            )])
            .unwrap();
        store.finish().unwrap();
        C1zReader::open(&path).unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_slow_request_holds_one_reader_and_the_others_answer() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(Pool::new(file(dir.path())).unwrap());
        let slow = {
            let pool = pool.clone();
            tokio::spawn(async move {
                pool.run(|_| {
                    std::thread::sleep(Duration::from_millis(1500));
                    Ok(())
                })
                .await
            })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let started = std::time::Instant::now();
        let n = pool
            .run(|r| Ok(r.resources(None).map_err(ApiError::from)?.len()))
            .await
            .unwrap();
        assert_eq!(n, 1);
        assert!(started.elapsed() < Duration::from_millis(1000));
        slow.await.unwrap().unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_request_past_its_deadline_is_stopped_and_its_reader_comes_back() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(
            Pool::new(file(dir.path()))
                .unwrap()
                .with_deadline(Duration::from_millis(300)),
        );
        // A query that never ends on its own: only the interrupt stops it.
        let err = pool
            .run(|r| {
                let mut stmt = r
                    .conn_for_tests()
                    .prepare(
                        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
                    )
                    .unwrap();
                let n: std::result::Result<i64, _> = stmt.query_row([], |row| row.get(0));
                Err::<(), _>(ApiError::bad_request(format!("{n:?}")))
            })
            .await
            .unwrap_err();
        assert_eq!(err.status, axum::http::StatusCode::SERVICE_UNAVAILABLE);
        assert!(err.message.contains("was stopped"), "{}", err.message);
        // Every reader is back (the interrupted one included) and answers.
        tokio::time::sleep(Duration::from_millis(300)).await;
        for _ in 0..READERS * 2 {
            pool.run(|r| Ok(r.resources(None).map_err(ApiError::from)?.len()))
                .await
                .unwrap();
        }
        assert_eq!(pool.idle.lock().unwrap().len(), READERS);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_request_is_a_500_and_the_pool_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(Pool::new(file(dir.path())).unwrap());
        for _ in 0..READERS + 1 {
            let err = pool
                .run(|_| -> std::result::Result<(), ApiError> { panic!("boom") })
                .await
                .unwrap_err();
            assert_eq!(err.status, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
        }
        assert_eq!(pool.idle.lock().unwrap().len(), READERS);
    }
}
