//! The bytes of a `.c1z` file: magic header, one zstd frame, a SQLite database with the
//! `v1_*` schema; plus sync ids (KSUID) and upstream's timestamp text.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind, Result};

use super::files;
use super::limits::{StoreLimits, WINDOW_LOG_MAX, decoded_size_hint, human_size, row_size_hint};

use rusqlite::{Connection, OpenFlags};

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

/// `path` opened past its 5-byte v1 header (`None`: missing or empty); any other header
/// (upstream's v3, not a c1z at all, too short) is a clear error.
fn open_header(path: &Path) -> Result<Option<BufReader<File>>> {
    let Some(file) = files::open_regular(path, true, "point --file (BATON_FILE) at a .c1z file")?
    else {
        return Ok(None);
    };
    if file.metadata()?.len() == 0 {
        return Ok(None);
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
    Ok(Some(reader))
}

/// Decompresses the c1z at `path` into the SQLite file `db` (created new), within
/// `limits`. A missing or empty file gives [`FileKind::Empty`] and writes nothing.
///
/// `path` must be a regular file (or a link to one): a FIFO, socket or device is refused
/// without blocking. The decompressed size is counted while streaming: a file that
/// declares (in its zstd frame header) or produces more than
/// [`StoreLimits::max_decoded_size`] stops there with an error naming the flag that
/// raises it, and the partial `db` is removed. A frame asking for a window above 128 MiB
/// is refused before it is allocated.
pub fn decompress(path: &Path, db: &Path, limits: &StoreLimits) -> Result<FileKind> {
    let Some(mut reader) = open_header(path)? else {
        return Ok(FileKind::Empty);
    };
    let max = limits.max_decoded_size();
    let too_big = |what: String| {
        file_error(
            path,
            &format!(
                "{what}, and a .c1z may decompress to at most {} (a guard against decompression bombs); nothing was kept; {}",
                human_size(max),
                decoded_size_hint()
            ),
        )
    };
    // Fail fast on a frame that declares its size (ours and upstream's do).
    if let Ok(Some(declared)) = zstd::zstd_safe::get_frame_content_size(reader.fill_buf()?)
        && declared > max
    {
        return Err(too_big(format!(
            "it declares a decompressed size of {}",
            human_size(declared)
        )));
    }
    let corrupt = |e: io::Error| {
        let why = if e.to_string().contains("too much memory") {
            format!(
                "it asks for a decompression window over {} ({e})",
                human_size(1 << WINDOW_LOG_MAX)
            )
        } else {
            format!("the compressed database is truncated or corrupt ({e})")
        };
        file_error(path, &why)
    };
    let disk_error = |e: io::Error, db: &Path| {
        let dir = db.parent().unwrap_or(db);
        Error::from(e).context(format!(
            "decompressing {} into {} (make room there, or point TMPDIR at a volume with room for the decompressed database)",
            path.display(),
            dir.display()
        ))
    };
    let mut out = BufWriter::new(files::create_exclusive(db, "")?);
    let result = (|| -> Result<()> {
        let mut decoder = zstd::stream::read::Decoder::with_buffer(reader).map_err(|e| {
            file_error(
                path,
                &format!("the compressed database cannot be read ({e})"),
            )
        })?;
        decoder.window_log_max(WINDOW_LOG_MAX)?;
        // Counted before writing: nothing past the limit reaches the disk.
        let mut buf = vec![0u8; 128 * 1024];
        let mut total: u64 = 0;
        loop {
            let n = match decoder.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(corrupt(e)),
            };
            total += n as u64;
            if total > max {
                return Err(too_big(format!(
                    "it decompresses to more than {}",
                    human_size(max)
                )));
            }
            out.write_all(&buf[..n]).map_err(|e| disk_error(e, db))?;
        }
        out.flush().map_err(|e| disk_error(e, db))?;
        Ok(())
    })();
    if let Err(e) = result {
        drop(out);
        let _ = fs::remove_file(db);
        return Err(e);
    }
    drop(out);
    let mut header = [0u8; 16];
    let n = File::open(db)?.read(&mut header)?;
    if n < 16 || &header != b"SQLite format 3\0" {
        let _ = fs::remove_file(db);
        return Err(file_error(path, "the c1z does not hold a SQLite database"));
    }
    Ok(FileKind::C1z)
}

/// Writes `db` as the c1z `out`: `out.tmp` first (magic + one zstd frame with content size
/// and checksum), fsync, then an atomic rename. On failure `out` is left untouched.
///
/// `out.tmp` is created new and exclusive: a leftover regular file (a run killed while
/// saving) is replaced, and anything else there, a planted symbolic link above all, is
/// refused and never written through.
pub fn compress(db: &Path, out: &Path) -> Result<()> {
    let tmp = tmp_path(out);
    let mut created = false;
    let result = (|| -> Result<()> {
        let size = fs::metadata(db)?.len();
        let mut input = BufReader::new(File::open(db)?);
        let file = files::create_exclusive(&tmp, &tmp_advice(&tmp))?;
        created = true;
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
    if result.is_err() && created {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| e.context(format!("writing {}", out.display())))
}

/// What to do about something planted at `out.tmp`.
fn tmp_advice(tmp: &Path) -> String {
    format!(
        "remove {} (someone with write access to its folder put it there), or point --file (BATON_FILE) at a folder only you can write to",
        tmp.display()
    )
}

/// Refuses to start writing `out` when its `out.tmp` is not a regular file (see
/// [`compress`], which checks again when it saves).
pub(crate) fn check_tmp(out: &Path) -> Result<()> {
    let tmp = tmp_path(out);
    files::check_leftover(&tmp, &tmp_advice(&tmp))
}

pub(crate) fn tmp_path(out: &Path) -> PathBuf {
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

/// Opens (creating) a SQLite database at `path` with the v1 schema. For a new database
/// of our own (tests); a database from a file uses [`open_checked`].
#[cfg(test)]
pub fn open_db(path: &Path) -> Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path).map_err(sql_error)?;
    prepare_for_writing(&conn)?;
    Ok(conn)
}

fn prepare_for_writing(conn: &Connection) -> Result<()> {
    conn.execute_batch(
        "PRAGMA journal_mode = TRUNCATE; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE;",
    )
    .map_err(sql_error)?;
    conn.execute_batch(DDL).map_err(sql_error)
}

/// How [`open_checked`] opens a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Read-only (the reader, the explorer).
    ReadOnly,
    /// Read-write, with the v1 schema created where missing (the writer).
    ReadWrite,
}

/// Opens the database `db`, decompressed from the untrusted file `source`, so that
/// nothing in it runs and no row costs more than `limits` allows:
///
/// 1. before any statement: `trusted_schema` off, triggers and views disabled, defensive
///    mode on, values and rows bounded by
///    [`StoreLimits::max_row_size`] (SQLite refuses to load more; extension loading is
///    off, SQLite's default, and never turned on);
/// 2. the first statement reads `sqlite_master`, and the file is refused unless every
///    object in it is a plain table or index (no view, trigger, virtual table or
///    generated column), naming the file and each offending object;
/// 3. only then, for [`Access::ReadWrite`], the pragmas and the v1 schema.
pub(crate) fn open_checked(
    db: &Path,
    source: &Path,
    limits: &StoreLimits,
    access: Access,
) -> Result<Connection> {
    let flags = match access {
        Access::ReadOnly => OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        Access::ReadWrite => {
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
        }
    };
    let conn = Connection::open_with_flags(db, flags).map_err(sql_error)?;
    harden(&conn, limits)?;
    check_schema(&conn, source, access)?;
    if access == Access::ReadWrite {
        prepare_for_writing(&conn)?;
    }
    Ok(conn)
}

/// Connection settings that make a hostile schema inert (see [`open_checked`]).
fn harden(conn: &Connection, limits: &StoreLimits) -> Result<()> {
    use rusqlite::config::DbConfig;
    use rusqlite::limits::Limit;
    for (config, on) in [
        (DbConfig::SQLITE_DBCONFIG_TRUSTED_SCHEMA, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_TRIGGER, false),
        (DbConfig::SQLITE_DBCONFIG_ENABLE_VIEW, false),
        (DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true),
    ] {
        conn.set_db_config(config, on).map_err(sql_error)?;
    }
    conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, limits.sqlite_length_limit())
        .map_err(sql_error)?;
    Ok(())
}

/// The SQLite-internal tables a database may hold besides the format's.
const INTERNAL_TABLES: [&str; 4] = [
    "sqlite_sequence",
    "sqlite_stat1",
    "sqlite_stat3",
    "sqlite_stat4",
];

/// What an object's `CREATE` statement makes, from its first keywords (comments and
/// case ignored, as SQLite's parser does): `"table"`, `"index"`, `"view"`, `"trigger"`,
/// `"virtual table"`, or `"unknown object"`.
fn created_kind(sql: &str) -> &'static str {
    let words = sql_words(sql, 4);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["CREATE", "TABLE", ..] | ["CREATE", "TEMP" | "TEMPORARY", "TABLE", ..] => "table",
        ["CREATE", "INDEX", ..] | ["CREATE", "UNIQUE", "INDEX", ..] => "index",
        ["CREATE", "VIEW", ..] | ["CREATE", "TEMP" | "TEMPORARY", "VIEW", ..] => "view",
        ["CREATE", "TRIGGER", ..] | ["CREATE", "TEMP" | "TEMPORARY", "TRIGGER", ..] => "trigger",
        ["CREATE", "VIRTUAL", ..] => "virtual table",
        _ => "unknown object",
    }
}

/// The first `n` words of `sql`, upper-case, skipping whitespace and comments.
fn sql_words(sql: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = sql;
    while words.len() < n {
        rest = rest.trim_start_matches([' ', '\t', '\n', '\r', '\x0c']);
        if let Some(r) = rest.strip_prefix("--") {
            rest = r.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(r) = rest.strip_prefix("/*") {
            rest = r.split_once("*/").map_or("", |(_, after)| after);
        } else {
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            if end == 0 {
                break;
            }
            words.push(rest[..end].to_ascii_uppercase());
            rest = &rest[end..];
        }
    }
    words
}

/// A name from the file, safe to print: quoted, escaped, at most 64 characters.
fn quoted(name: &str) -> String {
    let mut short: String = name.chars().take(64).collect();
    if short.len() < name.len() {
        short.push('…');
    }
    format!("{short:?}")
}

fn text(v: rusqlite::types::Value) -> Option<String> {
    match v {
        rusqlite::types::Value::Text(s) => Some(s),
        rusqlite::types::Value::Blob(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        rusqlite::types::Value::Null => None,
        rusqlite::types::Value::Integer(i) => Some(i.to_string()),
        rusqlite::types::Value::Real(f) => Some(f.to_string()),
    }
}

/// Refuses a database whose schema holds anything but plain tables and indexes (see
/// [`open_checked`]).
fn check_schema(conn: &Connection, source: &Path, access: Access) -> Result<()> {
    let unreadable = |e: rusqlite::Error| {
        file_error(
            source,
            &format!(
                "its database schema cannot be read ({e}); the file is damaged or was not written as a .c1z"
            ),
        )
    };
    let mut offending = Vec::new();
    let mut tables = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT type, name, sql FROM main.sqlite_master")
            .map_err(unreadable)?;
        let mut rows = stmt.query([]).map_err(unreadable)?;
        while let Some(row) = rows.next().map_err(unreadable)? {
            let kind = text(row.get(0).map_err(unreadable)?).unwrap_or_default();
            let name = text(row.get(1).map_err(unreadable)?).unwrap_or_default();
            let sql = text(row.get(2).map_err(unreadable)?);
            let created = match &sql {
                Some(sql) => created_kind(sql),
                // Only SQLite's own indexes (UNIQUE and PRIMARY KEY constraints) have no SQL.
                None if kind == "index" && name.starts_with("sqlite_autoindex_") => "index",
                None => "unknown object",
            };
            let allowed = match (kind.as_str(), created) {
                ("table", "table") => {
                    !name.to_ascii_lowercase().starts_with("sqlite_")
                        || INTERNAL_TABLES.contains(&name.as_str())
                }
                ("index", "index") => true,
                _ => false,
            };
            if !allowed {
                // SQLite lists a virtual table as a "table"; any other mismatch is a lie.
                let listed_as_itself = kind == created
                    || created == "unknown object"
                    || (created == "virtual table" && kind == "table");
                let what = if listed_as_itself {
                    created.to_string()
                } else {
                    format!("{created} (listed as a {})", quoted(&kind))
                };
                offending.push(format!("{what} {}", quoted(&name)));
            } else if kind == "table" {
                tables.push(name);
            }
        }
    }
    // Generated columns compute a value on every read: none in the format.
    for table in &tables {
        let mut stmt = conn
            .prepare("SELECT name, hidden FROM pragma_table_xinfo(?1)")
            .map_err(unreadable)?;
        let generated: Vec<String> = stmt
            .query_map([table], |r| {
                Ok((r.get::<_, Option<String>>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(unreadable)?
            .filter_map(|r| r.ok())
            .filter(|(_, hidden)| *hidden == 2 || *hidden == 3)
            .map(|(c, _)| c.unwrap_or_default())
            .collect();
        for column in generated {
            offending.push(format!(
                "generated column {} of table {}",
                quoted(&column),
                quoted(table)
            ));
        }
    }
    if offending.is_empty() {
        return Ok(());
    }
    let total = offending.len();
    let mut listed = offending.into_iter().take(5).collect::<Vec<_>>().join(", ");
    if total > 5 {
        listed.push_str(&format!(" and {} more", total - 5));
    }
    let advice = match access {
        Access::ReadOnly => "read only .c1z files from a trusted source",
        Access::ReadWrite => {
            "a sync will not append to it: move the file away (keep it to investigate) so the sync writes a new one, or point --file (BATON_FILE) elsewhere"
        }
    };
    Err(file_error(
        source,
        &format!(
            "refused: a .c1z database holds only tables and indexes, but this one also holds {listed}, which could run SQL when the file is read or written (a hostile or damaged file); nothing in it was run; {advice}"
        ),
    ))
}

/// Maps a SQLite error. A value or row over the per-row limit
/// ([`StoreLimits::max_row_size`]) says so and names the flag that raises it.
pub fn sql_error(e: rusqlite::Error) -> Error {
    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::TooBig) {
        return Error::invalid_argument(format!(
            "sync store: a row is larger than the per-row limit, and was neither read nor written ({e}): a damaged or hostile file, or an exceptionally large object; {}",
            row_size_hint()
        ));
    }
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
            let err = decompress(&f, &db, &StoreLimits::default()).unwrap_err();
            assert!(err.to_string().contains(needle), "{needle}: {err}");
        }
        assert_eq!(
            decompress(
                &dir.path().join("missing.c1z"),
                &db,
                &StoreLimits::default()
            )
            .unwrap(),
            FileKind::Empty
        );
        fs::write(dir.path().join("empty.c1z"), b"").unwrap();
        assert_eq!(
            decompress(&dir.path().join("empty.c1z"), &db, &StoreLimits::default()).unwrap(),
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
        assert_eq!(
            decompress(&out, &back, &StoreLimits::default()).unwrap(),
            FileKind::C1z
        );
        assert_eq!(fs::read(&db).unwrap(), fs::read(&back).unwrap());
        // A failed write (source missing) leaves the previous file in place.
        assert!(compress(&dir.path().join("nope"), &out).is_err());
        assert_eq!(fs::read(&out).unwrap(), bytes);
    }
}
