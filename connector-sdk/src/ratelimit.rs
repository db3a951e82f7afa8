//! Rate limits: what servers say in headers, and a client-side limiter that listens.
//!
//! [`RateLimitInfo::from_headers`] reads every common header family:
//! `X-RateLimit-*`, `RateLimit-*` (IETF draft), `X-Rate-Limit-*` and `Retry-After`, with
//! values in seconds, HTTP dates, relative seconds, absolute epoch seconds or milliseconds,
//! and list forms such as `"500, 500;w=1"`.
//!
//! A [`RateLimiter`] is shared by every task of one connector. It paces requests at a
//! configured rate (a `governor` quota), and adapts to the server: when the remaining
//! budget runs low it spreads the rest over the time left until the reset, and after a
//! 429 every task waits until the server's reset time, not just the one that was refused.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use connector_sdk::ratelimit::RateLimitInfo;
//! use reqwest::header::{HeaderMap, HeaderValue};
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("x-ratelimit-limit", HeaderValue::from_static("600"));
//! headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
//! headers.insert("x-ratelimit-reset", HeaderValue::from_static("1700000030"));
//! let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//! let info = RateLimitInfo::from_headers(&headers, now);
//! assert_eq!(info.limit, Some(600));
//! assert_eq!(info.remaining, Some(0));
//! assert_eq!(info.reset_after, Some(Duration::from_secs(30)));
//! ```

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use governor::{DefaultDirectRateLimiter, Quota};
use reqwest::header::HeaderMap;
use tokio::time::Instant;

/// Reset values above this many seconds are absolute epoch times, not relative seconds
/// (about 30 years, as upstream's SDK decides).
const EPOCH_THRESHOLD_SECS: f64 = 946_080_000.0;
/// Reset values above this are epoch milliseconds.
const EPOCH_MILLIS_THRESHOLD: f64 = 100_000_000_000.0;

/// What a response's headers say about the rate limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitInfo {
    /// Requests allowed per window.
    pub limit: Option<u64>,
    /// Requests left in the current window.
    pub remaining: Option<u64>,
    /// Time until the window resets.
    pub reset_after: Option<Duration>,
    /// Time the server asked to wait before the next request (`Retry-After`).
    pub retry_after: Option<Duration>,
}

impl RateLimitInfo {
    /// Parses the rate-limit headers of a response received at `now`.
    pub fn from_headers(headers: &HeaderMap, now: SystemTime) -> Self {
        let get = |names: &[&str]| {
            names
                .iter()
                .find_map(|n| headers.get(*n).and_then(|v| v.to_str().ok()))
        };
        let limit = get(&["x-ratelimit-limit", "ratelimit-limit", "x-rate-limit-limit"])
            .and_then(first_number)
            .map(|n| n as u64);
        let remaining = get(&[
            "x-ratelimit-remaining",
            "ratelimit-remaining",
            "x-rate-limit-remaining",
        ])
        .and_then(first_number)
        .map(|n| n as u64);
        let reset_after = get(&["x-ratelimit-reset", "ratelimit-reset", "x-rate-limit-reset"])
            .and_then(|v| parse_reset(v, now));
        let retry_after = get(&["retry-after"]).and_then(|v| parse_retry_after(v, now));
        RateLimitInfo {
            limit,
            remaining,
            reset_after,
            retry_after,
        }
    }

    /// How long to wait before retrying a refused request: `Retry-After` when given, else
    /// the time to the reset when the budget is spent (or unknown).
    pub fn wait(&self) -> Option<Duration> {
        self.retry_after.or(match self.remaining {
            Some(0) | None => self.reset_after,
            Some(_) => None,
        })
    }
}

/// The first number in a header value: `"500"`, `"500, 500;w=1"`, `"1.5"`.
fn first_number(value: &str) -> Option<f64> {
    let first = value.split([',', ';']).next()?.trim();
    let n: f64 = first.parse().ok()?;
    (n.is_finite() && n >= 0.0).then_some(n)
}

/// A reset header: relative seconds, or absolute epoch seconds/milliseconds, or an HTTP date.
pub fn parse_reset(value: &str, now: SystemTime) -> Option<Duration> {
    match first_number(value) {
        Some(n) => Some(number_to_wait(n, now)),
        None => http_date_wait(value, now),
    }
}

/// A `Retry-After` header: delay seconds or an HTTP date (RFC 9110 §10.2.3); also accepts
/// epoch values as some servers send them.
///
/// ```
/// use std::time::{Duration, SystemTime, UNIX_EPOCH};
/// use connector_sdk::ratelimit::parse_retry_after;
/// let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480); // Wed, 21 Oct 2015 07:28:00 GMT
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:29:00 GMT", now), Some(Duration::from_secs(60)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    parse_reset(value, now)
}

fn number_to_wait(n: f64, now: SystemTime) -> Duration {
    let now_secs = now
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let secs = if n > EPOCH_MILLIS_THRESHOLD {
        n / 1000.0 - now_secs
    } else if n > EPOCH_THRESHOLD_SECS {
        n - now_secs
    } else {
        n
    };
    Duration::from_secs_f64(secs.clamp(0.0, 365.0 * 24.0 * 3600.0))
}

fn http_date_wait(value: &str, now: SystemTime) -> Option<Duration> {
    let at = httpdate::parse_http_date(value.trim()).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// A configured client-side rate: `requests` per `per`, with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Requests allowed per period.
    pub requests: u32,
    /// The period.
    pub per: Duration,
    /// How many requests may go at once before pacing starts (default 1: even spacing).
    pub burst: u32,
}

impl RateLimitConfig {
    /// `requests` per second.
    pub fn per_second(requests: u32) -> Self {
        RateLimitConfig {
            requests,
            per: Duration::from_secs(1),
            burst: 1,
        }
    }

    /// `requests` per minute.
    pub fn per_minute(requests: u32) -> Self {
        RateLimitConfig {
            requests,
            per: Duration::from_secs(60),
            burst: 1,
        }
    }

    /// Sets the burst allowance.
    pub fn with_burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }
}

/// When the remaining budget falls to this fraction of the limit, the limiter spreads what
/// is left evenly over the time until the reset.
const PACE_BELOW_FRACTION: f64 = 0.5;

#[derive(Debug)]
struct PacerState {
    /// No request starts before this instant (pushed forward by 429s and spent budgets).
    not_before: Instant,
    /// The earliest start of the next request when pacing by the server's budget.
    next_slot: Instant,
    /// The spacing derived from the server's remaining budget, when pacing.
    spacing: Option<Duration>,
    /// Requests started and not yet observed.
    in_flight: u64,
}

/// A limiter shared by all concurrent tasks of one connector.
///
/// ```
/// use connector_sdk::ratelimit::{RateLimiter, RateLimitConfig};
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// let limiter = RateLimiter::new(RateLimitConfig::per_second(100));
/// let permit = limiter.acquire().await;
/// drop(permit);
/// # });
/// ```
#[derive(Debug)]
pub struct RateLimiter {
    quota: Option<DefaultDirectRateLimiter>,
    config: Option<RateLimitConfig>,
    state: Mutex<PacerState>,
}

/// Held while a request is in flight; dropping it tells the limiter the request is done.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut st = self.limiter.lock();
        st.in_flight = st.in_flight.saturating_sub(1);
    }
}

impl RateLimiter {
    /// A limiter with no configured rate: it only follows what servers say.
    pub fn unlimited() -> Self {
        Self::build(None)
    }

    /// A limiter pacing at `config`, and following what servers say.
    pub fn new(config: RateLimitConfig) -> Self {
        Self::build(Some(config))
    }

    fn build(config: Option<RateLimitConfig>) -> Self {
        let quota = config.and_then(|c| {
            let requests = NonZeroU32::new(c.requests)?;
            let period = c.per / requests.get();
            let burst = NonZeroU32::new(c.burst.max(1)).unwrap_or(NonZeroU32::MIN);
            Quota::with_period(period)
                .map(|q| governor::RateLimiter::direct(q.allow_burst(burst.min(requests))))
        });
        let now = Instant::now();
        RateLimiter {
            quota,
            config,
            state: Mutex::new(PacerState {
                not_before: now,
                next_slot: now,
                spacing: None,
                in_flight: 0,
            }),
        }
    }

    /// The configured rate, if any.
    pub fn config(&self) -> Option<RateLimitConfig> {
        self.config
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until a request may start, then returns a permit held while it runs.
    pub async fn acquire(&self) -> Permit<'_> {
        let start = {
            let mut st = self.lock();
            let now = Instant::now();
            let mut start = now.max(st.not_before);
            if let Some(spacing) = st.spacing {
                start = start.max(st.next_slot);
                st.next_slot = start + spacing;
            }
            st.in_flight += 1;
            start
        };
        let permit = Permit { limiter: self };
        tokio::time::sleep_until(start).await;
        if let Some(q) = &self.quota {
            q.until_ready().await;
        }
        permit
    }

    /// Makes every task wait at least `wait` from now (a 429's `Retry-After`).
    pub fn pause_for(&self, wait: Duration) {
        let mut st = self.lock();
        let until = Instant::now() + wait;
        if until > st.not_before {
            st.not_before = until;
        }
    }

    /// Learns from a response's headers: a spent budget pauses everyone until the reset, a
    /// low one spreads the remaining requests over the time left.
    pub fn observe(&self, info: &RateLimitInfo) {
        if let Some(wait) = info.retry_after {
            self.pause_for(wait);
        }
        let (Some(remaining), Some(reset)) = (info.remaining, info.reset_after) else {
            return;
        };
        let mut st = self.lock();
        // Requests already started will spend budget too.
        let usable = remaining.saturating_sub(st.in_flight.saturating_sub(1));
        if usable == 0 {
            let until = Instant::now() + reset;
            if until > st.not_before {
                st.not_before = until;
            }
            st.spacing = None;
            return;
        }
        let low = match info.limit {
            Some(limit) if limit > 0 => (remaining as f64) <= limit as f64 * PACE_BELOW_FRACTION,
            _ => true,
        };
        st.spacing = low.then(|| reset / usable.min(u32::MAX as u64) as u32);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn x_ratelimit_with_absolute_epoch_seconds() {
        let i = RateLimitInfo::from_headers(
            &headers(&[
                ("x-ratelimit-limit", "500"),
                ("x-ratelimit-remaining", "499"),
                ("x-ratelimit-reset", "1700000060"),
            ]),
            at(NOW),
        );
        assert_eq!(i.limit, Some(500));
        assert_eq!(i.remaining, Some(499));
        assert_eq!(i.reset_after, Some(Duration::from_secs(60)));
        assert_eq!(i.wait(), None, "budget left: no wait");
    }

    #[test]
    fn ietf_ratelimit_with_relative_seconds_and_list_values() {
        let i = RateLimitInfo::from_headers(
            &headers(&[
                ("ratelimit-limit", "500, 500;w=1"),
                ("ratelimit-remaining", "0"),
                ("ratelimit-reset", "7"),
            ]),
            at(NOW),
        );
        assert_eq!(i.limit, Some(500));
        assert_eq!(i.remaining, Some(0));
        assert_eq!(i.reset_after, Some(Duration::from_secs(7)));
        assert_eq!(i.wait(), Some(Duration::from_secs(7)));
    }

    #[test]
    fn x_rate_limit_with_epoch_milliseconds() {
        let i = RateLimitInfo::from_headers(
            &headers(&[
                ("x-rate-limit-limit", "100"),
                ("x-rate-limit-remaining", "3"),
                ("x-rate-limit-reset", "1700000002500"),
            ]),
            at(NOW),
        );
        assert_eq!(i.reset_after, Some(Duration::from_millis(2500)));
        assert_eq!(i.remaining, Some(3));
    }

    #[test]
    fn retry_after_forms() {
        let now = at(1_445_412_480);
        let cases = [
            ("120", Some(120_000)),
            ("1.5", Some(1_500)),
            ("Wed, 21 Oct 2015 07:29:00 GMT", Some(60_000)),
            ("Wed, 21 Oct 2015 07:27:00 GMT", Some(0)), // in the past: go now
            ("1445412490", Some(10_000)),               // absolute epoch seconds
            ("1445412481000", Some(1_000)),             // absolute epoch milliseconds
            ("-5", None),
            ("soon", None),
            ("", None),
        ];
        for (v, want) in cases {
            assert_eq!(
                parse_retry_after(v, now),
                want.map(Duration::from_millis),
                "{v:?}"
            );
        }
    }

    #[test]
    fn retry_after_header_wins() {
        let i = RateLimitInfo::from_headers(
            &headers(&[("retry-after", "3"), ("x-ratelimit-reset", "60")]),
            at(NOW),
        );
        assert_eq!(i.wait(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn garbage_headers_are_ignored() {
        let i = RateLimitInfo::from_headers(
            &headers(&[
                ("x-ratelimit-limit", "lots"),
                ("x-ratelimit-remaining", "NaN"),
                ("x-ratelimit-reset", "tomorrow"),
            ]),
            at(NOW),
        );
        assert_eq!(i, RateLimitInfo::default());
    }

    #[tokio::test(start_paused = true)]
    async fn spent_budget_pauses_until_reset() {
        let l = RateLimiter::unlimited();
        l.observe(&RateLimitInfo {
            limit: Some(10),
            remaining: Some(0),
            reset_after: Some(Duration::from_secs(5)),
            retry_after: None,
        });
        let t0 = Instant::now();
        drop(l.acquire().await);
        assert!(t0.elapsed() >= Duration::from_secs(5));
    }

    #[tokio::test(start_paused = true)]
    async fn low_budget_spreads_requests_until_reset() {
        let l = RateLimiter::unlimited();
        l.observe(&RateLimitInfo {
            limit: Some(100),
            remaining: Some(10),
            reset_after: Some(Duration::from_secs(10)),
            retry_after: None,
        });
        let t0 = Instant::now();
        for _ in 0..5 {
            drop(l.acquire().await);
        }
        // 10 requests over 10 s: one a second; the 5th starts after 4 s.
        let e = t0.elapsed();
        assert!(
            e >= Duration::from_secs(4) && e < Duration::from_secs(5),
            "{e:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn high_budget_does_not_pace() {
        let l = RateLimiter::unlimited();
        l.observe(&RateLimitInfo {
            limit: Some(100),
            remaining: Some(90),
            reset_after: Some(Duration::from_secs(60)),
            retry_after: None,
        });
        let t0 = Instant::now();
        for _ in 0..5 {
            drop(l.acquire().await);
        }
        assert!(t0.elapsed() < Duration::from_millis(10));
    }
}
