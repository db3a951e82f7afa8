//! [`StoreLimits`]: what opening a `.c1z` may cost, whoever wrote it.

use crate::flags::flag_and_env;

const MIB: u64 = 1024 * 1024;

/// The flag (and, as `BATON_DECODER_MAX_DECODED_SIZE_MB`, the variable upstream's SDK
/// reads) that raises [`StoreLimits::max_decoded_size`], in MiB.
pub const MAX_DECODED_SIZE_FLAG: &str = "decoder-max-decoded-size-mb";
/// The flag (and `BATON_C1Z_MAX_ROW_SIZE_MB`) that raises [`StoreLimits::max_row_size`],
/// in MiB.
pub const MAX_ROW_SIZE_FLAG: &str = "c1z-max-row-size-mb";

/// The default of [`StoreLimits::max_decoded_size`] in MiB: 10 GiB, upstream baton-sdk's
/// default (`defaultMaxDecodedSize` of `pkg/dotc1z/decoder.go`), so every file upstream
/// reads is read here too.
pub const DEFAULT_MAX_DECODED_SIZE_MB: u64 = 10 * 1024;
/// The default of [`StoreLimits::max_row_size`] in MiB: 16 MiB, far above any real
/// resource, entitlement, grant or asset (they are a few KiB).
pub const DEFAULT_MAX_ROW_SIZE_MB: u64 = 16;
/// The largest [`StoreLimits::max_row_size`] SQLite can enforce, in MiB (its compiled-in
/// `SQLITE_MAX_LENGTH` is 1,000,000,000 bytes).
pub const MAX_ROW_SIZE_CEILING_MB: u64 = 953;

/// The zstd window a file may ask for, as a power of two: 2^27 = 128 MiB, upstream's
/// `defaultDecoderMaxMemory` and zstd's own default limit. A larger window is refused
/// before it is allocated.
pub(crate) const WINDOW_LOG_MAX: u32 = 27;

/// Bounds on what reading a `.c1z` may cost, so that a hostile or corrupt file gives a
/// clear error instead of filling the disk or the memory:
///
/// * [`max_decoded_size`](Self::max_decoded_size): the most the compressed database may
///   decompress to in the working folder (`$TMPDIR`). Counted while streaming: a zstd
///   bomb stops at the limit and its partial output is removed. Default 10 GiB
///   ([`DEFAULT_MAX_DECODED_SIZE_MB`]); `--decoder-max-decoded-size-mb`
///   (`BATON_DECODER_MAX_DECODED_SIZE_MB`, upstream's variable).
/// * [`max_row_size`](Self::max_row_size): the largest row (and any single value) SQLite
///   will load, so one oversized row cannot make a small file allocate gigabytes. Default
///   16 MiB ([`DEFAULT_MAX_ROW_SIZE_MB`]); `--c1z-max-row-size-mb`
///   (`BATON_C1Z_MAX_ROW_SIZE_MB`). Rows written by a sync are held to it too.
///
/// The same limits apply to the file a sync appends to (`--file`), which the writer
/// reopens; both [`C1zReader`](super::C1zReader) and [`SyncStore`](super::SyncStore)
/// take them with `open_with`, and their `open` uses [`StoreLimits::default`].
///
/// ```
/// use connector_sdk::store::StoreLimits;
/// let limits = StoreLimits::default().with_max_decoded_size_mb(20 * 1024);
/// assert_eq!(limits.max_decoded_size(), 20 * 1024 * 1024 * 1024);
/// assert_eq!(limits.max_row_size(), 16 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    max_decoded_size: u64,
    max_row_size: u64,
}

impl Default for StoreLimits {
    fn default() -> Self {
        StoreLimits {
            max_decoded_size: DEFAULT_MAX_DECODED_SIZE_MB * MIB,
            max_row_size: DEFAULT_MAX_ROW_SIZE_MB * MIB,
        }
    }
}

impl StoreLimits {
    /// Sets the most a file may decompress to, in bytes (at least 1).
    pub fn with_max_decoded_size(mut self, bytes: u64) -> Self {
        self.max_decoded_size = bytes.max(1);
        self
    }

    /// Sets the most a file may decompress to, in MiB (at least 1), as the flag does.
    pub fn with_max_decoded_size_mb(self, mib: u64) -> Self {
        self.with_max_decoded_size(mib.saturating_mul(MIB))
    }

    /// Sets the largest row or value read, in bytes (at least 1; SQLite cannot go above
    /// 1,000,000,000 bytes, so a larger value means that).
    pub fn with_max_row_size(mut self, bytes: u64) -> Self {
        self.max_row_size = bytes.max(1);
        self
    }

    /// Sets the largest row or value read, in MiB (at least 1), as the flag does.
    pub fn with_max_row_size_mb(self, mib: u64) -> Self {
        self.with_max_row_size(mib.saturating_mul(MIB))
    }

    /// The most a file may decompress to, in bytes.
    pub fn max_decoded_size(&self) -> u64 {
        self.max_decoded_size
    }

    /// The largest row or value read, in bytes.
    pub fn max_row_size(&self) -> u64 {
        self.max_row_size
    }

    /// The value given to SQLite's `SQLITE_LIMIT_LENGTH`.
    pub(crate) fn sqlite_length_limit(&self) -> i32 {
        i32::try_from(self.max_row_size).unwrap_or(i32::MAX)
    }
}

/// `12.5 MiB`, `3 GiB`: a size for a message.
pub(crate) fn human_size(bytes: u64) -> String {
    const GIB: u64 = 1024 * MIB;
    if bytes >= GIB && bytes.is_multiple_of(GIB) {
        format!("{} GiB", bytes / GIB)
    } else if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= MIB {
        format!("{:.1} MiB", bytes as f64 / MIB as f64)
    } else {
        format!("{bytes} bytes")
    }
}

/// What to do about a decompression limit: name the flag and its variable.
pub(crate) fn decoded_size_hint() -> String {
    format!(
        "if the file comes from a trusted source, raise the limit with {} (in MiB)",
        flag_and_env(MAX_DECODED_SIZE_FLAG)
    )
}

/// What to do about the per-row limit: name the flag and its variable.
pub(crate) fn row_size_hint() -> String {
    format!(
        "if the file comes from a trusted source, raise the limit with {} (in MiB, at most {MAX_ROW_SIZE_CEILING_MB})",
        flag_and_env(MAX_ROW_SIZE_FLAG)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_setters() {
        let d = StoreLimits::default();
        assert_eq!(d.max_decoded_size(), 10 * 1024 * MIB);
        assert_eq!(d.max_row_size(), 16 * MIB);
        assert_eq!(d.sqlite_length_limit(), 16 * 1024 * 1024);
        let l = d.with_max_decoded_size(0).with_max_row_size(u64::MAX);
        assert_eq!(l.max_decoded_size(), 1);
        assert_eq!(l.sqlite_length_limit(), i32::MAX);
        assert_eq!(
            StoreLimits::default()
                .with_max_row_size_mb(1)
                .max_row_size(),
            MIB
        );
        assert_eq!(human_size(16 * MIB), "16 MiB");
        assert_eq!(human_size(10 * 1024 * MIB), "10 GiB");
        assert_eq!(human_size(MIB + MIB / 2), "1.5 MiB");
        assert_eq!(human_size(12), "12 bytes");
        assert!(
            decoded_size_hint()
                .contains("--decoder-max-decoded-size-mb (BATON_DECODER_MAX_DECODED_SIZE_MB)")
        );
        assert!(row_size_hint().contains("--c1z-max-row-size-mb (BATON_C1Z_MAX_ROW_SIZE_MB)"));
    }
}
