//! Opening and creating files at paths other people may write to (`--file`, its `.tmp`,
//! the shared temporary directory) without being tricked: a FIFO never blocks an open, a
//! socket or device is never read, and a symbolic link is never written through.

use std::fs::{self, File, FileType, OpenOptions};
use std::io;
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// What a file type is, for a message: "a FIFO (named pipe)", "a directory"…
pub(crate) fn describe(t: &FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

fn not_regular(path: &Path, t: &FileType, what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!(
            "{} is {}, not a regular file: refusing to open it ({what})",
            path.display(),
            describe(t)
        ),
    )
}

/// Opens `path` for reading if it is a regular file; `Ok(None)` when it does not exist.
/// Anything else (a FIFO, a socket, a device, a directory; with `follow_symlinks` false,
/// a symbolic link) is refused with an error saying what it is and `what` to do.
///
/// The type is checked before opening, for the message, and again on the open file, so a
/// path swapped in between changes nothing: on unix the open never blocks (`O_NONBLOCK`,
/// which regular files ignore) and, without `follow_symlinks`, never follows a link
/// (`O_NOFOLLOW`).
pub(crate) fn open_regular(path: &Path, follow_symlinks: bool, what: &str) -> Result<Option<File>> {
    let meta = if follow_symlinks {
        fs::metadata(path)
    } else {
        fs::symlink_metadata(path)
    };
    match meta {
        Ok(m) if !m.file_type().is_file() => return Err(not_regular(path, &m.file_type(), what)),
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Error::from(e).context(format!("reading {}", path.display())));
        }
    }
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK;
        if !follow_symlinks {
            flags |= libc::O_NOFOLLOW;
        }
        options.custom_flags(flags);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            // ELOOP: the path became a symbolic link after it was checked.
            return Err(Error::from(e).context(format!("opening {}", path.display())));
        }
    };
    let t = file.metadata()?.file_type();
    if !t.is_file() {
        return Err(not_regular(path, &t, what));
    }
    Ok(Some(file))
}

/// Creates `path` for writing, new and exclusive (`O_CREAT | O_EXCL`: an existing path,
/// a symbolic link included, is never opened, so nothing is written through a planted
/// link). A regular file already there (left by a run killed while writing) is removed
/// first; anything else there (a symbolic link, a FIFO, a directory…) is refused with an
/// error saying what it is and `what` to do, and left alone.
pub(crate) fn create_exclusive(path: &Path, what: &str) -> Result<File> {
    let create = || OpenOptions::new().write(true).create_new(true).open(path);
    let context = |e: io::Error| Error::from(e).context(format!("creating {}", path.display()));
    match create() {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            check_leftover(path, what)?;
            // Removes the name only: a hard link's other names keep their content.
            fs::remove_file(path).map_err(context)?;
            create().map_err(context)
        }
        Err(e) => Err(context(e)),
    }
}

/// Refuses `path` when something other than a regular file is there (see
/// [`create_exclusive`]); a missing path or a regular file is fine.
pub(crate) fn check_leftover(path: &Path, what: &str) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(m) if !m.file_type().is_file() => {
            let target = fs::read_link(path)
                .map(|t| format!(" (to {})", t.display()))
                .unwrap_or_default();
            Err(Error::failed_precondition(format!(
                "{} is {}{target}, which this program never creates there: refusing to write through it; {what}",
                path.display(),
                describe(&m.file_type()),
            )))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::from(e).context(format!("checking {}", path.display()))),
    }
}

#[cfg(all(test, unix))]
pub(crate) mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::path::PathBuf;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Makes a FIFO with `mkfifo` (the crate forbids unsafe code, so no libc call);
    /// `None` when the command is unavailable.
    pub(crate) fn mkfifo(path: &Path) -> Option<PathBuf> {
        let ok = std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: `mkfifo` is unavailable");
            return None;
        }
        Some(path.to_path_buf())
    }

    /// Runs `f` on a thread and fails the test if it takes more than `secs` seconds.
    pub(crate) fn within<T: Send + 'static>(
        secs: u64,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(secs))
            .unwrap_or_else(|_| panic!("still blocked after {secs} s"))
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let Some(fifo) = mkfifo(&dir.path().join("sync.c1z")) else {
            return;
        };
        let err = within(10, move || {
            open_regular(&fifo, true, "point --file at a .c1z").unwrap_err()
        });
        let text = err.to_string();
        assert!(
            text.contains("is a FIFO (named pipe), not a regular file"),
            "{text}"
        );
        assert!(text.contains("point --file at a .c1z"), "{text}");
    }

    #[test]
    fn links_are_followed_only_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real");
        fs::write(&target, b"data").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut s = String::new();
        open_regular(&link, true, "")
            .unwrap()
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "data");
        let err = open_regular(&link, false, "").unwrap_err();
        assert!(err.to_string().contains("is a symbolic link"), "{err}");
        assert!(
            open_regular(&dir.path().join("none"), false, "")
                .unwrap()
                .is_none()
        );
        let err = open_regular(dir.path(), true, "").unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
    }

    #[test]
    fn creating_never_writes_through_a_planted_link() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, b"precious").unwrap();
        let tmp = dir.path().join("sync.c1z.tmp");
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        let err = create_exclusive(&tmp, "remove it").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("is a symbolic link (to "), "{text}");
        assert!(
            text.contains("refusing to write through it; remove it"),
            "{text}"
        );
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        assert!(fs::symlink_metadata(&tmp).unwrap().file_type().is_symlink());
        // A dangling link too: O_EXCL does not create its target.
        let dangling = dir.path().join("other.tmp");
        std::os::unix::fs::symlink(dir.path().join("would-be-created"), &dangling).unwrap();
        assert!(create_exclusive(&dangling, "").is_err());
        assert!(!dir.path().join("would-be-created").exists());
        // A regular leftover is replaced.
        let left = dir.path().join("left.tmp");
        fs::write(&left, b"old").unwrap();
        create_exclusive(&left, "")
            .unwrap()
            .write_all(b"new")
            .unwrap();
        assert_eq!(fs::read(&left).unwrap(), b"new");
    }
}
