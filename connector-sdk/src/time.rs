//! Timestamps as APIs send them.

use std::time::SystemTime;

/// Parses an RFC 3339 timestamp with 0 to 9 fractional digits and any offset
/// (`2029-10-31T18:26:50.597068836Z`, `2026-03-25T13:22:47.26Z`, `2023-05-10T08:00:00+02:00`).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use connector_sdk::time::parse_rfc3339;
/// assert_eq!(parse_rfc3339("1970-01-01T00:00:01.5Z"), Some(UNIX_EPOCH + Duration::from_millis(1500)));
/// assert_eq!(parse_rfc3339("yesterday"), None);
/// ```
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|t| SystemTime::from(t.with_timezone(&chrono::Utc)))
}

/// Formats `t` as RFC 3339 in UTC with milliseconds (`2026-03-16T14:13:09.867Z`).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// assert_eq!(connector_sdk::time::format_rfc3339(UNIX_EPOCH + Duration::from_millis(1500)), "1970-01-01T00:00:01.500Z");
/// ```
pub fn format_rfc3339(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Utc>::from(t)
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn fractional_digits_and_offsets() {
        let base = UNIX_EPOCH + Duration::from_secs(1_873_132_010); // 2029-05-10T18:26:50Z
        assert_eq!(parse_rfc3339("2029-05-10T18:26:50Z"), Some(base));
        assert_eq!(
            parse_rfc3339("2029-05-10T18:26:50.597068836Z"),
            Some(base + Duration::from_nanos(597_068_836))
        );
        assert_eq!(
            parse_rfc3339("2029-05-10T20:26:50.26+02:00"),
            Some(base + Duration::from_millis(260))
        );
        assert_eq!(parse_rfc3339(""), None);
    }
}
