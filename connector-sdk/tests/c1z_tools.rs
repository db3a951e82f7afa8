//! A `.c1z` we write opens with the `zstd` and `sqlite3` command-line tools after the
//! 5-byte header is stripped, with exactly the tables, columns and indexes of
//! `shared/specs/c1z-format.md` §2.2. CI installs both tools; elsewhere the test is skipped
//! with a message when they are missing.

use std::path::Path;
use std::process::Command;

use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::MemoryConnector;

fn tool(name: &str) -> bool {
    let found = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found && std::env::var_os("CI").is_some() {
        panic!("{name} is not installed; .ci/run installs it (apt-get install sqlite3 zstd)");
    }
    found
}

fn sqlite(db: &Path, sql: &str) -> String {
    let out = Command::new("sqlite3").arg(db).arg(sql).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `name type notnull default pk` per column, as the spec's DDL declares them.
const COLUMNS: &[(&str, &str)] = &[
    (
        "v1_resource_types",
        "id integer 0 - 1|external_id text 1 - 0|data blob 1 - 0|sync_id text 1 - 0|discovered_at datetime 1 - 0",
    ),
    (
        "v1_resources",
        "id integer 0 - 1|resource_type_id text 1 - 0|external_id text 1 - 0|parent_resource_type_id text 0 - 0|parent_resource_id text 0 - 0|data blob 1 - 0|sync_id text 1 - 0|discovered_at datetime 1 - 0",
    ),
    (
        "v1_entitlements",
        "id integer 0 - 1|resource_type_id text 1 - 0|resource_id text 1 - 0|external_id text 1 - 0|data blob 1 - 0|sync_id text 1 - 0|discovered_at datetime 1 - 0",
    ),
    (
        "v1_sync_runs",
        "id integer 0 - 1|sync_id text 1 - 0|started_at datetime 1 - 0|ended_at datetime 0 - 0|sync_token text 1 - 0|sync_type text 1 'full' 0|parent_sync_id text 1 '' 0|linked_sync_id text 1 '' 0|supports_diff integer 1 0 0|grants_backfilled integer 1 0 0|stats text 0 - 0|ingest_invariant_generation text 1 '' 0|ingest_invariant_coverage text 1 '' 0|ingest_invariant_mode text 1 '' 0",
    ),
    (
        "v1_grants",
        "id integer 0 - 1|resource_type_id text 1 - 0|resource_id text 1 - 0|entitlement_id text 1 - 0|principal_resource_type_id text 1 - 0|principal_resource_id text 1 - 0|external_id text 1 - 0|expansion blob 0 - 0|needs_expansion integer 1 0 0|data blob 1 - 0|sync_id text 1 - 0|discovered_at datetime 1 - 0",
    ),
    (
        "v1_assets",
        "id integer 0 - 1|external_id text 1 - 0|content_type text 1 - 0|data blob 1 - 0|sync_id text 1 - 0|discovered_at datetime 1 - 0",
    ),
    (
        "v1_connector_sessions",
        "id integer 0 - 1|sync_id text 1 - 0|key text 1 - 0|value blob 1 - 0",
    ),
];

/// `index unique partial columns`, sorted by index name.
const INDEXES: &[(&str, &str)] = &[
    (
        "v1_resource_types",
        "idx_resource_types_external_sync_v1 1 0 external_id,sync_id",
    ),
    (
        "v1_resources",
        "idx_resources_external_sync_v1 0 0 parent_resource_type_id,parent_resource_id|idx_resources_parent_resource_id_v1 1 0 external_id,sync_id|idx_resources_resource_type_id_v1 0 0 resource_type_id",
    ),
    (
        "v1_entitlements",
        "idx_entitlements_external_sync_v1 1 0 external_id,sync_id|idx_entitlements_resource_id_v1 0 0 resource_type_id,resource_id",
    ),
    ("v1_sync_runs", "idx_sync_runs_sync_id_v1 1 0 sync_id"),
    (
        "v1_grants",
        "idx_grants_entitlement_id_principal_id_v1 0 0 entitlement_id,principal_resource_type_id,principal_resource_id|idx_grants_entitlement_sync_grant_v1 0 0 entitlement_id,sync_id,id|idx_grants_external_sync_v1 1 0 external_id,sync_id|idx_grants_principal_id_v1 0 0 principal_resource_type_id,principal_resource_id|idx_grants_resource_type_id_resource_id_v1 0 0 resource_type_id,resource_id|idx_grants_sync_expansion_v1 0 1 sync_id|idx_grants_sync_needs_expansion_v1 0 1 sync_id",
    ),
    (
        "v1_assets",
        "idx_assets_external_sync_v1 1 0 external_id,sync_id",
    ),
    (
        "v1_connector_sessions",
        "idx_session_store_sync_key_v1 1 0 sync_id,key",
    ),
];

#[tokio::test]
async fn our_c1z_opens_with_zstd_and_sqlite3_with_the_spec_schema() {
    if !tool("zstd") || !tool("sqlite3") {
        eprintln!("skipped: zstd and sqlite3 are needed (apt-get install sqlite3 zstd)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let options = SyncOptions::default();
    sync_to_file(&MemoryConnector::seeded(), &path, &options, None)
        .await
        .unwrap();

    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..5], b"C1ZF\0");
    let stripped = dir.path().join("db.zst");
    std::fs::write(&stripped, &bytes[5..]).unwrap();
    let db = dir.path().join("db");
    let out = Command::new("zstd")
        .args(["-d", "-q", "-f"])
        .arg(&stripped)
        .arg("-o")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "zstd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // One frame with its content size pledged and a checksum.
    let info = Command::new("zstd")
        .args(["-l", "-v"])
        .arg(&stripped)
        .output()
        .unwrap();
    let info =
        String::from_utf8_lossy(&info.stdout).to_string() + &String::from_utf8_lossy(&info.stderr);
    assert!(info.contains("# Zstandard Frames: 1"), "{info}");
    assert!(info.contains("Check: XXH64"), "{info}");
    assert!(info.contains("Decompressed Size:"), "{info}");

    let tables = sqlite(
        &db,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    );
    let mut want: Vec<&str> = COLUMNS.iter().map(|(t, _)| *t).collect();
    want.sort();
    assert_eq!(tables.lines().collect::<Vec<_>>(), want);

    for (table, cols) in COLUMNS {
        let got = sqlite(
            &db,
            &format!(
                "SELECT group_concat(name || ' ' || lower(type) || ' ' || \"notnull\" || ' ' || coalesce(dflt_value, '-') || ' ' || pk, '|') FROM pragma_table_info('{table}')"
            ),
        );
        assert_eq!(&got, cols, "columns of {table}");
    }
    for (table, idx) in INDEXES {
        let got = sqlite(
            &db,
            &format!(
                "SELECT group_concat(line, '|') FROM (SELECT l.name || ' ' || l.\"unique\" || ' ' || l.partial || ' ' ||
                   (SELECT group_concat(name, ',') FROM (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno)) AS line
                 FROM pragma_index_list('{table}') l WHERE l.origin = 'c' ORDER BY l.name)"
            ),
        );
        assert_eq!(&got, idx, "indexes of {table}");
    }

    // One finished full sync; ids are text, blobs are blobs; timestamps have upstream's shape.
    let run = sqlite(
        &db,
        "SELECT length(sync_id), sync_type, ended_at IS NOT NULL, supports_diff, grants_backfilled, sync_token, typeof(started_at) FROM v1_sync_runs",
    );
    assert_eq!(run, "27|full|1|1|1|{\"version\":1}|text");
    let types = sqlite(
        &db,
        "SELECT DISTINCT typeof(external_id) || ',' || typeof(data) || ',' || typeof(sync_id) FROM v1_grants",
    );
    assert_eq!(types, "text,blob,text");
    let bad_times = sqlite(
        &db,
        "SELECT count(*) FROM v1_resources WHERE discovered_at NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9][0-9]:[0-9][0-9]:[0-9][0-9]*' OR discovered_at GLOB '*0' AND discovered_at GLOB '*.*'",
    );
    assert_eq!(bad_times, "0");
    assert_eq!(
        sqlite(
            &db,
            "SELECT count(*) FROM v1_resources WHERE external_id = 'user:u1'"
        ),
        "1"
    );
    assert_eq!(
        sqlite(
            &db,
            "SELECT count(*) FROM v1_resources WHERE parent_resource_id IS NULL AND resource_type_id <> 'document'"
        ),
        "9"
    );
    assert_eq!(
        sqlite(
            &db,
            "SELECT count(*) FROM v1_grants WHERE needs_expansion = 1 AND expansion IS NOT NULL"
        ),
        "2"
    );
    // The cached stats are the exact snake_case JSON upstream writes.
    let stats = sqlite(&db, "SELECT stats FROM v1_sync_runs");
    assert!(stats.starts_with("{\"resource_types\":4,\"resources\":12,\"entitlements\":5,\"grants\":12,\"resources_by_resource_type\":{\"document\":3,\"folder\":2,\"group\":2,\"user\":5}"), "{stats}");
    assert_eq!(sqlite(&db, "PRAGMA integrity_check"), "ok");
}

#[tokio::test]
async fn a_file_with_a_partial_sync_opens_with_zstd_and_sqlite3() {
    if !tool("zstd") || !tool("sqlite3") {
        eprintln!("skipped: zstd and sqlite3 are needed (apt-get install sqlite3 zstd)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let c = MemoryConnector::seeded();
    let full = sync_to_file(&c, &path, &SyncOptions::default(), None)
        .await
        .unwrap();
    let targeted = SyncOptions::default().with_targeted(
        connector_sdk::bid::parse_resource_bids("bid:r:user/u1,bid:r:group/g1").unwrap(),
    );
    let partial = sync_to_file(&c, &path, &targeted, None).await.unwrap();

    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..5], b"C1ZF\0");
    let stripped = dir.path().join("db.zst");
    std::fs::write(&stripped, &bytes[5..]).unwrap();
    let db = dir.path().join("db");
    let out = Command::new("zstd")
        .args(["-d", "-q", "-f"])
        .arg(&stripped)
        .arg("-o")
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(sqlite(&db, "PRAGMA integrity_check"), "ok");
    let runs = sqlite(
        &db,
        "SELECT sync_id, sync_type, parent_sync_id, ended_at IS NOT NULL FROM v1_sync_runs ORDER BY id",
    );
    assert_eq!(
        runs,
        format!(
            "{}|full||1\n{}|partial|{}|1",
            full.sync_id, partial.sync_id, full.sync_id
        )
    );
    assert_eq!(
        sqlite(
            &db,
            &format!(
                "SELECT group_concat(external_id, ',') FROM (SELECT external_id FROM v1_resources WHERE sync_id = '{}' ORDER BY external_id)",
                partial.sync_id
            )
        ),
        "group:g1,user:u1"
    );
}
