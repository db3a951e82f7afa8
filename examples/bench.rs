//! The performance report: every figure of `docs/performance.md`, measured in one run and
//! printed as a markdown table.
//!
//! ```text
//! cargo run --release --features testing --example bench              # everything (about two minutes)
//! cargo run --release --features testing --example bench -- scim      # one part: scim, scim-connector, ratelimit, ratelimit-short, memory, store
//! ```
//!
//! * `scim`: a simulated Ironclad tenant (10,000 users, 500 groups, 50,000 memberships,
//!   every response delayed 20 ms) synced with the default settings and with one worker,
//!   against the lower bound latency × max(requests / workers, longest chain).
//! * `scim-connector`: the same tenant size and latency for the generic SCIM connector
//!   (`connector-scim` with the shipped Slack file) against the SDK's simulated SCIM tenant,
//!   unpaced: the default workers against one, and against the same bound.
//! * `ratelimit`: a simulated SendGrid account enforcing 20 requests per second, 60 per
//!   2 s and 600 per minute with `X-RateLimit-*` headers (reset in whole epoch seconds, as
//!   SendGrid sends it) and 429s past it: the fraction of 429s and the achieved rate
//!   against the allowed one. `ratelimit-short` skips the minute window (10 s instead of 70 s).
//! * `memory`: peak RSS of a sync of 10k vs 100k users (each in its own process).
//! * `store`: `.c1z` write throughput and peak RSS for 100k and 1M grants.

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use connector_ironclad::simulator::{IroncladSimulator, SimState as IroncladState};
use connector_ironclad::{Ironclad, IroncladClient};
use connector_scim::simulator::{ScimSimulator, SimState as ScimSimState, shape_for};
use connector_scim::{Provider, Scim, Source};
use connector_sdk::Connector;
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::SyntheticConnector;
use connector_sdk::testing::scim::Population;
use connector_sendgrid::Sendgrid;
use connector_sendgrid::simulator::{SendgridSimulator, SimRateLimit, SimState as SendgridState};

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// Child process: sync a synthetic tenant, print one JSON line.
async fn child(kind: &str, n: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("bench.c1z");
    let connector = match kind {
        // n grants: 10,000 users, groups of 1,000 members
        "store" => SyntheticConnector::new(10_000, n.div_ceil(1000), 1000),
        // n users, no groups
        _ => SyntheticConnector::new(n, 0, 0),
    };
    let t0 = Instant::now();
    let report = sync_to_file(&connector, &path, &SyncOptions::default(), None)
        .await
        .map_err(|e| e.to_string())?;
    let secs = t0.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{{\"resources\":{},\"grants\":{},\"secs\":{secs},\"peak_rss_kib\":{},\"file_bytes\":{size}}}",
        report.stats.resources,
        report.stats.grants,
        peak_rss_kib()
    );
    Ok(())
}

fn run_child(kind: &str, n: usize) -> serde_json::Value {
    let exe = std::env::current_exe().expect("own path");
    let out = Command::new(exe)
        .args(["--child", kind, &n.to_string()])
        .output()
        .expect("run child");
    if !out.status.success() {
        panic!(
            "child {kind} {n} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).expect("child JSON")
}

const LATENCY: Duration = Duration::from_millis(20);

async fn scim_sync(workers: usize) -> (Duration, u64) {
    let mut state = IroncladState::large(10_000, 500, 50_000);
    state.shape.latency = LATENCY;
    let sim = IroncladSimulator::start_with(state).await;
    let mut config = sim.config(true);
    config.rate_limit = None; // the simulator does not limit; measure the engine
    let connector = Ironclad::with_client(IroncladClient::new(&config).expect("client"), true);
    let elapsed = timed_large_sync(&connector, workers).await;
    let requests: u64 = sim.state().requests.values().sum();
    (elapsed, requests)
}

/// Syncs a tenant of 10,000 users, 500 groups and 50,000 memberships with `workers`,
/// checks it all arrived, and returns the wall time.
async fn timed_large_sync(connector: &dyn Connector, workers: usize) -> Duration {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = SyncOptions::default().with_workers(workers);
    let t0 = Instant::now();
    let report = sync_to_file(connector, &dir.path().join("bench.c1z"), &options, None)
        .await
        .expect("sync");
    let elapsed = t0.elapsed();
    assert_eq!(
        report.stats.resources, 10_500,
        "all users and groups synced"
    );
    assert_eq!(report.stats.grants, 50_000, "all memberships synced");
    elapsed
}

async fn bench_scim() {
    let workers = SyncOptions::default().workers;
    let (fast, requests) = scim_sync(workers).await;
    let (slow, _) = scim_sync(1).await;
    // Longest chain of requests that must wait for each other: the token, the first
    // groups page (which hands out the others), another groups page, then a group's GET.
    print_sync_table(
        "Ironclad simulator",
        Measured {
            workers,
            fast,
            slow,
            requests,
            chain: 4,
        },
    );
}

/// One SCIM sync benchmark: the default settings against one worker.
struct Measured {
    workers: usize,
    fast: Duration,
    slow: Duration,
    requests: u64,
    /// The longest chain of requests that must wait for each other.
    chain: u64,
}

/// Prints a SCIM sync table: both settings against the lower bound, latency ×
/// max(requests / workers, longest chain).
fn print_sync_table(tenant: &str, m: Measured) {
    let Measured {
        workers,
        fast,
        slow,
        requests,
        chain,
    } = m;
    let bound = LATENCY.as_secs_f64() * (requests as f64 / workers as f64).max(chain as f64);
    println!(
        "\n### SCIM sync ({tenant}: 10,000 users, 500 groups, 50,000 memberships, 20 ms per response)\n"
    );
    println!("| setting | wall time (s) | requests | vs sequential | vs lower bound |");
    println!("|---|---:|---:|---:|---:|");
    println!(
        "| default ({workers} workers) | {:.2} | {requests} | {:.1}x faster | {:.2}x the bound |",
        fast.as_secs_f64(),
        slow.as_secs_f64() / fast.as_secs_f64(),
        fast.as_secs_f64() / bound
    );
    println!(
        "| 1 worker (sequential) | {:.2} | {requests} | 1.0x | {:.2}x the bound |",
        slow.as_secs_f64(),
        slow.as_secs_f64() / bound
    );
    println!("| lower bound: 20 ms × max({requests} / {workers}, {chain}) | {bound:.2} | | | |");
    println!(
        "\nTargets: at least 4x faster than sequential ({}); within 1.5x of the bound ({}).",
        if slow.as_secs_f64() / fast.as_secs_f64() >= 4.0 {
            "met"
        } else {
            "missed"
        },
        if fast.as_secs_f64() / bound <= 1.5 {
            "met"
        } else {
            "missed"
        }
    );
}

/// The generic SCIM connector with the shipped Slack file against the SDK's tenant in
/// Slack's shape (10,000 users, 500 groups, 50,000 memberships spread at random, every
/// response delayed by `latency`, no pacing); returns the wall time and the requests
/// answered.
async fn scim_connector_sync(workers: usize, latency: Duration) -> (Duration, u64) {
    let slack = Provider::load(&Source::Shipped("slack".into())).expect("the shipped file");
    let shape = shape_for(&slack).latency(latency);
    let population = Population::new(10_000, 500, 50_000).seed(1);
    let sim = ScimSimulator::start(ScimSimState::large(shape, &population)).await;
    let connector = Scim::new(sim.config(slack)).expect("connector");
    let elapsed = timed_large_sync(&connector, workers).await;
    let st = sim.state();
    // Members come with the groups' listing: no group is read by id, which the bound's
    // chain of two relies on.
    assert_eq!(
        st.count("GET Group") + st.count("GET User"),
        0,
        "no reads by id"
    );
    (elapsed, st.requests.values().sum())
}

/// `scim-connector`: the generic SCIM connector's sync, concurrent against one worker.
async fn bench_scim_connector() {
    let workers = SyncOptions::default().workers;
    let (fast, requests) = scim_connector_sync(workers, LATENCY).await;
    let (slow, _) = scim_connector_sync(1, LATENCY).await;
    // The same sync with answers at once: what parsing, the tenant and the store cost.
    let (floor, _) = scim_connector_sync(workers, Duration::ZERO).await;
    // Longest chain: a listing's first page, which hands out every other page at once,
    // then one of those pages. Users, groups and roles (the users again) list side by
    // side, and members come with the group pages, so nothing waits on more than one
    // earlier request.
    print_sync_table(
        "generic SCIM connector, shipped slack.yaml, SDK tenant in Slack's shape",
        Measured {
            workers,
            fast,
            slow,
            requests,
            chain: 2,
        },
    );
    println!(
        "\nThe same sync with no latency ({workers} workers, the CPU floor: parsing, the in-process tenant and the store): {:.2} s.",
        floor.as_secs_f64()
    );
}

/// One row: a SendGrid sync against `limit` requests per `window`; returns whether the
/// targets were met.
async fn ratelimit_row(limit: u64, window: Duration, teammates: usize) -> bool {
    let mut state = SendgridState::large(teammates, 20);
    state.rate_limit = Some(SimRateLimit { limit, window });
    let sim = SendgridSimulator::start_with(state).await;
    let connector = Sendgrid::new(sim.config()).expect("connector");
    let dir = tempfile::tempdir().expect("tempdir");
    let t0 = Instant::now();
    let report = sync_to_file(
        &connector,
        &dir.path().join("sg.c1z"),
        &SyncOptions::default(),
        None,
    )
    .await
    .expect("sync");
    let elapsed = t0.elapsed().as_secs_f64();
    let st = sim.state();
    let total = st.served + st.rejected;
    let allowed = limit as f64 / window.as_secs_f64();
    let achieved = st.served as f64 / elapsed;
    let refused = st.rejected as f64 / total.max(1) as f64;
    println!(
        "| {limit} per {} | {} | {} | {} | {:.2}% | {elapsed:.1} | {achieved:.1} | {:.0}% |",
        humantime::format_duration(window),
        report
            .stats
            .resources_by_resource_type
            .get("teammate")
            .copied()
            .unwrap_or(0),
        st.served,
        st.rejected,
        100.0 * refused,
        100.0 * achieved / allowed
    );
    refused < 0.01 && achieved >= 0.9 * allowed
}

/// Rate limits: `short` skips the 60 s window (which takes a minute by itself).
async fn bench_ratelimit(short: bool) {
    println!(
        "\n### Rate limits (SendGrid simulator: X-RateLimit-* headers with the reset in whole epoch seconds, 429 past the budget)\n"
    );
    println!(
        "| limit | teammates | requests answered | 429s | 429 fraction | wall time (s) | achieved rate (req/s) | vs allowed |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut met = true;
    // About five windows each, except the minute (one window and a bit, as before).
    met &= ratelimit_row(20, Duration::from_secs(1), 50).await;
    met &= ratelimit_row(60, Duration::from_secs(2), 150).await;
    if !short {
        met &= ratelimit_row(600, Duration::from_secs(60), 300).await;
    }
    println!(
        "\nTargets: under 1% 429s and at least 90% of the allowed rate in every row ({}).",
        if met { "met" } else { "missed" }
    );
}

fn bench_memory() {
    let small = run_child("users", 10_000);
    let large = run_child("users", 100_000);
    let (a, b) = (
        small["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0,
        large["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0,
    );
    println!("\n### Peak memory of a sync (synthetic users, one process each)\n");
    println!("| users | sync time (s) | peak RSS (MiB) |");
    println!("|---:|---:|---:|");
    println!(
        "| 10000 | {:.2} | {a:.1} |",
        small["secs"].as_f64().unwrap_or(0.0)
    );
    println!(
        "| 100000 | {:.2} | {b:.1} |",
        large["secs"].as_f64().unwrap_or(0.0)
    );
    println!(
        "\nPeak memory 10k → 100k users: {:.2}x (target at most 1.5x: {}).",
        b / a,
        if b / a <= 1.5 { "met" } else { "missed" }
    );
}

fn bench_store() {
    println!("\n### .c1z write throughput (synthetic tenant, one process each)\n");
    println!("| grants | sync time (s) | grants/s | peak RSS (MiB) | file (MiB) |");
    println!("|---:|---:|---:|---:|---:|");
    let mut peaks = Vec::new();
    for n in [100_000, 1_000_000] {
        let v = run_child("store", n);
        let grants = v["grants"].as_f64().unwrap_or(0.0);
        let secs = v["secs"].as_f64().unwrap_or(f64::NAN);
        let rss = v["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0;
        let file = v["file_bytes"].as_f64().unwrap_or(0.0) / 1_048_576.0;
        println!(
            "| {grants:.0} | {secs:.2} | {:.0} | {rss:.1} | {file:.1} |",
            grants / secs
        );
        peaks.push(rss);
    }
    println!(
        "\nPeak memory 100k → 1M grants: {:.2}x (target at most 1.5x).",
        peaks[1] / peaks[0]
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    if args.len() == 4 && args[1] == "--child" {
        let n: usize = args[3].parse().unwrap_or(0);
        return connector_sdk::printable::exit_code(rt.block_on(child(&args[2], n)));
    }
    let only = args.get(1).cloned();
    let want = |part: &str| only.as_deref().is_none_or(|o| o == part);
    println!("## Benchmark run\n");
    println!(
        "Machine: {} cores, {}; {} build.",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::env::consts::OS,
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        }
    );
    if want("scim") {
        rt.block_on(bench_scim());
    }
    if want("scim-connector") {
        rt.block_on(bench_scim_connector());
    }
    if want("ratelimit") || want("ratelimit-short") {
        rt.block_on(bench_ratelimit(only.as_deref() == Some("ratelimit-short")));
    }
    if want("memory") {
        bench_memory();
    }
    if want("store") {
        bench_store();
    }
    ExitCode::SUCCESS
}
