//! Benchmark of the sync engine and the `.c1z` writer on a synthetic tenant: grants written
//! per second, and peak memory at 100k and 1M grants (each size runs in its own process so
//! its peak RSS is its own).
//!
//! ```text
//! cargo run --release --example bench_store            # 100k and 1M grants
//! cargo run --release --example bench_store -- 20000   # custom sizes
//! ```

use std::process::{Command, ExitCode};
use std::time::Instant;

use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::SyntheticConnector;

/// Users are fixed; groups of 1,000 members make up the grants.
const USERS: usize = 10_000;
const MEMBERS: usize = 1_000;

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

async fn child(grants: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("bench.c1z");
    let connector = SyntheticConnector::new(USERS, grants.div_ceil(MEMBERS), MEMBERS);
    let t0 = Instant::now();
    let report = sync_to_file(&connector, &path, &SyncOptions::default(), None)
        .await
        .map_err(|e| e.to_string())?;
    let secs = t0.elapsed().as_secs_f64();
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "{{\"grants\":{},\"secs\":{secs},\"peak_rss_kib\":{},\"file_bytes\":{size}}}",
        report.stats.grants,
        peak_rss_kib()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 3 && args[1] == "--child" {
        let n: usize = args[2].parse().unwrap_or(0);
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        return match rt.block_on(child(n)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let sizes: Vec<usize> = if args.len() > 1 {
        args[1..].iter().filter_map(|a| a.parse().ok()).collect()
    } else {
        vec![100_000, 1_000_000]
    };
    let exe = std::env::current_exe().expect("own path");
    println!("| grants | sync time (s) | grants/s | peak RSS (MiB) | file (MiB) |");
    println!("|---:|---:|---:|---:|---:|");
    let mut peaks = Vec::new();
    for n in sizes {
        let out = Command::new(&exe)
            .arg("--child")
            .arg(n.to_string())
            .output()
            .expect("run child");
        if !out.status.success() {
            eprintln!("{}", String::from_utf8_lossy(&out.stderr));
            return ExitCode::FAILURE;
        }
        let v: serde_json::Value = match serde_json::from_slice(&out.stdout) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("bad child output: {e}");
                return ExitCode::FAILURE;
            }
        };
        let grants = v["grants"].as_f64().unwrap_or(0.0);
        let secs = v["secs"].as_f64().unwrap_or(f64::NAN);
        let rss = v["peak_rss_kib"].as_f64().unwrap_or(0.0) / 1024.0;
        let file = v["file_bytes"].as_f64().unwrap_or(0.0) / 1_048_576.0;
        println!(
            "| {grants:.0} | {secs:.2} | {:.0} | {rss:.1} | {file:.1} |",
            grants / secs
        );
        peaks.push((grants, rss));
    }
    if let (Some(first), Some(last)) = (peaks.first(), peaks.last())
        && peaks.len() > 1
    {
        println!(
            "\npeak memory ratio {:.0}k → {:.0}k grants: {:.2}x (target ≤ 1.5x)",
            first.0 / 1000.0,
            last.0 / 1000.0,
            last.1 / first.1
        );
    }
    ExitCode::SUCCESS
}
