//! The bytes of a `.c1z` file: magic header, one zstd frame, a SQLite database with the
//! `v1_*` schema; plus sync ids (KSUID) and upstream's timestamp text.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind, Result};

/// The magic of the classic (SQLite) format: `C1ZF\0`.
pub const MAGIC: &[u8; 5] = b"C1ZF\0";
/// The magic of upstream's newer Pebble format, which we do not read.
pub const MAGIC_V3: &[u8; 5] = b"C1Z3\0";
/// zstd level used when writing (upstream's default is about 3).
pub const ZSTD_LEVEL: i32 = 3;

/// The schema of upstream baton-sdk v0.25.0, exactly (`c1z-format.md` §2.2).
pub const DDL: &str = r#"
CREATE TABLE IF NOT EXISTS v1_resource_types (
    id integer primary key,
    external_id text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_resource_types_external_sync_v1 ON v1_resource_types (external_id, sync_id);

CREATE TABLE IF NOT EXISTS v1_resources (
    id integer primary key,
    resource_type_id text not null,
    external_id text not null,
    parent_resource_type_id text,
    parent_resource_id text,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE INDEX IF NOT EXISTS idx_resources_resource_type_id_v1 ON v1_resources (resource_type_id);
CREATE INDEX IF NOT EXISTS idx_resources_external_sync_v1 ON v1_resources (parent_resource_type_id, parent_resource_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_resources_parent_resource_id_v1 ON v1_resources (external_id, sync_id);

CREATE TABLE IF NOT EXISTS v1_entitlements (
    id integer primary key,
    resource_type_id text not null,
    resource_id text not null,
    external_id text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE INDEX IF NOT EXISTS idx_entitlements_resource_id_v1 ON v1_entitlements (resource_type_id, resource_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_entitlements_external_sync_v1 ON v1_entitlements (external_id, sync_id);

CREATE TABLE IF NOT EXISTS v1_sync_runs (
    id integer primary key,
    sync_id text not null,
    started_at datetime not null,
    ended_at datetime,
    sync_token text not null,
    sync_type text not null default 'full',
    parent_sync_id text not null default '',
    linked_sync_id text not null default '',
    supports_diff integer not null default 0,
    grants_backfilled integer not null default 0,
    stats text,
    ingest_invariant_generation text not null default '',
    ingest_invariant_coverage text not null default '',
    ingest_invariant_mode text not null default ''
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_sync_runs_sync_id_v1 ON v1_sync_runs (sync_id);

CREATE TABLE IF NOT EXISTS v1_grants (
    id integer primary key,
    resource_type_id text not null,
    resource_id text not null,
    entitlement_id text not null,
    principal_resource_type_id text not null,
    principal_resource_id text not null,
    external_id text not null,
    expansion blob,
    needs_expansion integer not null default 0,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE INDEX IF NOT EXISTS idx_grants_resource_type_id_resource_id_v1 ON v1_grants (resource_type_id, resource_id);
CREATE INDEX IF NOT EXISTS idx_grants_principal_id_v1 ON v1_grants (principal_resource_type_id, principal_resource_id);
CREATE INDEX IF NOT EXISTS idx_grants_entitlement_id_principal_id_v1 ON v1_grants (entitlement_id, principal_resource_type_id, principal_resource_id);
CREATE UNIQUE INDEX IF NOT EXISTS idx_grants_external_sync_v1 ON v1_grants (external_id, sync_id);
CREATE INDEX IF NOT EXISTS idx_grants_entitlement_sync_grant_v1 ON v1_grants (entitlement_id, sync_id, id);
CREATE INDEX IF NOT EXISTS idx_grants_sync_expansion_v1 ON v1_grants (sync_id) WHERE expansion IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_grants_sync_needs_expansion_v1 ON v1_grants (sync_id) WHERE needs_expansion = 1;

CREATE TABLE IF NOT EXISTS v1_assets (
    id integer primary key,
    external_id text not null,
    content_type text not null,
    data blob not null,
    sync_id text not null,
    discovered_at datetime not null
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_assets_external_sync_v1 ON v1_assets (external_id, sync_id);

CREATE TABLE IF NOT EXISTS v1_connector_sessions (
    id integer primary key,
    sync_id text NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_session_store_sync_key_v1 ON v1_connector_sessions (sync_id, key);
"#;

/// What the first bytes of a file say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Missing or empty: a store with no syncs.
    Empty,
    /// A classic c1z.
    C1z,
}

fn file_error(path: &Path, what: &str) -> Error {
    Error::invalid_argument(format!("{}: {what}", path.display()))
}

/// Decompresses the c1z at `path` into the SQLite file `db`. A missing or empty file gives
/// [`FileKind::Empty`] and writes nothing.
pub fn decompress(path: &Path, db: &Path) -> Result<FileKind> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(FileKind::Empty),
        Err(e) => return Err(Error::from(e).context(format!("opening {}", path.display()))),
    };
    if file.metadata()?.len() == 0 {
        return Ok(FileKind::Empty);
    }
    let mut reader = BufReader::new(file);
    let mut magic = [0u8; 5];
    if let Err(e) = reader.read_exact(&mut magic) {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            return Err(file_error(
                path,
                "not a c1z file (shorter than its 5-byte header)",
            ));
        }
        return Err(e.into());
    }
    if &magic == MAGIC_V3 {
        return Err(file_error(
            path,
            "this is a c1z v3 (Pebble) file, which is not supported; produce it with `--storage-engine sqlite`",
        ));
    }
    if &magic != MAGIC {
        return Err(file_error(path, "not a c1z file (bad magic header)"));
    }
    let mut out = BufWriter::new(File::create(db)?);
    let mut decoder = zstd::stream::read::Decoder::with_buffer(reader).map_err(|e| {
        file_error(
            path,
            &format!("the compressed database cannot be read ({e})"),
        )
    })?;
    io::copy(&mut decoder, &mut out).map_err(|e| {
        file_error(
            path,
            &format!("the compressed database is truncated or corrupt ({e})"),
        )
    })?;
    out.flush()?;
    let mut header = [0u8; 16];
    let n = File::open(db)?.read(&mut header)?;
    if n < 16 || &header != b"SQLite format 3\0" {
        return Err(file_error(path, "the c1z does not hold a SQLite database"));
    }
    Ok(FileKind::C1z)
}

/// Writes `db` as the c1z `out`: `out.tmp` first (magic + one zstd frame with content size
/// and checksum), fsync, then an atomic rename. On failure `out` is left untouched.
pub fn compress(db: &Path, out: &Path) -> Result<()> {
    let tmp = tmp_path(out);
    let result = (|| -> Result<()> {
        let size = fs::metadata(db)?.len();
        let mut input = BufReader::new(File::open(db)?);
        let file = File::create(&tmp)?;
        let mut w = BufWriter::new(file);
        w.write_all(MAGIC)?;
        let mut enc = zstd::stream::write::Encoder::new(w, ZSTD_LEVEL)?;
        enc.include_checksum(true)?;
        enc.include_contentsize(true)?;
        enc.set_pledged_src_size(Some(size))?;
        io::copy(&mut input, &mut enc)?;
        let w = enc.finish()?;
        let file = w.into_inner().map_err(|e| Error::from(e.into_error()))?;
        file.sync_all()?;
        drop(file);
        fs::rename(&tmp, out)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| e.context(format!("writing {}", out.display())))
}

fn tmp_path(out: &Path) -> PathBuf {
    let mut name = out
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".tmp");
    out.with_file_name(name)
}

/// A new KSUID: 4 bytes of seconds since 2014-05-13 then 16 random bytes, base62, 27 chars.
pub fn ksuid() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let mut bytes = [0u8; 20];
    let ts = secs.saturating_sub(1_400_000_000).min(u32::MAX as u64) as u32;
    bytes[..4].copy_from_slice(&ts.to_be_bytes());
    for b in &mut bytes[4..] {
        *b = fastrand::u8(..);
    }
    ksuid_encode(&bytes)
}

/// Base62 (`0-9A-Za-z`) of 20 bytes, left-padded with `0` to 27 characters.
pub fn ksuid_encode(bytes: &[u8; 20]) -> String {
    const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut num: Vec<u32> = bytes.iter().map(|b| *b as u32).collect();
    let mut digits = Vec::with_capacity(27);
    while num.iter().any(|d| *d != 0) {
        let mut rem = 0u32;
        for d in num.iter_mut() {
            let acc = rem * 256 + *d;
            *d = acc / 62;
            rem = acc % 62;
        }
        digits.push(ALPHABET[rem as usize]);
    }
    while digits.len() < 27 {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// Upstream's timestamp text: local wall clock, `YYYY-MM-DD HH:MM:SS[.fraction]`, trailing
/// zeros of the fraction removed, no zone.
pub fn sqlite_time(t: SystemTime) -> String {
    let local: chrono::DateTime<chrono::Local> = t.into();
    let mut s = local.format("%Y-%m-%d %H:%M:%S").to_string();
    let nanos = chrono::Timelike::nanosecond(&local) % 1_000_000_000;
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s
}

/// Opens (creating) a SQLite database at `path` with the v1 schema.
pub fn open_db(path: &Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path).map_err(sql_error)?;
    conn.execute_batch(
        "PRAGMA journal_mode = TRUNCATE; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;",
    )
    .map_err(sql_error)?;
    conn.execute_batch(DDL).map_err(sql_error)?;
    Ok(conn)
}

/// Maps a SQLite error.
pub fn sql_error(e: rusqlite::Error) -> Error {
    Error::new(ErrorKind::Internal, format!("sync store: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ksuid_matches_the_reference_encoding() {
        // segmentio/ksuid README: 0669F7EFB5A1CD34B5F99D1154FB6853345C9735 = 0ujtsYcgvSTl8PAuAdqWYSMnLOv
        let hex = "0669F7EFB5A1CD34B5F99D1154FB6853345C9735";
        let mut bytes = [0u8; 20];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap();
        }
        assert_eq!(ksuid_encode(&bytes), "0ujtsYcgvSTl8PAuAdqWYSMnLOv");
        assert_eq!(ksuid_encode(&[0; 20]), "000000000000000000000000000");
        assert_eq!(ksuid_encode(&[255; 20]), "aWgEPTl1tmebfsQzFP4bxwgy80V");
        let a = ksuid();
        assert_eq!(a.len(), 27);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    }

    #[test]
    fn timestamps_have_upstreams_shape() {
        let re = |s: &str| {
            let b = s.as_bytes();
            s.len() >= 19
                && b[4] == b'-'
                && b[10] == b' '
                && b[13] == b':'
                && (s.len() == 19 || (b[19] == b'.' && !s.ends_with('0')))
        };
        let t = UNIX_EPOCH + std::time::Duration::new(1_700_000_000, 500_000_000);
        let s = sqlite_time(t);
        assert!(re(&s), "{s}");
        assert!(s.ends_with(".5"), "{s}");
        let s = sqlite_time(UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000));
        assert_eq!(s.len(), 19, "{s}");
    }

    #[test]
    fn bad_files_get_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        let cases: [(&[u8], &str); 4] = [
            (b"C1Z3\0rest", "Pebble"),
            (b"PK\x03\x04zip", "not a c1z"),
            (b"C1", "shorter than"),
            (b"C1ZF\0\x28\xb5\x2f\xfd", "truncated or corrupt"),
        ];
        for (bytes, needle) in cases {
            let f = dir.path().join("x.c1z");
            fs::write(&f, bytes).unwrap();
            let err = decompress(&f, &db).unwrap_err();
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
        assert_eq!(
            decompress(&dir.path().join("missing.c1z"), &db).unwrap(),
            FileKind::Empty
        );
        fs::write(dir.path().join("empty.c1z"), b"").unwrap();
        assert_eq!(
            decompress(&dir.path().join("empty.c1z"), &db).unwrap(),
            FileKind::Empty
        );
    }

    #[test]
    fn compress_round_trips_and_replaces_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("db");
        drop(open_db(&db).unwrap());
        let out = dir.path().join("sync.c1z");
        compress(&db, &out).unwrap();
        assert!(!tmp_path(&out).exists());
        let bytes = fs::read(&out).unwrap();
        assert_eq!(&bytes[..5], MAGIC);
        let back = dir.path().join("db2");
        assert_eq!(decompress(&out, &back).unwrap(), FileKind::C1z);
        assert_eq!(fs::read(&db).unwrap(), fs::read(&back).unwrap());
        // A failed write (source missing) leaves the previous file in place.
        assert!(compress(&dir.path().join("nope"), &out).is_err());
        assert_eq!(fs::read(&out).unwrap(), bytes);
    }
}
