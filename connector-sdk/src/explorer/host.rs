//! Which `Host` the explorer answers: its own addresses only, so a web page the operator
//! visits cannot rebind its name to 127.0.0.1 (DNS rebinding) and read the file through
//! the operator's browser. Any other `Host` gets 421 Misdirected Request.
//!
//! Always accepted: `127.0.0.1:PORT`, `localhost:PORT`, `[::1]:PORT`. Listening beyond
//! loopback (`--allow-remote`) adds the bound address; `--public-host NAME` adds a name
//! the operator serves it under (a reverse proxy's), with or without the port.
//!
//! Every answer also carries `X-Content-Type-Options: nosniff`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The `Host` values one explorer answers (lower-cased).
#[derive(Debug, Clone)]
pub(crate) struct AllowedHosts(Arc<Vec<String>>);

impl AllowedHosts {
    /// The hosts of an explorer bound to `addr`, with the operator's public names.
    pub(crate) fn new(addr: SocketAddr, public_hosts: &[String]) -> AllowedHosts {
        let port = addr.port();
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ];
        if !addr.ip().is_loopback() && !addr.ip().is_unspecified() {
            hosts.push(addr.to_string());
        }
        for h in public_hosts {
            let h = h.trim().to_ascii_lowercase();
            if h.is_empty() {
                continue;
            }
            hosts.push(format!("{h}:{port}"));
            hosts.push(h);
        }
        AllowedHosts(Arc::new(hosts))
    }

    fn allows(&self, host: &str) -> bool {
        let host = host.trim().to_ascii_lowercase();
        // A fully qualified name may end in a dot (`localhost.:8080`).
        let host = match host.rsplit_once(':') {
            Some((name, port)) if name.ends_with('.') => {
                format!("{}:{port}", name.trim_end_matches('.'))
            }
            _ => host.trim_end_matches('.').to_string(),
        };
        self.0.contains(&host)
    }
}

/// Refuses a request whose `Host` (or HTTP/2 `:authority`) is not the explorer's own.
pub(crate) async fn check(
    State(allowed): State<AllowedHosts>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let ok = host.as_deref().is_some_and(|h| allowed.allows(h));
    let mut res = if ok {
        next.run(req).await
    } else {
        (
            StatusCode::MISDIRECTED_REQUEST,
            axum::Json(serde_json::json!({
                "error": "this explorer answers only to its own address (127.0.0.1, localhost or [::1] with its port); to serve it under another name, start it with --public-host NAME"
            })),
        )
            .into_response()
    };
    res.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_with_the_port_and_nothing_else_by_default() {
        let a = AllowedHosts::new("127.0.0.1:8080".parse().unwrap(), &[]);
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
            "localhost.:8080",
        ] {
            assert!(a.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example",
            "evil.example:8080",
            "localhost",
            "127.0.0.1",
            "localhost:9090",
            "127.0.0.1.evil.example:8080",
            "",
        ] {
            assert!(!a.allows(bad), "{bad}");
        }
    }

    #[test]
    fn a_remote_explorer_adds_its_address_and_the_public_host() {
        let a = AllowedHosts::new(
            "192.0.2.7:8080".parse().unwrap(),
            &["Explorer.Example.com".to_string()],
        );
        for ok in [
            "192.0.2.7:8080",
            "explorer.example.com",
            "explorer.example.com:8080",
            "localhost:8080",
        ] {
            assert!(a.allows(ok), "{ok}");
        }
        assert!(!a.allows("evil.example:8080"));
        // 0.0.0.0 is not a name anyone should use: only the public host and loopback.
        let any = AllowedHosts::new("0.0.0.0:8080".parse().unwrap(), &[]);
        assert!(!any.allows("0.0.0.0:8080"));
    }
}
