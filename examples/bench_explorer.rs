//! The access explorer on a large file: syncs a synthetic tenant of a million grants
//! (10,000 users, 1,000 groups of 1,000 members), serves it on 127.0.0.1, and times the
//! requests each view of the page makes, over HTTP, as a browser would.
//!
//! ```text
//! cargo run --release --features testing --example bench_explorer            # 1,000,000 grants
//! cargo run --release --features testing --example bench_explorer -- 100000  # another size
//! ```
//!
//! Prints markdown rows for docs/performance.md. Target: the principal view of one user
//! answers in under 200 ms.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use connector_sdk::explorer::Explorer;
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::SyntheticConnector;

/// Times `paths` fetched one after another, `runs` times after one warm-up; returns the
/// median and the slowest total.
async fn time_view(
    http: &reqwest::Client,
    base: &str,
    paths: &[String],
    runs: usize,
) -> Result<(Duration, Duration), String> {
    let mut totals = Vec::new();
    for i in 0..=runs {
        let t0 = Instant::now();
        for p in paths {
            let res = http
                .get(format!("{base}{p}"))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !res.status().is_success() {
                return Err(format!("GET {p}: {}", res.status()));
            }
            res.bytes().await.map_err(|e| e.to_string())?;
        }
        if i > 0 {
            totals.push(t0.elapsed());
        }
    }
    totals.sort();
    Ok((totals[totals.len() / 2], totals[totals.len() - 1]))
}

async fn run(grants: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("large.c1z");
    let connector = SyntheticConnector::new(10_000, grants.div_ceil(1000), 1000);
    let t0 = Instant::now();
    let report = sync_to_file(&connector, &path, &SyncOptions::default(), None)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "synced {} grants, {} resources in {:.1} s ({:.1} MiB)",
        report.stats.grants,
        report.stats.resources,
        t0.elapsed().as_secs_f64(),
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0
    );
    let t0 = Instant::now();
    let explorer = Explorer::open(&path).map_err(|e| e.to_string())?;
    let open = t0.elapsed();
    let bound = explorer
        .bind("127.0.0.1:0".parse().unwrap(), false)
        .await
        .map_err(|e| e.to_string())?;
    let base = format!("http://{}", bound.local_addr());
    let mut headers = reqwest::header::HeaderMap::new();
    let bearer = format!("Bearer {}", bound.token());
    headers.insert(
        reqwest::header::AUTHORIZATION,
        bearer.parse().map_err(|_| "token header".to_string())?,
    );
    tokio::spawn(bound.serve_until(std::future::pending()));
    connector_sdk::http::ensure_tls_provider();
    let http = reqwest::Client::builder()
        .no_proxy()
        .default_headers(headers)
        .build()
        .map_err(|e| e.to_string())?;

    let group = format!("g{}", grants.div_ceil(1000) / 2);
    // The last page of a group's holders: follow the cursors there first.
    let mut after = 0i64;
    let mut pages = 0;
    loop {
        let page: serde_json::Value = http
            .get(format!(
                "{base}/api/entitlements/group:{group}:member/holders?limit=50&after={after}"
            ))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        pages += 1;
        match page["next"].as_i64() {
            Some(n) => after = n,
            None => break,
        }
    }
    // `after` is now the cursor of the last page.
    let views: Vec<(String, Vec<String>)> = vec![
        (
            "principal view of one user (resource + first 50 of its grants, with paths)".into(),
            vec![
                "/api/resources/user/u4242".into(),
                "/api/resources/user/u4242/access?limit=50".into(),
            ],
        ),
        (
            "entitlement view of a group membership (entitlement + first 50 of 1,000 holders)"
                .into(),
            vec![
                format!("/api/entitlements/group:{group}:member"),
                format!("/api/entitlements/group:{group}:member/holders?limit=50"),
            ],
        ),
        (
            format!("last page of those holders (keyset cursor, page {pages})"),
            vec![format!(
                "/api/entitlements/group:{group}:member/holders?limit=50&after={after}"
            )],
        ),
        (
            "search users by email (scans 10,000 user rows)".into(),
            vec!["/api/resources?type=user&q=user4242%40example.com".into()],
        ),
        (
            "home: resource types with counts".into(),
            vec!["/api/resource-types".into()],
        ),
    ];
    println!(
        "\nopening the file (decompressing to a private copy): {:.2} s\n",
        open.as_secs_f64()
    );
    println!("| view | requests | median (ms) | slowest of 20 (ms) |");
    println!("|---|---:|---:|---:|");
    for (name, paths) in &views {
        let (median, max) = time_view(&http, &base, paths, 20).await?;
        println!(
            "| {name} | {} | {:.1} | {:.1} |",
            paths.len(),
            median.as_secs_f64() * 1000.0,
            max.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let grants = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    connector_sdk::printable::exit_code(run(grants).await)
}
