//! Working folders of the store: where a `.c1z` is uncompressed while it is written or
//! read. They never outlive their process: removed on drop (every normal, error or
//! signal exit), and a folder left by a killed process (`kill -9`, a crash, a power cut)
//! is removed by the next store opened with the same `TMPDIR`.
//!
//! Each folder is `$TMPDIR/baton-c1z-<pid>-<random>` and holds a `lock` file the owner keeps
//! locked (an advisory lock the kernel releases when the process dies, whatever kills it).
//! A folder whose lock can be taken has no owner left, and is removed.
//!
//! `$TMPDIR` is shared: anyone may plant folders there with our prefix. A folder is
//! created private (`tempfile`: unpredictable name, mode 0700) and before anything is
//! opened in someone else's folder its type is checked, and checked again on the open
//! file (never blocking, never following a link): a `lock` that is a FIFO, a socket, a
//! device or a symbolic link is not ours, and its folder is left alone.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use tempfile::TempDir;

use crate::error::{Error, Result};

use super::files;

/// The name every working folder starts with.
pub const WORKDIR_PREFIX: &str = "baton-c1z-";
/// The lock file inside a working folder.
const LOCK_FILE: &str = "lock";
/// A folder whose lock file is still empty is kept this long: its owner may be between
/// creating the lock and writing its pid into it.
const GRACE: Duration = Duration::from_secs(60);

/// A working folder, locked by this process while it lives; removed on drop.
pub(crate) struct WorkDir {
    // Fields drop in order: unlock, then remove the folder.
    _lock: File,
    dir: TempDir,
}

impl std::fmt::Debug for WorkDir {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WorkDir").field(&self.dir.path()).finish()
    }
}

impl WorkDir {
    /// Creates and locks a new working folder in the system temporary directory
    /// (`TMPDIR`), then removes stale ones.
    pub(crate) fn create() -> Result<WorkDir> {
        Self::create_in(&std::env::temp_dir())
    }

    /// [`create`](Self::create) in `tmp`.
    pub(crate) fn create_in(tmp: &Path) -> Result<WorkDir> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{WORKDIR_PREFIX}{}-", std::process::id()))
            .tempdir_in(tmp)
            .map_err(|e| {
                Error::from(e).context(format!(
                    "creating a working folder in {} (set TMPDIR to another folder)",
                    tmp.display()
                ))
            })?;
        let lock = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(dir.path().join(LOCK_FILE))
            .map_err(|e| Error::from(e).context("creating the working folder's lock"))?;
        lock.lock()
            .map_err(|e| Error::from(e).context("locking the working folder"))?;
        // Written once locked: a lock file with content has been owned.
        (&lock)
            .write_all(std::process::id().to_string().as_bytes())
            .map_err(|e| Error::from(e).context("writing the working folder's lock"))?;
        // Our own folder's lock is held, so the sweep keeps it.
        remove_stale(tmp);
        Ok(WorkDir { _lock: lock, dir })
    }

    /// The folder.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes the working folders in `tmp` whose owner is gone; returns the folders removed.
/// Folders of live processes (their lock is held) and very young folders are kept.
pub fn remove_stale(tmp: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = fs::read_dir(tmp) else {
        return removed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(WORKDIR_PREFIX) {
            continue;
        }
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) || !is_abandoned(&path) {
            continue;
        }
        match fs::remove_dir_all(&path) {
            Ok(()) => {
                tracing::info!(folder = %path.display(), "removed the working folder of an earlier run that did not finish (killed or crashed)");
                removed.push(path);
            }
            Err(e) => {
                tracing::debug!(folder = %path.display(), error = %e, "could not remove a stale working folder");
            }
        }
    }
    removed
}

fn age(meta: &fs::Metadata) -> Option<Duration> {
    SystemTime::now().duration_since(meta.modified().ok()?).ok()
}

/// Whether no process owns the folder at `dir` any more. A `lock` that is not a regular
/// file (a FIFO someone planted, a link…) is never ours: such a folder is kept.
fn is_abandoned(dir: &Path) -> bool {
    let lock_path = dir.join(LOCK_FILE);
    let lock = match files::open_regular(&lock_path, false, "not a working folder's lock") {
        Ok(Some(lock)) => lock,
        // No lock file: a creation that never finished, unless it is happening now.
        Ok(None) => {
            return fs::symlink_metadata(dir)
                .ok()
                .and_then(|m| age(&m))
                .is_some_and(|a| a > GRACE);
        }
        Err(e) => {
            tracing::debug!(folder = %dir.display(), error = %e, "kept a folder that is not a working folder");
            return false;
        }
    };
    match lock.try_lock() {
        // Unlocked: its owner is gone, unless it has not locked it yet (empty and young).
        Ok(()) => lock
            .metadata()
            .is_ok_and(|m| m.len() > 0 || age(&m).is_some_and(|a| a > GRACE)),
        Err(TryLockError::WouldBlock) => false,
        Err(TryLockError::Error(_)) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backdate(path: &Path) {
        let old = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }

    #[test]
    fn abandoned_folders_go_and_live_ones_stay() {
        let tmp = tempfile::tempdir().unwrap();
        // A folder whose owner died: an old, unlocked lock file.
        let dead = tmp.path().join(format!("{WORKDIR_PREFIX}999999-dead"));
        fs::create_dir(&dead).unwrap();
        fs::write(dead.join("db"), b"SQLite format 3\0").unwrap();
        fs::write(dead.join(LOCK_FILE), b"999999").unwrap();
        // A folder whose owner lives: its lock is held.
        let live = tmp.path().join(format!("{WORKDIR_PREFIX}1-live"));
        fs::create_dir(&live).unwrap();
        let held = File::create(live.join(LOCK_FILE)).unwrap();
        held.lock().unwrap();
        (&held).write_all(b"1").unwrap();
        // Folders being created right now: no lock file yet, or an empty one.
        let young = tmp.path().join(format!("{WORKDIR_PREFIX}2-young"));
        fs::create_dir(&young).unwrap();
        let locking = tmp.path().join(format!("{WORKDIR_PREFIX}3-locking"));
        fs::create_dir(&locking).unwrap();
        fs::write(locking.join(LOCK_FILE), b"").unwrap();
        // One whose creation was killed long ago.
        let stuck = tmp.path().join(format!("{WORKDIR_PREFIX}4-stuck"));
        fs::create_dir(&stuck).unwrap();
        fs::write(stuck.join(LOCK_FILE), b"").unwrap();
        backdate(&stuck.join(LOCK_FILE));
        // Someone else's folder.
        let other = tmp.path().join("c1z-not-ours");
        fs::create_dir(&other).unwrap();

        let mut removed = remove_stale(tmp.path());
        removed.sort();
        let mut expected = vec![dead.clone(), stuck.clone()];
        expected.sort();
        assert_eq!(removed, expected);
        assert!(!dead.exists() && !stuck.exists());
        assert!(live.exists() && young.exists() && locking.exists() && other.exists());
        drop(held);
        assert_eq!(remove_stale(tmp.path()), vec![live.clone()]);
    }

    #[test]
    fn a_work_dir_is_locked_while_it_lives_and_removed_on_drop() {
        let w = WorkDir::create().unwrap();
        let path = w.path().to_path_buf();
        assert!(
            path.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{WORKDIR_PREFIX}{}-", std::process::id()))
        );
        assert!(!is_abandoned(&path), "its own lock is held");
        drop(w);
        assert!(!path.exists());
    }
}
