//! Hostile files, performed: each test builds the attack and checks that opening the file
//! gives a clear error quickly, with bounded memory and disk, and runs nothing it carries.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use super::c1z::{self, FileKind, MAGIC};
use super::{C1zReader, StoreLimits, SyncStore};
use crate::model::{Resource, ResourceType, TraitKind, UserTrait};

const MIB: u64 = 1024 * 1024;

/// Runs `f` on a thread and fails the test when it takes more than `secs` seconds (the
/// thread is then left behind; the test process ends with the test run).
fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("still running after {secs} s: the attack worked"))
}

/// A good file: one finished full sync with one user.
fn good_file(dir: &Path) -> PathBuf {
    let path = dir.join("sync.c1z");
    let mut store = SyncStore::open(&path).unwrap();
    store.start_sync().unwrap();
    let user = ResourceType::new("user", "User").with_trait(TraitKind::User);
    store
        .put_resource_types(std::slice::from_ref(&user))
        .unwrap();
    store
        .put_resources(&[Resource::new(&user, "ada", "Ada").with_user_trait(UserTrait::default())])
        .unwrap();
    store.finish().unwrap();
    path
}

/// Rewrites the database inside `file` with plain SQLite (as an attacker would).
fn tamper(file: &Path, sql: &str) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    assert_eq!(
        c1z::decompress(file, &db, &StoreLimits::default()).unwrap(),
        FileKind::C1z
    );
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
    c1z::compress(&db, file).unwrap();
}

/// Plain SQLite over the database inside `file`, for the tests' own checks.
fn raw(file: &Path) -> (tempfile::TempDir, rusqlite::Connection) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    c1z::decompress(file, &db, &StoreLimits::default()).unwrap();
    let conn = rusqlite::Connection::open(&db).unwrap();
    (dir, conn)
}

fn size_of_dir(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// `v1_sync_runs`, the first table a reader queries, replaced by a view over a recursive
/// CTE that never ends (and, sorted, never returns: it would fill memory first).
const ENDLESS_VIEW: &str = "
    DROP TABLE v1_sync_runs;
    CREATE VIEW v1_sync_runs AS
      WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n)
      SELECT x AS id, 'sync' || x AS sync_id, '2024-01-01 00:00:00' AS started_at,
             NULL AS ended_at, '' AS sync_token, 'full' AS sync_type, '' AS parent_sync_id,
             '' AS linked_sync_id, 0 AS supports_diff, 0 AS grants_backfilled, NULL AS stats
      FROM n;";

#[test]
fn a_recursive_view_is_refused_before_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_file(dir.path());
    tamper(&file, ENDLESS_VIEW);
    // The attack is real: the view yields rows without end (a million, and counting).
    let (_keep, conn) = raw(&file);
    let n: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT 1 FROM v1_sync_runs LIMIT 1000000)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(n, 1_000_000);

    let f = file.clone();
    let err = within(20, move || C1zReader::open(&f).unwrap_err());
    let text = err.to_string();
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains(r#"view "v1_sync_runs""#), "{text}");
    assert!(text.contains("nothing in it was run"), "{text}");
    assert!(text.contains("holds only tables and indexes"), "{text}");
    // The writer (a sync appending to it) refuses it too, and leaves it as it was.
    let before = fs::read(&file).unwrap();
    let f = file.clone();
    let err = within(20, move || SyncStore::open(&f).unwrap_err());
    assert!(err.to_string().contains(r#"view "v1_sync_runs""#), "{err}");
    assert!(err.to_string().contains("--file (BATON_FILE)"), "{err}");
    assert_eq!(fs::read(&file).unwrap(), before);
}

#[test]
fn a_trigger_is_refused_when_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_file(dir.path());
    tamper(
        &file,
        "CREATE TRIGGER wipe AFTER INSERT ON v1_grants BEGIN DELETE FROM v1_resources; END;",
    );
    let err = C1zReader::open(&file).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(r#"trigger "wipe""#), "{text}");
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(
        text.contains("read only .c1z files from a trusted source"),
        "{text}"
    );
}

#[test]
fn disguised_objects_are_refused_too() {
    // An entry whose type column lies (SQLite itself finds the schema malformed), odd
    // case and comments in the SQL, a virtual table, a generated column, a name made to
    // mess with a terminal: each refused, and named.
    let lie = |kind: &str| {
        format!(
            "PRAGMA writable_schema = ON;
             INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) VALUES
               ('{kind}', 'sneaky', 'v1_grants', 0,
                'create -- really\n /* an index */ TrIgGeR sneaky AFTER INSERT ON v1_grants BEGIN DELETE FROM v1_resources; END');
             PRAGMA writable_schema = OFF;"
        )
    };
    let cases: [(String, &str); 5] = [
        (lie("index"), "its database schema cannot be read (malformed database schema (sneaky))"),
        (lie("trigger"), r#"trigger "sneaky""#),
        (
            "CREATE VIRTUAL TABLE notes USING fts5(body);".into(),
            r#"virtual table "notes""#,
        ),
        (
            "CREATE TABLE costly (a BLOB, b BLOB GENERATED ALWAYS AS (zeroblob(100000000)) VIRTUAL);".into(),
            r#"generated column "b" of table "costly""#,
        ),
        (
            "CREATE VIEW \"evil\u{1b}[31m\" AS SELECT 1;".into(),
            r#"view "evil\u{1b}[31m""#,
        ),
    ];
    for (sql, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = good_file(dir.path());
        tamper(&file, &sql);
        let err = C1zReader::open(&file).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
        let err = SyncStore::open(&file).unwrap_err();
        assert!(err.to_string().contains(needle), "{needle}: {err}");
    }
}

/// A grant to `user:mallory` the trigger adds to every sync started after it.
const BACKDOOR: &str = "
    CREATE TRIGGER backdoor AFTER INSERT ON v1_sync_runs BEGIN
      INSERT INTO v1_grants (resource_type_id, resource_id, entitlement_id,
          principal_resource_type_id, principal_resource_id, external_id, data, sync_id,
          discovered_at)
      VALUES ('group', 'admins', 'group:admins:member', 'user', 'mallory',
          'group:admins:member:user:mallory', x'', NEW.sync_id, '2024-01-01 00:00:00');
    END;";

fn mallory_grants(conn: &rusqlite::Connection) -> i64 {
    conn.query_row(
        "SELECT count(*) FROM v1_grants WHERE principal_resource_id = 'mallory'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[tokio::test]
async fn a_planted_trigger_cannot_tamper_with_later_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_file(dir.path());
    tamper(&file, BACKDOOR);
    let planted = fs::read(&file).unwrap();
    // The attack is real: starting a sync on the database fires the trigger.
    {
        let (_keep, conn) = raw(&file);
        assert_eq!(mallory_grants(&conn), 0);
        conn.execute(
            "INSERT INTO v1_sync_runs (sync_id, started_at, sync_token) VALUES ('next', '2024-01-02', '')",
            [],
        )
        .unwrap();
        assert_eq!(mallory_grants(&conn), 1);
    }

    // The writer refuses the file before writing anything to it.
    let err = SyncStore::open(&file).unwrap_err();
    let text = err.to_string();
    assert!(text.contains(r#"trigger "backdoor""#), "{text}");
    assert!(text.contains("a sync will not append to it"), "{text}");
    // A whole sync too, through the engine the CLI runs.
    let err = crate::sync::sync_to_file(
        &crate::testing::MemoryConnector::seeded(),
        &file,
        &crate::sync::SyncOptions::default(),
        None,
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains(r#"trigger "backdoor""#), "{err}");

    // The trigger never fired: the file is byte for byte what was planted, and holds no
    // grant to mallory.
    assert_eq!(fs::read(&file).unwrap(), planted);
    let (_keep, conn) = raw(&file);
    assert_eq!(mallory_grants(&conn), 0);
    let runs: i64 = conn
        .query_row("SELECT count(*) FROM v1_sync_runs", [], |r| r.get(0))
        .unwrap();
    assert_eq!(runs, 1, "no sync was started in the file");
}

/// `MAGIC` then `frames` concatenated zstd frames of `frame_size` zeros each, without a
/// declared content size: a few MB that expand to `frames × frame_size`.
fn zstd_bomb(frames: u64, frame_size: usize) -> Vec<u8> {
    let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.write_all(&vec![0u8; frame_size]).unwrap();
    let frame = enc.finish().unwrap();
    let mut out = MAGIC.to_vec();
    for _ in 0..frames {
        out.extend_from_slice(&frame);
    }
    out
}

#[test]
fn a_zstd_bomb_stops_at_the_limit_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // 25,600 frames of 4 MiB: 100 GiB once expanded, from a file of about 4 MB.
    let bomb = zstd_bomb(25_600, 4 * MIB as usize);
    assert!(bomb.len() < 8 * MIB as usize, "{} bytes", bomb.len());
    let file = dir.path().join("bomb.c1z");
    fs::write(&file, &bomb).unwrap();
    let limits = StoreLimits::default().with_max_decoded_size(8 * MIB);

    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("db");
    let (f, d) = (file.clone(), db.clone());
    let err = within(20, move || c1z::decompress(&f, &d, &limits).unwrap_err());
    let text = err.to_string();
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains("decompresses to more than 8 MiB"), "{text}");
    assert!(
        text.contains("--decoder-max-decoded-size-mb (BATON_DECODER_MAX_DECODED_SIZE_MB)"),
        "{text}"
    );
    // The partial output is gone: the working folder holds nothing.
    assert!(!db.exists());
    assert_eq!(size_of_dir(work.path()), 0);

    // Through the reader, with the same limit: the same error, promptly.
    let f = file.clone();
    let err = within(20, move || C1zReader::open_with(&f, &limits).unwrap_err());
    assert!(
        err.to_string().contains("decompresses to more than 8 MiB"),
        "{err}"
    );
}

#[test]
fn a_declared_size_over_the_limit_is_refused_before_decompressing() {
    let dir = tempfile::tempdir().unwrap();
    let mut enc = zstd::stream::write::Encoder::new(MAGIC.to_vec(), 3).unwrap();
    enc.include_contentsize(true).unwrap();
    enc.set_pledged_src_size(Some(64 * MIB)).unwrap();
    enc.write_all(&vec![0u8; 64 * MIB as usize]).unwrap();
    let file = dir.path().join("big.c1z");
    fs::write(&file, enc.finish().unwrap()).unwrap();
    let db = dir.path().join("db");
    let limits = StoreLimits::default().with_max_decoded_size(MIB);
    let err = c1z::decompress(&file, &db, &limits).unwrap_err();
    assert!(
        err.to_string()
            .contains("it declares a decompressed size of 64 MiB"),
        "{err}"
    );
    assert!(!db.exists(), "nothing was written");
}

#[test]
fn a_frame_asking_for_a_huge_window_is_refused_before_allocating_it() {
    let dir = tempfile::tempdir().unwrap();
    // A 256 MiB window (2^28): the decoder would allocate it before the first byte out.
    let mut enc = zstd::stream::write::Encoder::new(MAGIC.to_vec(), 3).unwrap();
    enc.include_contentsize(false).unwrap();
    enc.window_log(28).unwrap();
    enc.long_distance_matching(true).unwrap();
    enc.write_all(&vec![7u8; MIB as usize]).unwrap();
    let file = dir.path().join("wide.c1z");
    fs::write(&file, enc.finish().unwrap()).unwrap();
    let db = dir.path().join("db");
    let err = c1z::decompress(&file, &db, &StoreLimits::default()).unwrap_err();
    assert!(
        err.to_string()
            .contains("it asks for a decompression window over 128 MiB"),
        "{err}"
    );
    assert!(!db.exists());
}

#[test]
fn a_file_at_the_decompression_limit_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_file(dir.path());
    let (_keep, conn) = raw(&file);
    let size = conn.path().map(|p| fs::metadata(p).unwrap().len()).unwrap();
    drop(conn);
    let exact = StoreLimits::default().with_max_decoded_size(size);
    assert_eq!(
        C1zReader::open_with(&file, &exact)
            .unwrap()
            .resources(None)
            .unwrap()
            .len(),
        1
    );
    let under = StoreLimits::default().with_max_decoded_size(size - 1);
    assert!(C1zReader::open_with(&file, &under).is_err());
}

/// Adds to the file's finished sync a user whose stored data is `bytes` zeros.
fn add_big_row(file: &Path, bytes: u64) {
    tamper(
        file,
        &format!(
            "INSERT INTO v1_resources (resource_type_id, external_id, data, sync_id, discovered_at)
             VALUES ('user', 'user:big', zeroblob({bytes}), (SELECT sync_id FROM v1_sync_runs LIMIT 1),
                     '2024-01-01 00:00:00');"
        ),
    );
}

#[test]
fn an_oversized_row_gives_a_clear_error_instead_of_an_allocation() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_file(dir.path());
    // 64 MiB of zeros: a file of a few KB, whose row would be allocated whole.
    add_big_row(&file, 64 * MIB);
    assert!(fs::metadata(&file).unwrap().len() < MIB);
    let reader = C1zReader::open(&file).unwrap();
    let err = within(20, move || {
        let all = reader.resources(None).unwrap_err();
        let page = reader.resources_page(None, None, 0, 50).unwrap_err();
        (all, page)
    });
    for e in [err.0, err.1] {
        let text = e.to_string();
        assert!(text.contains("larger than the per-row limit"), "{text}");
        assert!(
            text.contains("--c1z-max-row-size-mb (BATON_C1Z_MAX_ROW_SIZE_MB)"),
            "{text}"
        );
    }
}

#[test]
fn the_row_limit_can_be_raised_and_lowered() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_file(dir.path());
    add_big_row(&file, 2 * MIB);
    // Within the default (16 MiB) the row is read (its zeros are not a valid resource,
    // which is another, ordinary, error).
    let err = C1zReader::open(&file).unwrap().resources(None).unwrap_err();
    assert!(!err.to_string().contains("per-row limit"), "{err}");
    // Lowered to 1 MiB it is refused.
    let small = StoreLimits::default().with_max_row_size(MIB);
    let err = C1zReader::open_with(&file, &small)
        .unwrap()
        .resources(None)
        .unwrap_err();
    assert!(err.to_string().contains("per-row limit"), "{err}");
}

#[test]
fn a_sync_cannot_write_a_row_over_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sync.c1z");
    let limits = StoreLimits::default().with_max_row_size(64 * 1024);
    let mut store = SyncStore::open_with(&path, &limits).unwrap();
    store.start_sync().unwrap();
    let user = ResourceType::new("user", "User").with_trait(TraitKind::User);
    store
        .put_resource_types(std::slice::from_ref(&user))
        .unwrap();
    let huge = Resource::new(&user, "u1", "x".repeat(100 * 1024));
    let err = store.put_resources(&[huge]).unwrap_err();
    assert!(err.to_string().contains("per-row limit"), "{err}");
    assert!(!path.exists(), "nothing was saved");
}

#[test]
fn the_hardened_writer_still_keeps_two_syncs_and_vacuums() {
    // Retention drops the oldest full sync and runs VACUUM (which attaches a temporary
    // database internally): the hardening must leave that working.
    let dir = tempfile::tempdir().unwrap();
    let file = good_file(dir.path());
    for _ in 0..2 {
        let mut store = SyncStore::open(&file).unwrap();
        store.start_sync().unwrap();
        store.finish().unwrap();
    }
    assert_eq!(C1zReader::open(&file).unwrap().syncs().unwrap().len(), 2);
}

#[test]
fn extension_loading_stays_off() {
    let dir = tempfile::tempdir().unwrap();
    let file = good_file(dir.path());
    let work = tempfile::tempdir().unwrap();
    let db = work.path().join("db");
    c1z::decompress(&file, &db, &StoreLimits::default()).unwrap();
    let conn =
        c1z::open_checked(&db, &file, &StoreLimits::default(), c1z::Access::ReadOnly).unwrap();
    let err = conn
        .query_row("SELECT load_extension('/nonexistent/evil')", [], |r| {
            r.get::<_, Option<String>>(0)
        })
        .unwrap_err();
    assert!(err.to_string().contains("not authorized"), "{err}");
}

#[cfg(unix)]
mod unix {
    use super::*;
    use crate::store::files::tests::mkfifo;
    use crate::store::workdir::{WORKDIR_PREFIX, WorkDir};

    #[test]
    fn a_fifo_named_lock_in_the_temp_dir_blocks_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        // An "abandoned working folder" whose lock is a FIFO: opening it to test the lock
        // would block until someone writes to the pipe, i.e. forever.
        let planted = tmp.path().join(format!("{WORKDIR_PREFIX}1-planted"));
        fs::create_dir(&planted).unwrap();
        if mkfifo(&planted.join("lock")).is_none() {
            return;
        }
        let t = tmp.path().to_path_buf();
        let work = within(10, move || WorkDir::create_in(&t).unwrap());
        assert!(work.path().starts_with(tmp.path()));
        assert!(
            planted.join("lock").exists(),
            "someone else's folder is left alone"
        );
        drop(work);
    }

    #[test]
    fn a_fifo_as_the_file_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let Some(fifo) = mkfifo(&dir.path().join("sync.c1z")) else {
            return;
        };
        let f = fifo.clone();
        let err = within(10, move || C1zReader::open(&f).unwrap_err());
        assert!(
            err.to_string()
                .contains("is a FIFO (named pipe), not a regular file"),
            "{err}"
        );
        assert!(err.to_string().contains("--file (BATON_FILE)"), "{err}");
        let f = fifo.clone();
        let err = within(10, move || SyncStore::open(&f).unwrap_err());
        assert!(err.to_string().contains("is a FIFO"), "{err}");
    }

    #[test]
    fn a_symlink_at_the_tmp_path_leaves_the_victim_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.txt");
        fs::write(&victim, b"precious").unwrap();
        let file = good_file(dir.path());
        let saved = fs::read(&file).unwrap();
        let tmp = dir.path().join("sync.c1z.tmp");

        // Planted before the sync: refused when the store opens.
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let err = SyncStore::open(&file).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("sync.c1z.tmp is a symbolic link (to "),
            "{text}"
        );
        assert!(text.contains("refusing to write through it"), "{text}");
        fs::remove_file(&tmp).unwrap();

        // Planted during the sync, before the save: refused when saving.
        let mut store = SyncStore::open(&file).unwrap();
        store.start_sync().unwrap();
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let err = store.finish().unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");

        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert_eq!(fs::read(&file).unwrap(), saved, "the output is as it was");
        assert!(fs::symlink_metadata(&tmp).unwrap().file_type().is_symlink());
    }

    #[test]
    fn a_leftover_tmp_file_from_a_killed_run_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = good_file(dir.path());
        fs::write(dir.path().join("sync.c1z.tmp"), b"half a save").unwrap();
        let mut store = SyncStore::open(&file).unwrap();
        store.start_sync().unwrap();
        store.finish().unwrap();
        assert!(!dir.path().join("sync.c1z.tmp").exists());
        assert_eq!(C1zReader::open(&file).unwrap().syncs().unwrap().len(), 2);
    }
}
