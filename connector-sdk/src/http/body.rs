//! Reading a response body within a limit, and the error of a redirect not followed:
//! shared by the HTTP client and service mode's token client.

use ::http::{HeaderMap, header};
use url::Url;

use crate::error::{Error, ErrorKind};

/// Why a body was not read.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The body is larger than the limit: the error names the request and the limit.
    TooLarge(Error),
    /// The connection failed while the body was read.
    Transport(reqwest::Error),
}

/// The error of a body past `limit`: names the request (`what`, e.g. `GET /v3/teammates`,
/// never a query) and the limit; `declared` is the server's `Content-Length`, if any.
fn too_large(what: &str, limit: u64, declared: Option<u64>) -> Error {
    let seen = match declared {
        Some(n) => format!("its Content-Length is {n} bytes"),
        None => format!("more than {limit} bytes arrived"),
    };
    Error::new(
        ErrorKind::Internal,
        format!(
            "{what}: the response body is larger than the limit of {} ({seen}); reading stopped there. The server may be broken or hostile; a connector that expects bodies this large raises the limit with HttpClientBuilder::max_response_body",
            human_bytes(limit)
        ),
    )
}

/// Reads `resp`'s body, at most `limit` bytes: a `Content-Length` past the limit fails
/// before anything is read, and bytes are counted as they arrive, so a body without a
/// length (chunked, or endless) fails once it passes the limit. Memory stays within
/// about twice the limit whatever the server sends. `what` names the request in the
/// error (`GET /v3/teammates`: method and path, never a query).
pub(crate) async fn read_limited(
    mut resp: reqwest::Response,
    limit: u64,
    what: &str,
) -> std::result::Result<Vec<u8>, BodyError> {
    let declared = resp.content_length();
    if let Some(n) = declared
        && n > limit
    {
        return Err(BodyError::TooLarge(too_large(what, limit, Some(n))));
    }
    // A declared length within the limit is trusted for the first allocation only.
    let mut body = Vec::with_capacity(declared.unwrap_or(0).min(1 << 20) as usize);
    while let Some(chunk) = resp.chunk().await.map_err(BodyError::Transport)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge(too_large(what, limit, None)));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// `n` bytes for a message: `64 MiB`, `512 KiB`, or `1000 bytes`.
pub(crate) fn human_bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    const GIB: u64 = 1024 * MIB;
    match n {
        n if n >= GIB && n % GIB == 0 => format!("{} GiB", n / GIB),
        n if n >= MIB && n % MIB == 0 => format!("{} MiB", n / MIB),
        n if n >= KIB && n % KIB == 0 => format!("{} KiB", n / KIB),
        n => format!("{n} bytes"),
    }
}

/// A 3xx with a `Location` that was not followed, as an error: the request (`method`,
/// `url`'s path, never its query), the status and the `Location`'s origin (never its
/// path or query, which may carry a token). `None` when the response is not a redirect.
/// Callers add what to do ([`Error::with_hint`]).
pub(crate) fn redirect_error(
    method: &str,
    url: &Url,
    status: u16,
    headers: &HeaderMap,
    follows_same_origin: bool,
) -> Option<Error> {
    if !(300..400).contains(&status) {
        return None;
    }
    let location = headers.get(header::LOCATION)?;
    let target = location.to_str().ok().and_then(|l| url.join(l.trim()).ok());
    let here = url.origin().ascii_serialization();
    let path = url.path();
    let message = match target {
        None => format!(
            "{method} {path} answered HTTP {status}, a redirect to a Location that is not a valid URL; it is not followed"
        ),
        Some(t) if t.origin() == url.origin() && follows_same_origin => format!(
            "{method} {path} answered HTTP {status}, a redirect within {here} after {MAX_REDIRECTS} redirects already; it is not followed (a redirect loop?)",
            MAX_REDIRECTS = super::MAX_REDIRECTS
        ),
        Some(t) if t.origin() == url.origin() => format!(
            "{method} {path} answered HTTP {status}, a redirect within {here}; redirects are not followed"
        ),
        Some(t) => format!(
            "{method} {path} answered HTTP {status}, a redirect to {}, which is not the configured host {here}; it is not followed, so credentials stay with the configured host",
            t.origin().ascii_serialization()
        ),
    };
    Some(Error::new(ErrorKind::FailedPrecondition, message).with_http_status(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(64 * 1024 * 1024), "64 MiB");
        assert_eq!(human_bytes(1 << 30), "1 GiB");
        assert_eq!(human_bytes(512 * 1024), "512 KiB");
        assert_eq!(human_bytes(1000), "1000 bytes");
    }

    #[test]
    fn a_redirect_names_only_the_locations_origin() {
        let url = Url::parse("https://api.example.com/v3/teammates?token=q-secret").unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::LOCATION,
            "https://evil.example.net:8443/steal?token=l-secret"
                .parse()
                .unwrap(),
        );
        let e = redirect_error("GET", &url, 302, &headers, false).unwrap();
        let text = e.to_string();
        assert!(
            text.contains("GET /v3/teammates answered HTTP 302")
                && text.contains("https://evil.example.net:8443")
                && text.contains("https://api.example.com"),
            "{text}"
        );
        assert!(
            !text.contains("secret") && !text.contains("/steal"),
            "{text}"
        );
        assert_eq!(e.kind(), ErrorKind::FailedPrecondition);
        assert!(redirect_error("GET", &url, 304, &HeaderMap::new(), false).is_none());
        assert!(redirect_error("GET", &url, 200, &headers, false).is_none());
    }
}
