//! The answers of a simulated SCIM server: `application/scim+json` bodies and RFC 7644
//! §3.12 errors.

use serde_json::{Value, json};
use wiremock::ResponseTemplate;

use crate::scim::{ERROR, ScimError};

/// An `application/scim+json` answer of `body` with `status`.
pub fn scim_answer(status: u16, body: &Value) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_raw(body.to_string().into_bytes(), "application/scim+json")
}

/// A refusal: `status`, `scimType` when given, and `detail`.
///
/// ```
/// use connector_sdk::testing::scim::scim_error;
/// let e = scim_error(400, Some("invalidFilter"), "bad filter");
/// assert_eq!((e.status, e.scim_type.as_deref()), (Some(400), Some("invalidFilter")));
/// ```
pub fn scim_error(status: u16, scim_type: Option<&str>, detail: &str) -> ScimError {
    ScimError {
        status: Some(status),
        scim_type: scim_type.map(String::from),
        detail: Some(detail.to_string()),
    }
}

/// The RFC 7644 §3.12 answer of `error`: `{"schemas": [Error], "status": "400",
/// "scimType": …, "detail": …}` (status as a string, as the RFC's examples have it; 500
/// when the error names none).
pub fn error_answer(error: &ScimError) -> ResponseTemplate {
    let status = error.status.unwrap_or(500);
    let mut body = json!({"schemas": [ERROR], "status": status.to_string()});
    if let Some(t) = &error.scim_type {
        body["scimType"] = json!(t);
    }
    if let Some(d) = &error.detail {
        body["detail"] = json!(d);
    }
    scim_answer(status, &body)
}

/// `400 invalidValue` with `detail`.
pub(super) fn invalid_value(detail: &str) -> ScimError {
    scim_error(400, Some("invalidValue"), detail)
}

/// `400 invalidPath` with `detail`.
pub(super) fn invalid_path(detail: &str) -> ScimError {
    scim_error(400, Some("invalidPath"), detail)
}

/// `404`, naming the resource.
pub(super) fn not_found(id: &str) -> ScimError {
    scim_error(404, None, &format!("Resource {id} not found"))
}
