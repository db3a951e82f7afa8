//! Retrying with the HTTP client's schedule, for anything that is not an HTTP request
//! (a CLI tool run through [`command`](crate::command), a gRPC call…).
//!
//! One policy type, [`RetryPolicy`] (the HTTP client's too: [`http::RetryPolicy`](crate::http::RetryPolicy) is this type):
//! at most `max_attempts` attempts, jittered exponential delays from `min_delay` up to
//! `max_delay`, and no more than `max_total_wait` of waiting in all. A failure that asks
//! for a wait ([`Error::retry_after`]) gets that wait.
//!
//! ```
//! use std::time::Duration;
//! use connector_sdk::retry::{RetryPolicy, retry};
//! use connector_sdk::{Error, ErrorKind};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let policy = RetryPolicy { min_delay: Duration::from_millis(1), max_delay: Duration::from_millis(2), ..RetryPolicy::default() };
//! let answer = retry(policy, |attempt| async move {
//!     if attempt < 3 { Err(Error::new(ErrorKind::Unavailable, "connection reset")) } else { Ok(42) }
//! })
//! .await
//! .unwrap();
//! assert_eq!(answer, 42);
//! # });
//! ```

use std::future::Future;
use std::time::Duration;

use backon::BackoffBuilder;

use crate::error::{Error, Result};

/// How requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// The first backoff delay; later ones grow exponentially, with jitter.
    pub min_delay: Duration,
    /// The largest backoff delay (a server's own `Retry-After` may be longer).
    pub max_delay: Duration,
    /// The most a request may spend waiting between attempts in all; a server asking
    /// for a longer wait gets an error instead.
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            min_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(300),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }
}

/// The state of one retried operation: attempts made, time waited, the next delays.
#[derive(Debug)]
pub struct Backoff {
    policy: RetryPolicy,
    delays: backon::ExponentialBackoff,
    attempts: u32,
    waited: Duration,
}

impl Backoff {
    /// A fresh schedule under `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        let delays = backon::ExponentialBuilder::default()
            .with_min_delay(policy.min_delay)
            .with_max_delay(policy.max_delay)
            .with_jitter()
            .without_max_times()
            .build();
        Backoff {
            policy,
            delays,
            attempts: 0,
            waited: Duration::ZERO,
        }
    }

    /// The policy.
    pub fn policy(&self) -> RetryPolicy {
        self.policy
    }

    /// Records the start of an attempt and returns its number (the first is 1).
    pub fn start_attempt(&mut self) -> u32 {
        self.attempts += 1;
        self.attempts
    }

    /// Attempts started so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Time waited between attempts so far.
    pub fn waited(&self) -> Duration {
        self.waited
    }

    /// After an attempt failed with `failure`: the wait before the next attempt, or the
    /// error to return when the policy allows no more (attempts used up, or the wait would
    /// pass the total budget). Does not sleep; see [`Backoff::wait_or_give_up`].
    pub fn next_wait(&mut self, failure: Error) -> Result<Duration> {
        let max_attempts = self.policy.max_attempts.max(1);
        if self.attempts >= max_attempts {
            return Err(self.give_up(
                failure,
                format!(
                    "{} attempt(s) (the most the retry policy allows)",
                    self.attempts
                ),
            ));
        }
        match self.wait_within_budget(failure.retry_after(), false) {
            Ok(wait) => Ok(wait),
            Err(wait) => {
                let why = format!(
                    "{} attempt(s) (waiting {:.1}s more would pass the retry budget of {:.0}s)",
                    self.attempts,
                    wait.as_secs_f64(),
                    self.policy.max_total_wait.as_secs_f64()
                );
                Err(self.give_up(failure, why))
            }
        }
    }

    /// The next wait: the server's (with a little jitter when `jitter_server_wait`, so the
    /// many tasks a shared limit held do not return at once) or the schedule's. `Err(wait)`
    /// when waiting that long would pass the policy's total budget (nothing is counted
    /// then). The one place every retry loop of the SDK (HTTP, CLI tools) computes waits.
    pub(crate) fn wait_within_budget(
        &mut self,
        server_wait: Option<Duration>,
        jitter_server_wait: bool,
    ) -> std::result::Result<Duration, Duration> {
        let computed = self.delays.next().unwrap_or(self.policy.max_delay);
        let wait = match server_wait {
            Some(w) if !jitter_server_wait => w,
            Some(w) => {
                let jitter = (w.as_millis() as u64 / 10).min(1000);
                w + Duration::from_millis(fastrand::u64(0..=jitter))
            }
            None => computed,
        };
        if self.waited + wait > self.policy.max_total_wait {
            return Err(wait);
        }
        self.waited += wait;
        Ok(wait)
    }

    /// After an attempt failed with `failure`: sleeps until the next attempt may start, or
    /// returns the final error (see [`Backoff::next_wait`]).
    pub async fn wait_or_give_up(&mut self, failure: Error) -> Result<()> {
        let message = failure.to_string();
        let wait = self.next_wait(failure)?;
        tracing::debug!(
            attempt = self.attempts,
            wait_ms = wait.as_millis() as u64,
            error = %message,
            "retrying"
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn give_up(&self, failure: Error, why: String) -> Error {
        if self.attempts <= 1 && self.waited.is_zero() && self.policy.max_attempts <= 1 {
            return failure;
        }
        let mut out = Error::new(
            failure.kind(),
            format!(
                "{}; giving up after {why} and {:.1}s of waiting; try again later",
                failure.message(),
                self.waited.as_secs_f64()
            ),
        );
        if let Some(s) = failure.http_status() {
            out = out.with_http_status(s);
        }
        if let Some(m) = failure.api_message() {
            out = out.with_api_message(m);
        }
        for (k, v) in failure.context_pairs() {
            out = out.with_context(k, v.clone());
        }
        out
    }
}

/// Runs `attempt` (given the attempt number, from 1) until it succeeds, fails with an error
/// that is not [retryable](Error::is_retryable), or `policy` allows no more attempts.
/// Only for operations that are safe to repeat.
pub async fn retry<T, F, Fut>(policy: RetryPolicy, mut attempt: F) -> Result<T>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut backoff = Backoff::new(policy);
    loop {
        let n = backoff.start_attempt();
        match attempt(n).await {
            Ok(v) => return Ok(v),
            Err(e) if e.is_retryable() => backoff.wait_or_give_up(e).await?,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn reset() -> Error {
        Error::new(ErrorKind::Unavailable, "listing users: connection reset").with_http_status(500)
    }

    #[tokio::test(start_paused = true)]
    async fn persistent_failures_stop_after_max_attempts_with_the_last_error() {
        let calls = AtomicU32::new(0);
        let started = tokio::time::Instant::now();
        let err = retry(RetryPolicy::default(), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(reset()) }
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.http_status(), Some(500));
        let text = err.to_string();
        assert!(text.contains("connection reset"), "{text}");
        assert!(text.contains("giving up after 6 attempt(s)"), "{text}");
        // 250 ms doubling with jitter: well within the 300 s budget.
        assert!(started.elapsed() < Duration::from_secs(60));
    }

    #[tokio::test(start_paused = true)]
    async fn the_total_wait_budget_ends_retries_early() {
        let policy = RetryPolicy {
            max_attempts: 100,
            min_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(1),
            max_total_wait: Duration::from_secs(5),
        };
        let calls = AtomicU32::new(0);
        let err = retry(policy, |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(reset()) }
        })
        .await
        .unwrap_err();
        // Jitter adds up to one delay: 1-2 s each, so 3 to 5 waits fit in 5 s.
        let n = calls.load(Ordering::SeqCst);
        assert!((3..=6).contains(&n), "{n}");
        assert!(err.to_string().contains("retry budget of 5s"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn errors_that_are_not_retryable_return_at_once_and_server_waits_are_honoured() {
        let calls = AtomicU32::new(0);
        let err = retry(RetryPolicy::default(), |_| {
            calls.fetch_add(1, Ordering::SeqCst);
            async { Err::<(), _>(Error::new(ErrorKind::PermissionDenied, "no")) }
        })
        .await
        .unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(err.message(), "no");
        let mut b = Backoff::new(RetryPolicy::default());
        b.start_attempt();
        let wait = b
            .next_wait(
                Error::new(ErrorKind::ResourceExhausted, "slow")
                    .with_retry_after(Duration::from_secs(7)),
            )
            .unwrap();
        assert_eq!(wait, Duration::from_secs(7));
        let none = RetryPolicy::none();
        let mut b = Backoff::new(none);
        b.start_attempt();
        assert_eq!(
            b.next_wait(reset()).unwrap_err().message(),
            reset().message()
        );
    }
}
