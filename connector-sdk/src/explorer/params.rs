//! The API's query parameters, parsed by hand so that every malformed value is a 400 with
//! a message naming the parameter.

use std::collections::HashMap;

use super::error::ApiError;

/// Items per page when `limit` is not given.
pub(crate) const DEFAULT_LIMIT: u32 = 50;
/// The largest `limit` accepted.
pub(crate) const MAX_LIMIT: u32 = 500;
/// The longest text parameter accepted (`q`, `type`, sync ids).
const MAX_TEXT: usize = 256;

/// The parameters of one request.
#[derive(Debug, Default)]
pub(crate) struct Params(HashMap<String, String>);

impl Params {
    /// Parses a raw query string (`a=1&b=x%20y`).
    pub(crate) fn parse(raw: Option<&str>) -> Result<Params, ApiError> {
        let mut map = HashMap::new();
        for (k, v) in url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
            if v.chars().count() > MAX_TEXT {
                return Err(ApiError::bad_request(format!(
                    "query parameter {k}: longer than {MAX_TEXT} characters"
                )));
            }
            map.insert(k.into_owned(), v.into_owned());
        }
        Ok(Params(map))
    }

    /// A text parameter; blank counts as absent.
    pub(crate) fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }

    /// `limit`: 1 to 500, default 50.
    pub(crate) fn limit(&self) -> Result<u32, ApiError> {
        match self.text("limit") {
            None => Ok(DEFAULT_LIMIT),
            Some(raw) => raw
                .parse::<u32>()
                .ok()
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "query parameter limit: expected a whole number from 1 to {MAX_LIMIT}, got {raw:?}"
                    ))
                }),
        }
    }

    /// `after`: the cursor of a page (`next` of the previous one), default 0.
    pub(crate) fn after(&self) -> Result<i64, ApiError> {
        match self.text("after") {
            None => Ok(0),
            Some(raw) => raw.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "query parameter after: expected the `next` number of a previous page, got {raw:?}"
                ))
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors_are_checked() {
        let p = Params::parse(Some("limit=10&after=42&q=%3Cb%3E")).unwrap();
        assert_eq!(p.limit().unwrap(), 10);
        assert_eq!(p.after().unwrap(), 42);
        assert_eq!(p.text("q"), Some("<b>"));
        let d = Params::parse(None).unwrap();
        assert_eq!((d.limit().unwrap(), d.after().unwrap()), (DEFAULT_LIMIT, 0));
        for bad in ["limit=0", "limit=501", "limit=ten", "limit=-1"] {
            let e = Params::parse(Some(bad)).unwrap().limit().unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert!(e.message.contains("limit"), "{}", e.message);
        }
        for bad in ["after=-3", "after=x"] {
            assert!(Params::parse(Some(bad)).unwrap().after().is_err(), "{bad}");
        }
        let long = format!("q={}", "a".repeat(300));
        assert!(Params::parse(Some(&long)).is_err());
    }
}
