//! The `.c1z` sync store: upstream baton's classic file format, written and read.
//!
//! A `.c1z` is the magic `C1ZF\0` then one zstd frame of a SQLite database whose `v1_*`
//! tables hold protobuf messages of `c1.connector.v2` (see `shared/specs/c1z-format.md`).
//! The upstream `baton` CLI and ConductorOne read what [`SyncStore`] writes; [`C1zReader`]
//! reads files from either.
//!
//! * [`SyncStore`] works on an uncompressed copy in a working folder
//!   (`$TMPDIR/baton-c1z-<pid>-…`, removed on every exit; one left by a killed run is
//!   removed by the next, see [`remove_stale`]), keeps the syncs
//!   already in the file (so two syncs can be compared), and saves atomically: `out.tmp`,
//!   fsync, rename. A crash never leaves a half-written file in place of a good one.
//! * [`C1zReader`] opens a file read-only and answers queries about one sync, including
//!   paged ones for browsing large files ([`RowPage`]) and how a principal holds a grant
//!   ([`Access`]).
//!
//! A `.c1z` is untrusted input, whoever hands it over: opening one never runs what it
//! carries (a file whose database holds a view, a trigger or anything but the format's
//! tables and indexes is refused before any other query), and [`StoreLimits`] bounds
//! what it may cost (its decompressed size, counted while streaming, and the size of one
//! row). The working folders are private (random names, mode 0700), and no file at a
//! path others may write to is opened if it is a FIFO, a socket or a device, nor written
//! through a symbolic link.

mod access;
pub(crate) mod c1z;
mod changes;
pub(crate) mod convert;
mod files;
#[cfg(test)]
mod hostile_tests;
mod limits;
mod pages;
pub(crate) mod proto;
mod query;
mod reader;
mod workdir;
mod writer;

pub use access::{Access, AccessStep, is_direct};
pub use changes::{FieldChange, ResourceChange, field_changes};
pub use limits::{
    DEFAULT_MAX_DECODED_SIZE_MB, DEFAULT_MAX_ROW_SIZE_MB, MAX_DECODED_SIZE_FLAG,
    MAX_ROW_SIZE_CEILING_MB, MAX_ROW_SIZE_FLAG, StoreLimits,
};
pub use pages::{DiffCounts, DiffItem, DiffKind, GrantsOf, RowPage, TypeCount};
pub use query::{DiffReport, SyncRun, SyncScope, SyncStats};
pub use reader::{C1zReader, GrantFilter};
pub use workdir::{WORKDIR_PREFIX, remove_stale};
pub use writer::SyncStore;
