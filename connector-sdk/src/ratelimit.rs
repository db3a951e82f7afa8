//! Rate limits: what servers say in headers, and a client-side limiter that listens.
//!
//! [`RateLimitInfo::from_headers`] reads every common header family:
//! `X-RateLimit-*`, `RateLimit-*` (IETF draft), `X-Rate-Limit-*` and `Retry-After`, with
//! values in seconds, HTTP dates, relative seconds, absolute epoch seconds or milliseconds,
//! and list forms such as `"500, 500;w=1"`.
//!
//! A [`RateLimiter`] is shared by every task of one connector. It paces requests at a
//! configured rate (a `governor` quota), and adapts to the server: when the remaining
//! budget runs low it spreads the rest over the time left until the reset, a spent budget
//! holds every task until the window resets (learning a short window's real end, which
//! whole-second reset headers overstate), and after a 429 every task waits until the
//! server's reset time, not just the one that was refused.
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

use ::http::HeaderMap;
use governor::{DefaultDirectRateLimiter, Quota};
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
        // Counts past u32::MAX are a server's mistake: capped, so no sum overflows.
        let count = |n: f64| (n.max(0.0) as u64).min(u64::from(u32::MAX));
        let limit = get(&["x-ratelimit-limit", "ratelimit-limit", "x-rate-limit-limit"])
            .and_then(first_number)
            .map(count);
        let remaining = get(&[
            "x-ratelimit-remaining",
            "ratelimit-remaining",
            "x-rate-limit-remaining",
        ])
        .and_then(first_number)
        .map(count);
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

    /// Parses an operator's rate: `N/s`, `N/m` or `N/h` (also `sec`, `second`, `min`,
    /// `minute`, `hour`), `N` from 1 to 1,000,000. The error says what is accepted; name
    /// the flag around it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use connector_sdk::ratelimit::RateLimitConfig;
    /// assert_eq!(RateLimitConfig::parse("20/s").unwrap(), RateLimitConfig::per_second(20));
    /// assert_eq!(RateLimitConfig::parse(" 600 / min ").unwrap(), RateLimitConfig::per_minute(600));
    /// assert_eq!(RateLimitConfig::parse("3600/h").unwrap().per, Duration::from_secs(3600));
    /// assert!(RateLimitConfig::parse("0/s").is_err());
    /// assert!(RateLimitConfig::parse("fast").unwrap_err().contains("20/s"));
    /// ```
    pub fn parse(raw: &str) -> std::result::Result<Self, String> {
        let shown: String = raw.chars().take(40).collect();
        let bad = || {
            format!("{shown:?} is not a rate; write requests per unit, e.g. 20/s, 600/m or 5000/h")
        };
        let (n, unit) = raw.split_once('/').ok_or_else(bad)?;
        let requests: u32 = n.trim().parse().map_err(|_| bad())?;
        if !(1..=1_000_000).contains(&requests) {
            return Err(format!(
                "{shown:?}: the number of requests must be from 1 to 1000000"
            ));
        }
        let per = match unit.trim().to_ascii_lowercase().as_str() {
            "s" | "sec" | "second" => Duration::from_secs(1),
            "m" | "min" | "minute" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(RateLimitConfig {
            requests,
            per,
            burst: 1,
        })
    }
}

/// When the remaining budget falls to this fraction of the limit, the limiter spreads what
/// is left evenly over the time until the reset.
const PACE_BELOW_FRACTION: f64 = 0.5;
/// Reset times move by less than this within one window (jitter of relative resets);
/// a later reset by more is a new window, an earlier one a late answer from the last.
const SAME_WINDOW: Duration = Duration::from_millis(500);
/// The precision assumed of reset headers (whole seconds).
const RESET_PRECISION: Duration = Duration::from_secs(1);
/// After this many probes answered with 429, the limiter stops probing and always waits
/// for the reset the server states.
const MAX_PROBE_FAILURES: u32 = 3;

/// What the server said about its current window.
#[derive(Debug, Clone, Copy)]
struct Window {
    /// The reset the headers state: the window ends at or before this.
    end_hi: Instant,
    /// When the window started, between these two instants, if a response showed it
    /// starting (a rollover, or the first request of a window).
    start: Option<(Instant, Instant)>,
    /// The lowest remaining budget seen in it.
    remaining: u64,
}

#[derive(Debug)]
struct PacerState {
    /// No request starts before this instant (a server's `Retry-After`).
    hold_until: Instant,
    /// Requests started and not yet done: permit id → start.
    in_flight: std::collections::BTreeMap<u64, Instant>,
    next_id: u64,
    /// The server's current window, once a response said.
    window: Option<Window>,
    /// The limit the server states.
    limit: Option<u64>,
    /// Requests that may still start in the current window (`None`: no budget known).
    left: Option<i64>,
    /// The earliest start of the next request when spreading the budget.
    next_slot: Instant,
    /// The spacing derived from the server's remaining budget, when spreading.
    spacing: Option<Duration>,
    /// What the responses taught about the window's length (servers keep it fixed).
    len_lo: Duration,
    len_hi: Option<Duration>,
    /// The request sent to test whether a spent window has reset: its permit id.
    probe: Option<u64>,
    probe_failures: u32,
}

impl PacerState {
    /// The margin added to a learned window length.
    fn margin(len: Duration) -> Duration {
        Duration::from_millis(5) + len / 100
    }

    /// When a spent window is expected to have reset: the stated reset, or earlier when
    /// the window's start and length are known.
    fn end_estimate(&self, w: &Window) -> Instant {
        match (w.start, self.len_hi) {
            (Some((_, s_hi)), Some(len)) => w.end_hi.min(s_hi + len + Self::margin(len)),
            _ => w.end_hi,
        }
    }

    /// When to send one request to find out whether a spent window has reset before the
    /// stated reset (whose whole seconds can overstate it by up to a second, a lot for a
    /// 1 s or 2 s window). A server whose window starts with the first request after the
    /// last one ended lets the limiter learn the window's length; the first guess is a
    /// whole number of seconds, as almost every server's window is.
    fn probe_time(&self, w: &Window) -> Option<Instant> {
        if self.probe_failures >= MAX_PROBE_FAILURES {
            return None;
        }
        let (s_lo, s_hi) = w.start?;
        let mut hi = w.end_hi.saturating_duration_since(s_lo);
        if let Some(h) = self.len_hi {
            hi = hi.min(h);
        }
        let lo = self
            .len_lo
            .max(w.end_hi.saturating_duration_since(s_hi + RESET_PRECISION));
        if hi <= lo {
            return None;
        }
        let whole = Duration::from_secs(lo.as_secs() + 1);
        let guess = if self.probe_failures == 0 && whole <= hi {
            whole
        } else if self.probe_failures == 0 {
            hi
        } else {
            (lo + hi) / 2
        };
        let at = s_hi + guess + Self::margin(guess);
        (at < w.end_hi).then_some(at)
    }

    /// Whether request `id` may start at `now`; if not, until when to wait.
    fn decide(&mut self, now: Instant, id: u64) -> std::result::Result<(), Instant> {
        if now < self.hold_until {
            return Err(self.hold_until);
        }
        if let (Some(left), Some(w)) = (self.left, self.window) {
            if left <= 0 {
                let end = w.end_hi;
                if now >= end {
                    // The stated reset passed: a new window.
                    self.left = None;
                    self.spacing = None;
                } else {
                    if self.probe.is_none()
                        && let Some(at) = self.probe_time(&w)
                    {
                        if now >= at {
                            self.probe = Some(id);
                            self.in_flight.insert(id, now);
                            return Ok(());
                        }
                        return Err(at);
                    }
                    return Err(end);
                }
            } else {
                if let Some(spacing) = self.spacing {
                    if now < self.next_slot {
                        return Err(self.next_slot);
                    }
                    self.next_slot = now + spacing;
                }
                self.left = Some(left - 1);
            }
        }
        self.in_flight.insert(id, now);
        Ok(())
    }

    fn observe(&mut self, remaining: u64, reset: Duration, limit: Option<u64>, now: Instant) {
        let end_hi = now + reset;
        let others = self.in_flight.len().saturating_sub(1) as u64;
        if limit.is_some() {
            self.limit = limit;
        }
        let started_now = self
            .in_flight
            .values()
            .min()
            .map(|s| (*s, now))
            .unwrap_or((now, now));
        match self.window.as_mut() {
            // A late answer from an earlier window.
            Some(w) if end_hi + SAME_WINDOW < w.end_hi => return,
            // A new window: the budget came back and the reset moved on.
            Some(w)
                if end_hi > w.end_hi + SAME_WINDOW
                    && remaining > w.remaining.saturating_add(others) =>
            {
                if let Some((s_lo, _)) = w.start {
                    let len = now.saturating_duration_since(s_lo);
                    self.len_hi = Some(self.len_hi.map_or(len, |h| h.min(len)));
                }
                let new = Window {
                    end_hi,
                    start: Some(started_now),
                    remaining,
                };
                self.window = Some(new);
                self.probe = None;
            }
            Some(w) => {
                w.remaining = w.remaining.min(remaining);
                w.end_hi = w.end_hi.min(end_hi.max(now));
                // The probe was refused: the window lasts longer than guessed.
                if remaining == 0
                    && let Some(p) = self.probe
                    && self.in_flight.len() == 1
                    && let Some(sent) = self.in_flight.get(&p).copied()
                {
                    if let Some((_, s_hi)) = w.start {
                        self.len_lo = self.len_lo.max(sent.saturating_duration_since(s_hi));
                    }
                    self.probe_failures += 1;
                    self.probe = None;
                }
            }
            None => {
                // The first answer of a window started by this request?
                let first = limit.is_some_and(|l| remaining.saturating_add(1) == l);
                self.window = Some(Window {
                    end_hi,
                    start: first.then_some(started_now),
                    remaining,
                });
            }
        }
        // Header rounding bounds the length from below: the window ends after
        // `end_hi - precision`.
        if let Some(w) = self.window
            && let Some((_, s_hi)) = w.start
        {
            self.len_lo = self
                .len_lo
                .max(w.end_hi.saturating_duration_since(s_hi + RESET_PRECISION));
        }
        if self.len_hi.is_some_and(|h| h < self.len_lo) {
            // Inconsistent with a fixed window: forget the length, keep to stated resets.
            self.len_hi = None;
            self.probe_failures = MAX_PROBE_FAILURES;
        }
        // Answers arrive out of order: the lowest remaining of the window is the truth.
        let remaining = self
            .window
            .map_or(remaining, |w| w.remaining.min(remaining));
        // Requests already started will spend budget too.
        let left = remaining.saturating_sub(others);
        self.left = Some(i64::try_from(left).unwrap_or(i64::MAX));
        let low = match self.limit {
            Some(l) if l > 0 => (remaining as f64) <= l as f64 * PACE_BELOW_FRACTION,
            _ => true,
        };
        self.spacing = match (low, left, self.window) {
            (true, 1.., Some(w)) => {
                let end = self.end_estimate(&w);
                Some(end.saturating_duration_since(now) / left.min(u32::MAX as u64) as u32)
            }
            _ => None,
        };
    }
}

/// A limiter shared by all concurrent tasks of one connector.
///
/// It follows `X-RateLimit-Limit/Remaining/Reset` (and the other header families): while
/// more than half the budget is left requests go at once; below that the rest is spread
/// evenly until the window's end; a spent budget holds every task until the window
/// resets. Reset headers in whole seconds overstate a short window's end by up to a
/// second, so when a server's window starts with the first request after the previous
/// one ended, the limiter learns the window's length and, when the budget is spent, sends
/// a single request at the expected end; its answer releases everyone. At most
/// three such probes are ever refused; after that it waits for the stated reset.
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
    /// Woken when an answer or a finished request may let waiting requests go.
    wake: tokio::sync::Notify,
}

/// Held while a request is in flight; dropping it tells the limiter the request is done.
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a RateLimiter,
    id: u64,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        {
            let mut st = self.limiter.lock();
            st.in_flight.remove(&self.id);
            if st.probe == Some(self.id) {
                st.probe = None;
            }
        }
        self.limiter.wake.notify_waiters();
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
                hold_until: now,
                in_flight: Default::default(),
                next_id: 0,
                window: None,
                limit: None,
                left: None,
                next_slot: now,
                spacing: None,
                len_lo: Duration::ZERO,
                len_hi: None,
                probe: None,
                probe_failures: 0,
            }),
            wake: tokio::sync::Notify::new(),
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
        let id = {
            let mut st = self.lock();
            st.next_id += 1;
            st.next_id
        };
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let decision = self.lock().decide(Instant::now(), id);
            match decision {
                Ok(()) => break,
                Err(until) => {
                    tokio::select! {
                        _ = tokio::time::sleep_until(until) => {}
                        _ = &mut notified => {}
                    }
                }
            }
        }
        let permit = Permit { limiter: self, id };
        if let Some(q) = &self.quota {
            q.until_ready().await;
        }
        permit
    }

    /// Makes every task wait at least `wait` from now (a 429's `Retry-After`).
    pub fn pause_for(&self, wait: Duration) {
        let mut st = self.lock();
        let until = Instant::now() + wait;
        if until > st.hold_until {
            st.hold_until = until;
        }
    }

    /// Learns from a response's headers (call it while the request's permit is held): a
    /// spent budget holds everyone until the window resets, a low one spreads the
    /// remaining requests over the time left.
    pub fn observe(&self, info: &RateLimitInfo) {
        if let Some(wait) = info.retry_after {
            self.pause_for(wait);
        }
        if let (Some(remaining), Some(reset)) = (info.remaining, info.reset_after) {
            self.lock()
                .observe(remaining, reset, info.limit, Instant::now());
        }
        self.wake.notify_waiters();
    }
}

#[cfg(test)]
mod tests;
