//! The page: plain HTML, CSS and JavaScript embedded in the binary (no build step, nothing
//! fetched from elsewhere), served with a Content-Security-Policy that allows only these
//! files, so nothing from the `.c1z` can run as script even if it reached the markup.

use axum::http::header;
use axum::response::{IntoResponse, Response};

/// The page.
pub(crate) const INDEX_HTML: &str = include_str!("assets/index.html");
/// Its script (builds every element with `textContent`, never `innerHTML`).
pub(crate) const APP_JS: &str = include_str!("assets/app.js");
/// Its style sheet.
pub(crate) const STYLE_CSS: &str = include_str!("assets/style.css");

/// Only the page's own files; no inline script, no other origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response()
}

/// GET /
pub(crate) async fn index() -> Response {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// GET /assets/app.js
pub(crate) async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// GET /assets/style.css
pub(crate) async fn style_css() -> Response {
    asset("text/css; charset=utf-8", STYLE_CSS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_never_parses_markup_from_data() {
        for banned in [
            "innerHTML",
            "outerHTML",
            "insertAdjacentHTML",
            "document.write",
            "eval(",
        ] {
            assert!(!APP_JS.contains(banned), "app.js uses {banned}");
        }
        assert!(
            !INDEX_HTML.contains("<script>"),
            "inline script is blocked by the CSP"
        );
        assert!(INDEX_HTML.contains("/assets/app.js"));
    }
}
