//! Golden files: the rows each connector writes for its simulated tenant, compared with the
//! rows written before the SDK's structure was refactored (issue #19), so a refactoring
//! changes structure, not output.
//!
//! A row is its table's columns except the store's own (`id`, `sync_id`, `discovered_at`)
//! with the protobuf `data` (and `expansion`) blobs as hex: identical bytes mean identical
//! decoded messages. The files are `tests/golden/<name>.json`; after a change that is meant
//! to change the output, rewrite them with `GOLDEN_UPDATE=1 cargo test --test golden` and
//! review the diff.

use std::path::{Path, PathBuf};

use connector_ironclad::Ironclad;
use connector_ironclad::simulator::{IroncladSimulator, SimState as IroncladState};
use connector_onepassword::simulator::FakeOpRunner;
use connector_sdk::Connector;
use connector_sdk::sync::{SyncOptions, sync_to_file};
use connector_sdk::testing::MemoryConnector;
use connector_sendgrid::Sendgrid;
use connector_sendgrid::simulator::SendgridSimulator;
use connector_valimail::Valimail;
use connector_valimail::simulator::ValimailSimulator;
use serde_json::{Map, Value, json};

/// The tables holding synced data, each with the columns compared and the sort key.
const TABLES: &[(&str, &str)] = &[
    ("v1_resource_types", "external_id, data"),
    (
        "v1_resources",
        "resource_type_id, external_id, parent_resource_type_id, parent_resource_id, data",
    ),
    (
        "v1_entitlements",
        "resource_type_id, resource_id, external_id, data",
    ),
    (
        "v1_grants",
        "resource_type_id, resource_id, entitlement_id, principal_resource_type_id, principal_resource_id, external_id, expansion, needs_expansion, data",
    ),
    ("v1_assets", "external_id, content_type, data"),
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The rows of the c1z at `path`, as JSON: `{table: [[column values…]…]}`.
fn rows(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..5], b"C1ZF\0", "{} is not a c1z", path.display());
    let db = tempfile::NamedTempFile::new().unwrap();
    let sqlite = zstd::decode_all(&bytes[5..]).unwrap();
    std::fs::write(db.path(), sqlite).unwrap();
    let conn = rusqlite::Connection::open(db.path()).unwrap();
    let mut out = Map::new();
    for (table, columns) in TABLES {
        let n = columns.split(',').count();
        let mut stmt = conn
            .prepare(&format!(
                "SELECT {columns} FROM {table} ORDER BY external_id"
            ))
            .unwrap();
        let list: Vec<Value> = stmt
            .query_map([], |row| {
                let mut cells = Vec::with_capacity(n);
                for i in 0..n {
                    cells.push(match row.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => Value::Null,
                        rusqlite::types::ValueRef::Integer(v) => json!(v),
                        rusqlite::types::ValueRef::Real(v) => json!(v),
                        rusqlite::types::ValueRef::Text(t) => {
                            json!(String::from_utf8_lossy(t))
                        }
                        rusqlite::types::ValueRef::Blob(b) => json!(hex(b)),
                    });
                }
                Ok(Value::Array(cells))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        out.insert(table.to_string(), Value::Array(list));
    }
    Value::Object(out)
}

fn golden_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.json"))
}

/// Syncs `connector` and compares (or, with `GOLDEN_UPDATE=1`, rewrites) its golden file.
async fn check(name: &str, connector: &dyn Connector) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.c1z"));
    sync_to_file(connector, &file, &SyncOptions::default(), None)
        .await
        .unwrap_or_else(|e| panic!("{name}: sync failed: {e}"));
    let got = rows(&file);
    let path = golden_path(name);
    if std::env::var_os("GOLDEN_UPDATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let text = serde_json::to_string_pretty(&got).unwrap();
        std::fs::write(&path, text + "\n").unwrap();
        return;
    }
    let want: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap();
    for (table, _) in TABLES {
        let (g, w) = (&got[table], &want[table]);
        if g == w {
            continue;
        }
        let (g, w) = (g.as_array().unwrap(), w.as_array().unwrap());
        let extra: Vec<_> = g.iter().filter(|r| !w.contains(r)).take(3).collect();
        let missing: Vec<_> = w.iter().filter(|r| !g.contains(r)).take(3).collect();
        panic!(
            "{name}: {table} differs from {} ({} rows now, {} in the golden file)\n\
             rows not in the golden file (first 3): {extra:#?}\n\
             golden rows not written (first 3): {missing:#?}",
            path.display(),
            g.len(),
            w.len()
        );
    }
}

#[tokio::test]
async fn valimail_rows_unchanged() {
    let sim = ValimailSimulator::start().await;
    check("valimail", &Valimail::new(sim.config()).unwrap()).await;
}

#[tokio::test]
async fn sendgrid_rows_unchanged() {
    let sim = SendgridSimulator::start().await;
    check("sendgrid", &Sendgrid::new(sim.config()).unwrap()).await;
}

#[tokio::test]
async fn ironclad_rows_unchanged() {
    let sim = IroncladSimulator::start().await;
    check("ironclad", &Ironclad::new(sim.config(false)).unwrap()).await;
    // A tenant large enough for parallel (handed-out) pages of users and members.
    let sim = IroncladSimulator::start_with(IroncladState::large(250, 6, 400)).await;
    check("ironclad-large", &Ironclad::new(sim.config(false)).unwrap()).await;
}

#[tokio::test]
async fn onepassword_rows_unchanged() {
    let op = FakeOpRunner::seeded();
    check("1password", &op.connector(vec![])).await;
}

#[tokio::test]
async fn memory_rows_unchanged() {
    check("memory", &MemoryConnector::seeded().with_page_size(2)).await;
}
