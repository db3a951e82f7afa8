//! Tests of `ratelimit.rs`.

use super::*;

#[test]
fn absurd_counts_are_capped_and_never_overflow() {
    let mut h = HeaderMap::new();
    h.insert("x-ratelimit-limit", "1e20".parse().unwrap());
    h.insert("x-ratelimit-remaining", "1e20".parse().unwrap());
    h.insert("x-ratelimit-reset", "1".parse().unwrap());
    let info = RateLimitInfo::from_headers(&h, SystemTime::now());
    assert_eq!(info.limit, Some(u64::from(u32::MAX)));
    assert_eq!(info.remaining, Some(u64::from(u32::MAX)));
    let limiter = RateLimiter::unlimited();
    limiter.observe(&info);
    limiter.observe(&info);
}
use reqwest::header::HeaderValue;
use std::sync::Arc;

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
/// A simulated server: `limit` requests per window of `len`, answering 429 past it,
/// with `X-RateLimit-Reset` in whole epoch seconds rounded up (as SendGrid sends it).
/// A sliding server starts a window with the first request after the last one ended
/// (a counter that expires); an aligned one has windows at multiples of `len`.
struct Server {
    limit: u64,
    len: Duration,
    aligned: bool,
    t0: Instant,
    /// The fractional epoch second at `t0`.
    epoch_offset: Duration,
    start: Option<Instant>,
    used: u64,
    served: u64,
    refused: u64,
}

impl Server {
    fn epoch(&self, at: Instant) -> f64 {
        (at.duration_since(self.t0) + self.epoch_offset).as_secs_f64()
    }

    fn answer(&mut self, now: Instant) -> (bool, RateLimitInfo) {
        let start = if self.aligned {
            let k = now.duration_since(self.t0).as_nanos() / self.len.as_nanos();
            self.t0 + self.len * k as u32
        } else {
            match self.start {
                Some(s) if now < s + self.len => s,
                _ => now,
            }
        };
        if self.start != Some(start) {
            self.start = Some(start);
            self.used = 0;
        }
        let reset_epoch = self.epoch(start + self.len).ceil();
        let reset = Duration::from_secs_f64((reset_epoch - self.epoch(now)).max(0.0));
        let ok = self.used < self.limit;
        if ok {
            self.used += 1;
            self.served += 1;
        } else {
            self.refused += 1;
        }
        let info = RateLimitInfo {
            limit: Some(self.limit),
            remaining: Some(self.limit - self.used),
            reset_after: Some(reset),
            retry_after: None,
        };
        (ok, info)
    }
}

/// Sends `requests` through one limiter from 8 tasks, each answer 5 ms after its
/// start; returns (achieved rate / allowed rate, 429 fraction).
async fn drive(
    limit: u64,
    len: Duration,
    aligned: bool,
    offset_ms: u64,
    requests: u64,
) -> (f64, f64) {
    let t0 = Instant::now();
    let server = Arc::new(Mutex::new(Server {
        limit,
        len,
        aligned,
        t0,
        epoch_offset: Duration::from_millis(offset_ms),
        start: None,
        used: 0,
        served: 0,
        refused: 0,
    }));
    let limiter = Arc::new(RateLimiter::unlimited());
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (server, limiter, next) = (server.clone(), limiter.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < requests {
                loop {
                    let permit = limiter.acquire().await;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let (ok, info) = server.lock().unwrap().answer(Instant::now());
                    limiter.observe(&info);
                    drop(permit);
                    if ok {
                        break;
                    }
                    // As the HTTP client does after a 429.
                    tokio::time::sleep(info.wait().unwrap_or_default()).await;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let st = server.lock().unwrap();
    // The achieved rate against the allowed one.
    let allowed = limit as f64 / len.as_secs_f64();
    (
        st.served as f64 / elapsed / allowed,
        st.refused as f64 / (st.served + st.refused) as f64,
    )
}

#[tokio::test(start_paused = true)]
async fn short_windows_with_whole_second_resets_are_used_to_at_least_90_percent() {
    for (limit, secs) in [(30, 1), (60, 2), (600, 60)] {
        for offset_ms in [0, 300, 700, 990] {
            let len = Duration::from_secs(secs);
            let (share, refused) = drive(limit, len, false, offset_ms, limit * 12).await;
            assert!(
                share >= 0.9 && refused < 0.01,
                "{limit} per {secs}s, epoch offset {offset_ms} ms: {:.1}% of the best time, {:.2}% refused",
                share * 100.0,
                refused * 100.0
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn aligned_windows_are_used_fully_with_few_refusals() {
    for (limit, secs) in [(30, 1), (60, 2)] {
        for offset_ms in [0, 500] {
            let len = Duration::from_secs(secs);
            let (share, refused) = drive(limit, len, true, offset_ms, limit * 12).await;
            assert!(
                share >= 0.9 && refused < 0.01,
                "aligned {limit} per {secs}s, offset {offset_ms} ms: {:.1}% of the best time, {:.2}% refused",
                share * 100.0,
                refused * 100.0
            );
        }
    }
}
